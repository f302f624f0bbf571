// LayerNorm and RMSNorm over rows (sums from reduce.hpp: the same result on every ISA and thread count).
#include <cmath>

#include "clear/engine/kernels.hpp"
#include "engine/kernels/parallel.hpp"
#include "engine/kernels/reduce.hpp"

namespace clear::kernels {
namespace {

// Rows per fork: a row of 768 costs ~1 µs, a fork ~2-5 µs.
constexpr int64_t kRowGrain = 16;

CLEAR_VECTOR_CLONES void layer_norm_row(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  float mean = sum_span(x, n) / static_cast<float>(n);
  float var = sum_sq_dev_span(x, mean, n) / static_cast<float>(n);
  float rstd = 1.0f / std::sqrt(var + eps);
  if (w && b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
  } else if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd;
  }
}

CLEAR_VECTOR_CLONES void rms_norm_row(const float* x, const float* w, float* y, int64_t n, float eps) {
  float ms = sum_sq_dev_span(x, 0.0f, n) / static_cast<float>(n);
  float r = 1.0f / std::sqrt(ms + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * r) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r;
  }
}

}  // namespace

void layer_norm(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t width, float eps) {
  parallel_for(rows, kRowGrain, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) layer_norm_row(x + r * width, weight, bias, y + r * width, width, eps);
  });
}

void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t width, float eps) {
  parallel_for(rows, kRowGrain, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) rms_norm_row(x + r * width, weight, y + r * width, width, eps);
  });
}

}  // namespace clear::kernels
