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
  // data() of a released tensor throws clear::Error naming it.
  void release(const std::string& name);

  // Memory behind the tensors: mapped_bytes() are read in place from the checkpoint's mapping
  // (zero copy: fp32 data, aligned, no transform), owned_bytes() are fp32 copies on the heap
  // (F16/BF16 storage, GPT-2's transposed Conv1D weights, misaligned data, random weights).
  // Released tensors count in neither.
  int64_t mapped_bytes() const;
  int64_t owned_bytes() const;
  bool is_mapped(const std::string& name) const;
  // Checkpoint tensors that were present but not used, each with the reason (heads that this
  // model class does not carry, e.g. BERT's next-sentence head). Empty for random weights.
  std::vector<std::string> skipped() const;

  struct Impl;
  explicit WeightStore(std::unique_ptr<Impl> impl);
 private:
  std::unique_ptr<Impl> impl_;
};

// Loads config.json's model from `dir` (model.safetensors, or sharded via model.safetensors.index.json).
// `dir` may also name one of those files. Every tensor of graph.parameters() must be present
// (base-model prefix optional) with its shape and an F32/F16/BF16 dtype; any other tensor is an
// error unless it is a tied copy equal to its owner, a buffer Hugging Face stores (position_ids,
// GPT-2's attn.bias, inv_freq), or part of a head this model class does not carry (skipped()).
// Errors name the tensor, its file and the expected shape. Rules and names: docs/WEIGHTS.md.
WeightStore load_weights(const ComponentGraph& graph, const std::filesystem::path& dir);
// Seeded random weights, documented in docs/WEIGHTS.md: norm weights 1, biases 0, every other
// tensor normal(0, 0.02), Hugging Face's initialisation. Each tensor's values depend only on
// (seed, tensor name) through a counter-based generator: same seed, same weights, whatever the
// thread count or the order tensors are made in.
WeightStore random_weights(const ComponentGraph& graph, uint64_t seed);
// The same distribution with the spread of each part chosen (tests that must see every bias and
// norm weight matter use non-zero bias_stddev / norm_stddev). The description names every
// non-default spread.
struct RandomWeightsOptions {
  double stddev = 0.02;       // weights of linears, embeddings, patch conv, position tables, CLS token
  double norm_stddev = 0.0;   // norm weights: 1 + normal(0, norm_stddev)
  double bias_stddev = 0.0;   // biases: normal(0, bias_stddev)
};
WeightStore random_weights(const ComponentGraph& graph, uint64_t seed, const RandomWeightsOptions& options);
// Weights given directly by canonical name (tests, sweeps). Checked against the graph like a checkpoint.
WeightStore weights_from_tensors(const ComponentGraph& graph, std::map<std::string, std::vector<float>> tensors);

}  // namespace clear
