// ModelConfig -> ComponentGraph, family by family, exactly as docs/NAMING.md lists.
#include "clear/model/graph.hpp"

#include "clear/util/error.hpp"
#include "model/families/families.hpp"
#include "model/graph_builder.hpp"

namespace clear {

namespace {

using graph_build::AttentionSpec;
using graph_build::Builder;
using graph_build::LayerSpec;
using graph_build::MlpSpec;

MlpSpec mlp_spec(const ModelConfig& c, const StackConfig& s) {
  return MlpSpec{s.ffn_dim, c.activation, c.gated_mlp, c.mlp_bias};
}

AttentionSpec self_attention(const ModelConfig& c, const StackConfig& s, bool causal, Stream stream) {
  AttentionSpec a;
  a.shape = graph_build::self_attention_shape(c, s, causal);
  a.fused_qkv = c.family == Family::gpt2;
  a.rope = c.positions == PositionKind::rope;
  a.mask = c.family != Family::vit;
  a.qkv_bias = c.qkv_bias;
  a.out_bias = c.out_proj_bias;
  a.kv_stream = stream;
  return a;
}

AttentionSpec cross_attention(const ModelConfig& c, const StackConfig& s) {
  AttentionSpec a = self_attention(c, s, false, Stream::encoder);
  a.kind = ComponentKind::cross_attention;
  a.shape.cross = true;
  a.shape.window = 0;
  a.shape.relative_bias = false;  // T5 adds its position bias only in self-attention
  a.rope = false;
  return a;
}

void pooler(Builder& b) {
  const ModelConfig& c = b.config();
  int p = b.add(0, "pooler", ComponentKind::pooler);
  b.at(p).scope = TokenScope::first_token;
  b.linear(p, "dense", ComponentKind::dense, c.hidden_size, c.pooler_size, true);
  b.activation(p, "activation", c.pooler_activation, c.pooler_size, false);
}

// BertForMaskedLM-style head: transform (H -> E), activation, norm, decoder (E -> V, tied weight, own bias).
void masked_lm_head(Builder& b) {
  const ModelConfig& c = b.config();
  int head = b.add(0, "lm_head", ComponentKind::head);
  b.linear(head, "transform", ComponentKind::dense, c.hidden_size, c.embedding_size, true);
  // RobertaLMHead applies gelu (erf) whatever hidden_act says.
  Activation act = c.family == Family::roberta ? Activation::gelu_erf : c.activation;
  b.activation(head, "activation", act, c.embedding_size, false);
  b.norm(head, "norm", c.embedding_size);
  int decoder = b.linear(head, "decoder", ComponentKind::lm_head, c.embedding_size, c.vocab_size, true);
  if (c.tie_word_embeddings) b.share(decoder, "embeddings.word", /*keep_bias=*/true);
}

// A linear LM head over the last hidden state; tied heads use the (shared) word embedding.
void linear_lm_head(Builder& b, const std::string& word_embedding) {
  const ModelConfig& c = b.config();
  int head = b.linear(0, "lm_head", ComponentKind::lm_head, c.hidden_size, c.vocab_size, false);
  b.at(head).stream = Stream::decoder;
  if (c.tie_word_embeddings) b.share(head, word_embedding);
}

// ALBERT: layer i uses the tensors of the first layer of its group.
void share_albert_layers(Builder& b, const std::vector<int>& layers) {
  const ModelConfig& c = b.config();
  int64_t n = int64_t(layers.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t group = families::albert_group_of(i, n, c.albert_groups);
    int64_t owner = 0;
    while (families::albert_group_of(owner, n, c.albert_groups) != group) ++owner;
    if (owner == i) continue;
    std::string from = b.name(layers[size_t(i)]);
    std::string to = b.name(layers[size_t(owner)]);
    for (int leaf : b.graph().leaves_under(layers[size_t(i)]))
      if (!b.at(leaf).params.empty()) b.share(leaf, to + b.name(leaf).substr(from.size()));
  }
}

void build_encoder_only(Builder& b) {
  const ModelConfig& c = b.config();
  int64_t e = c.embedding_size;
  int emb = b.add(0, "embeddings", ComponentKind::embeddings);
  b.embedding(emb, "word", ComponentKind::word_embedding, c.vocab_size, e);
  b.embedding(emb, "position", ComponentKind::position_embedding, c.max_positions + c.position_offset, e);
  if (c.type_vocab_size > 0) b.embedding(emb, "token_type", ComponentKind::token_type_embedding, c.type_vocab_size, e);
  b.add_op(emb, "add", ComponentKind::embedding_add, e, c.type_vocab_size > 0 ? 3 : 2);
  b.norm(emb, "norm", e);
  if (c.family == Family::albert)
    b.linear(emb, "projection", ComponentKind::embedding_projection, e, c.hidden_size, true);
  LayerSpec spec;
  spec.self_attention = self_attention(c, c.encoder, false, Stream::encoder);
  spec.mlp = mlp_spec(c, c.encoder);
  std::vector<int> layers;
  for (int64_t i = 0; i < c.encoder.num_layers; ++i) layers.push_back(graph_build::layer(b, 0, int(i), spec));
  if (c.family == Family::albert) share_albert_layers(b, layers);
  if (c.pooler) pooler(b);
  if (c.head == Head::masked_lm) masked_lm_head(b);
}

void build_decoder_only(Builder& b) {
  const ModelConfig& c = b.config();
  int emb = b.add(0, "embeddings", ComponentKind::embeddings);
  b.embedding(emb, "word", ComponentKind::word_embedding, c.vocab_size, c.hidden_size);
  if (c.positions == PositionKind::learned) {
    b.embedding(emb, "position", ComponentKind::position_embedding, c.max_positions + c.position_offset, c.hidden_size);
    b.add_op(emb, "add", ComponentKind::embedding_add, c.hidden_size, 2);
  }
  LayerSpec spec;
  spec.self_attention = self_attention(c, c.decoder, true, Stream::decoder);
  spec.mlp = mlp_spec(c, c.decoder);
  spec.moe = c.num_experts > 0;
  for (int64_t i = 0; i < c.decoder.num_layers; ++i) graph_build::layer(b, 0, int(i), spec);
  b.norm(0, "final_norm", c.hidden_size);
  if (c.head == Head::causal_lm) linear_lm_head(b, "embeddings.word");
}

void build_vision(Builder& b) {
  const ModelConfig& c = b.config();
  int64_t h = c.hidden_size;
  int emb = b.add(0, "embeddings", ComponentKind::embeddings);
  int patch = b.add(emb, "patch_embedding", ComponentKind::patch_embedding, OpKind::patch_embedding);
  b.at(patch).in_features = c.num_channels * c.patch_size * c.patch_size;
  b.at(patch).out_features = h;
  b.at(patch).bias = true;
  b.param(patch, "weight", {h, c.num_channels, c.patch_size, c.patch_size});
  b.param(patch, "bias", {h});
  int cls = b.add(emb, "cls_token", ComponentKind::cls_token, OpKind::concat_token);
  b.at(cls).width = h;
  b.param(cls, "weight", {1, 1, h});
  b.embedding(emb, "position", ComponentKind::position_embedding, c.max_positions, h);
  b.add_op(emb, "add", ComponentKind::embedding_add, h, 2);
  LayerSpec spec;
  spec.self_attention = self_attention(c, c.encoder, false, Stream::vision);
  spec.mlp = mlp_spec(c, c.encoder);
  for (int64_t i = 0; i < c.encoder.num_layers; ++i) graph_build::layer(b, 0, int(i), spec);
  b.norm(0, "final_norm", h);
  if (c.head == Head::image_classification) {
    int classifier = b.linear(0, "classifier", ComponentKind::classifier, h, c.num_labels, true);
    b.at(classifier).scope = TokenScope::first_token;
  }
  if (c.pooler) pooler(b);
}

// One stack of an encoder-decoder model (T5, BART).
void build_stack(Builder& b, bool decoder) {
  const ModelConfig& c = b.config();
  const StackConfig& s = decoder ? c.decoder : c.encoder;
  int stack = b.add(0, decoder ? "decoder" : "encoder", ComponentKind::stack);
  b.at(stack).stream = decoder ? Stream::decoder : Stream::encoder;
  int emb = b.add(stack, "embeddings", ComponentKind::embeddings);
  int word = b.embedding(emb, "word", ComponentKind::word_embedding, c.vocab_size, c.hidden_size);
  if (decoder) b.share(word, "encoder.embeddings.word");  // one shared token table
  if (c.positions == PositionKind::learned) {
    b.embedding(emb, "position", ComponentKind::position_embedding, c.max_positions + c.position_offset, c.hidden_size);
    b.add_op(emb, "add", ComponentKind::embedding_add, c.hidden_size, 2);
  }
  if (c.embedding_norm) b.norm(emb, "norm", c.hidden_size);
  if (c.positions == PositionKind::relative_bias) {
    int bias = b.add(stack, "position_bias", ComponentKind::position_bias, OpKind::position_bias);
    b.at(bias).attention = graph_build::self_attention_shape(c, s, decoder);
    b.at(bias).in_features = c.relative_buckets;
    b.at(bias).width = s.num_heads;
    b.param(bias, "weight", {c.relative_buckets, s.num_heads});
  }
  LayerSpec spec;
  spec.self_attention = self_attention(c, s, decoder, b.at(stack).stream);
  spec.cross = decoder;
  spec.cross_attention = cross_attention(c, s);
  spec.mlp = mlp_spec(c, s);
  for (int64_t i = 0; i < s.num_layers; ++i) graph_build::layer(b, stack, int(i), spec);
  if (c.final_norm) b.norm(stack, "final_norm", c.hidden_size);
}

void build_encoder_decoder(Builder& b) {
  build_stack(b, false);
  build_stack(b, true);
  if (b.config().head == Head::seq2seq_lm) linear_lm_head(b, "encoder.embeddings.word");
}

}  // namespace

ComponentGraph build_graph(const ModelConfig& config) {
  Builder b(config);
  switch (config.arch_type) {
    case ArchType::encoder_only: build_encoder_only(b); break;
    case ArchType::decoder_only:
    case ArchType::moe_decoder: build_decoder_only(b); break;
    case ArchType::vision_encoder: build_vision(b); break;
    case ArchType::encoder_decoder: build_encoder_decoder(b); break;
  }
  return b.finish();
}

}  // namespace clear
