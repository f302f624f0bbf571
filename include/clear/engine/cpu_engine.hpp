#pragma once
// The CPU backend's concrete interface: everything of Backend plus what only a CPU run offers
// (token-by-token generation, the memory plan). make_cpu_backend returns one of these.
#include <cstdint>
#include <memory>
#include <vector>

#include "clear/engine/backend.hpp"

namespace clear {

// Bytes an engine needs, estimated before anything is allocated (weights as packed for the dtype,
// activation buffers for the workload, KV caches), against what the machine has.
struct MemoryEstimate {
  int64_t weights = 0;      // peak while packing: fp32 tensors plus packed copies made so far
  int64_t activations = 0;
  int64_t kv_cache = 0;
  int64_t total() const { return weights + activations + kv_cache; }
};
MemoryEstimate estimate_cpu_memory(const ComponentGraph& graph, const Workload& workload, const EngineOptions& options);
// MemAvailable from /proc/meminfo in bytes (0 when unreadable).
int64_t available_memory_bytes();

class CpuEngine : public Backend {
 public:
  // Decode only: `steps` token-by-token steps from kv_len (position kv_len, kv_len + 1, ...), each
  // feeding the previous step's greedy token (argmax of the logits; the seeded random id stream for
  // models without an LM head), the cache growing by one each step. Returns each step's seconds.
  // steps <= EngineOptions::max_new_tokens. The cache is refilled from the prompt first.
  virtual std::vector<double> generate(int64_t steps) = 0;
  // Token ids each generate() step consumed ([batch] per step), for callers that print them.
  virtual const std::vector<std::vector<int64_t>>& generated_tokens() const = 0;
  // Bytes of every activation buffer and cache allocated at construction.
  virtual int64_t activation_bytes() const = 0;
  virtual int64_t packed_weight_bytes() const = 0;
  // Whole-model runs: fused attention core (default) or the leaf kernels.
  virtual void set_fused_attention(bool fused) = 0;
};

std::unique_ptr<CpuEngine> make_cpu_engine(const ModelConfig& config, const Workload& workload,
                                           const EngineOptions& options);
std::unique_ptr<CpuEngine> make_cpu_engine(const ModelConfig& config, const Workload& workload,
                                           const EngineOptions& options, WeightStore weights);

}  // namespace clear
