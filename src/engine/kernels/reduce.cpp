// Lane-accumulator reductions; see reduce.hpp.
#include "engine/kernels/reduce.hpp"

#include <limits>

#include "engine/kernels/parallel.hpp"

namespace clear::kernels {
namespace {
constexpr int kLanes = 16;
}

CLEAR_VECTOR_CLONES float sum_span(const float* x, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += x[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += x[i];
  float s = 0.0f;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

CLEAR_VECTOR_CLONES float sum_sq_dev_span(const float* x, float c, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      float d = x[i + l] - c;
      acc[l] += d * d;
    }
  for (int l = 0; i < n; ++i, ++l) {
    float d = x[i] - c;
    acc[l] += d * d;
  }
  float s = 0.0f;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

CLEAR_VECTOR_CLONES float max_span(const float* x, int64_t n) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  float acc[kLanes];
  for (int l = 0; l < kLanes; ++l) acc[l] = neg_inf;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = acc[l] > x[i + l] ? acc[l] : x[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] = acc[l] > x[i] ? acc[l] : x[i];
  float m = neg_inf;
  for (int l = 0; l < kLanes; ++l) m = m > acc[l] ? m : acc[l];
  return m;
}

}  // namespace clear::kernels
