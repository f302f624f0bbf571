// The CPU kernels against the float64 reference (tests/engine/support/reference_ops), with fresh
// random inputs and odd shapes: norms, adds, activations, RoPE, PackedLinear (fp32 and bf16,
// prepared and unprepared row counts, strided rows) and the thread setting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/panel_gemm.hpp"
#include "engine/kernels/vec_math.hpp"
#include "engine/support/reference_ops.hpp"
#include "engine/support/reference_model.hpp"
#include "support/test_support.hpp"

namespace clear::kernels {
namespace {

using clear::testing::random_floats;
using Vec = std::vector<double>;

Vec to_double(const std::vector<float>& x) { return Vec(x.begin(), x.end()); }

// max |got − ref| / max |ref|: the error relative to the result's scale.
double rel_error(const std::vector<float>& got, const Vec& ref) {
  EXPECT_EQ(got.size(), ref.size());
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < ref.size() && i < got.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return scale > 0.0 ? diff / scale : diff;
}

// Activations: max_i |got_i − ref_i| / max(|ref_i|, |x_i|). The float formulas (as in PyTorch) lose
// relative accuracy where the result is tiny next to its input (gelu at x = −5 is −1e−7 from
// 1 + tanh(…) ≈ 1e−8), so the error is taken relative to the input's magnitude there.
double activation_error(const std::vector<float>& got, const Vec& ref, const std::vector<float>& x) {
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double scale = std::max({std::abs(ref[i]), std::abs(static_cast<double>(x[i])), 1e-30});
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - ref[i]) / scale);
  }
  return worst;
}

class Kernels : public ::testing::Test {
 protected:
  void SetUp() override { set_threads(2); }
  void TearDown() override { set_threads(0); }
};

TEST_F(Kernels, LayerNormMatchesReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (int64_t rows : {1, 3, 17})
    for (int64_t width : {1, 5, 16, 33, 771}) {
      auto x = random_floats(rows * width, -3.0f, 3.0f);
      auto w = random_floats(width, 0.5f, 1.5f);
      auto b = random_floats(width);
      std::vector<float> y(x.size());
      layer_norm(x.data(), w.data(), b.data(), y.data(), rows, width, 1e-5f);
      Vec ref = to_double(x);
      reference::layer_norm(ref, rows, width, to_double(w), to_double(b), 1e-5);
      EXPECT_LT(rel_error(y, ref), 1e-5) << rows << "x" << width;
      // In place gives the same.
      layer_norm(x.data(), w.data(), b.data(), x.data(), rows, width, 1e-5f);
      EXPECT_EQ(x, y);
    }
}

TEST_F(Kernels, RmsNormMatchesReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (int64_t rows : {1, 4, 19})
    for (int64_t width : {1, 7, 64, 100, 4099}) {
      auto x = random_floats(rows * width, -2.0f, 2.0f);
      auto w = random_floats(width, 0.5f, 1.5f);
      std::vector<float> y(x.size());
      rms_norm(x.data(), w.data(), y.data(), rows, width, 1e-6f);
      Vec ref = to_double(x);
      reference::rms_norm(ref, rows, width, to_double(w), 1e-6);
      EXPECT_LT(rel_error(y, ref), 1e-5) << rows << "x" << width;
    }
}

TEST_F(Kernels, AddsMatchReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (int64_t n : {1, 15, 1000, 70001}) {
    auto a = random_floats(n), b = random_floats(n), c = random_floats(n);
    std::vector<float> y(n), y3(n);
    add(a.data(), b.data(), y.data(), n);
    EXPECT_LT(rel_error(y, reference::add(to_double(a), to_double(b))), 1e-6);
    add3(a.data(), b.data(), c.data(), y3.data(), n);
    EXPECT_LT(rel_error(y3, reference::add(reference::add(to_double(a), to_double(b)), to_double(c))), 1e-6);
    add(a.data(), b.data(), a.data(), n);  // aliasing the output
    EXPECT_EQ(a, y);
  }
}

TEST_F(Kernels, ActivationsMatchReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  // Both math paths: libmvec (AVX-512/AVX2 CPUs) and scalar libm (others).
  for (bool scalar : {false, true}) {
  force_scalar_vec_math(scalar);
  SCOPED_TRACE(vec_math_impl());
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::relu, Activation::silu, Activation::tanh})
    for (int64_t n : {1, 13, 512, 513, 40000 + 7}) {
      auto x = random_floats(n, -8.0f, 8.0f);
      auto up = random_floats(n);
      std::vector<float> y(n), g(n);
      activation(act, x.data(), y.data(), n);
      Vec ref = to_double(x);
      reference::activate(act, ref);
      EXPECT_LT(activation_error(y, ref, x), 1e-5) << to_string(act) << " n=" << n;
      gated_activation(act, x.data(), up.data(), g.data(), n);
      Vec gref(n);
      for (int64_t i = 0; i < n; ++i) gref[i] = ref[i] * up[i];
      EXPECT_LT(activation_error(g, gref, x), 1e-5) << to_string(act) << " gated n=" << n;
      activation(act, x.data(), x.data(), n);  // in place
      EXPECT_EQ(x, y);
    }
  }
  force_scalar_vec_math(false);
}

// exp over the whole float range, against float64: relative error within 2 ulp where the result is
// normal, within one subnormal step below, 0 under −103.97, +inf over 88.73, NaN kept.
TEST_F(Kernels, ExpMatchesFloat64OverTheRange) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (bool scalar : {false, true}) {
    force_scalar_vec_math(scalar);
    SCOPED_TRACE(vec_math_impl());
    std::vector<float> x = random_floats(200000, -110.0f, 95.0f);
    auto small = random_floats(20000, -1.0f, 1.0f);
    x.insert(x.end(), small.begin(), small.end());
    for (float v : {0.0f, -0.0f, 1.0f, -1.0f, 88.72f, 88.73f, -87.33f, -103.9f, -104.0f, -INFINITY, INFINITY})
      x.push_back(v);
    std::vector<float> y(x.size());
    exp_array(x.data(), y.data(), int64_t(x.size()));
    const double min_normal = std::numeric_limits<float>::min(), ulp1 = std::ldexp(1.0, -23);
    for (size_t i = 0; i < x.size(); ++i) {
      double want = std::exp(double(x[i]));
      if (want > std::numeric_limits<float>::max()) {
        EXPECT_EQ(y[i], INFINITY) << x[i];
      } else if (want >= min_normal) {
        EXPECT_LE(std::abs(y[i] - want) / want, 2 * ulp1) << "x=" << x[i];
      } else {
        EXPECT_LE(std::abs(y[i] - want), std::numeric_limits<float>::denorm_min()) << "x=" << x[i];
      }
    }
    float nan = std::numeric_limits<float>::quiet_NaN(), out = 0;
    exp_array(&nan, &out, 1);
    EXPECT_TRUE(std::isnan(out));
  }
  force_scalar_vec_math(false);
}

// The activations' negative tails, where the result is tiny: relative error against float64 (the
// test above scales by |x|, which hides an error in a value 1000× smaller than x).
TEST_F(Kernels, ActivationTailsKeepRelativeAccuracy) {
  SCOPED_TRACE(clear::testing::seed_note());
  force_scalar_vec_math(false);
  if (std::string(vec_math_impl()).rfind("avx512", 0) != 0) GTEST_SKIP() << "own activations need AVX-512";
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::silu}) {
    auto x = random_floats(50000, -9.0f, 3.0f);
    std::vector<float> y(x.size());
    activation(act, x.data(), y.data(), int64_t(x.size()));
    // The tails in float64 without cancellation (the reference's 1 + erf / 1 + tanh cancels to
    // nothing below x ≈ −8): erfc for gelu_erf, and 0.5·(1 + tanh u) = 1/(1 + e^(−2u)).
    auto exact = [act](double v) {
      if (act == Activation::gelu_erf) return 0.5 * v * std::erfc(-v / std::sqrt(2.0));
      double a = act == Activation::silu ? v : 2.0 * std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v);
      return v / (1.0 + std::exp(-a));
    };
    Vec ref = to_double(x), formula = ref;
    reference::activate(act, formula);
    // Bound: the tail is e^(−c·x²)-like, so rounding its exponent in fp32 (~1e-7 relative) costs
    // ~x²·1e-7 relative in the result, whatever the method; 5e-7·max(1, x²) leaves room for that.
    // (Through 1 + erf(x), the error near x = −6 would be 100 %.)
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      double v = x[i], want = exact(v);
      if (v > -2.0) {
        EXPECT_NEAR(want, formula[i], 1e-12 * std::max(1.0, std::abs(want)));  // the same function
      }
      if (std::abs(want) > 1e-30) worst = std::max(worst, std::abs(y[i] - want) / std::abs(want) / std::max(1.0, v * v));
    }
    EXPECT_LT(worst, 5e-7) << to_string(act);
    float specials[] = {-INFINITY, INFINITY, 0.0f}, out[3];
    activation(act, specials, out, 3);
    EXPECT_EQ(out[0], 0.0f) << to_string(act);
    EXPECT_EQ(out[1], INFINITY) << to_string(act);
    EXPECT_EQ(out[2], 0.0f) << to_string(act);
  }
}

ModelConfig rope_config(double theta, const std::string& scaling) {
  ModelConfig c;
  c.rope_theta = theta;
  c.rope_scaling.type = scaling;
  if (scaling == "linear") c.rope_scaling.factor = 4.0;
  if (scaling == "llama3") {
    c.rope_scaling.factor = 8.0;
    c.rope_scaling.low_freq_factor = 1.0;
    c.rope_scaling.high_freq_factor = 4.0;
    c.rope_scaling.original_max_positions = 8192;
  }
  return c;
}

TEST_F(Kernels, RopeInvFreqMatchesReference) {
  for (const char* scaling : {"none", "linear", "llama3"})
    for (int64_t head_dim : {8, 64, 80, 128}) {
      ModelConfig c = rope_config(500000.0, scaling);
      std::vector<float> inv(head_dim / 2);
      rope_inv_freq(c, head_dim, inv.data());
      EXPECT_LT(rel_error(inv, reference::rope_inv_freq(c, head_dim)), 1e-6) << scaling << " " << head_dim;
    }
  ModelConfig bad = rope_config(10000.0, "yarn");
  std::vector<float> inv(4);
  EXPECT_THROW(rope_inv_freq(bad, 8, inv.data()), Error);
}

TEST_F(Kernels, RopeMatchesReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (int64_t head_dim : {8, 64, 80, 128}) {
    const int64_t tokens = 6, heads = 3;
    ModelConfig c = rope_config(10000.0, "none");
    std::vector<float> inv(head_dim / 2);
    rope_inv_freq(c, head_dim, inv.data());
    std::vector<int64_t> pos(tokens);
    for (int64_t t = 0; t < tokens; ++t) pos[t] = static_cast<int64_t>(clear::testing::rng()() % 5000);
    auto x = random_floats(tokens * heads * head_dim);
    Vec ref = to_double(x);
    rope(x.data(), tokens, heads, head_dim, pos.data(), inv.data());
    reference::apply_rope(ref, tokens, heads, head_dim, pos, to_double(inv));
    EXPECT_LT(rel_error(x, ref), 1e-5) << head_dim;
  }
  std::vector<float> x(6);
  int64_t p = 0;
  float f = 1.0f;
  EXPECT_THROW(rope(x.data(), 1, 2, 3, &p, &f), Error);
}

struct LinearCase {
  int64_t rows, in, out;
  bool bias;
};

void check_linear(DType dtype, double tol) {
  // The last two cross the panel GEMM's blocking: 384-input depth blocks (the last one shorter)
  // and 192-row blocks, so the prefetch of the next panel wraps to the next rows and block.
  for (LinearCase lc : {LinearCase{1, 33, 17, true}, LinearCase{5, 64, 64, false}, LinearCase{128, 96, 200, true},
                        LinearCase{37, 768, 65, true}, LinearCase{200, 1000, 70, true}, LinearCase{13, 400, 96, false},
                        LinearCase{3, 1, 1, true}}) {
    auto w = random_floats(lc.out * lc.in), b = random_floats(lc.out), x = random_floats(lc.rows * lc.in);
    PackedLinear lin(w.data(), lc.bias ? b.data() : nullptr, lc.out, lc.in, dtype);
    EXPECT_EQ(lin.in_features(), lc.in);
    EXPECT_EQ(lin.out_features(), lc.out);
    EXPECT_GE(lin.packed_bytes(), lc.in * lc.out * (dtype == DType::bf16 ? 2 : 4));
    Vec bd = to_double(b);
    Vec ref = reference::linear(to_double(x), lc.rows, lc.in, to_double(w), lc.bias ? &bd : nullptr, lc.out);
    // Prepared for several row counts, then each used.
    for (int64_t r : {int64_t{1}, lc.rows, lc.rows + 3}) lin.prepare(r);
    std::vector<float> y(lc.rows * lc.out);
    lin.forward(x.data(), y.data(), lc.rows);
    EXPECT_LT(rel_error(y, ref), tol) << to_string(dtype) << " " << lc.rows << "x" << lc.in << "->" << lc.out;
    // An unprepared row count (the first row only) prepares itself.
    std::vector<float> y1(lc.out);
    lin.forward(x.data(), y1.data(), 1);
    EXPECT_LT(rel_error(y1, Vec(ref.begin(), ref.begin() + lc.out)), tol);
    // Strided rows: every third row of x into every other row of y.
    const int64_t picked = (lc.rows + 2) / 3, ldx = 3 * lc.in, ldy = 2 * lc.out + 1;
    std::vector<float> ys(picked * ldy, 123.0f);
    lin.forward_strided(x.data(), ldx, ys.data(), ldy, picked);
    std::vector<float> got;
    Vec want;
    for (int64_t r = 0; r < picked; ++r)
      for (int64_t o = 0; o < lc.out; ++o) {
        got.push_back(ys[r * ldy + o]);
        want.push_back(ref[(3 * r) * lc.out + o]);
      }
    EXPECT_LT(rel_error(got, want), tol);
    for (int64_t r = 0; r < picked; ++r) EXPECT_EQ(ys[r * ldy + lc.out], 123.0f) << "wrote past the row";
  }
}

TEST_F(Kernels, PackedLinearFp32MatchesReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  check_linear(DType::fp32, 1e-5);
  std::vector<float> w = random_floats(8 * 8);
  if (panel_gemm_available()) {
    EXPECT_EQ(PackedLinear(w.data(), nullptr, 8, 8, DType::fp32).implementation(), "clear:panel_gemm_avx512");
  }
}

TEST_F(Kernels, PackedLinearFp32ThroughOneDnnMatchesReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  force_onednn_fp32(true);
  check_linear(DType::fp32, 1e-5);
  std::vector<float> w = random_floats(8 * 8);
  EXPECT_NE(PackedLinear(w.data(), nullptr, 8, 8, DType::fp32).implementation(), "clear:panel_gemm_avx512");
  force_onednn_fp32(false);
}

TEST_F(Kernels, PackedLinearBf16MatchesReference) {
  SCOPED_TRACE(clear::testing::seed_note());
  std::string why;
  if (!bf16_supported(&why)) GTEST_SKIP() << "bf16 not native here: " << why;
  check_linear(DType::bf16, 2e-2);
}

TEST_F(Kernels, PackedLinearRejectsBadInput) {
  std::vector<float> w(12, 0.5f);
  EXPECT_THROW(PackedLinear(w.data(), nullptr, 0, 4, DType::fp32), Error);
  EXPECT_THROW(PackedLinear(w.data(), nullptr, 3, 4, DType::int8), Error);
  PackedLinear lin(w.data(), nullptr, 3, 4, DType::fp32);
  std::vector<float> x(8, 1.0f), y(6);
  EXPECT_THROW(lin.forward_strided(x.data(), 2, y.data(), 3, 2), Error);
  EXPECT_THROW(lin.prepare(0), Error);
}

TEST_F(Kernels, OneAndTwoThreadsAgree) {
  SCOPED_TRACE(clear::testing::seed_note());
  const int64_t rows = 64, in = 256, out = 300;
  auto w = random_floats(out * in), b = random_floats(out), x = random_floats(rows * in);
  PackedLinear lin(w.data(), b.data(), out, in, DType::fp32);
  std::vector<float> y1(rows * out), y2(rows * out), n1(rows * in), n2(rows * in), a1(rows * in), a2(rows * in);
  auto g = random_floats(in, 0.5f, 1.5f);
  set_threads(1);
  EXPECT_EQ(threads(), 1);
  lin.forward(x.data(), y1.data(), rows);
  layer_norm(x.data(), g.data(), nullptr, n1.data(), rows, in, 1e-5f);
  activation(Activation::gelu_erf, x.data(), a1.data(), rows * in);
  set_threads(2);
  EXPECT_EQ(threads(), 2);
  lin.forward(x.data(), y2.data(), rows);
  layer_norm(x.data(), g.data(), nullptr, n2.data(), rows, in, 1e-5f);
  activation(Activation::gelu_erf, x.data(), a2.data(), rows * in);
  EXPECT_LT(rel_error(y2, to_double(y1)), 1e-5);
  if (panel_gemm_available()) {
    EXPECT_EQ(y1, y2);  // the panel GEMM splits columns, never a sum
  }
  EXPECT_EQ(n1, n2);  // our own loops split work without changing any element's arithmetic
  EXPECT_EQ(a1, a2);
  EXPECT_THROW(set_threads(-1), Error);
}

TEST_F(Kernels, Bf16SupportIsExplained) {
  std::string why;
  bool ok = bf16_supported(&why);
  EXPECT_TRUE(ok || !why.empty());
  EXPECT_FALSE(onednn_isa_name().empty());
}

}  // namespace
}  // namespace clear::kernels
