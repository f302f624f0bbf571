// analyze(): each leaf's cost from its OpShape (leaf_shape.cpp) and formula (op_costs.cpp), then
// composites as sums of their children, then model totals as sums over the leaves.
#include "clear/analysis/analysis.hpp"

#include <algorithm>

#include "analysis/checked.hpp"
#include "analysis/leaf_shape.hpp"
#include "clear/analysis/op_costs.hpp"
#include "clear/util/error.hpp"

namespace clear {

using analysis_detail::WorkloadShape;
using checked::prod;
using checked::sum;

int Analysis::find(std::string_view name) const {
  for (const auto& c : components)
    if (c.name == name) return c.node;
  return -1;
}

const ComponentCost& Analysis::at(std::string_view name) const {
  const int i = find(name);
  if (i < 0) throw Error("component '" + std::string(name) + "' is not part of " + config.name);
  return components[i];
}

namespace {

double intensity(int64_t flops, int64_t bytes) { return bytes > 0 ? static_cast<double>(flops) / bytes : 0.0; }

// Σ over cached attentions of K and V for every sequence: 2·B·Hkv·D·positions·dt.
int64_t kv_cache_bytes(const ComponentGraph& g, const WorkloadShape& w) {
  int64_t total = 0;
  for (const auto& c : g.nodes) {
    if (c.op != OpKind::attention_scores || !analysis_detail::kv_cached(c.attention, w)) continue;
    const auto& run = analysis_detail::stream_run(w, c.stream);
    if (!run.runs) continue;
    const int64_t positions = analysis_detail::cached_positions(c.attention, w, run);
    total = sum({total, prod({2, w.batch, c.attention.kv_heads, c.attention.head_dim, positions, w.dtype_bytes})});
  }
  return total;
}

}  // namespace

void add_counts(ComponentCost& into, const ComponentCost& from) {
  into.params = sum({into.params, from.params});
  into.macs = sum({into.macs, from.macs});
  into.flops = sum({into.flops, from.flops});
  into.weight_bytes_read = sum({into.weight_bytes_read, from.weight_bytes_read});
  into.activation_bytes_read = sum({into.activation_bytes_read, from.activation_bytes_read});
  into.activation_bytes_written = sum({into.activation_bytes_written, from.activation_bytes_written});
  into.kv_bytes_read = sum({into.kv_bytes_read, from.kv_bytes_read});
  into.kv_bytes_written = sum({into.kv_bytes_written, from.kv_bytes_written});
  into.bytes = sum({into.bytes, from.bytes});
  into.backward_flops = sum({into.backward_flops, from.backward_flops});
  into.training_flops = sum({into.training_flops, from.training_flops});
  into.intensity = intensity(into.flops, into.bytes);
}

Analysis analyze(const ComponentGraph& graph, const Workload& workload, Convention convention) {
  const WorkloadShape w = analysis_detail::workload_shape(graph.config, workload);
  Analysis out;
  out.config = graph.config;
  out.workload = workload;
  out.convention = convention;
  const int n = static_cast<int>(graph.nodes.size());
  out.components.resize(n);

  for (int i = 0; i < n; ++i) {
    const Component& c = graph.nodes[i];
    ComponentCost& cost = out.components[i];
    cost.node = i;
    cost.name = c.name;
    cost.kind = c.kind;
    cost.op = c.op;
    cost.parent = c.parent;
    cost.layer = c.layer;
    for (const auto& p : c.params) cost.params = sum({cost.params, p.numel()});
    if (!c.is_leaf()) {
      out.params_total = sum({out.params_total, cost.params});  // a composite owning tensors of its own
      continue;
    }
    const OpShape shape = analysis_detail::leaf_shape(graph, i, w);
    cost.rows = shape.rows;
    if (shape.rows < 1) continue;  // does not run under this workload
    const OpCost o = op_cost(c, shape, convention, w.training);
    cost.calls = 1;
    cost.macs = o.macs;
    cost.flops = o.flops;
    cost.weight_bytes_read = o.weight_bytes_read;
    cost.activation_bytes_read = o.activation_bytes_read;
    cost.activation_bytes_written = o.activation_bytes_written;
    cost.kv_bytes_read = o.kv_bytes_read;
    cost.kv_bytes_written = o.kv_bytes_written;
    cost.bytes = o.bytes();
    if (w.training) {
      cost.backward_flops = o.backward_flops;
      cost.training_flops = sum({o.flops, o.backward_flops});
    }
  }

  // Pre-order puts every child after its parent: walking backwards folds children into parents.
  ComponentCost total;
  for (int i = n - 1; i >= 0; --i) {
    ComponentCost& cost = out.components[i];
    cost.intensity = intensity(cost.flops, cost.bytes);
    if (graph.nodes[i].is_leaf()) add_counts(total, cost);
    if (cost.parent >= 0) {
      ComponentCost& parent = out.components[cost.parent];
      add_counts(parent, cost);
      parent.calls = std::max(parent.calls, cost.calls);  // a composite runs when any part of it runs
    }
  }
  out.params_total = sum({out.params_total, total.params});
  out.macs_total = total.macs;
  out.flops_total = total.flops;
  out.bytes_total = total.bytes;
  out.weight_bytes_read_total = total.weight_bytes_read;
  out.activation_bytes_read_total = total.activation_bytes_read;
  out.activation_bytes_written_total = total.activation_bytes_written;
  out.kv_bytes_read_total = total.kv_bytes_read;
  out.kv_bytes_written_total = total.kv_bytes_written;
  out.backward_flops_total = total.backward_flops;
  out.training_flops_total = total.training_flops;
  out.intensity = intensity(out.flops_total, out.bytes_total);
  out.kv_cache_bytes = kv_cache_bytes(graph, w);
  out.weights_bytes = prod({out.params_total, w.dtype_bytes});
  out.encoder_tokens = w.encoder.runs ? prod({w.batch, w.encoder.queries}) : 0;
  out.decoder_tokens = w.decoder.runs ? prod({w.batch, w.decoder.queries}) : 0;
  if (graph.config.arch_type == ArchType::vision_encoder) {
    out.vision_tokens = out.encoder_tokens;
    out.encoder_tokens = out.decoder_tokens = 0;
  } else if (graph.config.arch_type == ArchType::encoder_only) {
    out.decoder_tokens = 0;
  } else if (graph.config.arch_type != ArchType::encoder_decoder) {
    out.encoder_tokens = 0;
  }
  out.tokens = out.decoder_tokens > 0 ? out.decoder_tokens : out.encoder_tokens + out.vision_tokens;
  return out;
}

}  // namespace clear
