#pragma once
// Row reductions shared by the kernels. Each uses 16 independent lane accumulators (element i goes
// to lane i mod 16) combined in a fixed order: the compiler vectorises them without reassociating,
// and the result is the same on every ISA, thread count and array alignment.
#include <cstdint>

namespace clear::kernels {

float sum_span(const float* x, int64_t n);
// Σ (x − c)²
float sum_sq_dev_span(const float* x, float c, int64_t n);
// max over x (−inf for n = 0)
float max_span(const float* x, int64_t n);

}  // namespace clear::kernels
