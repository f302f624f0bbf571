#include <string>

#include "engine/cpu/plan.hpp"

namespace clear::cpu {
namespace {

// Canonical tensor name of a leaf's parameter: its own, or its owner's (tied heads, ALBERT layers).
std::string param_name(const ComponentGraph& graph, int node, const std::string& role) {
  const Component& c = graph.nodes[node];
  std::string own = c.name + "." + role;
  for (const auto& p : c.params)
    if (p.name == own) return own;
  return graph.nodes[graph.param_owner(node)].name + "." + role;
}

}  // namespace

const float* EngineData::param(int node, const std::string& role) const {
  return weights.data(param_name(graph, node, role));
}

bool EngineData::has_param(int node, const std::string& role) const {
  return weights.contains(param_name(graph, node, role));
}

kernels::PackedLinear& EngineData::linear(int node) {
  const Component& c = graph.nodes[node];
  std::string weight = param_name(graph, node, "weight");
  std::string bias = c.bias ? param_name(graph, node, "bias") : std::string();
  std::string key = weight + "|" + bias;
  auto it = linears.find(key);
  if (it != linears.end()) return it->second;
  const auto& shape = weights.shape(weight);
  int64_t out = shape.at(0), in = 1;
  for (size_t i = 1; i < shape.size(); ++i) in *= shape[i];  // a patch conv [H, C, P, P] is [H, C·P·P]
  kernels::PackedLinear packed(weights.data(weight), bias.empty() ? nullptr : weights.data(bias), out, in,
                               options.dtype);
  return linears.emplace(key, std::move(packed)).first->second;
}

}  // namespace clear::cpu
