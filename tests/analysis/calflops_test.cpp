// The calflops convention reproduces calflops / DeepSpeed for Hugging Face eager models.
#include <gtest/gtest.h>

#include "analysis/support/models.hpp"
#include "clear/analysis/analysis.hpp"

namespace clear {
namespace {

using testing::graph_from_json;
using testing::zoo_json;

// The reference: calflops on a BERT-base BertModel with vocab 21128 (bert-base-chinese's
// size) at seq 128, batch 1 prints 11,174,215,680 MACs and 22,363,078,656 FLOPs.
TEST(Calflops, BertBaseVocab21128Seq128) {
  auto json = zoo_json("bert-base-uncased");
  json["vocab_size"] = 21128;
  const ComponentGraph g = graph_from_json(json);
  Workload w;
  w.batch = 1;
  w.seq = 128;
  const Analysis a = analyze(g, w, Convention::calflops);
  EXPECT_EQ(a.macs_total, 11174215680);
  EXPECT_EQ(a.flops_total, 22363078656);
}

// The same figure derived term by term (what calflops sees), so a failure shows which term moved.
TEST(Calflops, BertTermsByHand) {
  auto json = zoo_json("bert-base-uncased");
  json["vocab_size"] = 21128;
  const ComponentGraph g = graph_from_json(json);
  Workload w;
  w.seq = 128;
  const Analysis a = analyze(g, w, Convention::calflops);
  const int64_t S = 128, H = 768, F = 3072, heads = 12, D = 64;
  EXPECT_EQ(a.at("layers.0.attention.q_proj").macs, S * H * H);
  EXPECT_EQ(a.at("layers.0.attention.q_proj").flops, 2 * S * H * H);  // bias ignored
  EXPECT_EQ(a.at("layers.0.attention.scores").macs, heads * S * S * D);
  EXPECT_EQ(a.at("layers.0.attention.softmax").flops, heads * S * S);
  EXPECT_EQ(a.at("layers.0.attention.mask").flops, 0);
  EXPECT_EQ(a.at("layers.0.mlp.activation").flops, 0);  // GELU wrapper unseen
  EXPECT_EQ(a.at("layers.0.mlp.up_proj").flops, 2 * S * H * F);
  EXPECT_EQ(a.at("layers.0.norm1").flops, 5 * S * H);
  EXPECT_EQ(a.at("layers.0.residual1").flops, 0);
  EXPECT_EQ(a.at("embeddings.word").flops, 0);
  EXPECT_EQ(a.at("embeddings.norm").flops, 5 * S * H);
  EXPECT_EQ(a.at("pooler").macs, H * H);  // first token only
  EXPECT_EQ(a.at("pooler").flops, 2 * H * H);
}

}  // namespace
}  // namespace clear

namespace clear {
namespace {

// GPT-2 as calflops sees it: Conv1D runs torch.addmm, whose counter adds the bias length once per
// call; attention matmuls over every pair; softmax 1 and LayerNorm 5 per element; GELU, residual
// adds and embeddings 0; the tied lm_head an nn.Linear.
TEST(Calflops, Gpt2ByHand) {
  const int64_t L = 3, H = 48, heads = 4, D = 12, V = 211, B = 2, S = 37;
  const ComponentGraph g = testing::small_gpt2(L, H, heads, V);
  Workload w;
  w.batch = B;
  w.seq = S;
  const Analysis a = analyze(g, w, Convention::calflops);
  const int64_t T = B * S;
  const int64_t linear_macs = T * 12 * H * H, attention_macs = 2 * B * heads * S * S * D;
  const int64_t layer_flops = 2 * linear_macs + 9 * H + 2 * attention_macs + B * heads * S * S + 2 * 5 * T * H;
  EXPECT_EQ(a.macs_total, L * (linear_macs + attention_macs) + T * H * V);
  EXPECT_EQ(a.flops_total, L * layer_flops + 5 * T * H + 2 * T * H * V);
}

// Llama as calflops sees it: RMSNorm, RoPE and the gating multiply unseen, SiLU 1 per element,
// attention over every pair (GQA repeated to all heads).
TEST(Calflops, LlamaByHand) {
  auto json = testing::zoo_json("llama-3.2-1b");
  const int64_t L = 2, H = 32, heads = 4, kv = 2, D = 8, F = 40, V = 97, B = 1, S = 29;
  json["hidden_size"] = H;
  json["num_attention_heads"] = heads;
  json["num_key_value_heads"] = kv;
  json["head_dim"] = D;
  json["intermediate_size"] = F;
  json["num_hidden_layers"] = L;
  json["vocab_size"] = V;
  json["tie_word_embeddings"] = false;
  const ComponentGraph g = testing::graph_from_json(json);
  Workload w;
  w.batch = B;
  w.seq = S;
  const Analysis a = analyze(g, w, Convention::calflops);
  const int64_t T = B * S;
  const int64_t linear_macs = T * (H * heads * D + 2 * H * kv * D + heads * D * H + 3 * H * F);
  const int64_t attention_macs = 2 * B * heads * S * S * D;
  EXPECT_EQ(a.macs_total, L * (linear_macs + attention_macs) + T * H * V);
  EXPECT_EQ(a.flops_total, L * (2 * linear_macs + 2 * attention_macs + B * heads * S * S + T * F) + 2 * T * H * V);
}

}  // namespace
}  // namespace clear
