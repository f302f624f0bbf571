#pragma once
// The two matrix-product tiles of attention, shared by the leaves and the fused kernel:
//   score_block:   s[r, j] = scale · Σ_d q[r, d]·kt[d, j]   (rows × K, sum over d in order)
//   context_block: o[r, d] = Σ_j p[r, j]·v[j, d]            (rows × D, sum over j in order)
// Each output element is one accumulator updated in the same order whatever its position, row block
// or the vector lane it lands in (AVX-512 tiles with masked tails, all fused multiply-adds; other
// CPUs a plain loop without FMA contraction), so leaves and fused kernel agree bit for bit.
#include <cstdint>

namespace clear::kernels {

void score_block(const float* q, int64_t ldq, int64_t rows, const float* kt, int64_t K, int64_t D, float scale,
                 float* s, int64_t lds);
// score_block reading the keys where they are (k_j[d] at k[j·ldk + d], gathered), for blocks of
// so few query rows that packing Kᵀ would cost more than the product (decode). Same bits as
// score_block on the packed Kᵀ.
void score_block_in_place(const float* q, int64_t ldq, int64_t rows, const float* k, int64_t ldk, int64_t K, int64_t D,
                          float scale, float* s, int64_t lds);
void context_block(const float* p, int64_t ldp, int64_t rows, const float* v, int64_t ldv, int64_t K, int64_t D,
                   float* o, int64_t ldo);
// Which implementation runs: "avx512" or "generic".
const char* attention_tiles_impl();
// Tests: run the generic tiles even on an AVX-512 CPU (not thread-safe; call between kernels).
void force_generic_attention_tiles(bool generic);

}  // namespace clear::kernels
