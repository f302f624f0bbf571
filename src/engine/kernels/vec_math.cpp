// Array exp/erf/tanh and one-pass activations; see vec_math.hpp.
#include "engine/kernels/vec_math.hpp"

#include <cmath>
#include <cstring>

#include <immintrin.h>

extern "C" {
__m512 _ZGVeN16v_erff(__m512);
__m512 _ZGVeN16v_tanhf(__m512);
__m256 _ZGVdN8v_expf(__m256);
__m256 _ZGVdN8v_erff(__m256);
__m256 _ZGVdN8v_tanhf(__m256);
}

namespace clear::kernels {
namespace {

enum class Impl { avx512, avx2, scalar };

Impl detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Impl::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Impl::avx2;
  return Impl::scalar;
}

Impl g_impl = detect();

using Vec8Fn = __m256 (*)(__m256);

__attribute__((target("avx2,fma"))) void apply8(Vec8Fn f, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(tail, x + i, sizeof(float) * static_cast<size_t>(n - i));
    _mm256_store_ps(tail, f(_mm256_load_ps(tail)));
    std::memcpy(y + i, tail, sizeof(float) * static_cast<size_t>(n - i));
  }
}

template <class Scalar>
void apply_scalar(Scalar f, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// GCC 12 warns that the unmasked AVX-512 intrinsics' internal _mm512_undefined_ps() "may be used
// uninitialized" once they are inlined here; it is the intrinsics' own don't-care operand.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define CLEAR_AVX512 __attribute__((target("avx512f"))) static inline
// e^x for 16 lanes (our own: 0.29 ns an element here against libmvec's 0.39). Cody–Waite
// reduction x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two so n·ln2_hi is exact), e^r by
// Cephes' degree-7 expf polynomial, 2^n by vscalefps, which also yields the subnormal results.
// Below −103.97 the result is 0 (e^x is under half the smallest subnormal); above 88.72 it is
// +inf; NaN stays NaN. Error <= 2 ulp (tested against float64 exp).
CLEAR_AVX512 __m512 exp16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-103.972076f), hi = _mm512_set1_ps(88.7228394f);
  __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  __m512 y = _mm512_scalef_ps(p, n);
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

// 1/d for d >= 1 (+inf gives 0): vrcp14ps and one Newton step, within ~1 ulp, at a fifth of the
// cost of vdivps (throughput ~2 against ~10 cycles a vector).
CLEAR_AVX512 __m512 reciprocal16(__m512 d) {
  __m512 r = _mm512_rcp14_ps(d);
  r = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(d, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ), _mm512_setzero_ps());
}

// gelu_erf: 0.5·x·(1 + erf(x·√½)), computed as 0.5·x·erfc(−x·√½): with z = |x|·√½,
// 1 + erf = 2 − erfc(z) for x >= 0 and erfc(z) for x < 0, and erfc(z) = t·e^(−z² + P(t)),
// t = 1/(1 + z/2), P the Chebyshev fit of Numerical Recipes' erfcc (relative error 1.2e-7 over
// all z). So the negative tail keeps its relative accuracy instead of losing it to 1 + erf(x)
// cancelling (1 + erf(−2.1) = 0.0027 from a 4-ulp erf near −1 is good to ~1e-4 only).
CLEAR_AVX512 __m512 gelu_erf16(__m512 x) {
  __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
  __m512 t = reciprocal16(_mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
  static constexpr float kP[] = {0.17087277f,  -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                                 -0.18628806f, 0.09678418f,  0.37409196f, 1.00002368f,  -1.26551223f};
  __m512 p = _mm512_set1_ps(kP[0]);
  for (int i = 1; i < 10; ++i) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kP[i]));
  __m512 erfc = _mm512_mul_ps(t, exp16(_mm512_fnmadd_ps(z, z, p)));
  // erfc(z) < 2e-45 past z = 10: exactly 0 there, also for z = inf (where t·e^… is 0·0).
  erfc = _mm512_mask_mov_ps(erfc, _mm512_cmp_ps_mask(z, _mm512_set1_ps(10.0f), _CMP_GT_OQ), _mm512_setzero_ps());
  __m512 one_plus_erf = _mm512_mask_sub_ps(erfc, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ),
                                           _mm512_set1_ps(2.0f), erfc);
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), one_plus_erf);
  // x = −inf: erfc underflows to 0 and −inf·0 would be NaN; the limit is 0.
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ), _mm512_setzero_ps());
}

// x / (1 + e^(−a)): silu (a = x) and gelu_tanh (a = 2u, u = √(2/π)·(x + 0.044715·x³), since
// 0.5·(1 + tanh u) = 1/(1 + e^(−2u)) exactly; no 1 + tanh cancelling in the negative tail).
CLEAR_AVX512 __m512 x_sigmoid16(__m512 x, __m512 a) {
  __m512 y = _mm512_mul_ps(x, reciprocal16(_mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), a)))));
  // x = −inf: −inf/inf would be NaN; the limit is 0.
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ), _mm512_setzero_ps());
}
CLEAR_AVX512 __m512 gelu_tanh16(__m512 x) {
  __m512 cube = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), x), x);
  __m512 two_u = _mm512_mul_ps(_mm512_set1_ps(2.0f * 0.7978845608028654f), _mm512_add_ps(x, cube));
  return x_sigmoid16(x, two_u);
}
CLEAR_AVX512 __m512 silu16(__m512 x) { return x_sigmoid16(x, x); }
#undef CLEAR_AVX512

// One row of softmax in three vector passes (max; e^(x − max) stored and summed; scale), the same
// operations on each element as the portable passes of attention.cpp (max_span, subtract_span,
// exp_array, sum_span, scale_span): element i adds into lane i mod 16 in order, and the lanes are
// combined 0..15 in turn, so the bits agree.
__attribute__((target("avx512f"))) void softmax_row16(float* x, int64_t n) {
  const __mmask16 tail = static_cast<__mmask16>((1u << (n % 16)) - 1u);
  const int64_t whole = n - n % 16;
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  __m512 m = neg_inf;
  for (int64_t i = 0; i < whole; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
  if (tail) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(neg_inf, tail, x + whole));
  const float max = _mm512_reduce_max_ps(m);
  if (max == -INFINITY) {
    std::memset(x, 0, sizeof(float) * static_cast<size_t>(n));
    return;
  }
  const __m512 mv = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < whole; i += 16) {
    __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv));
    _mm512_storeu_ps(x + i, e);
    acc = _mm512_add_ps(acc, e);
  }
  if (tail) {
    __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + whole), mv));
    _mm512_mask_storeu_ps(x + whole, tail, e);
    acc = _mm512_mask_add_ps(acc, tail, acc, e);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc);
  float sum = 0.0f;
  for (float l : lanes) sum += l;
  const __m512 inv = _mm512_set1_ps(1.0f / sum);
  for (int64_t i = 0; i < whole; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  if (tail) _mm512_mask_storeu_ps(x + whole, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + whole), inv));
}

#pragma GCC diagnostic pop

// y = f(x) over 16-float vectors, the tail masked, so each element goes through the same
// instructions wherever it sits (what lets fused attention reproduce the leaves bit for bit).
template <__m512 (*F)(__m512)>
__attribute__((target("avx512f"))) void map16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, F(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace

bool fused_softmax_row(float* x, int64_t n) {
  if (g_impl != Impl::avx512) return false;
  softmax_row16(x, n);
  return true;
}

bool fused_activation(Activation act, const float* x, float* y, int64_t n) {
  if (g_impl != Impl::avx512) return false;
  switch (act) {
    case Activation::gelu_erf: map16<gelu_erf16>(x, y, n); return true;
    case Activation::gelu_tanh: map16<gelu_tanh16>(x, y, n); return true;
    case Activation::silu: map16<silu16>(x, y, n); return true;
    default: return false;
  }
}

void exp_array(const float* x, float* y, int64_t n) {
  switch (g_impl) {
    case Impl::avx512: return map16<exp16>(x, y, n);
    case Impl::avx2: return apply8(_ZGVdN8v_expf, x, y, n);
    default: return apply_scalar([](float v) { return std::exp(v); }, x, y, n);
  }
}

void erf_array(const float* x, float* y, int64_t n) {
  switch (g_impl) {
    case Impl::avx512: return map16<_ZGVeN16v_erff>(x, y, n);
    case Impl::avx2: return apply8(_ZGVdN8v_erff, x, y, n);
    default: return apply_scalar([](float v) { return std::erf(v); }, x, y, n);
  }
}

void tanh_array(const float* x, float* y, int64_t n) {
  switch (g_impl) {
    case Impl::avx512: return map16<_ZGVeN16v_tanhf>(x, y, n);
    case Impl::avx2: return apply8(_ZGVdN8v_tanhf, x, y, n);
    default: return apply_scalar([](float v) { return std::tanh(v); }, x, y, n);
  }
}

void force_scalar_vec_math(bool scalar) { g_impl = scalar ? Impl::scalar : detect(); }

const char* vec_math_impl() {
  switch (g_impl) {
    case Impl::avx512: return "avx512 (own exp and activations; libmvec erf, tanh)";
    case Impl::avx2: return "libmvec-avx2";
    default: return "libm-scalar";
  }
}

}  // namespace clear::kernels
