// Each OpKind's formula against numbers derived by hand in this file, for every convention,
// on random dimensions (a fresh draw each run; CLEAR_TEST_SEED replays one).
#include <gtest/gtest.h>

#include <random>

#include "analysis/support/models.hpp"
#include "clear/analysis/op_costs.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using testing::leaf;

int64_t draw(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(testing::rng()); }

constexpr Convention kFull = Convention::full, kCal = Convention::calflops, kKap = Convention::kaplan;

TEST(OpCosts, Linear) {
  SCOPED_TRACE(testing::seed_note());
  Component c = leaf(OpKind::linear, ComponentKind::up_proj);
  const int64_t T = draw(1, 300), in = draw(1, 200), out = draw(1, 200), dt = draw(1, 4);
  c.in_features = in;
  c.out_features = out;
  c.bias = true;
  OpShape s;
  s.rows = T;
  s.dtype_bytes = dt;
  s.weight_params = in * out + out;
  OpCost full = op_cost(c, s, kFull, true);
  EXPECT_EQ(full.macs, T * in * out);
  EXPECT_EQ(full.flops, 2 * T * in * out + T * out);            // MACs ×2 + bias adds
  EXPECT_EQ(full.backward_flops, 4 * T * in * out + T * out);   // dX and dW matmuls + db
  EXPECT_EQ(full.weight_bytes_read, (in * out + out) * dt);
  EXPECT_EQ(full.activation_bytes_read, T * in * dt);
  EXPECT_EQ(full.activation_bytes_written, T * out * dt);
  EXPECT_EQ(full.kv_bytes_written, 0);
  OpCost cal = op_cost(c, s, kCal, true);
  EXPECT_EQ(cal.macs, T * in * out);
  EXPECT_EQ(cal.flops, 2 * T * in * out);  // bias ignored
  EXPECT_EQ(cal.backward_flops, 4 * T * in * out);
  s.addmm_bias = true;  // GPT-2's Conv1D: torch.addmm adds the bias length once
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 2 * T * in * out + out);
  EXPECT_EQ(op_cost(c, s, kFull, false).flops, 2 * T * in * out + T * out);
  OpCost kap = op_cost(c, s, kKap, true);
  EXPECT_EQ(kap.flops, 2 * (in * out + out) * T);
  EXPECT_EQ(kap.backward_flops, 4 * (in * out + out) * T);
  EXPECT_EQ(full.bytes(), (in * out + out) * dt + T * in * dt + T * out * dt);
  // Not training: no backward.
  EXPECT_EQ(op_cost(c, s, kFull, false).backward_flops, 0);
  // A projection whose output is appended to the KV cache.
  c.kind = ComponentKind::v_proj;
  s.kv_cached = true;
  s.kv_out_features = out;
  OpCost v = op_cost(c, s, kFull, false);
  EXPECT_EQ(v.activation_bytes_written, 0);
  EXPECT_EQ(v.kv_bytes_written, T * out * dt);
  // Kaplan leaves the de-embedding (lm_head) out of N.
  c.kind = ComponentKind::lm_head;
  EXPECT_EQ(op_cost(c, s, kKap, false).flops, 0);
}

TEST(OpCosts, LinearInputScaled) {
  Component c = leaf(OpKind::linear, ComponentKind::lm_head);
  const int64_t T = draw(1, 50), in = draw(1, 64), out = draw(1, 500);
  c.in_features = in;
  c.out_features = out;
  OpShape s;
  s.rows = T;
  s.input_scaled = true;  // T5's tied head multiplies by d_model^-0.5 first
  EXPECT_EQ(op_cost(c, s, kFull, false).flops, 2 * T * in * out + T * in);
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 2 * T * in * out);
}

TEST(OpCosts, EmbeddingLookup) {
  Component c = leaf(OpKind::embedding_lookup, ComponentKind::word_embedding);
  const int64_t T = draw(1, 300), width = draw(1, 128), rows = draw(1, 1000), dt = 2;
  c.in_features = rows;
  c.width = width;
  OpShape s;
  s.rows = T;
  s.dtype_bytes = dt;
  s.distinct_rows = std::min(T, rows);
  for (Convention conv : {kFull, kCal, kKap}) {
    OpCost o = op_cost(c, s, conv, false);
    EXPECT_EQ(o.flops, 0);
    EXPECT_EQ(o.macs, 0);
    EXPECT_EQ(o.weight_bytes_read, std::min(T, rows) * width * dt);
    EXPECT_EQ(o.activation_bytes_written, T * width * dt);
  }
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, T * width);  // scatter-add into the table
  s.input_scaled = true;
  EXPECT_EQ(op_cost(c, s, kFull, false).flops, T * width);
}

TEST(OpCosts, PatchEmbedding) {
  Component c = leaf(OpKind::patch_embedding, ComponentKind::patch_embedding);
  const int64_t T = draw(1, 400), in = 3 * 16 * 16, out = draw(1, 100);
  c.in_features = in;
  c.out_features = out;
  c.bias = true;
  OpShape s;
  s.rows = T;
  s.weight_params = in * out + out;
  EXPECT_EQ(op_cost(c, s, kFull, false).flops, 2 * T * in * out + T * out);
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 2 * T * in * out + T * out);  // conv2d counts its bias
  EXPECT_EQ(op_cost(c, s, kKap, false).flops, 0);                          // an embedding for Kaplan
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, 2 * T * in * out + T * out);  // dW, db only
}

TEST(OpCosts, ConcatToken) {
  Component c = leaf(OpKind::concat_token, ComponentKind::cls_token);
  const int64_t B = draw(1, 8), P = draw(1, 200), width = draw(1, 64);
  c.width = width;
  OpShape s;
  s.batch = B;
  s.rows = B * (P + 1);
  s.weight_params = width;
  OpCost o = op_cost(c, s, kFull, true);
  EXPECT_EQ(o.flops, 0);
  EXPECT_EQ(o.backward_flops, B * width);
  EXPECT_EQ(o.activation_bytes_read, B * P * width * 4);
  EXPECT_EQ(o.activation_bytes_written, B * (P + 1) * width * 4);
  EXPECT_EQ(o.weight_bytes_read, width * 4);
}

TEST(OpCosts, AddAndResidual) {
  Component c = leaf(OpKind::add, ComponentKind::embedding_add);
  const int64_t T = draw(1, 300), width = draw(1, 128);
  c.width = width;
  c.add_inputs = 3;
  OpShape s;
  s.rows = T;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, 2 * T * width);  // two adds per element for three inputs
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, 0);
  EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_read, 3 * T * width * 4);
  c.kind = ComponentKind::residual;
  c.add_inputs = 2;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, T * width);
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, T * width);  // gradient paths summed at the fork
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 0);
  EXPECT_EQ(op_cost(c, s, kKap, false).flops, 0);
}

TEST(OpCosts, Norms) {
  Component c = leaf(OpKind::norm, ComponentKind::norm);
  const int64_t T = draw(1, 300), width = draw(1, 128);
  c.width = width;
  OpShape s;
  s.rows = T;
  c.norm = NormKind::layer_norm;
  s.weight_params = 2 * width;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, 8 * T * width);
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, 11 * T * width);
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 5 * T * width);
  EXPECT_EQ(op_cost(c, s, kKap, false).flops, 2 * 2 * width * T);
  c.norm = NormKind::rms_norm;
  s.weight_params = width;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, 4 * T * width);
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, 8 * T * width);
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 0);
  EXPECT_EQ(op_cost(c, s, kKap, false).flops, 2 * width * T);
  EXPECT_EQ(op_cost(c, s, kFull, false).weight_bytes_read, width * 4);
}

TEST(OpCosts, Activations) {
  Component c = leaf(OpKind::activation, ComponentKind::activation);
  const int64_t T = draw(1, 300), width = draw(1, 512), n = T * width;
  c.width = width;
  OpShape s;
  s.rows = T;
  struct Case {
    Activation act;
    bool gated;
    int64_t full, backward, calflops;
  };
  const Case cases[] = {
      {Activation::relu, false, 1, 1, 1},        {Activation::silu, false, 4, 9, 1},
      {Activation::silu, true, 5, 11, 1},        {Activation::gelu_erf, false, 5, 11, 0},
      {Activation::gelu_tanh, false, 9, 18, 0},  {Activation::gelu_tanh, true, 10, 20, 0},
      {Activation::tanh, false, 1, 3, 0},        {Activation::relu, true, 2, 3, 1},
  };
  for (const auto& k : cases) {
    c.activation = k.act;
    c.gated = k.gated;
    SCOPED_TRACE(std::string(to_string(k.act)) + (k.gated ? " gated" : ""));
    EXPECT_EQ(op_cost(c, s, kFull, true).flops, k.full * n);
    EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, k.backward * n);
    EXPECT_EQ(op_cost(c, s, kCal, true).flops, k.calflops * n);
    EXPECT_EQ(op_cost(c, s, kCal, true).backward_flops, 2 * k.calflops * n);
    EXPECT_EQ(op_cost(c, s, kKap, false).flops, 0);
    EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_read, (k.gated ? 2 : 1) * n * 4);
    EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_written, n * 4);
  }
}

TEST(OpCosts, Rope) {
  Component c = leaf(OpKind::rope, ComponentKind::rope);
  const int64_t T = draw(1, 100), H = draw(1, 16), Hkv = draw(1, H), D = 2 * draw(1, 32);
  c.attention.heads = H;
  c.attention.kv_heads = Hkv;
  c.attention.head_dim = D;
  OpShape s;
  s.rows = T;
  const int64_t q = T * H * D, k = T * Hkv * D;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, 3 * (q + k));
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, 3 * (q + k));
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 0);
  EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_written, (q + k) * 4);
  s.kv_cached = true;  // the rotated K goes to the cache
  EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_written, q * 4);
  EXPECT_EQ(op_cost(c, s, kFull, false).kv_bytes_written, k * 4);
}

// Scores, mask, softmax and context for one attention, with a causal mask so attended < full.
TEST(OpCosts, AttentionLeaves) {
  SCOPED_TRACE(testing::seed_note());
  const int64_t B = draw(1, 4), H = draw(1, 8), Hkv = H, D = draw(1, 64), S = draw(2, 64), dt = 2;
  AttentionShape a;
  a.heads = H;
  a.kv_heads = Hkv;
  a.head_dim = D;
  a.causal = true;
  a.scaled = true;
  OpShape s;
  s.batch = B;
  s.rows = B * S;
  s.dtype_bytes = dt;
  s.queries = S;
  s.keys = S;
  s.keys_read = S;
  s.attended = S * (S + 1) / 2;
  s.full_pairs = S * S;
  const int64_t A = B * H * S * (S + 1) / 2, F = B * H * S * S;

  Component scores = leaf(OpKind::attention_scores, ComponentKind::scores);
  scores.attention = a;
  EXPECT_EQ(op_cost(scores, s, kFull, true).macs, A * D);
  EXPECT_EQ(op_cost(scores, s, kFull, true).flops, 2 * A * D + A);  // + the 1/√D scale
  EXPECT_EQ(op_cost(scores, s, kFull, true).backward_flops, 4 * A * D + A);
  EXPECT_EQ(op_cost(scores, s, kCal, false).macs, F * D);
  EXPECT_EQ(op_cost(scores, s, kCal, false).flops, 2 * F * D);
  EXPECT_EQ(op_cost(scores, s, kKap, false).flops, 2 * B * S * S * (H * D));  // 2·n_ctx·d_attn per token
  OpCost sb = op_cost(scores, s, kFull, false);
  EXPECT_EQ(sb.activation_bytes_read, (B * S * H * D + B * S * Hkv * D) * dt);
  EXPECT_EQ(sb.activation_bytes_written, A * dt);
  scores.attention.scaled = false;  // T5
  EXPECT_EQ(op_cost(scores, s, kFull, false).flops, 2 * A * D);

  Component mask = leaf(OpKind::attention_mask, ComponentKind::mask);
  mask.attention = a;
  EXPECT_EQ(op_cost(mask, s, kFull, true).flops, A);
  EXPECT_EQ(op_cost(mask, s, kFull, true).backward_flops, 0);
  EXPECT_EQ(op_cost(mask, s, kCal, false).flops, 0);
  mask.attention.relative_bias = true;
  EXPECT_EQ(op_cost(mask, s, kFull, true).backward_flops, A);
  EXPECT_EQ(op_cost(mask, s, kFull, false).activation_bytes_read, (A + H * S * (S + 1) / 2) * dt);

  Component softmax = leaf(OpKind::attention_softmax, ComponentKind::softmax);
  softmax.attention = a;
  EXPECT_EQ(op_cost(softmax, s, kFull, true).flops, 5 * A);
  EXPECT_EQ(op_cost(softmax, s, kFull, true).backward_flops, 4 * A);
  EXPECT_EQ(op_cost(softmax, s, kCal, false).flops, F);
  EXPECT_EQ(op_cost(softmax, s, kKap, false).flops, 0);

  Component context = leaf(OpKind::attention_context, ComponentKind::context);
  context.attention = a;
  EXPECT_EQ(op_cost(context, s, kFull, true).flops, 2 * A * D);
  EXPECT_EQ(op_cost(context, s, kFull, true).backward_flops, 4 * A * D);
  EXPECT_EQ(op_cost(context, s, kCal, false).flops, 2 * F * D);
  EXPECT_EQ(op_cost(context, s, kKap, false).flops, 0);  // Kaplan's table counts QKᵀ only
  s.kv_cached = true;
  OpCost cb = op_cost(context, s, kFull, false);
  EXPECT_EQ(cb.kv_bytes_read, B * S * Hkv * D * dt);
  EXPECT_EQ(cb.activation_bytes_read, A * dt);
  EXPECT_EQ(cb.activation_bytes_written, B * S * H * D * dt);
}

TEST(OpCosts, PositionBias) {
  Component c = leaf(OpKind::position_bias, ComponentKind::position_bias);
  const int64_t H = draw(1, 12), S = draw(1, 50), buckets = 32;
  c.attention.heads = H;
  OpShape s;
  s.rows = S;
  s.attended = S * S;
  s.weight_params = buckets * H;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, 4 * S * S);
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, H * S * S);
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 0);
  EXPECT_EQ(op_cost(c, s, kKap, false).flops, 0);
  EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_written, H * S * S * 4);
  EXPECT_EQ(op_cost(c, s, kFull, false).weight_bytes_read, buckets * H * 4);
}

TEST(OpCosts, RouterAndCombine) {
  const int64_t T = draw(1, 100), Hd = draw(1, 64), E = draw(2, 16), k = draw(1, E);
  Component r = leaf(OpKind::router, ComponentKind::router);
  r.in_features = Hd;
  r.out_features = E;
  r.experts = E;
  r.top_k = k;
  OpShape s;
  s.rows = T;
  s.weight_params = E * Hd;
  EXPECT_EQ(op_cost(r, s, kFull, true).macs, T * Hd * E);
  EXPECT_EQ(op_cost(r, s, kFull, true).flops, 2 * T * Hd * E + T * (5 * E + k * E + 2 * k));
  EXPECT_EQ(op_cost(r, s, kFull, true).backward_flops, 4 * T * Hd * E + T * (4 * E + 3 * k));
  EXPECT_EQ(op_cost(r, s, kCal, false).flops, 2 * T * Hd * E + T * E);
  EXPECT_EQ(op_cost(r, s, kKap, false).flops, 2 * E * Hd * T);
  EXPECT_EQ(op_cost(r, s, kFull, false).activation_bytes_written, T * k * 4);

  Component c = leaf(OpKind::moe_combine, ComponentKind::combine);
  c.width = Hd;
  c.top_k = k;
  c.experts = E;
  EXPECT_EQ(op_cost(c, s, kFull, true).flops, 2 * k * T * Hd);
  EXPECT_EQ(op_cost(c, s, kFull, true).backward_flops, 3 * k * T * Hd);
  EXPECT_EQ(op_cost(c, s, kCal, false).flops, 0);
  EXPECT_EQ(op_cost(c, s, kFull, false).activation_bytes_read, (k * T * Hd + T * k) * 4);
}

TEST(OpCosts, CompositeIsALogicError) {
  Component c = leaf(OpKind::composite, ComponentKind::mlp);
  EXPECT_THROW(op_cost(c, OpShape{}, kFull, false), std::logic_error);
}

TEST(OpCosts, OverflowIsAnError) {
  Component c = leaf(OpKind::linear, ComponentKind::up_proj);
  c.in_features = int64_t(1) << 30;
  c.out_features = int64_t(1) << 30;
  OpShape s;
  s.rows = int64_t(1) << 20;
  EXPECT_THROW(op_cost(c, s, kFull, false), Error);
}

}  // namespace
}  // namespace clear
