// Kaplan et al. (2020): C_forward = 2N + 2·n_layer·n_ctx·d_attn per token, N = non-embedding params.
#include <gtest/gtest.h>

#include <random>

#include "analysis/support/models.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

int64_t draw(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(testing::rng()); }

TEST(Kaplan, Gpt2MatchesTheFormula) {
  SCOPED_TRACE(testing::seed_note());
  const int64_t L = draw(1, 4), heads = draw(1, 4), D = draw(1, 8), H = heads * D, V = draw(10, 300);
  const int64_t P = 1024, B = draw(1, 3), S = draw(1, 64);
  const ComponentGraph g = testing::small_gpt2(L, H, heads, V);
  Workload w;
  w.batch = B;
  w.seq = S;
  const Analysis a = analyze(g, w, Convention::kaplan);
  // N: every parameter except the token and position tables (the tied head owns none).
  const int64_t layer_params = 2 * 2 * H + (H * 3 * H + 3 * H) + (H * H + H) + (H * 4 * H + 4 * H) + (4 * H * H + H);
  const int64_t N = L * layer_params + 2 * H;
  EXPECT_EQ(N, a.params_total - V * H - P * H);
  EXPECT_EQ(a.flops_total, B * S * (2 * N + 2 * L * S * H));
  EXPECT_EQ(a.macs_total * 2, a.flops_total);
}

// Decode: n_ctx is the cache plus the new token.
TEST(Kaplan, DecodeContextIsTheCache) {
  const ComponentGraph g = testing::small_gpt2(2, 16, 2, 30);
  Workload w;
  w.phase = Phase::decode;
  w.kv_len = 99;
  const Analysis a = analyze(g, w, Convention::kaplan);
  EXPECT_EQ(a.at("layers.1.attention.scores").flops, 2 * 100 * 16);
  EXPECT_EQ(a.at("layers.1.attention.context").flops, 0);
  EXPECT_EQ(a.at("lm_head").flops, 0);
  EXPECT_EQ(a.at("embeddings.word").flops, 0);
}

}  // namespace
}  // namespace clear
