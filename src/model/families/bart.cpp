// BART (configuration_bart.py): post-norm encoder-decoder with learned positions offset by 2,
// a LayerNorm after the embeddings of each stack, biases everywhere, shared token embedding.
#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

using config_fields::kMaxLayers;
using config_fields::kMaxVocab;

void parse_bart(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  const char* hidden_key = f.pick("d_model", "hidden_size");
  c.hidden_size = f.size(hidden_key);
  c.embedding_size = c.hidden_size;
  int64_t encoder_layers = f.size(f.pick("encoder_layers", "num_hidden_layers"), kMaxLayers);
  int64_t decoder_layers = f.size("decoder_layers", kMaxLayers);
  const char* encoder_heads_key = f.pick("encoder_attention_heads", "num_attention_heads");
  int64_t encoder_heads = f.size(encoder_heads_key);
  int64_t decoder_heads = f.size("decoder_attention_heads");
  int64_t encoder_ffn = f.size("encoder_ffn_dim");
  int64_t decoder_ffn = f.size("decoder_ffn_dim");
  c.encoder = uniform_stack(f, c.hidden_size, encoder_layers, encoder_heads, encoder_heads_key, encoder_ffn);
  c.decoder = uniform_stack(f, c.hidden_size, decoder_layers, decoder_heads, "decoder_attention_heads", decoder_ffn);
  c.activation = parse_activation(f, "activation_function", "gelu");
  // BartLearnedPositionalEmbedding: max_position_embeddings + 2 rows, positions start at row 2.
  learned_positions(c, f.size_or("max_position_embeddings", 1024), 2);
  c.scale_embedding = f.flag_or("scale_embedding", false);
  c.norm = NormKind::layer_norm;
  c.norm_eps = 1e-5;  // nn.LayerNorm default, fixed in modeling_bart.py
  c.pre_norm = false;
  c.embedding_norm = true;
  // Keys of the original fairseq port that BartModel does not read; a value other than BART's own
  // would describe a different (mBART-like) network, so it contradicts model_type 'bart'.
  if (f.flag_or("normalize_before", false))
    f.fail("normalize_before", "true (pre-norm) contradicts model_type 'bart', which is post-norm");
  if (f.flag_or("add_final_layer_norm", false))
    f.fail("add_final_layer_norm", "true contradicts model_type 'bart', which has no final layer norm");
  if (!f.flag_or("normalize_embedding", true))
    f.fail("normalize_embedding", "false contradicts model_type 'bart', which normalises its embeddings");
  if (!f.flag_or("is_encoder_decoder", true))
    f.fail("is_encoder_decoder", "false contradicts model_type 'bart' (an encoder-decoder)");
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", true);
  c.pad_token_id = f.integer_or("pad_token_id", 1);
}

}  // namespace clear::families
