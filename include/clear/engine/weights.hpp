#pragma once
// Model weights as fp32 tensors keyed by canonical parameter names (docs/NAMING.md):
// from a Hugging Face folder (safetensors, memory-mapped), from seeded random numbers, or given
// directly. Hugging Face tensor names are mapped to canonical names in one place (hf_names.cpp).
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "clear/model/graph.hpp"

namespace clear {

class WeightStore {
 public:
  WeightStore();
  ~WeightStore();
  WeightStore(WeightStore&&) noexcept;
  WeightStore& operator=(WeightStore&&) noexcept;

  // fp32 data of a canonical tensor; throws clear::Error naming the tensor when absent.
  const float* data(const std::string& name) const;
  const std::vector<int64_t>& shape(const std::string& name) const;
  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;
  bool random() const;
  std::string description() const;   // "random weights (seed 0x5eed, normal(0, 0.02))" / "weights from DIR"
  int64_t bytes() const;              // fp32 bytes of all tensors
  // Drop a tensor's memory once the engine has packed its own copy (mapped pages are given back).
  void release(const std::string& name);

  struct Impl;
  explicit WeightStore(std::unique_ptr<Impl> impl);
 private:
  std::unique_ptr<Impl> impl_;
};

// Loads config.json's model from `dir` (model.safetensors, or sharded via model.safetensors.index.json).
// Every tensor of graph.parameters() must be present with its shape; extra tensors (other than
// buffers Hugging Face stores, such as position_ids) are an error. Errors name the tensor, its file
// and the expected shape.
WeightStore load_weights(const ComponentGraph& graph, const std::filesystem::path& dir);
// Seeded random weights: documented in docs/ENGINE.md (norm weights 1, biases 0, others normal(0, 0.02)
// unless a test asks otherwise). Same seed, same weights.
WeightStore random_weights(const ComponentGraph& graph, uint64_t seed);
// Weights given directly by canonical name (tests, sweeps). Checked against the graph like a checkpoint.
WeightStore weights_from_tensors(const ComponentGraph& graph, std::map<std::string, std::vector<float>> tensors);

}  // namespace clear
