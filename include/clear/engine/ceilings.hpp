#pragma once
// Machine ceilings measured on the spot, for `dissect machine` and the roofline labels: the best
// GEMM rate our engine reaches and the memory bandwidth a streaming read gets. Both are short
// measurements (best of repeats within `seconds`), noisy on a shared machine: report them as
// measured, with threads and date.
#include <cstdint>

#include "clear/model/workload.hpp"

namespace clear::kernels {

// GFLOP/s of a large GEMM (M = N = K = kCeilingGemmSize) through PackedLinear in `dtype` (fp32 or
// bf16) on `threads` threads (0 = all cores), best of as many repeats as fit in `seconds` (at least
// 3). Restores the previous thread setting.
constexpr int64_t kCeilingGemmSize = 2048;
double measure_gemm_gflops(DType dtype, int threads, double seconds);

// GB/s (1e9 bytes) of a streaming read (sum of floats) over an array several times the last-level
// cache: 4 × the largest cache in /sys/devices/system/cpu/cpu0/cache (this VM reports 260 MiB of
// L3, hence ~1 GiB), at least 256 MiB, at most 1 GiB and a quarter of MemAvailable. Best of repeats
// within `seconds`.
double measure_memory_bandwidth_gbs(int threads, double seconds);
// The array size measure_memory_bandwidth_gbs uses, in bytes.
int64_t bandwidth_array_bytes();

}  // namespace clear::kernels
