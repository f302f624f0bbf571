// Attention: the four leaves (scores, mask, softmax, context) and the fused version.
//
// Both are built from the same per-row pieces, applied to the same work items — (batch, head,
// block of kQueryBlock queries) — so every element goes through the same arithmetic in the same
// order and the fused result equals the leaves bit for bit, at any thread count:
//   pack_keys:    Kᵀ of the item's kv head into scratch [D, K] (contiguous over keys), except when
//                 few query rows share it (decode), where the scores gather the keys in place;
//   score_block:  s[j] = scale · Σ_d q[d]·Kᵀ[d, j], the sum over d in order (attention_tiles);
//   mask_row:     + position_bias, then −inf where causal / window / padding drops the key;
//   softmax_row:  exp(s − max) / Σ, the sum in 16 fixed lanes; a row whose max is −inf → zeros;
//   V packing:    V of the item's kv head into scratch [K, D] (dense rows), under the same rule;
//   context_block: out[d] = Σ_j p[j]·v_j[d], the sum over j in order (attention_tiles).
// The fused kernel keeps the item's [kQueryBlock, K] probabilities in per-thread scratch and never
// holds [B, H, S, K].
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/attention_tiles.hpp"
#include "engine/kernels/parallel.hpp"
#include "engine/kernels/reduce.hpp"
#include "engine/kernels/vec_math.hpp"

namespace clear::kernels {
namespace {

constexpr int64_t kQueryBlock = 32;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Dims with the defaults resolved.
struct Geometry {
  int64_t B, S, K, H, Hkv, D, group;
  int64_t ldq, ldk, ldv, ldo, kv_batch_rows;
  int64_t blocks;  // query blocks per (b, h)
  int64_t items() const { return B * H * blocks; }
};

Geometry geometry(const AttentionDims& d) {
  auto bad = [](const std::string& what) { throw Error("attention: " + what); };
  if (d.batch <= 0 || d.q_len <= 0 || d.kv_len <= 0 || d.heads <= 0 || d.kv_heads <= 0 || d.head_dim <= 0)
    bad("batch, q_len, kv_len, heads, kv_heads and head_dim must be positive");
  if (d.heads % d.kv_heads != 0)
    bad("heads (" + std::to_string(d.heads) + ") must be a multiple of kv_heads (" + std::to_string(d.kv_heads) + ")");
  Geometry g{};
  g.B = d.batch, g.S = d.q_len, g.K = d.kv_len, g.H = d.heads, g.Hkv = d.kv_heads, g.D = d.head_dim;
  g.group = g.H / g.Hkv;
  g.ldq = d.ldq ? d.ldq : g.H * g.D;
  g.ldk = d.ldk ? d.ldk : g.Hkv * g.D;
  g.ldv = d.ldv ? d.ldv : g.Hkv * g.D;
  g.ldo = d.ldo ? d.ldo : g.H * g.D;
  g.kv_batch_rows = d.kv_batch_rows ? d.kv_batch_rows : g.K;
  if (g.ldq < g.H * g.D || g.ldo < g.H * g.D || g.ldk < g.Hkv * g.D || g.ldv < g.Hkv * g.D || g.kv_batch_rows < g.K)
    bad("row strides must hold a whole token (ldq/ldo >= heads*head_dim, ldk/ldv >= kv_heads*head_dim, kv_batch_rows >= kv_len)");
  if (d.window < 0) bad("window must be >= 0");
  g.blocks = (g.S + kQueryBlock - 1) / kQueryBlock;
  return g;
}

struct Item {
  int64_t b, h, kvh, s0, rows;
};

Item item_at(const Geometry& g, int64_t i) {
  Item it{};
  int64_t blk = i % g.blocks;
  int64_t bh = i / g.blocks;
  it.h = bh % g.H;
  it.b = bh / g.H;
  it.kvh = it.h / g.group;
  it.s0 = blk * kQueryBlock;
  it.rows = std::min(kQueryBlock, g.S - it.s0);
  return it;
}

const float* q_row(const Geometry& g, const float* q, const Item& it, int64_t s) {
  return q + (it.b * g.S + s) * g.ldq + it.h * g.D;
}
float* out_row(const Geometry& g, float* out, const Item& it, int64_t s) {
  return out + (it.b * g.S + s) * g.ldo + it.h * g.D;
}
// scores/probs [B, H, S, K]
int64_t score_offset(const Geometry& g, const Item& it, int64_t s) { return ((it.b * g.H + it.h) * g.S + s) * g.K; }

const float* k_base(const Geometry& g, const float* k, const Item& it) {
  return k + it.b * g.kv_batch_rows * g.ldk + it.kvh * g.D;
}

// kt[d, j] = k_j[d] for the item's kv head.
void pack_keys(const Geometry& g, const float* k, const Item& it, float* kt) {
  const float* base = k_base(g, k, it);
  for (int64_t j = 0; j < g.K; ++j) {
    const float* kj = base + j * g.ldk;
    for (int64_t dd = 0; dd < g.D; ++dd) kt[dd * g.K + j] = kj[dd];
  }
}

// Adds bias[j] (may be null), then −inf where the key is dropped.
void mask_row(const AttentionDims& d, const Geometry& g, const Item& it, int64_t s, float* row, const float* key_mask,
              const float* position_bias) {
  if (position_bias) {
    const float* bias = position_bias + (it.h * g.S + s) * g.K;
    for (int64_t j = 0; j < g.K; ++j) row[j] += bias[j];
  }
  int64_t qpos = d.q_offset + s;
  if (d.causal)
    for (int64_t j = std::max<int64_t>(qpos + 1, 0); j < g.K; ++j) row[j] = kNegInf;
  if (d.window > 0)  // Mistral: key j is visible when qpos − window < j
    for (int64_t j = 0; j < std::min<int64_t>(qpos - d.window + 1, g.K); ++j) row[j] = kNegInf;
  if (key_mask) {
    const float* m = key_mask + it.b * g.K;
    for (int64_t j = 0; j < g.K; ++j)
      if (m[j] == 0.0f) row[j] = kNegInf;
  }
}

CLEAR_VECTOR_CLONES void subtract_span(float* x, float c, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] -= c;
}

CLEAR_VECTOR_CLONES void scale_span(float* x, float c, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= c;
}

// p = exp(x − max) / Σ exp(x − max) in place; all −inf (or empty) → zeros.
void softmax_row(float* x, int64_t n) {
  if (fused_softmax_row(x, n)) return;  // AVX-512: one function, three passes, the same bits
  float m = max_span(x, n);
  if (m == kNegInf) {
    std::memset(x, 0, sizeof(float) * static_cast<size_t>(n));
    return;
  }
  subtract_span(x, m, n);
  exp_array(x, x, n);
  float sum = sum_span(x, n);
  scale_span(x, 1.0f / sum, n);
}

const float* v_base(const Geometry& g, const float* v, const Item& it) {
  return v + it.b * g.kv_batch_rows * g.ldv + it.kvh * g.D;
}

// Work items in contiguous ranges, one per thread: body(slot, begin, end) with slot < nthreads.
// Items are ordered (b, h, block), so a range meets each kv head in a run and packs its keys once
// per run (GQA heads of one group share the packed keys).
template <class Body>
void for_each_range(int64_t items, int64_t max_threads, Body&& body) {
  int64_t nthreads = std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(threads()), max_threads, items}));
  if (nthreads == 1) {
    body(int64_t{0}, int64_t{0}, items);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(nthreads))
  {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t begin = items * t / nt, end = items * (t + 1) / nt;
    if (begin < end) body(t, begin, end);
  }
}

// Query rows that share one packed Kᵀ (a kv head's heads × query length) below which the scores read
// the keys in place instead (score_block_in_place): packing moves D·K values one by one for a
// product of only rows·D·K multiply-adds, ~3× the product's time in decode.
constexpr int64_t kPackKeysMinRows = 4;
bool keys_in_place(const Geometry& g) { return g.S * g.group < kPackKeysMinRows; }

// Scores of the item's query block: against Kᵀ packed into kt (packed again unless the previous
// item of this range had the same (b, kv head)), or against the keys in place.
void item_scores(const AttentionDims& d, const Geometry& g, const float* q, const float* k, const Item& it, float* kt,
                 int64_t& packed, float* s) {
  if (keys_in_place(g)) {
    score_block_in_place(q_row(g, q, it, it.s0), g.ldq, it.rows, k_base(g, k, it), g.ldk, g.K, g.D, d.scale, s, g.K);
    return;
  }
  int64_t key = it.b * g.Hkv + it.kvh;
  if (key != packed) {
    pack_keys(g, k, it, kt);
    packed = key;
  }
  score_block(q_row(g, q, it, it.s0), g.ldq, it.rows, kt, g.K, g.D, d.scale, s, g.K);
}

// Context of the item's query block: against V packed into vp as dense [K, D] rows (packed again
// unless the previous item of this range had the same (b, kv head)), or against V in place. Why
// pack: a head's V rows sit ldv floats apart (3 KiB for BERT), so the K rows a tile walks fall in a
// few L1 sets and evict one another; dense they stay in L1 (BERT-base, one core: 230 → 154 µs a layer).
// Same values, same products in the same order: the same bits either way.
void item_context(const Geometry& g, const float* probs, const float* v, const Item& it, float* vp, int64_t& packed,
                  float* out) {
  if (keys_in_place(g)) {
    context_block(probs, g.K, it.rows, v_base(g, v, it), g.ldv, g.K, g.D, out, g.ldo);
    return;
  }
  int64_t key = it.b * g.Hkv + it.kvh;
  if (key != packed) {
    const float* base = v_base(g, v, it);
    for (int64_t j = 0; j < g.K; ++j) std::memcpy(vp + j * g.D, base + j * g.ldv, sizeof(float) * static_cast<size_t>(g.D));
    packed = key;
  }
  context_block(probs, g.K, it.rows, vp, g.D, g.K, g.D, out, g.ldo);
}

// Kᵀ or V scratch for the leaves attention_scores and attention_context, which have no scratch
// argument: one buffer per thread, grown on first use and kept (no allocation once warmed up).
float* leaf_scratch(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

// Floats of one thread's slot of the fused kernel's scratch: Kᵀ [D, K], V [K, D] and the
// probabilities [kQueryBlock, K], each rounded up to a 64-byte line.
int64_t line_floats(int64_t n) { return (n + 15) / 16 * 16; }
int64_t slot_floats(const Geometry& g) { return 2 * line_floats(g.D * g.K) + line_floats(kQueryBlock * g.K); }

}  // namespace

void attention_scores(const AttentionDims& d, const float* q, const float* k, float* scores) {
  Geometry g = geometry(d);
  for_each_range(g.items(), threads(), [&](int64_t, int64_t begin, int64_t end) {
    float* kt = leaf_scratch(g.D * g.K);
    int64_t packed = -1;
    for (int64_t i = begin; i < end; ++i) {
      Item it = item_at(g, i);
      item_scores(d, g, q, k, it, kt, packed, scores + score_offset(g, it, it.s0));
    }
  });
}

void attention_mask(const AttentionDims& d, float* scores, const float* key_mask, const float* position_bias) {
  Geometry g = geometry(d);
  for_each_range(g.items(), threads(), [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Item it = item_at(g, i);
      for (int64_t s = it.s0; s < it.s0 + it.rows; ++s)
        mask_row(d, g, it, s, scores + score_offset(g, it, s), key_mask, position_bias);
    }
  });
}

void attention_softmax(const AttentionDims& d, float* scores) {
  Geometry g = geometry(d);
  for_each_range(g.items(), threads(), [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Item it = item_at(g, i);
      for (int64_t s = it.s0; s < it.s0 + it.rows; ++s) softmax_row(scores + score_offset(g, it, s), g.K);
    }
  });
}

void attention_context(const AttentionDims& d, const float* probs, const float* v, float* out) {
  Geometry g = geometry(d);
  for_each_range(g.items(), threads(), [&](int64_t, int64_t begin, int64_t end) {
    float* vp = leaf_scratch(g.K * g.D);
    int64_t packed = -1;
    for (int64_t i = begin; i < end; ++i) {
      Item it = item_at(g, i);
      item_context(g, probs + score_offset(g, it, it.s0), v, it, vp, packed, out_row(g, out, it, it.s0));
    }
  });
}

// Slots for max(threads(), cores): a scratch sized now stays large enough for the overload without
// a size, which uses at most min(threads(), cores) slots, whatever set_threads does in between.
int64_t attention_scratch_floats(const AttentionDims& d) {
  return slot_floats(geometry(d)) * std::max(threads(), cores_available());
}

void attention_fused(const AttentionDims& d, const float* q, const float* k, const float* v, const float* key_mask,
                     const float* position_bias, float* out, float* scratch) {
  attention_fused(d, q, k, v, key_mask, position_bias, out, scratch, slot_floats(geometry(d)) * cores_available());
}

void attention_fused(const AttentionDims& d, const float* q, const float* k, const float* v, const float* key_mask,
                     const float* position_bias, float* out, float* scratch, int64_t scratch_floats) {
  Geometry g = geometry(d);
  int64_t per_slot = slot_floats(g);
  int64_t slots = scratch_floats / per_slot;
  if (slots < 1)
    throw Error("attention_fused: scratch of " + std::to_string(scratch_floats) + " floats is smaller than one thread's " +
                std::to_string(per_slot) + " (use attention_scratch_floats)");
  for_each_range(g.items(), slots, [&](int64_t slot, int64_t begin, int64_t end) {
    float* kt = scratch + slot * per_slot;
    float* vp = kt + line_floats(g.D * g.K);
    float* probs = vp + line_floats(g.K * g.D);
    int64_t packed = -1, packed_values = -1;
    for (int64_t i = begin; i < end; ++i) {
      Item it = item_at(g, i);
      item_scores(d, g, q, k, it, kt, packed, probs);
      for (int64_t r = 0; r < it.rows; ++r) {
        float* row = probs + r * g.K;
        mask_row(d, g, it, it.s0 + r, row, key_mask, position_bias);
        softmax_row(row, g.K);
      }
      item_context(g, probs, v, it, vp, packed_values, out_row(g, out, it, it.s0));
    }
  });
}

}  // namespace clear::kernels
