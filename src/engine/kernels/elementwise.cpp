// Residual adds and activations over flat arrays. Each runs in chunks on threads() threads; every
// element's arithmetic is independent of the chunking, so any thread count gives the same bits.
#include <cmath>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/parallel.hpp"
#include "engine/kernels/vec_math.hpp"

namespace clear::kernels {
namespace {

// Below this many elements a fork costs more than it saves.
constexpr int64_t kElementGrain = 1 << 15;
// Activations go through a stack buffer of this many elements (fits L1, multiple of 16).
constexpr int64_t kChunk = 512;

CLEAR_VECTOR_CLONES void add_span(const float* x, const float* r, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] + r[i];
}

CLEAR_VECTOR_CLONES void add3_span(const float* a, const float* b, const float* c, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = (a[i] + b[i]) + c[i];
}

// gelu_erf: 0.5·x·(1 + erf(x/√2))  (t = erf(x/√2) on entry).
CLEAR_VECTOR_CLONES void scale_by_sqrt_half(const float* x, float* t, int64_t n) {
  const float k = static_cast<float>(M_SQRT1_2);
  for (int64_t i = 0; i < n; ++i) t[i] = x[i] * k;
}
CLEAR_VECTOR_CLONES void gelu_combine(const float* x, const float* t, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + t[i]);
}
// gelu_tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
CLEAR_VECTOR_CLONES void gelu_tanh_inner(const float* x, float* t, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) t[i] = k * (x[i] + 0.044715f * x[i] * x[i] * x[i]);
}
// silu: x / (1 + exp(-x))  (t = exp(-x) on entry).
CLEAR_VECTOR_CLONES void negate(const float* x, float* t, int64_t n) {
  for (int64_t i = 0; i < n; ++i) t[i] = -x[i];
}
CLEAR_VECTOR_CLONES void silu_combine(const float* x, const float* t, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + t[i]);
}
CLEAR_VECTOR_CLONES void relu_span(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
CLEAR_VECTOR_CLONES void multiply_span(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

// y[0, n) = act(x[0, n)), n <= kChunk; y may alias x.
void activation_chunk(Activation act, const float* x, float* y, int64_t n) {
  if (fused_activation(act, x, y, n)) return;
  float t[kChunk];
  switch (act) {
    case Activation::gelu_erf:
      scale_by_sqrt_half(x, t, n);
      erf_array(t, t, n);
      gelu_combine(x, t, y, n);
      return;
    case Activation::gelu_tanh:
      gelu_tanh_inner(x, t, n);
      tanh_array(t, t, n);
      gelu_combine(x, t, y, n);
      return;
    case Activation::silu:
      negate(x, t, n);
      exp_array(t, t, n);
      silu_combine(x, t, y, n);
      return;
    case Activation::relu:
      relu_span(x, y, n);
      return;
    case Activation::tanh:
      tanh_array(x, y, n);
      return;
  }
  throw Error(std::string("activation: unsupported activation ") + to_string(act));
}

}  // namespace

void add(const float* x, const float* r, float* y, int64_t n) {
  parallel_for(n, kElementGrain, [&](int64_t b, int64_t e) { add_span(x + b, r + b, y + b, e - b); });
}

void add3(const float* a, const float* b, const float* c, float* y, int64_t n) {
  parallel_for(n, kElementGrain, [&](int64_t s, int64_t e) { add3_span(a + s, b + s, c + s, y + s, e - s); });
}

void activation(Activation act, const float* x, float* y, int64_t n) {
  int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, kElementGrain / kChunk, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      int64_t off = c * kChunk;
      activation_chunk(act, x + off, y + off, std::min(kChunk, n - off));
    }
  });
}

void gated_activation(Activation act, const float* gate, const float* up, float* y, int64_t n) {
  int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, kElementGrain / kChunk, [&](int64_t cb, int64_t ce) {
    float a[kChunk];
    for (int64_t c = cb; c < ce; ++c) {
      int64_t off = c * kChunk, len = std::min(kChunk, n - off);
      activation_chunk(act, gate + off, a, len);
      multiply_span(a, up + off, y + off, len);
    }
  });
}

}  // namespace clear::kernels
