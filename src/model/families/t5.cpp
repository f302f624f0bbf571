// T5 v1.0 and v1.1 (configuration_t5.py): pre-norm RMSNorm encoder-decoder without biases, unscaled
// attention with a bucketed relative position bias, plain or gated feed-forward (feed_forward_proj).
#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

using config_fields::kMaxLayers;
using config_fields::kMaxVocab;

void parse_t5(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  c.hidden_size = f.size(f.pick("d_model", "hidden_size"));
  c.embedding_size = c.hidden_size;
  int64_t head_dim = f.size(f.pick("d_kv", "head_dim"));
  int64_t ffn = f.size("d_ff");
  int64_t layers = f.size(f.pick("num_layers", "num_hidden_layers"), kMaxLayers);
  int64_t decoder_layers = f.size_or("num_decoder_layers", layers, kMaxLayers);
  int64_t heads = f.size(f.pick("num_heads", "num_attention_heads"));
  // Inner width heads * d_kv need not equal d_model: q/k/v map d_model -> heads * d_kv.
  c.encoder = StackConfig{layers, heads, heads, head_dim, ffn};
  c.decoder = StackConfig{decoder_layers, heads, heads, head_dim, ffn};
  c.positions = PositionKind::relative_bias;
  c.relative_buckets = f.size_or("relative_attention_num_buckets", 32);
  c.relative_max_distance = f.size_or("relative_attention_max_distance", 128);

  // "{ACT}" or "gated-{ACT}"; T5Config maps "gated-gelu" to gelu_new.
  std::string proj = f.text_or("feed_forward_proj", "relu");
  std::string act = proj;
  bool gated = false;
  if (auto dash = proj.find('-'); dash != std::string::npos) {
    gated = proj.substr(0, dash) == "gated";
    act = proj.substr(dash + 1);
    if (!gated || act.find('-') != std::string::npos || act.empty())
      f.fail("feed_forward_proj", fmt::format("'{}' is not a valid activation; expected '{{ACT}}' or 'gated-{{ACT}}' "
                                              "(e.g. 'relu', 'gated-gelu')",
                                              proj));
  }
  if (proj == "gated-gelu") act = "gelu_new";
  c.activation = activation_named(f, "feed_forward_proj", act);
  c.gated_mlp = gated;

  c.norm = NormKind::rms_norm;
  c.norm_eps = f.positive_or("layer_norm_epsilon", 1e-6);
  c.pre_norm = true;
  c.final_norm = true;
  c.qkv_bias = false;
  c.out_proj_bias = false;
  c.mlp_bias = false;
  c.attention_scaled = false;
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", true);
  if (!f.flag_or("is_encoder_decoder", true))
    f.fail("is_encoder_decoder", "false contradicts model_type 't5' (an encoder-decoder)");
  c.pad_token_id = f.integer_or("pad_token_id", 0);
}

}  // namespace clear::families
