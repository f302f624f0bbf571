#pragma once
// Our own fp32 matrix product for CPUs with AVX-512: y[rows, out] = x[rows, in] · Wᵀ + b, with W
// packed once into column panels. PackedLinear uses it for fp32 where AVX-512 is present and
// oneDNN otherwise (and for bf16).
//
// Why not oneDNN here: a forward pass reads every weight matrix once, from memory (BERT-base
// streams 340 MB per forward, more than any cache). oneDNN 2.6's brgemm kernel reaches ~170
// GFLOP/s on one core when the weights are in cache but ~140 when they come from memory; this
// kernel walks the packed weights strictly in address order and prefetches the next panel while it
// computes the current one, and reaches ~155 from memory (docs/PERFORMANCE.md).
//
// Packed layout: W split along `in` into blocks of kPanelDepth (the last may be shorter); inside a
// block, panels of kPanelWidth output columns, each stored [depth][kPanelWidth] (the columns past
// `out` in the last panel are zero). So one thread reads its panels front to back.
//
// Numerics: y[r, c] = b[c] + Σ_k x[r, k]·W[c, k], accumulated in fp32 in increasing k, the same
// order for every row, column, row count and thread count.
#include <cstdint>

namespace clear::kernels {

inline constexpr int64_t kPanelWidth = 32;   // output columns per panel: two AVX-512 vectors
inline constexpr int64_t kPanelDepth = 384;  // inputs per block: a 48 KiB panel, next to L1

// True when the CPU (and OS) run AVX-512F.
bool panel_gemm_available();
// Floats the packed form of an [out, in] weight needs.
int64_t panel_packed_floats(int64_t out, int64_t in);
// Packs weight [out, in] (row-major, PyTorch layout) into `packed` (panel_packed_floats floats).
void pack_panels(const float* weight, int64_t out, int64_t in, float* packed);
// y (row stride ldy >= out) = x (row stride ldx >= in) · Wᵀ + bias (bias may be null). x and y
// must not overlap. Runs on threads(), splitting the panels.
void panel_gemm(const float* x, int64_t ldx, const float* packed, const float* bias, float* y, int64_t ldy, int64_t rows,
                int64_t out, int64_t in);

}  // namespace clear::kernels
