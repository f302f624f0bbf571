// Attention kernels against a float64 reference of the kernel contract (scores, mask, softmax with
// fully masked rows → 0, context; arbitrary scale, strides, GQA/MQA, KV-cache capacity), and the
// fused kernel against the four leaves bit for bit at 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/attention_tiles.hpp"
#include "engine/kernels/vec_math.hpp"
#include "support/test_support.hpp"

namespace clear::kernels {
namespace {

using clear::testing::random_floats;
using Vec = std::vector<double>;

double rel_error(const std::vector<float>& got, const Vec& ref) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isinf(ref[i]) && got[i] == ref[i]) continue;
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return scale > 0.0 ? diff / scale : diff;
}

// One attention problem: q/k/v live in buffers with the strides of `d` (q in its own buffer with
// ldq, k and v in a shared KV buffer with kv_batch_rows rows per sequence).
struct Case {
  const char* name;
  AttentionDims d;
  bool padding = false;        // key_mask with a few dropped keys per sequence
  bool fully_masked = false;   // the last sequence's keys all dropped
  bool bias = false;           // position bias [H, S, K]
};

struct Problem {
  AttentionDims d;
  int64_t ldq, ldk, ldv, ldo, kv_rows;
  std::vector<float> q, kv, key_mask, bias;
  const float* k() const { return kv.data(); }
  const float* v() const { return kv.data() + d.kv_heads * d.head_dim; }  // v after k in each row
};

Problem make_problem(const Case& c) {
  Problem p;
  p.d = c.d;
  const AttentionDims& d = c.d;
  p.ldq = d.ldq ? d.ldq : d.heads * d.head_dim;
  p.ldk = d.ldk;  // the cases always give ldk = ldv = 2·Hkv·D (+ padding)
  p.ldv = d.ldv;
  p.ldo = d.ldo ? d.ldo : d.heads * d.head_dim;
  p.kv_rows = d.kv_batch_rows ? d.kv_batch_rows : d.kv_len;
  p.q = random_floats(d.batch * d.q_len * p.ldq, -2.0f, 2.0f);
  p.kv = random_floats(d.batch * p.kv_rows * p.ldk, -2.0f, 2.0f);
  if (c.padding || c.fully_masked) {
    p.key_mask.assign(d.batch * d.kv_len, 1.0f);
    if (c.padding)
      for (int64_t b = 0; b < d.batch; ++b)
        for (int64_t j = d.kv_len - 1 - b; j < d.kv_len; ++j) p.key_mask[b * d.kv_len + j] = 0.0f;
    if (c.fully_masked)
      for (int64_t j = 0; j < d.kv_len; ++j) p.key_mask[(d.batch - 1) * d.kv_len + j] = 0.0f;
  }
  if (c.bias) p.bias = random_floats(d.heads * d.q_len * d.kv_len, -3.0f, 3.0f);
  return p;
}

struct Reference {
  Vec scores, probs, out;  // [B,H,S,K], [B,H,S,K], [B,S,H,D] dense
};

Reference reference(const Problem& p) {
  const AttentionDims& d = p.d;
  const int64_t B = d.batch, S = d.q_len, K = d.kv_len, H = d.heads, D = d.head_dim, G = d.heads / d.kv_heads;
  Reference r;
  r.scores.assign(B * H * S * K, 0.0);
  r.probs.assign(B * H * S * K, 0.0);
  r.out.assign(B * S * H * D, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s) {
        const float* q = p.q.data() + (b * S + s) * p.ldq + h * D;
        double* sc = &r.scores[((b * H + h) * S + s) * K];
        double* pr = &r.probs[((b * H + h) * S + s) * K];
        Vec masked(K);
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < K; ++j) {
          const float* k = p.k() + (b * p.kv_rows + j) * p.ldk + (h / G) * D;
          double dot = 0.0;
          for (int64_t i = 0; i < D; ++i) dot += static_cast<double>(q[i]) * k[i];
          sc[j] = dot * d.scale;
          int64_t qpos = d.q_offset + s;
          bool keep = !(d.causal && j > qpos) && !(d.window > 0 && qpos - j >= d.window) &&
                      !(!p.key_mask.empty() && p.key_mask[b * K + j] == 0.0f);
          masked[j] = keep ? sc[j] + (p.bias.empty() ? 0.0 : p.bias[(h * S + s) * K + j])
                           : -std::numeric_limits<double>::infinity();
          mx = std::max(mx, masked[j]);
        }
        if (std::isinf(mx)) continue;  // every key dropped: probabilities and context stay 0
        double sum = 0.0;
        for (int64_t j = 0; j < K; ++j) sum += std::exp(masked[j] - mx);
        for (int64_t j = 0; j < K; ++j) pr[j] = std::exp(masked[j] - mx) / sum;
        double* o = &r.out[((b * S + s) * H + h) * D];
        for (int64_t j = 0; j < K; ++j) {
          const float* v = p.v() + (b * p.kv_rows + j) * p.ldv + (h / G) * D;
          for (int64_t i = 0; i < D; ++i) o[i] += pr[j] * v[i];
        }
      }
  return r;
}

// Dense [B,S,H,D] view of an output written with row stride ldo.
std::vector<float> dense_out(const Problem& p, const std::vector<float>& out) {
  const AttentionDims& d = p.d;
  std::vector<float> r;
  for (int64_t t = 0; t < d.batch * d.q_len; ++t)
    for (int64_t i = 0; i < d.heads * d.head_dim; ++i) r.push_back(out[t * p.ldo + i]);
  return r;
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  auto dims = [](int64_t B, int64_t S, int64_t K, int64_t H, int64_t Hkv, int64_t D) {
    AttentionDims d;
    d.batch = B, d.q_len = S, d.kv_len = K, d.heads = H, d.kv_heads = Hkv, d.head_dim = D;
    d.ldk = d.ldv = 2 * Hkv * D;  // k and v interleaved per token, as in a fused KV buffer
    d.scale = 1.0f / std::sqrt(static_cast<float>(D));
    return d;
  };
  {  // BERT-like encoder with padding, q inside a fused QKV row.
    Case c{"encoder_padding", dims(2, 7, 7, 4, 4, 64), true};
    c.d.ldq = 3 * 4 * 64;
    cs.push_back(c);
  }
  {  // GQA causal prefill over more than one query block, head_dim 128.
    Case c{"gqa_causal", dims(1, 40, 40, 8, 2, 128)};
    c.d.causal = true;
    cs.push_back(c);
  }
  {  // MQA decode from a KV cache with spare capacity, head_dim 80, output with a wider row stride.
    Case c{"mqa_decode_cache", dims(2, 1, 19, 4, 1, 80)};
    c.d.causal = true;
    c.d.q_offset = 18;
    c.d.kv_batch_rows = 24;
    c.d.ldo = 4 * 80 + 16;
    cs.push_back(c);
  }
  {  // GPT-2-style decode (one kv head per head, one query row): the in-place key path.
    Case c{"mha_decode_cache", dims(2, 1, 23, 6, 6, 64)};
    c.d.causal = true;
    c.d.q_offset = 22;
    c.d.kv_batch_rows = 32;
    cs.push_back(c);
  }
  {  // Two query rows per kv head: still under the in-place threshold.
    Case c{"gqa2_decode_cache", dims(1, 1, 17, 4, 2, 16)};
    c.d.causal = true;
    c.d.q_offset = 16;
    cs.push_back(c);
  }
  {  // Mistral sliding window, head_dim 8.
    Case c{"sliding_window", dims(1, 37, 37, 2, 2, 8)};
    c.d.causal = true;
    c.d.window = 5;
    cs.push_back(c);
  }
  {  // Chunked prefill: 5 new queries after 7 cached tokens.
    Case c{"chunked_prefill", dims(2, 5, 12, 6, 3, 64)};
    c.d.causal = true;
    c.d.q_offset = 7;
    cs.push_back(c);
  }
  {  // T5: unscaled, relative position bias, one sequence entirely padding (rows → 0).
    Case c{"t5_bias_fully_masked", dims(2, 9, 11, 3, 3, 24), true, true, true};
    c.d.scale = 1.0f;
    cs.push_back(c);
  }
  return cs;
}

// (threads, portable): portable forces the code paths of CPUs without AVX-512 (plain-loop tiles,
// scalar libm), which must keep the same guarantees.
class Attention : public ::testing::TestWithParam<std::tuple<int, bool>> {
 protected:
  void SetUp() override {
    set_threads(std::get<0>(GetParam()));
    force_generic_attention_tiles(std::get<1>(GetParam()));
    force_scalar_vec_math(std::get<1>(GetParam()));
  }
  void TearDown() override {
    set_threads(0);
    force_generic_attention_tiles(false);
    force_scalar_vec_math(false);
  }
};

TEST_P(Attention, LeavesMatchReferenceAndFusedMatchesLeaves) {
  SCOPED_TRACE(clear::testing::seed_note());
  SCOPED_TRACE(std::string("tiles ") + attention_tiles_impl() + ", math " + vec_math_impl());
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Problem p = make_problem(c);
    Reference ref = reference(p);
    const AttentionDims& d = p.d;
    const float* mask = p.key_mask.empty() ? nullptr : p.key_mask.data();
    const float* bias = p.bias.empty() ? nullptr : p.bias.data();
    std::vector<float> scores(d.batch * d.heads * d.q_len * d.kv_len);
    attention_scores(d, p.q.data(), p.k(), scores.data());
    EXPECT_LT(rel_error(scores, ref.scores), 1e-5);
    attention_mask(d, scores.data(), mask, bias);
    attention_softmax(d, scores.data());
    EXPECT_LT(rel_error(scores, ref.probs), 1e-5);
    std::vector<float> leaves(d.batch * d.q_len * p.ldo, 7.0f);
    attention_context(d, scores.data(), p.v(), leaves.data());
    EXPECT_LT(rel_error(dense_out(p, leaves), ref.out), 1e-5);
    if (c.fully_masked) {
      for (int64_t t = (d.batch - 1) * d.q_len; t < d.batch * d.q_len; ++t)
        for (int64_t i = 0; i < d.heads * d.head_dim; ++i) ASSERT_EQ(leaves[t * p.ldo + i], 0.0f);
    }

    std::vector<float> scratch(attention_scratch_floats(d));
    std::vector<float> fused(leaves.size(), 7.0f);
    attention_fused(d, p.q.data(), p.k(), p.v(), mask, bias, fused.data(), scratch.data());
    EXPECT_EQ(fused, leaves) << "fused differs from the leaves";
  }
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndPaths, Attention, ::testing::Combine(::testing::Values(1, 2), ::testing::Bool()));

TEST(AttentionThreads, FusedIdenticalAtOneAndTwoThreads) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (const Case& c : cases()) {
    Problem p = make_problem(c);
    const float* mask = p.key_mask.empty() ? nullptr : p.key_mask.data();
    const float* bias = p.bias.empty() ? nullptr : p.bias.data();
    std::vector<float> out1(p.d.batch * p.d.q_len * p.ldo), out2(out1.size());
    set_threads(1);
    std::vector<float> scratch1(attention_scratch_floats(p.d));
    attention_fused(p.d, p.q.data(), p.k(), p.v(), mask, bias, out1.data(), scratch1.data());
    set_threads(2);
    std::vector<float> scratch2(attention_scratch_floats(p.d));
    attention_fused(p.d, p.q.data(), p.k(), p.v(), mask, bias, out2.data(), scratch2.data());
    EXPECT_EQ(out1, out2) << c.name;
    // A scratch sized for one thread still works (it uses one thread).
    std::vector<float> out3(out1.size());
    attention_fused(p.d, p.q.data(), p.k(), p.v(), mask, bias, out3.data(), scratch1.data(),
                    static_cast<int64_t>(scratch1.size()));
    EXPECT_EQ(out1, out3) << c.name;
  }
  set_threads(0);
}

// The AVX-512 softmax row (one function, three passes) gives the same bits as the portable passes
// written out here: max, x − max, exp_array (the same exp), the sum in 16 lanes (element i into
// lane i mod 16, lanes added 0..15), × 1/sum. Rows of awkward lengths, −inf entries, all −inf.
TEST(AttentionSoftmax, AvxRowEqualsThePortablePasses) {
  SCOPED_TRACE(clear::testing::seed_note());
  force_scalar_vec_math(false);
  for (int64_t n : {1, 7, 16, 17, 128, 131, 1000}) {
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<float> row = random_floats(n, -30.0f, 30.0f);
      if (variant == 1)
        for (int64_t j = 0; j < n; j += 3) row[j] = -std::numeric_limits<float>::infinity();
      if (variant == 2) row.assign(n, -std::numeric_limits<float>::infinity());
      std::vector<float> want = row;
      float m = *std::max_element(want.begin(), want.end());
      if (m == -std::numeric_limits<float>::infinity()) {
        std::fill(want.begin(), want.end(), 0.0f);
      } else {
        for (float& v : want) v -= m;
        exp_array(want.data(), want.data(), n);
        float lanes[16] = {};
        for (int64_t j = 0; j < n; ++j) lanes[j % 16] += want[j];
        float sum = 0.0f;
        for (float l : lanes) sum += l;
        float inv = 1.0f / sum;
        for (float& v : want) v *= inv;
      }
      AttentionDims d;
      d.q_len = 1, d.kv_len = n, d.heads = 1, d.kv_heads = 1, d.head_dim = 1;
      attention_softmax(d, row.data());
      EXPECT_EQ(row, want) << "n=" << n << " variant " << variant;
    }
  }
}

TEST(AttentionErrors, BadDimsAndScratch) {
  AttentionDims d;
  d.heads = 6;
  d.kv_heads = 4;
  std::vector<float> buf(64, 1.0f);
  EXPECT_THROW(attention_scores(d, buf.data(), buf.data(), buf.data()), Error);
  d.kv_heads = 3;
  d.head_dim = 2;
  EXPECT_THROW(attention_fused(d, buf.data(), buf.data(), buf.data(), nullptr, nullptr, buf.data(), buf.data(), 1), Error);
  d.ldq = 3;  // narrower than heads × head_dim
  EXPECT_THROW(attention_scores(d, buf.data(), buf.data(), buf.data()), Error);
}

}  // namespace
}  // namespace clear::kernels
