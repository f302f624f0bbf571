#pragma once
// One cost formula per OpKind: the seam every consumer of per-op costs shares (the analysis, a GPU
// backend's kernel table, the training backward). docs/ANALYSIS.md states each formula in words.
#include <cstdint>

#include "clear/analysis/analysis.hpp"
#include "clear/model/graph.hpp"

namespace clear {

// What one leaf sees under a workload, beyond its Component (dimensions, attention shape, ...).
struct OpShape {
  int64_t batch = 1;
  int64_t rows = 0;            // token rows (patch_embedding: patches; position_bias: queries per sequence)
  int64_t dtype_bytes = 4;
  int64_t weight_params = 0;   // parameter elements one call reads: its own plus its params_from owner's
  int64_t distinct_rows = 0;   // embedding_lookup: distinct table rows read

  // Attention leaves (scores, mask, softmax, context), rope, position_bias, and the k/v projections.
  int64_t queries = 0;         // queries per sequence
  int64_t keys = 0;            // key positions available per sequence (cached ones included)
  int64_t keys_read = 0;       // distinct key positions some query attends (a window limits them)
  int64_t attended = 0;        // Σ over queries of keys attended, per sequence and head (masks applied)
  int64_t full_pairs = 0;      // queries × keys: the unmasked count calflops and kaplan use
  bool kv_cached = false;      // K and V live in a KV cache (decoder self- and cross-attention, inference)
  int64_t kv_out_features = 0; // of a projection's outputs, how many are appended to the KV cache

  // Model facts some formulas need.
  bool input_scaled = false;   // multiplies its input (or output) by a constant: T5's tied lm_head
                               // rescale, scale_embedding on word embeddings
  bool addmm_bias = false;     // GPT-2 Conv1D (torch.addmm): calflops adds the bias length once per call
};

struct OpCost {
  int64_t macs = 0;
  int64_t flops = 0;
  int64_t backward_flops = 0;  // filled only when asked for training
  int64_t weight_bytes_read = 0;
  int64_t activation_bytes_read = 0;
  int64_t activation_bytes_written = 0;
  int64_t kv_bytes_read = 0;
  int64_t kv_bytes_written = 0;
  int64_t bytes() const;
};

// Cost of one leaf for one forward (and, when `training`, its backward). Throws std::logic_error for
// a composite. Bytes do not depend on the convention; MACs and FLOPs do.
OpCost op_cost(const Component& leaf, const OpShape& shape, Convention convention, bool training);

// Per-element forward FLOPs of the `full` convention (the engine's kernel comments quote the same).
int64_t norm_flops_per_element(NormKind norm);                       // layer_norm 8, rms_norm 4
int64_t activation_flops_per_element(Activation act, bool gated);    // see docs/ANALYSIS.md
// Per-element backward FLOPs of the `full` convention.
int64_t norm_backward_flops_per_element(NormKind norm);               // layer_norm 11, rms_norm 8
int64_t activation_backward_flops_per_element(Activation act, bool gated);

// Σ over `queries` consecutive queries at absolute positions first_position, first_position + 1, ...
// of the keys each attends: all `keys` when not causal; with a causal mask, position p attends
// p + 1 keys, or min(p + 1, window) with a sliding window (window 0 = none). Exact, closed form.
int64_t attended_positions(int64_t first_position, int64_t queries, int64_t keys, bool causal, int64_t window);

}  // namespace clear
