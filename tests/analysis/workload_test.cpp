// Workloads: decode with a KV cache, encoder-decoder source/target, ViT image tokens, dtypes,
// expert routing, training, and the errors a workload that does not fit the model gives.
#include <gtest/gtest.h>

#include <random>

#include "analysis/support/models.hpp"
#include "clear/model/zoo.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

int64_t draw(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(testing::rng()); }

// A tiny Llama: 3 layers, 4 heads, 2 kv heads, head_dim 8.
ComponentGraph tiny_llama() {
  auto json = testing::zoo_json("llama-3.2-1b");
  json["hidden_size"] = 32;
  json["num_attention_heads"] = 4;
  json["num_key_value_heads"] = 2;
  json["head_dim"] = 8;
  json["intermediate_size"] = 40;
  json["num_hidden_layers"] = 3;
  json["vocab_size"] = 97;
  return testing::graph_from_json(json);
}

ComponentGraph tiny_t5() {
  auto json = testing::zoo_json("t5-small");
  json["d_model"] = 24;
  json["d_kv"] = 6;
  json["num_heads"] = 4;
  json["d_ff"] = 40;
  json["num_layers"] = 2;
  json["num_decoder_layers"] = 3;
  json["vocab_size"] = 77;
  return testing::graph_from_json(json);
}

template <class F>
void expect_error_naming(F&& f, const std::string& flag) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << flag;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
  }
}

TEST(Workload, DecodeReadsAndAppendsTheKvCache) {
  SCOPED_TRACE(testing::seed_note());
  const ComponentGraph g = tiny_llama();
  const int64_t B = draw(1, 4), kv_len = draw(0, 500), L = 3, Hkv = 2, H = 4, D = 8;
  Workload w;
  w.batch = B;
  w.phase = Phase::decode;
  w.kv_len = kv_len;
  w.dtype = DType::bf16;
  const Analysis a = analyze(g, w);
  EXPECT_EQ(a.tokens, B);
  EXPECT_EQ(a.at("layers.0.attention.q_proj").rows, B);
  // V is appended by v_proj; K after rotation, by rope.
  EXPECT_EQ(a.at("layers.0.attention.v_proj").kv_bytes_written, B * Hkv * D * 2);
  EXPECT_EQ(a.at("layers.0.attention.v_proj").activation_bytes_written, 0);
  EXPECT_EQ(a.at("layers.0.attention.k_proj").kv_bytes_written, 0);
  EXPECT_EQ(a.at("layers.0.attention.rope").kv_bytes_written, B * Hkv * D * 2);
  EXPECT_EQ(a.kv_bytes_written_total, L * 2 * B * Hkv * D * 2);
  EXPECT_EQ(a.kv_bytes_read_total, L * 2 * B * (kv_len + 1) * Hkv * D * 2);
  EXPECT_EQ(a.kv_cache_bytes, L * 2 * B * Hkv * D * (kv_len + 1) * 2);
  EXPECT_EQ(a.at("layers.2.attention.scores").macs, B * H * (kv_len + 1) * D);
  EXPECT_EQ(a.at("layers.2.attention.scores").activation_bytes_read, B * H * D * 2);  // the one query
}

TEST(Workload, EncoderDecoderPrefillUsesSourceAndTarget) {
  SCOPED_TRACE(testing::seed_note());
  const ComponentGraph g = tiny_t5();
  const int64_t B = draw(1, 3), S = draw(1, 50), T = draw(1, 50), H = 4, D = 6, d = 24;
  Workload w;
  w.batch = B;
  w.seq = S;
  w.target_seq = T;
  const Analysis a = analyze(g, w);
  EXPECT_EQ(a.encoder_tokens, B * S);
  EXPECT_EQ(a.decoder_tokens, B * T);
  EXPECT_EQ(a.tokens, B * T);
  EXPECT_EQ(a.at("encoder.layers.1.attention.scores").macs, B * H * S * S * D);
  EXPECT_EQ(a.at("decoder.layers.2.attention.scores").macs, B * H * T * (T + 1) / 2 * D);
  EXPECT_EQ(a.at("decoder.layers.0.cross_attention.scores").macs, B * H * T * S * D);
  // Cross-attention K/V are projected from the encoder's S positions (and cached).
  EXPECT_EQ(a.at("decoder.layers.0.cross_attention.k_proj").macs, B * S * d * H * D);
  EXPECT_EQ(a.at("decoder.layers.0.cross_attention.v_proj").kv_bytes_written, B * S * H * D * 4);
  EXPECT_EQ(a.at("decoder.layers.0.cross_attention.q_proj").macs, B * T * d * H * D);
  EXPECT_EQ(a.at("encoder.position_bias").flops, 4 * S * S);
  EXPECT_EQ(a.at("decoder.position_bias").flops, 4 * T * (T + 1) / 2);
  EXPECT_EQ(a.kv_cache_bytes, 3 * 2 * B * H * D * (T + S) * 4);
  // Without --target-seq the target is as long as the source.
  w.target_seq = 0;
  EXPECT_EQ(analyze(g, w).decoder_tokens, B * S);
}

TEST(Workload, EncoderDecoderDecodeRunsOnlyTheDecoder) {
  SCOPED_TRACE(testing::seed_note());
  const ComponentGraph g = tiny_t5();
  const int64_t B = draw(1, 3), S = draw(1, 50), kv_len = draw(0, 40), H = 4, D = 6;
  Workload w;
  w.batch = B;
  w.seq = S;
  w.phase = Phase::decode;
  w.kv_len = kv_len;
  const Analysis a = analyze(g, w);
  for (const auto& c : a.components) {
    const bool encoder = c.name.rfind("encoder", 0) == 0;
    const bool cross_kv = c.name.find("cross_attention.k_proj") != std::string::npos ||
                          c.name.find("cross_attention.v_proj") != std::string::npos;
    if (encoder || cross_kv) {
      EXPECT_EQ(c.calls, 0) << c.name;
      EXPECT_EQ(c.flops, 0) << c.name;
      EXPECT_EQ(c.bytes, 0) << c.name;
    }
  }
  EXPECT_EQ(a.at("decoder").calls, 1);
  EXPECT_EQ(a.at("model").calls, 1);
  EXPECT_EQ(a.encoder_tokens, 0);
  EXPECT_EQ(a.decoder_tokens, B);
  const auto& cross = a.at("decoder.layers.1.cross_attention.scores");
  EXPECT_EQ(cross.macs, B * H * S * D);
  EXPECT_EQ(cross.kv_bytes_read, B * S * H * D * 4);  // cached encoder keys
  EXPECT_EQ(a.at("decoder.layers.1.attention.scores").macs, B * H * (kv_len + 1) * D);
  EXPECT_EQ(a.kv_cache_bytes, 3 * 2 * B * H * D * (kv_len + 1 + S) * 4);
}

TEST(Workload, VisionTokensFromImageSize) {
  SCOPED_TRACE(testing::seed_note());
  const ComponentGraph g = build_graph(zoo_config("vit-base-patch16-224"));
  const int64_t B = draw(1, 4);
  Workload w;
  w.batch = B;
  Analysis a = analyze(g, w);
  EXPECT_EQ(a.tokens, B * (14 * 14 + 1));
  EXPECT_EQ(a.at("embeddings.patch_embedding").rows, B * 14 * 14);
  EXPECT_EQ(a.at("embeddings.patch_embedding").macs, B * 14 * 14 * 3 * 16 * 16 * 768);
  EXPECT_EQ(a.at("classifier").rows, B);  // CLS token only
  EXPECT_EQ(a.at("layers.0.attention.scores").macs, B * 12 * 197 * 197 * 64);
  w.image_size = 384;
  a = analyze(g, w);
  EXPECT_EQ(a.tokens, B * (24 * 24 + 1));
  EXPECT_EQ(a.at("layers.11.mlp.up_proj").rows, B * 577);
}

TEST(Workload, DtypeScalesEveryByteNotTheFlops) {
  const ComponentGraph g = tiny_llama();
  Workload w;
  w.seq = 17;
  const Analysis fp32 = analyze(g, w);
  w.dtype = DType::fp16;
  const Analysis fp16 = analyze(g, w);
  w.dtype = DType::int8;
  const Analysis int8 = analyze(g, w);
  EXPECT_EQ(fp32.bytes_total, 2 * fp16.bytes_total);
  EXPECT_EQ(fp32.bytes_total, 4 * int8.bytes_total);
  EXPECT_EQ(fp32.weights_bytes, 4 * fp32.params_total);
  EXPECT_EQ(int8.weights_bytes, int8.params_total);
  EXPECT_EQ(fp32.flops_total, int8.flops_total);
}

TEST(Workload, UniformRoutingSpreadsEveryExpertSlot) {
  SCOPED_TRACE(testing::seed_note());
  auto json = testing::zoo_json("mixtral-8x7b-v0.1");
  json["hidden_size"] = 16;
  json["num_attention_heads"] = 2;
  json["num_key_value_heads"] = 1;
  json["intermediate_size"] = 24;
  json["num_hidden_layers"] = 1;
  json["vocab_size"] = 50;
  json["num_local_experts"] = 5;
  json["num_experts_per_tok"] = 2;
  const ComponentGraph g = testing::graph_from_json(json);
  const int64_t B = draw(1, 3), S = draw(1, 40);
  Workload w;
  w.batch = B;
  w.seq = S;
  const Analysis a = analyze(g, w);
  int64_t rows = 0, lo = B * S * 2 / 5;
  for (int e = 0; e < 5; ++e) {
    const auto& up = a.at("layers.0.moe.experts." + std::to_string(e) + ".up_proj");
    EXPECT_TRUE(up.rows == lo || up.rows == lo + 1) << up.rows;
    EXPECT_EQ(up.macs, up.rows * 16 * 24);
    EXPECT_EQ(up.calls, up.rows > 0 ? 1 : 0);
    rows += up.rows;
  }
  EXPECT_EQ(rows, B * S * 2);
  EXPECT_EQ(a.at("layers.0.moe.router").macs, B * S * 16 * 5);
  // Decode with one sequence: only k = 2 experts run, and only their weights are read.
  w.batch = 1;
  w.phase = Phase::decode;
  w.kv_len = 3;
  const Analysis d = analyze(g, w);
  int running = 0;
  for (int e = 0; e < 5; ++e) running += int(d.at("layers.0.moe.experts." + std::to_string(e)).calls);
  EXPECT_EQ(running, 2);
}

TEST(Workload, TrainingStatesBackwardPerKind) {
  const ComponentGraph g = build_graph(zoo_config("bert-base-uncased"));
  Workload w;
  w.seq = 64;
  w.training = true;
  const int64_t T = 64, H = 768;
  const Analysis a = analyze(g, w);
  const auto& q = a.at("layers.3.attention.q_proj");
  EXPECT_EQ(q.flops, 2 * T * H * H + T * H);
  EXPECT_EQ(q.backward_flops, 4 * T * H * H + T * H);
  EXPECT_EQ(q.training_flops, q.flops + q.backward_flops);
  EXPECT_EQ(a.at("layers.3.norm1").backward_flops, 11 * T * H);
  EXPECT_EQ(a.at("layers.3.attention.softmax").backward_flops, 4 * 12 * T * T);
  EXPECT_EQ(a.at("layers.3.mlp.activation").backward_flops, 11 * T * 3072);  // GELU (erf)
  EXPECT_EQ(a.training_flops_total, a.flops_total + a.backward_flops_total);
  EXPECT_EQ(a.kv_cache_bytes, 0);
  EXPECT_EQ(a.kv_bytes_read_total + a.kv_bytes_written_total, 0);
  // Not a blanket 3×: the full convention's backward differs from 2× forward.
  EXPECT_NE(a.backward_flops_total, 2 * a.flops_total);
  // calflops and kaplan state training as 3× forward.
  for (Convention c : {Convention::calflops, Convention::kaplan}) {
    const Analysis b = analyze(g, w, c);
    EXPECT_EQ(b.training_flops_total, 3 * b.flops_total);
  }
  // Inference carries no backward.
  w.training = false;
  EXPECT_EQ(analyze(g, w).backward_flops_total, 0);
}

TEST(Workload, ErrorsNameTheFlag) {
  const ComponentGraph bert = build_graph(zoo_config("bert-base-uncased"));
  const ComponentGraph llama = tiny_llama();
  const ComponentGraph vit = build_graph(zoo_config("vit-base-patch16-224"));
  Workload w;
  w.phase = Phase::decode;
  expect_error_naming([&] { analyze(bert, w); }, "--phase");
  w.training = true;
  expect_error_naming([&] { analyze(llama, w); }, "--training");
  w = Workload{};
  w.batch = 0;
  expect_error_naming([&] { analyze(llama, w); }, "--batch");
  w = Workload{};
  w.seq = -3;
  expect_error_naming([&] { analyze(llama, w); }, "--seq");
  w = Workload{};
  w.target_seq = 5;
  expect_error_naming([&] { analyze(llama, w); }, "--target-seq");
  w = Workload{};
  w.image_size = 100;
  expect_error_naming([&] { analyze(vit, w); }, "--image-size");
  expect_error_naming([&] { parse_convention("deepspeed"); }, "--convention");
  EXPECT_EQ(parse_convention("kaplan"), Convention::kaplan);
  // The analysis counts past a learned position table (what-if); only running the model needs rows.
  w = Workload{};
  w.seq = 4096;
  EXPECT_NO_THROW(analyze(bert, w));
}

}  // namespace
}  // namespace clear
