// Llama, Mistral, Qwen2, Mixtral (configuration_{llama,mistral,qwen2,mixtral}.py): pre-norm RMSNorm
// decoders with rotary positions, grouped-query attention and a SwiGLU MLP (Mixtral: top-k experts).
#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

using config_fields::kMaxExperts;
using config_fields::kMaxLayers;
using config_fields::kMaxVocab;

namespace {

// Per-family class defaults that differ.
struct LlamaDefaults {
  int64_t max_positions;
  double rms_eps;
  double rope_theta;
  int64_t sliding_window;  // 0 = None
};

LlamaDefaults defaults_for(Family family) {
  switch (family) {
    case Family::mistral: return {4096 * 32, 1e-6, 10000.0, 4096};
    case Family::qwen2: return {32768, 1e-6, 10000.0, 0};
    case Family::mixtral: return {4096 * 32, 1e-5, 1e6, 0};
    default: return {2048, 1e-6, 10000.0, 0};
  }
}

RopeScaling parse_rope_scaling(const Fields& f) {
  RopeScaling scaling;
  const nlohmann::json* value = f.find("rope_scaling");
  if (!value) return scaling;
  if (!value->is_object()) f.fail_value("rope_scaling", "an object or null");
  Fields r(*value, f.source(), f.model_type(), "rope_scaling.");
  r.require_same("rope_type", "type");
  std::string type = r.text_or(r.pick("rope_type", "type"), "");
  if (type.empty()) f.fail("rope_scaling", "missing 'rope_type'");
  if (type == "default") return scaling;
  if (type == "linear") {
    scaling.type = "linear";
    scaling.factor = r.positive_or("factor", 0);
    if (!r.has("factor")) r.fail("factor", "required for rope_type 'linear'");
  } else if (type == "llama3") {
    for (const char* key : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!r.has(key)) r.fail(key, "required for rope_type 'llama3'");
    scaling.type = "llama3";
    scaling.factor = r.positive_or("factor", 1.0);
    scaling.low_freq_factor = r.positive_or("low_freq_factor", 1.0);
    scaling.high_freq_factor = r.positive_or("high_freq_factor", 1.0);
    scaling.original_max_positions = r.size("original_max_position_embeddings");
    if (scaling.high_freq_factor <= scaling.low_freq_factor)
      r.fail("high_freq_factor", "must be greater than low_freq_factor");
  } else {
    r.fail("rope_type", fmt::format("'{}' is not supported; supported: default, linear, llama3", type));
  }
  return scaling;
}

}  // namespace

void parse_llama(const Fields& f, ModelConfig& c) {
  LlamaDefaults d = defaults_for(c.family);
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  c.hidden_size = f.size("hidden_size");
  c.embedding_size = c.hidden_size;
  StackConfig& s = c.decoder;
  s.num_layers = f.size("num_hidden_layers", kMaxLayers);
  s.num_heads = f.size("num_attention_heads");
  s.ffn_dim = f.size("intermediate_size");
  s.num_kv_heads = f.size_or("num_key_value_heads", s.num_heads);
  if (s.num_heads % s.num_kv_heads != 0)
    f.fail("num_key_value_heads", fmt::format("{} key/value heads do not divide {} attention heads", s.num_kv_heads,
                                              s.num_heads));
  if (f.has("head_dim")) {
    s.head_dim = f.size("head_dim");
  } else {
    if (c.hidden_size % s.num_heads != 0)
      f.fail("num_attention_heads", fmt::format("{} heads do not divide the hidden size {} and no head_dim is given",
                                                s.num_heads, c.hidden_size));
    s.head_dim = c.hidden_size / s.num_heads;
  }
  if (s.head_dim % 2 != 0) f.fail(f.has("head_dim") ? "head_dim" : "num_attention_heads",
                                  fmt::format("rotary embeddings need an even head_dim, got {}", s.head_dim));
  c.activation = parse_activation(f, "hidden_act", "silu");
  c.gated_mlp = true;
  c.positions = PositionKind::rope;
  c.max_positions = f.size_or("max_position_embeddings", d.max_positions);
  c.rope_theta = f.positive_or("rope_theta", d.rope_theta);
  c.rope_scaling = parse_rope_scaling(f);
  c.norm = NormKind::rms_norm;
  c.norm_eps = f.positive_or("rms_norm_eps", d.rms_eps);
  c.pre_norm = true;
  c.final_norm = true;
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", false);
  c.pad_token_id = f.integer_or("pad_token_id", -1);

  switch (c.family) {
    case Family::llama: {
      bool attention_bias = f.flag_or("attention_bias", false);
      c.qkv_bias = attention_bias;
      c.out_proj_bias = attention_bias;
      c.mlp_bias = f.flag_or("mlp_bias", false);
      break;
    }
    case Family::qwen2: {
      // Qwen2Attention: q/k/v carry biases, o_proj does not.
      c.qkv_bias = true;
      c.out_proj_bias = false;
      c.mlp_bias = false;
      // Layers at index >= max_window_layers slide when use_sliding_window; one window for all layers only.
      if (f.flag_or("use_sliding_window", false)) {
        int64_t window = f.size_or("sliding_window", 4096, int64_t(1) << 40);
        int64_t full_layers = f.count_or("max_window_layers", 28, kMaxLayers);
        if (full_layers == 0) {
          c.sliding_window = window;
        } else if (full_layers < s.num_layers) {
          f.fail("max_window_layers", fmt::format("{} full-attention layers followed by sliding-window layers is not "
                                                  "supported (one attention kind for all {} layers)",
                                                  full_layers, s.num_layers));
        }
      }
      break;
    }
    case Family::mistral:
    case Family::mixtral:
      c.qkv_bias = false;
      c.out_proj_bias = false;
      c.mlp_bias = false;
      c.sliding_window = f.is_null("sliding_window") ? 0 : f.size_or("sliding_window", d.sliding_window, int64_t(1) << 40);
      break;
    default: break;
  }
  if (c.family == Family::mixtral) {
    c.num_experts = f.size_or("num_local_experts", 8, kMaxExperts);
    c.experts_per_token = f.size_or("num_experts_per_tok", 2, kMaxExperts);
    if (c.experts_per_token > c.num_experts)
      f.fail("num_experts_per_tok", fmt::format("{} experts per token but only {} experts (num_local_experts)",
                                                c.experts_per_token, c.num_experts));
  }
}

}  // namespace clear::families
