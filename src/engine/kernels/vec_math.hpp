#pragma once
// exp, erf and tanh over arrays, vectorised through glibc's libmvec (the vector-ABI variants of
// expf/erff/tanhf, accurate to 4 ulp, linked through libm's AS_NEEDED libmvec) where the CPU has
// AVX-512 or AVX2, scalar libm otherwise. Every element goes through the same vector routine
// (tails are padded), so a value's result never depends on its position in the array: this is
// what lets attention_fused reproduce the leaves bit for bit whatever the blocking.
#include <cstdint>

#include "clear/model/config.hpp"

namespace clear::kernels {

// y[i] = f(x[i]) for n elements; y may alias x.
void exp_array(const float* x, float* y, int64_t n);
void erf_array(const float* x, float* y, int64_t n);
void tanh_array(const float* x, float* y, int64_t n);

// gelu_erf, gelu_tanh or silu in one vector pass (x·√½ / the tanh argument / −x, the libmvec call,
// then the combination), with the same operations in the same order as the multi-pass formulas in
// elementwise.cpp, where AVX-512 is available. Returns false (and does nothing) otherwise.
bool fused_activation(Activation act, const float* x, float* y, int64_t n);

// Which implementation is in use: "libmvec-avx512", "libmvec-avx2" or "libm-scalar".
const char* vec_math_impl();
// Tests: use scalar libm even where libmvec applies (not thread-safe; call between kernels).
void force_scalar_vec_math(bool scalar);

}  // namespace clear::kernels
