// GPT-2 (configuration_gpt2.py): pre-norm decoder, learned positions, fused QKV (Conv1D), tied LM head.
#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

using config_fields::kMaxDim;
using config_fields::kMaxLayers;
using config_fields::kMaxVocab;

void parse_gpt2(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  const char* hidden_key = f.pick("n_embd", "hidden_size");
  c.hidden_size = f.size(hidden_key);
  c.embedding_size = c.hidden_size;
  int64_t layers = f.size(f.pick("n_layer", "num_hidden_layers"), kMaxLayers);
  const char* heads_key = f.pick("n_head", "num_attention_heads");
  int64_t heads = f.size(heads_key);
  // n_inner = None means 4 * n_embd (GPT2MLP).
  int64_t ffn = f.size_or("n_inner", 4 * c.hidden_size, 4 * kMaxDim);
  c.decoder = uniform_stack(f, c.hidden_size, layers, heads, heads_key, ffn);
  c.activation = parse_activation(f, "activation_function", "gelu_new");
  learned_positions(c, f.size_or(f.pick("n_positions", "max_position_embeddings"), 1024), 0);
  c.norm = NormKind::layer_norm;
  c.norm_eps = f.positive_or("layer_norm_epsilon", 1e-5);
  c.attention_scaled = f.flag_or("scale_attn_weights", true);
  if (f.flag_or("scale_attn_by_inverse_layer_idx", false))
    f.fail("scale_attn_by_inverse_layer_idx", "true is not supported");
  if (f.flag_or("add_cross_attention", false)) f.fail("add_cross_attention", "true is not supported");
  c.pre_norm = true;
  c.final_norm = true;
  c.pad_token_id = f.integer_or("pad_token_id", -1);
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", true);
}

}  // namespace clear::families
