// Causal and sliding-window masks: the counted positions equal a brute-force loop over every
// (query, key) pair, both in attended_positions() and in whole-model analyses.
#include <gtest/gtest.h>

#include <random>

#include "analysis/support/models.hpp"
#include "clear/analysis/op_costs.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

int64_t draw(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(testing::rng()); }

// Query at absolute position p sees key j when j <= p (causal) and j > p - W (window).
int64_t brute_force(int64_t first, int64_t queries, int64_t keys, bool causal, int64_t window) {
  int64_t n = 0;
  for (int64_t p = first; p < first + queries; ++p)
    for (int64_t j = 0; j < keys; ++j) {
      if (causal && j > p) continue;
      if (causal && window > 0 && j <= p - window) continue;
      ++n;
    }
  return n;
}

TEST(AttentionCounts, MatchBruteForce) {
  SCOPED_TRACE(testing::seed_note());
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t first = draw(0, 40), queries = draw(1, 60), window = draw(0, 1) ? draw(1, 70) : 0;
    const bool causal = draw(0, 3) != 0;
    const int64_t keys = causal ? first + queries : draw(1, 80);
    SCOPED_TRACE(::testing::Message() << "first " << first << " queries " << queries << " keys " << keys
                                      << " causal " << causal << " window " << window);
    EXPECT_EQ(attended_positions(first, queries, keys, causal, window), brute_force(first, queries, keys, causal, window));
  }
}

TEST(AttentionCounts, ClosedFormsAtTheEdges) {
  EXPECT_EQ(attended_positions(0, 4096, 4096, true, 0), 4096LL * 4097 / 2);
  EXPECT_EQ(attended_positions(0, 4096, 4096, true, 4096), 4096LL * 4097 / 2);  // window = length: no effect
  EXPECT_EQ(attended_positions(0, 10, 10, true, 1), 10);                        // each sees itself only
  EXPECT_EQ(attended_positions(999, 1, 1000, true, 0), 1000);                   // decode: kv_len + 1
  EXPECT_EQ(attended_positions(999, 1, 1000, true, 256), 256);                  // min(kv_len + 1, W)
  EXPECT_EQ(attended_positions(0, 0, 0, true, 0), 0);
}

// A small Mistral: analyses count QKᵀ and PV over exactly the brute-force positions.
TEST(AttentionCounts, SlidingWindowModelPrefillAndDecode) {
  SCOPED_TRACE(testing::seed_note());
  auto json = testing::zoo_json("mistral-7b-v0.1");
  const int64_t heads = 4, kv_heads = 2, D = 8, window = draw(2, 20);
  json["hidden_size"] = heads * D;
  json["num_attention_heads"] = heads;
  json["num_key_value_heads"] = kv_heads;
  json["intermediate_size"] = 48;
  json["num_hidden_layers"] = 2;
  json["vocab_size"] = 101;
  json["sliding_window"] = window;
  const ComponentGraph g = testing::graph_from_json(json);
  const int64_t B = draw(1, 3), S = draw(1, 60), kv_len = draw(0, 60);

  Workload prefill;
  prefill.batch = B;
  prefill.seq = S;
  const Analysis p = analyze(g, prefill);
  const int64_t pairs = brute_force(0, S, S, true, window);
  EXPECT_EQ(p.at("layers.1.attention.scores").macs, B * heads * pairs * D);
  EXPECT_EQ(p.at("layers.1.attention.context").macs, B * heads * pairs * D);
  EXPECT_EQ(p.at("layers.1.attention.softmax").flops, 5 * B * heads * pairs);
  // calflops counts every pair, mask or not.
  EXPECT_EQ(analyze(g, prefill, Convention::calflops).at("layers.0.attention.scores").macs, B * heads * S * S * D);

  Workload decode = prefill;
  decode.phase = Phase::decode;
  decode.kv_len = kv_len;
  const Analysis d = analyze(g, decode);
  const int64_t seen = brute_force(kv_len, 1, kv_len + 1, true, window);
  EXPECT_EQ(seen, std::min(kv_len + 1, window));
  EXPECT_EQ(d.at("layers.0.attention.scores").macs, B * heads * seen * D);
  // K and V read from the cache: the positions the window keeps, for each kv head.
  EXPECT_EQ(d.at("layers.0.attention.scores").kv_bytes_read, B * seen * kv_heads * D * 4);
  EXPECT_EQ(d.at("layers.0.attention.context").kv_bytes_read, B * seen * kv_heads * D * 4);
  // The rolling cache holds min(kv_len + 1, W) positions per layer.
  EXPECT_EQ(d.kv_cache_bytes, 2 * 2 * B * kv_heads * D * std::min(kv_len + 1, window) * 4);
}

// GPT-2 (causal, no window): prefill counts the triangle.
TEST(AttentionCounts, CausalModelPrefill) {
  const ComponentGraph g = testing::small_gpt2(1, 16, 2, 50);
  const int64_t S = draw(1, 200);
  Workload w;
  w.seq = S;
  const Analysis a = analyze(g, w);
  EXPECT_EQ(a.at("layers.0.attention.scores").macs, 2 * brute_force(0, S, S, true, 0) * 8);
  EXPECT_EQ(a.at("layers.0.attention.mask").flops, 2 * S * (S + 1) / 2);
}

}  // namespace
}  // namespace clear
