#pragma once
// The one oneDNN CPU engine and stream every kernel shares, and fp32 → bf16 conversion.
#include <cstdint>

#include <oneapi/dnnl/dnnl.hpp>

namespace clear::kernels {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

// bf16 = the upper 16 bits of an fp32, rounded to nearest even (NaN stays NaN).
// dst row r = src row r (row stride ld_src) for rows × width, dst dense.
void to_bf16(const float* src, int64_t ld_src, uint16_t* dst, int64_t rows, int64_t width);

}  // namespace clear::kernels
