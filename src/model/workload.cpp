// Workload names and checks against a model. Errors name the dissect flag that sets the field.
#include "clear/model/workload.hpp"

#include <fmt/format.h>

#include "clear/model/config.hpp"
#include "clear/util/error.hpp"

namespace clear {

namespace {
// Keeps tokens x widths x layers inside int64 in every later count.
constexpr int64_t kMaxTokens = int64_t(1) << 24;
}  // namespace

const char* to_string(Phase p) { return p == Phase::prefill ? "prefill" : "decode"; }

const char* to_string(DType d) {
  switch (d) {
    case DType::fp32: return "fp32";
    case DType::fp16: return "fp16";
    case DType::bf16: return "bf16";
    case DType::int8: return "int8";
  }
  return "?";
}

int64_t dtype_bytes(DType d) {
  switch (d) {
    case DType::fp32: return 4;
    case DType::fp16:
    case DType::bf16: return 2;
    case DType::int8: return 1;
  }
  return 4;
}

Phase parse_phase(const std::string& text) {
  if (text == "prefill") return Phase::prefill;
  if (text == "decode") return Phase::decode;
  throw Error(fmt::format("--phase: unknown phase '{}'; expected prefill or decode", text));
}

DType parse_dtype(const std::string& text) {
  for (DType d : {DType::fp32, DType::fp16, DType::bf16, DType::int8})
    if (text == to_string(d)) return d;
  throw Error(fmt::format("--dtype: unknown dtype '{}'; expected fp32, fp16, bf16 or int8", text));
}

void validate_workload(const ModelConfig& c, const Workload& w) {
  auto in_range = [](const char* flag, int64_t value, int64_t lo, int64_t hi) {
    if (value < lo || value > hi)
      throw Error(fmt::format("{}: {} is out of range; expected {} to {}", flag, value, lo, hi));
  };
  in_range("--batch", w.batch, 1, kMaxTokens);
  in_range("--seq", w.seq, 1, kMaxTokens);
  in_range("--target-seq", w.target_seq, 0, kMaxTokens);
  in_range("--kv-len", w.kv_len, 0, kMaxTokens - 1);
  in_range("--image-size", w.image_size, 0, int64_t(1) << 16);
  if (w.batch * std::max(w.seq, std::max(w.target_seq, w.kv_len + 1)) > kMaxTokens)
    throw Error(fmt::format("--batch: {} sequences of up to {} tokens exceed {} tokens in all", w.batch,
                            std::max(w.seq, std::max(w.target_seq, w.kv_len + 1)), kMaxTokens));

  bool has_decoder = c.arch_type == ArchType::decoder_only || c.arch_type == ArchType::moe_decoder ||
                     c.arch_type == ArchType::encoder_decoder;
  const char* model = c.name.empty() ? c.source.c_str() : c.name.c_str();
  if (w.phase == Phase::decode) {
    if (!has_decoder)
      throw Error(fmt::format("--phase: decode needs a decoder with a KV cache; {} is {}", model, to_string(c.arch_type)));
    if (w.training) throw Error("--training: a training step is a prefill over whole sequences, not a decode step");
  } else if (w.kv_len != 0) {
    throw Error(fmt::format("--kv-len: {} is only meaningful with --phase decode", w.kv_len));
  }
  if (w.target_seq != 0 && c.arch_type != ArchType::encoder_decoder)
    throw Error(fmt::format("--target-seq: only encoder-decoder models have a target sequence; {} is {}", model,
                            to_string(c.arch_type)));
  if (c.arch_type == ArchType::vision_encoder) {
    int64_t image = w.image_size == 0 ? c.image_size : w.image_size;
    if (image % c.patch_size != 0)
      throw Error(fmt::format("--image-size: {} is not a multiple of the patch size {}", image, c.patch_size));
    if (image < c.patch_size)
      throw Error(fmt::format("--image-size: {} is smaller than one patch ({})", image, c.patch_size));
  } else if (w.image_size != 0) {
    throw Error(fmt::format("--image-size: only vision models take an image; {} is {}", model, to_string(c.arch_type)));
  }
  // A learned position table has a fixed number of rows.
  if (c.positions == PositionKind::learned && c.arch_type != ArchType::vision_encoder) {
    int64_t limit = c.max_positions;
    if (w.phase == Phase::decode) {
      if (w.kv_len + 1 > limit)
        throw Error(fmt::format("--kv-len: {} cached tokens plus the new one exceed the {} positions of {}", w.kv_len,
                                limit, model));
    }
    if (w.seq > limit)
      throw Error(fmt::format("--seq: {} tokens exceed the {} positions of {}", w.seq, limit, model));
    if (w.target_seq > limit)
      throw Error(fmt::format("--target-seq: {} tokens exceed the {} positions of {}", w.target_seq, limit, model));
  }
}

}  // namespace clear
