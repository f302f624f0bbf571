// BERT, RoBERTa (configuration_bert.py, configuration_roberta.py): post-norm encoders with learned
// absolute positions and token-type embeddings. RoBERTa's position table starts at padding_idx + 1.
#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

using config_fields::kMaxLayers;
using config_fields::kMaxVocab;

// Keys both BERT-style families reject because they change the architecture we describe.
static void reject_decoder_variants(const Fields& f) {
  if (f.flag_or("is_decoder", false)) f.fail("is_decoder", "true is not supported (only the bidirectional encoder)");
  if (f.flag_or("add_cross_attention", false)) f.fail("add_cross_attention", "true is not supported");
}

void parse_bert(const Fields& f, ModelConfig& c) {
  bool roberta = c.family == Family::roberta;
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  c.hidden_size = f.size("hidden_size");
  c.embedding_size = c.hidden_size;
  int64_t layers = f.size("num_hidden_layers", kMaxLayers);
  int64_t heads = f.size("num_attention_heads");
  int64_t ffn = f.size("intermediate_size");
  c.encoder = uniform_stack(f, c.hidden_size, layers, heads, "num_attention_heads", ffn);
  c.activation = parse_activation(f, "hidden_act", "gelu");
  int64_t table_rows = f.size_or("max_position_embeddings", 512);
  c.type_vocab_size = f.size_or("type_vocab_size", 2);
  c.norm = NormKind::layer_norm;
  c.norm_eps = f.positive_or("layer_norm_eps", 1e-12);
  std::string position_type = f.text_or("position_embedding_type", "absolute");
  if (position_type != "absolute")
    f.fail("position_embedding_type", fmt::format("'{}' is not supported; only 'absolute'", position_type));
  reject_decoder_variants(f);
  c.pad_token_id = f.integer_or("pad_token_id", roberta ? 1 : 0);
  if (roberta) {
    // create_position_ids_from_input_ids: positions count from padding_idx + 1.
    if (c.pad_token_id < 0 || c.pad_token_id >= table_rows - 1)
      f.fail("pad_token_id", fmt::format("RoBERTa positions start at pad_token_id + 1, which must leave rows in "
                                         "max_position_embeddings ({}); got pad_token_id {}",
                                         table_rows, c.pad_token_id));
    learned_positions(c, table_rows - (c.pad_token_id + 1), c.pad_token_id + 1);
  } else {
    learned_positions(c, table_rows, 0);
  }
  c.pre_norm = false;
  c.embedding_norm = true;
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", true);
}

void parse_distilbert(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  c.hidden_size = f.size(f.pick("dim", "hidden_size"));
  c.embedding_size = c.hidden_size;
  int64_t layers = f.size(f.pick("n_layers", "num_hidden_layers"), kMaxLayers);
  const char* heads_key = f.pick("n_heads", "num_attention_heads");
  int64_t heads = f.size(heads_key);
  int64_t ffn = f.size("hidden_dim");
  c.encoder = uniform_stack(f, c.hidden_size, layers, heads, heads_key, ffn);
  c.activation = parse_activation(f, "activation", "gelu");
  // sinusoidal_pos_embds only changes the table's initial values: it is still an nn.Embedding.
  f.flag_or("sinusoidal_pos_embds", false);
  learned_positions(c, f.size_or("max_position_embeddings", 512), 0);
  c.type_vocab_size = 0;
  c.norm = NormKind::layer_norm;
  c.norm_eps = 1e-12;  // fixed in modeling_distilbert.py
  c.pre_norm = false;
  c.embedding_norm = true;
  c.pad_token_id = f.integer_or("pad_token_id", 0);
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", true);
}

int64_t albert_group_of(int64_t layer, int64_t layers, int64_t groups) {
  return int64_t(double(layer) / (double(layers) / double(groups)));
}

void parse_albert(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.size("vocab_size", kMaxVocab);
  c.embedding_size = f.size("embedding_size");
  c.hidden_size = f.size("hidden_size");
  int64_t layers = f.size("num_hidden_layers", kMaxLayers);
  int64_t heads = f.size("num_attention_heads");
  int64_t ffn = f.size("intermediate_size");
  c.encoder = uniform_stack(f, c.hidden_size, layers, heads, "num_attention_heads", ffn);
  c.albert_groups = f.size_or("num_hidden_groups", 1, kMaxLayers);
  c.albert_inner = f.size_or("inner_group_num", 1, kMaxLayers);
  if (c.albert_groups > layers)
    f.fail("num_hidden_groups", fmt::format("{} groups for {} layers: every group needs a layer", c.albert_groups,
                                            layers));
  // Every group's tensors exist (and count) in Hugging Face, so every group must be used by a layer.
  for (int64_t g = 0, i = 0; g < c.albert_groups; ++g) {
    while (i < layers && albert_group_of(i, layers, c.albert_groups) < g) ++i;
    if (i == layers || albert_group_of(i, layers, c.albert_groups) != g)
      f.fail("num_hidden_groups", fmt::format("with {} layers, group {} of {} is used by no layer", layers, g,
                                              c.albert_groups));
  }
  if (c.albert_inner != 1)
    f.fail("inner_group_num", fmt::format("{} is not supported; only 1 layer per group", c.albert_inner));
  c.activation = parse_activation(f, "hidden_act", "gelu_new");
  learned_positions(c, f.size_or("max_position_embeddings", 512), 0);
  c.type_vocab_size = f.size_or("type_vocab_size", 2);
  c.norm = NormKind::layer_norm;
  c.norm_eps = f.positive_or("layer_norm_eps", 1e-12);
  std::string position_type = f.text_or("position_embedding_type", "absolute");
  if (position_type != "absolute")
    f.fail("position_embedding_type", fmt::format("'{}' is not supported; only 'absolute'", position_type));
  c.pre_norm = false;
  c.embedding_norm = true;
  c.pad_token_id = f.integer_or("pad_token_id", 0);
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", true);
}

}  // namespace clear::families
