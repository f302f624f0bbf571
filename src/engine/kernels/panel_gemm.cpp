// Loop nest, per thread (threads own disjoint ranges of panels, so no two write one column):
//   for each depth block (kPanelDepth inputs)
//     for each block of up to kRowBlock rows      (its slice of x stays in L2)
//       for each panel of this thread              (32 columns, depth × 32 floats, read in order)
//         for each tile of up to kTileRows rows    (12 rows × 2 vectors = 24 accumulators)
//           for k in the block: 2 loads of the panel, 12 broadcasts of x, 24 FMAs
// While the first tiles of a panel run, they prefetch the next panel this thread will read, one
// cache line every other step of k (denser when there are too few tiles), so the weights arrive
// from memory while the FMAs run.
#include "engine/kernels/panel_gemm.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <immintrin.h>

#include "engine/kernels/parallel.hpp"

namespace clear::kernels {
namespace {

constexpr int kTileRows = 12;
constexpr int64_t kRowBlock = 16 * kTileRows;  // 192 rows × 384 inputs × 4 B = 288 KiB of x
constexpr int64_t kLinesPerPanelStep = kPanelWidth * 4 / 64;  // cache lines of one k step: 2

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") != 0;
}
const bool g_avx512 = cpu_has_avx512();

int64_t panels_of(int64_t out) { return (out + kPanelWidth - 1) / kPanelWidth; }

__attribute__((target("avx512f"))) inline __mmask16 column_mask(int64_t left) {
  if (left <= 0) return 0;
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

// How densely a tile prefetches: one line of the next panel every other step of k, every step,
// or two every step. Sparser is faster where enough tiles share the panel (measured: 157 against
// 150 GFLOP/s on one core with one line every step), but a lone tile must cover it all.
enum Prefetch : int { kNone = 0, kHalf = 1, kOne = 2, kTwo = 3 };
constexpr int64_t lines_per_tile(int mode, int64_t depth) {
  return mode == kHalf ? (depth + 1) / 2 : mode == kOne ? depth : mode == kTwo ? 2 * depth : 0;
}

// One tile: R rows × 32 columns over `depth` inputs. `first`: start from the bias (or zero),
// otherwise from y (an earlier depth block). Prefetches lines of `prefetch` as Mode says.
template <int R, int Mode>
__attribute__((target("avx512f"))) void tile(const float* x, int64_t ldx, const float* panel, int64_t depth, float* y,
                                             int64_t ldy, bool first, const float* bias, __mmask16 m0, __mmask16 m1,
                                             const float* prefetch) {
  __m512 lo[R], hi[R];
  if (first) {
    __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    for (int r = 0; r < R; ++r) lo[r] = b0, hi[r] = b1;
  } else {
    for (int r = 0; r < R; ++r) {
      lo[r] = _mm512_maskz_loadu_ps(m0, y + r * ldy);
      hi[r] = _mm512_maskz_loadu_ps(m1, y + r * ldy + 16);
    }
  }
  for (int64_t k = 0; k < depth; ++k) {
    __m512 w0 = _mm512_load_ps(panel + k * kPanelWidth), w1 = _mm512_load_ps(panel + k * kPanelWidth + 16);
    if constexpr (Mode == kHalf) {
      if ((k & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(prefetch + (k >> 1) * 16), _MM_HINT_T1);
    } else if constexpr (Mode == kOne) {
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + k * 16), _MM_HINT_T1);
    } else if constexpr (Mode == kTwo) {
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + k * 32), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + k * 32 + 16), _MM_HINT_T1);
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      __m512 a = _mm512_set1_ps(x[r * ldx + k]);
      lo[r] = _mm512_fmadd_ps(a, w0, lo[r]);
      hi[r] = _mm512_fmadd_ps(a, w1, hi[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(y + r * ldy, m0, lo[r]);
    _mm512_mask_storeu_ps(y + r * ldy + 16, m1, hi[r]);
  }
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, bool, const float*, __mmask16,
                        __mmask16, const float*);

template <int Mode, size_t... R>
constexpr auto tile_table(std::index_sequence<R...>) {
  return std::array<TileFn, sizeof...(R)>{&tile<int(R) + 1, Mode>...};
}
// kTiles[prefetch mode][rows - 1]
const std::array<TileFn, kTileRows> kTiles[4] = {
    tile_table<kNone>(std::make_index_sequence<kTileRows>{}), tile_table<kHalf>(std::make_index_sequence<kTileRows>{}),
    tile_table<kOne>(std::make_index_sequence<kTileRows>{}), tile_table<kTwo>(std::make_index_sequence<kTileRows>{})};

// Panels [p0, p1) of every depth block, for all rows.
void run_panels(const float* x, int64_t ldx, const float* packed, const float* bias, float* y, int64_t ldy, int64_t rows,
                int64_t out, int64_t in, int64_t p0, int64_t p1) {
  const int64_t panels = panels_of(out);
  for (int64_t k0 = 0; k0 < in; k0 += kPanelDepth) {
    const int64_t depth = std::min(kPanelDepth, in - k0);
    const float* block = packed + k0 * panels * kPanelWidth;
    const int64_t panel_floats = depth * kPanelWidth;
    const bool last_block = k0 + kPanelDepth >= in;
    for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      const int64_t block_rows = std::min(kRowBlock, rows - r0);
      const int64_t tiles = (block_rows + kTileRows - 1) / kTileRows;
      const bool last_rows = r0 + kRowBlock >= rows;
      for (int64_t p = p0; p < p1; ++p) {
        const float* panel = block + p * panel_floats;
        // The panel this thread reads next: the next of its range, or its first one for the next
        // rows, or its first one of the next depth block; none after the very last.
        const float* next = nullptr;
        int64_t next_depth = depth;
        if (p + 1 < p1) {
          next = panel + panel_floats;
        } else if (!last_rows) {
          next = block + p0 * panel_floats;
        } else if (!last_block) {
          next_depth = std::min(kPanelDepth, in - k0 - kPanelDepth);
          next = block + panels * panel_floats + p0 * next_depth * kPanelWidth;
        }
        const int64_t next_lines = next ? next_depth * kLinesPerPanelStep : 0;
        int mode = kHalf;
        while (mode < kTwo && tiles * lines_per_tile(mode, depth) < next_lines) ++mode;
        const __mmask16 m0 = column_mask(out - p * kPanelWidth), m1 = column_mask(out - p * kPanelWidth - 16);
        const float* b = bias ? bias + p * kPanelWidth : nullptr;
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t row = r0 + t * kTileRows;
          const int64_t r = std::min<int64_t>(kTileRows, rows - row);
          // Spread the next panel's lines over the tiles, in order; a tile whose share would run
          // past that panel prefetches nothing.
          const int64_t share = lines_per_tile(mode, depth), done = t * share;
          const bool prefetching = next && done + share <= next_lines;
          const float* pf = prefetching ? next + done * 16 : nullptr;
          TileFn run_tile = kTiles[prefetching ? mode : kNone][size_t(r - 1)];
          run_tile(x + row * ldx + k0, ldx, panel, depth, y + row * ldy + p * kPanelWidth, ldy, k0 == 0, b, m0, m1, pf);
        }
      }
    }
  }
}

}  // namespace

bool panel_gemm_available() { return g_avx512; }

int64_t panel_packed_floats(int64_t out, int64_t in) { return panels_of(out) * kPanelWidth * in; }

void pack_panels(const float* weight, int64_t out, int64_t in, float* packed) {
  const int64_t panels = panels_of(out);
  parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t k0 = 0; k0 < in; k0 += kPanelDepth) {
      const int64_t depth = std::min(kPanelDepth, in - k0);
      for (int64_t p = p0; p < p1; ++p) {
        float* panel = packed + k0 * panels * kPanelWidth + p * depth * kPanelWidth;
        for (int64_t c = 0; c < kPanelWidth; ++c) {
          const int64_t col = p * kPanelWidth + c;
          for (int64_t k = 0; k < depth; ++k) panel[k * kPanelWidth + c] = col < out ? weight[col * in + k0 + k] : 0.0f;
        }
      }
    }
  });
}

void panel_gemm(const float* x, int64_t ldx, const float* packed, const float* bias, float* y, int64_t ldy, int64_t rows,
                int64_t out, int64_t in) {
  if (rows <= 0) return;
  // A panel is 2·rows·in·32 FLOPs; below ~200 kFLOP per thread a fork costs more than it saves.
  const int64_t grain = std::max<int64_t>(1, 200000 / std::max<int64_t>(1, 2 * rows * in * kPanelWidth));
  parallel_for(panels_of(out), grain, [&](int64_t p0, int64_t p1) {
    run_panels(x, ldx, packed, bias, y, ldy, rows, out, in, p0, p1);
  });
}

}  // namespace clear::kernels
