// Array exp/erf/tanh through libmvec; see vec_math.hpp.
#include "engine/kernels/vec_math.hpp"

#include <cmath>
#include <cstring>

#include <immintrin.h>

extern "C" {
__m512 _ZGVeN16v_expf(__m512);
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

using Vec16Fn = __m512 (*)(__m512);
using Vec8Fn = __m256 (*)(__m256);

__attribute__((target("avx512f"))) void apply16(Vec16Fn f, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

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

// One pass over 16-float vectors: y = Op::post(x, f(Op::pre(x))). Tails are masked, so each
// element goes through the same instructions wherever it sits. (Op is a struct of target-attributed
// static functions: lambdas would not inherit the AVX-512 target.)
#define CLEAR_AVX512 __attribute__((target("avx512f"))) static inline
template <class Op>
__attribute__((target("avx512f"))) void map16(Vec16Fn f, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(x + i);
    _mm512_storeu_ps(y + i, Op::post(v, f(Op::pre(v))));
  }
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(y + i, m, Op::post(v, f(Op::pre(v))));
  }
}

// ((0.5·x)·(1 + t)), the gelu combination in the scalar formula's order.
CLEAR_AVX512 __m512 gelu_combine16(__m512 v, __m512 t) {
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), t));
}
// gelu_erf: 0.5·x·(1 + erf(x·√½)).
struct GeluErf16 {
  CLEAR_AVX512 __m512 pre(__m512 v) { return _mm512_mul_ps(v, _mm512_set1_ps(static_cast<float>(M_SQRT1_2))); }
  CLEAR_AVX512 __m512 post(__m512 v, __m512 t) { return gelu_combine16(v, t); }
};
// gelu_tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
struct GeluTanh16 {
  CLEAR_AVX512 __m512 pre(__m512 v) {
    __m512 cube = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), v), v), v);
    return _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f), _mm512_add_ps(v, cube));
  }
  CLEAR_AVX512 __m512 post(__m512 v, __m512 t) { return gelu_combine16(v, t); }
};
// silu: x / (1 + exp(−x)).
struct Silu16 {
  CLEAR_AVX512 __m512 pre(__m512 v) { return _mm512_sub_ps(_mm512_setzero_ps(), v); }
  CLEAR_AVX512 __m512 post(__m512 v, __m512 e) { return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e)); }
};
#undef CLEAR_AVX512

}  // namespace

bool fused_activation(Activation act, const float* x, float* y, int64_t n) {
  if (g_impl != Impl::avx512) return false;
  switch (act) {
    case Activation::gelu_erf: map16<GeluErf16>(_ZGVeN16v_erff, x, y, n); return true;
    case Activation::gelu_tanh: map16<GeluTanh16>(_ZGVeN16v_tanhf, x, y, n); return true;
    case Activation::silu: map16<Silu16>(_ZGVeN16v_expf, x, y, n); return true;
    default: return false;
  }
}

void exp_array(const float* x, float* y, int64_t n) {
  switch (g_impl) {
    case Impl::avx512: return apply16(_ZGVeN16v_expf, x, y, n);
    case Impl::avx2: return apply8(_ZGVdN8v_expf, x, y, n);
    default: return apply_scalar([](float v) { return std::exp(v); }, x, y, n);
  }
}

void erf_array(const float* x, float* y, int64_t n) {
  switch (g_impl) {
    case Impl::avx512: return apply16(_ZGVeN16v_erff, x, y, n);
    case Impl::avx2: return apply8(_ZGVdN8v_erff, x, y, n);
    default: return apply_scalar([](float v) { return std::erf(v); }, x, y, n);
  }
}

void tanh_array(const float* x, float* y, int64_t n) {
  switch (g_impl) {
    case Impl::avx512: return apply16(_ZGVeN16v_tanhf, x, y, n);
    case Impl::avx2: return apply8(_ZGVdN8v_tanhf, x, y, n);
    default: return apply_scalar([](float v) { return std::tanh(v); }, x, y, n);
  }
}

void force_scalar_vec_math(bool scalar) { g_impl = scalar ? Impl::scalar : detect(); }

const char* vec_math_impl() {
  switch (g_impl) {
    case Impl::avx512: return "libmvec-avx512";
    case Impl::avx2: return "libmvec-avx2";
    default: return "libm-scalar";
  }
}

}  // namespace clear::kernels
