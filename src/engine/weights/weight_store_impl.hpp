#pragma once
// WeightStore's insides, shared by the files that fill it (checkpoint loader, random weights,
// tensors given directly).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clear/engine/safetensors.hpp"
#include "clear/engine/weights.hpp"

namespace clear {

struct WeightTensor {
  std::vector<int64_t> shape;
  const float* data = nullptr;            // into `owned` or into the checkpoint's mapping
  std::vector<float> owned;               // empty when mapped
  const safetensors::MappedFile* file = nullptr;  // set when mapped (zero copy)
  const safetensors::TensorInfo* info = nullptr;
  bool released = false;
  int64_t numel() const;
};

struct WeightStore::Impl {
  std::map<std::string, WeightTensor> tensors;
  std::shared_ptr<const safetensors::Checkpoint> checkpoint;  // keeps the mappings alive
  bool random = false;
  std::string description;
  std::vector<std::string> skipped;

  // Adds an owned tensor.
  void add_owned(const std::string& name, std::vector<int64_t> shape, std::vector<float> values);
};

// Throws clear::Error listing what is wrong when `impl` does not hold exactly the graph's
// parameters with their shapes (used for tensors given directly; `what` names the source).
void check_against_graph(const ComponentGraph& graph, const WeightStore::Impl& impl, const std::string& what);

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace clear
