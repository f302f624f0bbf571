#pragma once
// An execution plan: the graph's leaves in execution order, each bound to the buffers it reads and
// writes for one pass shape. Built once (no allocation while a plan runs); the CPU engine keeps a
// plan for the measured forward (fused attention), one leaf by leaf (capture, run_component) and,
// for decode, one for the prefill that fills the caches.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"
#include "clear/engine/kernels.hpp"
#include "clear/engine/weights.hpp"
#include "engine/cpu/arena.hpp"

namespace clear::cpu {

// Bytes a step reads; capture copies them, run_component puts them back.
struct Region {
  const void* ptr = nullptr;
  int64_t bytes = 0;
};

struct Step {
  int node = -1;        // the leaf it runs; for a fused attention core, the attention composite
  bool fused = false;   // scores, mask, softmax and context in one kernel (hooks only around ancestors)
  std::function<void()> run;
  std::vector<Region> inputs;
};

struct OutputRef {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
};

struct Plan {
  std::vector<Step> steps;
  std::function<void()> prepare;            // fills the pass's ids and positions (not a component)
  std::vector<std::vector<int>> begins;     // per step: composites that start before it (outer first)
  std::vector<std::vector<int>> ends;       // per step: composites that end after it (inner first)
  std::vector<OutputRef> outputs;
};

// The shape of one pass over the model.
struct Pass {
  int64_t dec_len = 0;      // decoder tokens per sequence processed (decoder-only: the prompt or 1)
  int64_t past = 0;         // decoder tokens already in the KV cache
  bool run_encoder = true;  // encoder stack (and encoder-only / vision models) runs
  bool cross_kv = true;     // encoder-decoder: cross-attention K/V computed from the encoder output
  bool cache = false;       // decoder self-attention appends to and reads the KV cache
  bool fused = true;        // attention core as one kernel
  bool heads_enabled = true;  // final norm, pooler, LM head, classifier (a cache-filling prefill skips them)
};

// State shared by the engine and its planner.
struct EngineData {
  ComponentGraph graph;
  Workload workload;
  EngineOptions options;
  WeightStore weights;
  Arena arena;
  std::map<std::string, kernels::PackedLinear> linears;  // keyed by weight name (+ bias name)
  std::map<int64_t, std::vector<float>> inv_freq;        // RoPE frequencies per head_dim

  int64_t batch = 1;
  int64_t enc_len = 0;       // encoder / vision tokens per sequence (0: no encoder stream)
  int64_t dec_ids_len = 0;   // decoder ids per sequence held in dec_ids
  int64_t kv_capacity = 0;   // KV-cache positions per sequence (decode)
  int64_t enc_rows_max = 0, dec_rows_max = 0;
  int64_t image = 0, grid = 0;  // ViT image side and patches per side

  int64_t* enc_ids = nullptr;      // [batch, enc_len]
  int64_t* dec_ids = nullptr;      // [batch, dec_ids_len]
  float* pixels = nullptr;         // [batch, C, image, image]
  float* enc_key_mask = nullptr;   // [batch, enc_len] 1 keep / 0 padding
  bool padding = false;            // valid_lengths given: the encoder attention masks padded keys

  kernels::PackedLinear& linear(int node);  // packed once per weight
  const float* param(int node, const std::string& role) const;
  bool has_param(int node, const std::string& role) const;
};

// Assembles the plan of one pass over `data.graph`.
Plan build_plan(EngineData& data, const Pass& pass);
// Fills plan.begins/ends from the steps' nodes.
void compute_hooks(const ComponentGraph& graph, Plan& plan);

}  // namespace clear::cpu
