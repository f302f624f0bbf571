// ComponentGraph queries and the names of the graph's enums.
#include "clear/model/graph.hpp"

#include <fmt/format.h>

#include "clear/util/error.hpp"

namespace clear {

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int ComponentGraph::find(std::string_view name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return int(i);
  return -1;
}

const Component& ComponentGraph::at(std::string_view name) const {
  int i = find(name);
  if (i < 0) throw Error(fmt::format("component '{}' does not exist in model '{}' (names: docs/NAMING.md)", name, config.name));
  return nodes[size_t(i)];
}

std::vector<int> ComponentGraph::leaves() const {
  if (nodes.empty()) return {};
  return leaves_under(0);
}

std::vector<int> ComponentGraph::leaves_under(int node) const {
  // Pre-order: a subtree is the contiguous run of nodes after `node` whose ancestors include it.
  std::vector<int> out;
  std::vector<int> pending{node};
  while (!pending.empty()) {
    int n = pending.back();
    pending.pop_back();
    const Component& c = nodes[size_t(n)];
    if (c.is_leaf()) {
      out.push_back(n);
      continue;
    }
    for (auto it = c.children.rbegin(); it != c.children.rend(); ++it) pending.push_back(*it);
  }
  return out;
}

std::vector<ParamSpec> ComponentGraph::parameters() const {
  std::vector<ParamSpec> out;
  for (int n : leaves())
    for (const auto& p : nodes[size_t(n)].params) out.push_back(p);
  return out;
}

int64_t ComponentGraph::param_count() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

ComponentKind ComponentGraph::block_kind(int node) const {
  for (int n = node; n >= 0; n = nodes[size_t(n)].parent) {
    switch (nodes[size_t(n)].kind) {
      case ComponentKind::attention:
      case ComponentKind::cross_attention:
      case ComponentKind::mlp:
      case ComponentKind::moe:
      case ComponentKind::embeddings:
      case ComponentKind::pooler:
      case ComponentKind::head:
        return nodes[size_t(n)].kind;
      default: break;
    }
  }
  return nodes[size_t(node)].kind;
}

int ComponentGraph::param_owner(int node) const {
  const Component& c = nodes[size_t(node)];
  if (c.params_from.empty()) return node;
  int owner = find(c.params_from);
  if (owner < 0) throw Error(fmt::format("internal: '{}' uses the parameters of missing '{}'", c.name, c.params_from));
  return owner;
}

bool is_composite(ComponentKind k) {
  switch (k) {
    case ComponentKind::model:
    case ComponentKind::stack:
    case ComponentKind::layer:
    case ComponentKind::embeddings:
    case ComponentKind::attention:
    case ComponentKind::cross_attention:
    case ComponentKind::mlp:
    case ComponentKind::moe:
    case ComponentKind::experts:
    case ComponentKind::expert:
    case ComponentKind::pooler:
    case ComponentKind::head:
      return true;
    default: return false;
  }
}

const char* to_string(ComponentKind k) {
  switch (k) {
    case ComponentKind::model: return "model";
    case ComponentKind::stack: return "stack";
    case ComponentKind::layer: return "layer";
    case ComponentKind::embeddings: return "embeddings";
    case ComponentKind::attention: return "attention";
    case ComponentKind::cross_attention: return "cross_attention";
    case ComponentKind::mlp: return "mlp";
    case ComponentKind::moe: return "moe";
    case ComponentKind::experts: return "experts";
    case ComponentKind::expert: return "expert";
    case ComponentKind::pooler: return "pooler";
    case ComponentKind::head: return "head";
    case ComponentKind::word_embedding: return "word_embedding";
    case ComponentKind::position_embedding: return "position_embedding";
    case ComponentKind::token_type_embedding: return "token_type_embedding";
    case ComponentKind::embedding_add: return "embedding_add";
    case ComponentKind::embedding_projection: return "embedding_projection";
    case ComponentKind::patch_embedding: return "patch_embedding";
    case ComponentKind::cls_token: return "cls_token";
    case ComponentKind::position_bias: return "position_bias";
    case ComponentKind::norm: return "norm";
    case ComponentKind::q_proj: return "q_proj";
    case ComponentKind::k_proj: return "k_proj";
    case ComponentKind::v_proj: return "v_proj";
    case ComponentKind::qkv_proj: return "qkv_proj";
    case ComponentKind::rope: return "rope";
    case ComponentKind::scores: return "scores";
    case ComponentKind::mask: return "mask";
    case ComponentKind::softmax: return "softmax";
    case ComponentKind::context: return "context";
    case ComponentKind::out_proj: return "out_proj";
    case ComponentKind::residual: return "residual";
    case ComponentKind::gate_proj: return "gate_proj";
    case ComponentKind::up_proj: return "up_proj";
    case ComponentKind::activation: return "activation";
    case ComponentKind::down_proj: return "down_proj";
    case ComponentKind::router: return "router";
    case ComponentKind::combine: return "combine";
    case ComponentKind::dense: return "dense";
    case ComponentKind::lm_head: return "lm_head";
    case ComponentKind::classifier: return "classifier";
  }
  return "?";
}

const char* to_string(OpKind o) {
  switch (o) {
    case OpKind::composite: return "composite";
    case OpKind::linear: return "linear";
    case OpKind::embedding_lookup: return "embedding_lookup";
    case OpKind::patch_embedding: return "patch_embedding";
    case OpKind::concat_token: return "concat_token";
    case OpKind::add: return "add";
    case OpKind::norm: return "norm";
    case OpKind::activation: return "activation";
    case OpKind::rope: return "rope";
    case OpKind::position_bias: return "position_bias";
    case OpKind::attention_scores: return "attention_scores";
    case OpKind::attention_mask: return "attention_mask";
    case OpKind::attention_softmax: return "attention_softmax";
    case OpKind::attention_context: return "attention_context";
    case OpKind::router: return "router";
    case OpKind::moe_combine: return "moe_combine";
  }
  return "?";
}

const char* to_string(Stream s) {
  switch (s) {
    case Stream::encoder: return "encoder";
    case Stream::decoder: return "decoder";
    case Stream::vision: return "vision";
  }
  return "?";
}

const char* to_string(TokenScope s) {
  switch (s) {
    case TokenScope::all: return "all";
    case TokenScope::first_token: return "first_token";
    case TokenScope::routed: return "routed";
  }
  return "?";
}

}  // namespace clear
