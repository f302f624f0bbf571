#pragma once
// From a workload to what each leaf sees: token rows per stream, attended positions, KV caching,
// expert routing. The cost formulas (op_costs.cpp) take it from here.
#include <cstdint>

#include "clear/analysis/op_costs.hpp"
#include "clear/model/graph.hpp"
#include "clear/model/workload.hpp"

namespace clear::analysis_detail {

// One token stream under the workload, per sequence.
struct StreamRun {
  bool runs = false;
  int64_t queries = 0;         // tokens per sequence this forward computes
  int64_t first_position = 0;  // absolute position of the first (decode: kv_len)
};

struct WorkloadShape {
  int64_t batch = 1;
  int64_t dtype_bytes = 4;
  bool training = false;
  bool decode = false;
  StreamRun encoder, decoder, vision;
  int64_t patches = 0;     // vision: patches per image
  int64_t source_len = 0;  // encoder positions the decoder's cross-attention reads
};

// Throws clear::Error naming the flag when the workload does not fit the model.
WorkloadShape workload_shape(const ModelConfig& config, const Workload& workload);

const StreamRun& stream_run(const WorkloadShape& w, Stream stream);

// The attention a leaf belongs to: its own shape for attention leaves, rope and position_bias;
// for projections inside an attention block, the shape of the block's scores leaf. Null outside.
const AttentionShape* attention_of(const ComponentGraph& graph, int node);

// Whether K and V of this attention live in a KV cache (decoder self- and cross-attention, not training).
bool kv_cached(const AttentionShape& a, const WorkloadShape& w);
// Positions the cache of this attention holds after the step.
int64_t cached_positions(const AttentionShape& a, const WorkloadShape& w, const StreamRun& run);

// Everything op_cost needs for leaf `node`; shape.rows == 0 means the leaf does not run.
OpShape leaf_shape(const ComponentGraph& graph, int node, const WorkloadShape& w);

}  // namespace clear::analysis_detail
