#pragma once
// What a model is asked to do: the same description drives the analysis and the engine.
#include <cstdint>
#include <string>

namespace clear {

enum class Phase { prefill, decode };
enum class DType { fp32, fp16, bf16, int8 };

struct Workload {
  int64_t batch = 1;
  int64_t seq = 128;         // tokens per sequence (encoder side for encoder-decoder; prompt for decoders)
  int64_t target_seq = 0;    // decoder tokens for encoder-decoder prefill; 0 = same as seq
  Phase phase = Phase::prefill;
  int64_t kv_len = 0;        // decode: tokens already in the KV cache (the new token attends to kv_len + 1)
  int64_t image_size = 0;    // ViT: 0 = the config's image_size
  DType dtype = DType::fp32;
  bool training = false;     // forward + backward (analysis only for now)
};

const char* to_string(Phase);
const char* to_string(DType);
int64_t dtype_bytes(DType);
Phase parse_phase(const std::string&);   // throws clear::Error naming the accepted values
DType parse_dtype(const std::string&);
// Throws clear::Error naming the field when a size is zero/negative or inconsistent
// (decode without kv_len where the model has no cache, image not divisible by the patch, ...).
struct ModelConfig;
void validate_workload(const ModelConfig&, const Workload&);

}  // namespace clear
