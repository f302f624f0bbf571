// Attention tiles; see attention_tiles.hpp. Both are one product, c[r, x] = scale · Σ_k a[r, k]·b[k, x]
// (b's rows contiguous over x): scores with a = q, b = Kᵀ, k over D; context with a = P, b = V,
// k over keys and scale 1 (× 1 is exact). The AVX-512 tile keeps up to 4 rows × 4 vectors of 16
// outputs in registers (16 accumulators): per step of k, 4 vector loads, 4 broadcasts, 16 FMAs.
#include "engine/kernels/attention_tiles.hpp"

#include <algorithm>

#include <immintrin.h>

namespace clear::kernels {
namespace {

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") != 0;
}

bool g_avx512 = cpu_has_avx512();

__attribute__((target("avx512f"))) inline __mmask16 tail_mask(int64_t left) {
  if (left <= 0) return 0;
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

// Accumulators a<r><v> are named variables: GCC keeps an array of vectors on the stack here, which
// halves the speed. Rows r >= R and vectors v >= V compile away.
#define CLEAR_FOR_TILE(X) \
  X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(1, 0) X(1, 1) X(1, 2) X(1, 3) X(2, 0) X(2, 1) X(2, 2) X(2, 3) X(3, 0) X(3, 1) X(3, 2) X(3, 3)
#define CLEAR_FOR_FOUR(X) X(0) X(1) X(2) X(3)

// c[r, x0 + x] for r < R, x < 16·V (masked at n). Rows(b): b[k, x] at b[k·ldb + x]; otherwise b is
// given transposed, b[k, x] at b[x·ldb + k], and each vector of b is gathered (the same values, so
// the same bits as from the packed copy).
template <int R, int V, bool Rows, bool Full = false>
__attribute__((target("avx512f"))) void product_tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n,
                                                      int64_t reduce, float scale, float* c, int64_t ldc, int64_t x0) {
#define DECL(r, v) __m512 acc##r##v = _mm512_setzero_ps();
  CLEAR_FOR_TILE(DECL)
#undef DECL
#define MASK(v) const __mmask16 m##v = tail_mask(n - x0 - 16 * v);
  CLEAR_FOR_FOUR(MASK)
#undef MASK
  const __m512i lanes = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                           _mm512_set1_epi32(static_cast<int>(Rows ? 0 : ldb)));
  for (int64_t k = 0; k < reduce; ++k) {
    const float* bk = Rows ? b + k * ldb + x0 : b + x0 * ldb + k;
#define LOAD(v)                                                                                             \
  const __m512 b##v = !(v < V)       ? _mm512_setzero_ps()                                                  \
                      : Rows && Full ? _mm512_loadu_ps(bk + 16 * v)                                           \
                      : Rows         ? _mm512_maskz_loadu_ps(m##v, bk + 16 * v)                               \
                                     : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m##v, lanes, bk + 16 * v * ldb, 4);
    CLEAR_FOR_FOUR(LOAD)
#undef LOAD
#define ROW(r) const __m512 a##r = r < R ? _mm512_set1_ps(a[r * lda + k]) : _mm512_setzero_ps();
    CLEAR_FOR_FOUR(ROW)
#undef ROW
#define FMA(r, v) if (r < R && v < V) acc##r##v = _mm512_fmadd_ps(a##r, b##v, acc##r##v);
    CLEAR_FOR_TILE(FMA)
#undef FMA
  }
  const __m512 sc = _mm512_set1_ps(scale);
#define STORE(r, v) if (r < R && v < V) _mm512_mask_storeu_ps(c + r * ldc + x0 + 16 * v, m##v, _mm512_mul_ps(acc##r##v, sc));
  CLEAR_FOR_TILE(STORE)
#undef STORE
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float, float*, int64_t, int64_t);
#define CLEAR_TILE_ROW(R, Rows) \
  {product_tile<R, 1, Rows>, product_tile<R, 2, Rows>, product_tile<R, 3, Rows>, product_tile<R, 4, Rows>}
const TileFn kTiles[2][4][4] = {
    {CLEAR_TILE_ROW(1, false), CLEAR_TILE_ROW(2, false), CLEAR_TILE_ROW(3, false), CLEAR_TILE_ROW(4, false)},
    {CLEAR_TILE_ROW(1, true), CLEAR_TILE_ROW(2, true), CLEAR_TILE_ROW(3, true), CLEAR_TILE_ROW(4, true)}};
#undef CLEAR_TILE_ROW
// Rows of b whose 64 columns are all inside n: plain loads (a masked load costs an extra uop on
// the FMA ports; the values and so the bits are the same).
const TileFn kFullTiles[4] = {product_tile<1, 4, true, true>, product_tile<2, 4, true, true>, product_tile<3, 4, true, true>,
                              product_tile<4, 4, true, true>};

// Generic: no FMA (baseline and AVX2 targets do not contract), so a vectorised body and a scalar
// remainder compute the same bits.
__attribute__((target_clones("avx2", "default"))) void product_row_generic(const float* a, const float* b, int64_t ldb,
                                                                           int64_t n, int64_t reduce, float scale,
                                                                           float* c) {
  for (int64_t x = 0; x < n; ++x) c[x] = 0.0f;
  for (int64_t k = 0; k < reduce; ++k) {
    const float ak = a[k];
    const float* bk = b + k * ldb;
    for (int64_t x = 0; x < n; ++x) c[x] += ak * bk[x];
  }
  for (int64_t x = 0; x < n; ++x) c[x] *= scale;
}

// The same with b given transposed (b[k, x] at b[x·ldb + k]): the same products in the same order.
__attribute__((target_clones("avx2", "default"))) void product_row_generic_transposed(const float* a, const float* b,
                                                                                      int64_t ldb, int64_t n,
                                                                                      int64_t reduce, float scale,
                                                                                      float* c) {
  for (int64_t x = 0; x < n; ++x) c[x] = 0.0f;
  for (int64_t k = 0; k < reduce; ++k) {
    const float ak = a[k];
    for (int64_t x = 0; x < n; ++x) c[x] += ak * b[x * ldb + k];
  }
  for (int64_t x = 0; x < n; ++x) c[x] *= scale;
}

// c[rows, n] = scale · a[rows, reduce] · b[reduce, n]; b_rows: b[k, x] at b[k·ldb + x], otherwise at
// b[x·ldb + k].
void product(const float* a, int64_t lda, int64_t rows, const float* b, int64_t ldb, bool b_rows, int64_t n,
             int64_t reduce, float scale, float* c, int64_t ldc) {
  if (!g_avx512) {
    for (int64_t r = 0; r < rows; ++r)
      (b_rows ? product_row_generic : product_row_generic_transposed)(a + r * lda, b, ldb, n, reduce, scale, c + r * ldc);
    return;
  }
  for (int64_t x0 = 0; x0 < n; x0 += 64) {
    int64_t v = std::min<int64_t>(4, (n - x0 + 15) / 16);
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
      int64_t r = std::min<int64_t>(4, rows - r0);
      const TileFn tile = b_rows && x0 + 64 <= n ? kFullTiles[r - 1] : kTiles[b_rows][r - 1][v - 1];
      tile(a + r0 * lda, lda, b, ldb, n, reduce, scale, c + r0 * ldc, ldc, x0);
    }
  }
}

}  // namespace

void score_block(const float* q, int64_t ldq, int64_t rows, const float* kt, int64_t K, int64_t D, float scale,
                 float* s, int64_t lds) {
  product(q, ldq, rows, kt, K, true, K, D, scale, s, lds);
}

void score_block_in_place(const float* q, int64_t ldq, int64_t rows, const float* k, int64_t ldk, int64_t K, int64_t D,
                          float scale, float* s, int64_t lds) {
  product(q, ldq, rows, k, ldk, false, K, D, scale, s, lds);
}

void context_block(const float* p, int64_t ldp, int64_t rows, const float* v, int64_t ldv, int64_t K, int64_t D,
                   float* o, int64_t ldo) {
  product(p, ldp, rows, v, ldv, true, D, K, 1.0f, o, ldo);
}

const char* attention_tiles_impl() { return g_avx512 ? "avx512" : "generic"; }

void force_generic_attention_tiles(bool generic) { g_avx512 = !generic && cpu_has_avx512(); }

}  // namespace clear::kernels
