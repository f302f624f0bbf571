// Shared oneDNN engine/stream and the bf16 conversion used before bf16 matrix products.
#include "engine/kernels/onednn.hpp"

#include <cstring>

#include "engine/kernels/parallel.hpp"

namespace clear::kernels {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& onednn_stream() {
  static dnnl::stream stream(onednn_engine());
  return stream;
}

namespace {

CLEAR_VECTOR_CLONES void to_bf16_span(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &src[i], sizeof u);
    bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    dst[i] = static_cast<uint16_t>(nan ? ((u >> 16) | 0x40u) : rounded);
  }
}

}  // namespace

void to_bf16(const float* src, int64_t ld_src, uint16_t* dst, int64_t rows, int64_t width) {
  parallel_for(rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(width, 1)), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) to_bf16_span(src + r * ld_src, dst + r * width, width);
  });
}

}  // namespace clear::kernels
