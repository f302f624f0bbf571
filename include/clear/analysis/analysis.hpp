#pragma once
// Compute analysis (the C of CLEAR): parameters, MACs, FLOPs and bytes moved for every component of
// a model under a workload, in one of three counting conventions. docs/ANALYSIS.md states every
// formula; src/analysis/op_costs.cpp holds one cost formula per OpKind.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clear/model/config.hpp"
#include "clear/model/graph.hpp"
#include "clear/model/workload.hpp"

namespace clear {

// full: every operation with our documented per-element costs, attention over attended positions only.
// calflops: what calflops / DeepSpeed's profiler print for the Hugging Face eager implementation.
// kaplan: Kaplan et al. 2020, C_forward = 2N + 2·n_layer·n_ctx·d_attn per token.
enum class Convention { full, calflops, kaplan };
const char* to_string(Convention);
// "full" | "calflops" | "kaplan"; throws clear::Error naming --convention and the accepted values.
Convention parse_convention(const std::string& text);

// One node's cost for one forward pass of the workload (for a composite: the sum over its leaves).
struct ComponentCost {
  int node = -1;                 // index into the graph's nodes (and into Analysis::components)
  std::string name;              // copied from the graph so an Analysis outlives it
  ComponentKind kind = ComponentKind::model;
  OpKind op = OpKind::composite;
  int parent = -1;
  int layer = -1;                // layer index inside its stack, -1 outside layers
  // How many times one forward runs the component: 1, or 0 where it does not run under the
  // workload (the encoder during encoder-decoder decode, the cached cross-attention k/v projections
  // in decode, an expert the routing gives no token). A composite runs when any of its leaves does.
  // Every figure below is already the whole forward's (per call × calls).
  int64_t calls = 0;
  int64_t rows = 0;              // leaf: token rows it processes (patches for the patch embedding)
  int64_t params = 0;            // parameters it owns (shared tensors counted once, at the owner)
  int64_t macs = 0;              // multiply-accumulates of its matrix products
  int64_t flops = 0;             // forward FLOPs
  int64_t weight_bytes_read = 0;        // its (or its owner's) parameters, once per call
  int64_t activation_bytes_read = 0;    // input activations
  int64_t activation_bytes_written = 0; // output activations
  int64_t kv_bytes_read = 0;            // K/V read from the KV cache
  int64_t kv_bytes_written = 0;         // K/V appended to the KV cache
  int64_t bytes = 0;                    // sum of the five above
  double intensity = 0.0;               // flops / bytes (0 when no bytes move)
  int64_t backward_flops = 0;           // only when the workload is a training step, else 0
  int64_t training_flops = 0;           // flops + backward_flops when training, else 0
};

struct Analysis {
  ModelConfig config;            // the analysed model (name, family, arch, head, ...)
  Workload workload;
  Convention convention = Convention::full;
  std::vector<ComponentCost> components;  // one per graph node, same order (components[i].node == i)

  // Totals over the leaves (equal to the root's figures).
  int64_t params_total = 0;      // == ComponentGraph::param_count()
  int64_t macs_total = 0;
  int64_t flops_total = 0;       // forward
  int64_t bytes_total = 0;
  int64_t weight_bytes_read_total = 0;
  int64_t activation_bytes_read_total = 0;
  int64_t activation_bytes_written_total = 0;
  int64_t kv_bytes_read_total = 0;
  int64_t kv_bytes_written_total = 0;
  int64_t backward_flops_total = 0;  // training only
  int64_t training_flops_total = 0;  // training only: flops_total + backward_flops_total
  double intensity = 0.0;            // flops_total / bytes_total

  int64_t kv_cache_bytes = 0;    // K/V cache held after this step (0 when training or no cached attention)
  int64_t weights_bytes = 0;     // params_total × dtype bytes
  // Token rows per stream for this workload: encoder (encoder-only and encoder-decoder sources),
  // decoder (decoder-only and encoder-decoder targets), vision (patches + CLS per image).
  int64_t encoder_tokens = 0;
  int64_t decoder_tokens = 0;
  int64_t vision_tokens = 0;
  // Tokens the model produces outputs for: decoder tokens where the model has a decoder,
  // otherwise encoder (or vision) tokens.
  int64_t tokens = 0;

  int find(std::string_view name) const;                // -1 when absent
  const ComponentCost& at(std::string_view name) const; // throws clear::Error naming the component
};

// Adds `from`'s counts (params, MACs, FLOPs, the byte breakdown, backward and training FLOPs) into
// `into` and recomputes its intensity; identity and calls are left to the caller.
void add_counts(ComponentCost& into, const ComponentCost& from);

// Analyse `graph` under `workload`. Throws clear::Error (naming the flag) when the workload does
// not fit the model (decode on an encoder-only model, training in decode, ...).
Analysis analyze(const ComponentGraph& graph, const Workload& workload, Convention convention = Convention::full);

}  // namespace clear
