#pragma once
// The seam between a model's component graph and the hardware that runs it. The CPU engine is
// the first backend; a GPU backend later implements the same interface, so the protocol, meters
// and reports never know which one ran.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "clear/model/config.hpp"
#include "clear/model/graph.hpp"
#include "clear/model/workload.hpp"

namespace clear {

// Told when a component starts and ends. In a whole-model run every component (composites too)
// is reported, nested; in run_component the component is reported once around all repetitions.
// Timers, the emulated energy sensor and progress displays listen here.
class ComponentObserver {
 public:
  virtual ~ComponentObserver() = default;
  virtual void on_begin(const ComponentGraph& graph, int node) = 0;
  virtual void on_end(const ComponentGraph& graph, int node) = 0;
};

// Inputs of one forward pass. Empty fields are filled with seeded random values (ids uniform over
// the vocabulary, pixels uniform in [-1, 1]) so a zoo model runs with no data at all.
struct ModelInputs {
  std::vector<int64_t> input_ids;          // [batch, seq] (encoder side of encoder-decoder models).
                                           // Decode: [batch, kv_len + 1], the first kv_len fill the cache.
  std::vector<int64_t> decoder_input_ids;  // encoder-decoder: [batch, target_seq] (decode: [batch, kv_len + 1])
  std::vector<int64_t> valid_lengths;      // [batch] encoder tokens that are not padding; empty = no padding
  std::vector<float> pixel_values;         // ViT: [batch, channels, image, image]
};

// A named model output: "last_hidden_state", "logits" (models with an LM head or classifier),
// "pooler_output", "encoder_last_hidden_state". Row-major, shape as Hugging Face returns it.
struct OutputTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

class WeightStore;

struct EngineOptions {
  int threads = 0;                  // 0: every core this process may use
  DType dtype = DType::fp32;        // fp32 or bf16 (bf16 refused with a clear error where the CPU lacks it)
  std::filesystem::path weights;    // Hugging Face folder; empty: seeded random weights
  uint64_t seed = 0x5eed;           // random weights and random input ids
  std::vector<int64_t> input_ids;   // optional prompt (length seq); otherwise seeded random ids

  // Additions of the CPU engine (docs/ENGINE.md).
  // Whole-model runs compute the attention core (scores, mask, softmax, context) in one fused
  // kernel; false runs the four leaf kernels on a materialised [B, H, S, K] buffer instead.
  bool fused_attention = true;
  // Decode: KV-cache room for this many token steps from kv_len (CpuEngine::generate); at least 1.
  int64_t max_new_tokens = 1;
  // Memory the engine may use; 0: MemAvailable from /proc/meminfo. A model needing more is refused.
  int64_t memory_limit_bytes = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu"
  virtual const ComponentGraph& graph() const = 0;
  virtual const Workload& workload() const = 0;
  // "random weights (seed ...)" or "weights from <dir>": every output that shows results says it.
  virtual std::string weights_description() const = 0;
  virtual bool random_weights() const = 0;

  // One real forward pass that records the inputs every component receives.
  virtual void capture() = 0;
  // Components that run under this workload (encoder-decoder decode skips the encoder), in
  // execution order, composites included.
  virtual std::vector<int> runnable_components() const = 0;
  // Run one component (leaf or composite) `repetitions` times on its captured inputs, with no
  // allocation inside the loop. Requires capture().
  virtual void run_component(int node, int64_t repetitions) = 0;
  // Run the whole forward pass (decode: one decode step at kv_len) `repetitions` times.
  virtual void run_model(int64_t repetitions) = 0;
  // Returns once every submitted piece of work has finished.
  virtual void synchronize() = 0;
  virtual void set_observer(ComponentObserver* observer) = 0;

  // Replaces the seeded random inputs; takes effect at the next capture() or run_model().
  virtual void set_inputs(const ModelInputs& inputs) = 0;
  // Outputs of the latest forward pass (capture, run_model, or leaves run in order after capture).
  virtual std::vector<OutputTensor> outputs() const = 0;
};

// Throws clear::Error when the model would not fit in memory (with the bytes it needs), when a
// checkpoint is bad, or when the dtype is not supported on this CPU.
std::unique_ptr<Backend> make_cpu_backend(const ModelConfig& config, const Workload& workload,
                                          const EngineOptions& options);
// The same with weights already in hand (tests, sweeps); options.weights is ignored.
std::unique_ptr<Backend> make_cpu_backend(const ModelConfig& config, const Workload& workload,
                                          const EngineOptions& options, WeightStore weights);

}  // namespace clear
