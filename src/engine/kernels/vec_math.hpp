#pragma once
// exp, erf and tanh over arrays, and the activations in one vector pass. Where the CPU has
// AVX-512: exp and the activations are our own (vec_math.cpp: exp <= 2 ulp; gelu_erf through
// erfc, gelu_tanh and silu as x·sigmoid, so their negative tails keep relative accuracy), erf and
// tanh are glibc's libmvec (4 ulp). With AVX2 only: libmvec for all three, and the activations are
// the multi-pass formulas of elementwise.cpp; otherwise scalar libm. Every element goes through the
// same vector routine (tails are masked or padded), so a value's result never depends on its
// position in the array: this is what lets attention_fused reproduce the leaves bit for bit
// whatever the blocking.
#include <cstdint>

#include "clear/model/config.hpp"

namespace clear::kernels {

// y[i] = f(x[i]) for n elements; y may alias x.
void exp_array(const float* x, float* y, int64_t n);
void erf_array(const float* x, float* y, int64_t n);
void tanh_array(const float* x, float* y, int64_t n);

// gelu_erf, gelu_tanh or silu in one vector pass, where AVX-512 is available (see above). Returns
// false (and does nothing) otherwise.
bool fused_activation(Activation act, const float* x, float* y, int64_t n);

// Softmax of one row in place, where AVX-512 is available: the same bits as the portable passes
// of attention.cpp's softmax_row (a row whose max is −inf becomes zeros). Returns false (and does
// nothing) otherwise.
bool fused_softmax_row(float* x, int64_t n);

// Which implementation is in use: "avx512 (...)", "libmvec-avx2" or "libm-scalar".
const char* vec_math_impl();
// Tests: use scalar libm even where libmvec applies (not thread-safe; call between kernels).
void force_scalar_vec_math(bool scalar);

}  // namespace clear::kernels
