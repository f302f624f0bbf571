#pragma once
// One attention core (scores, mask, softmax, context) bound to its buffers. K/V may live in a
// KV cache whose per-sequence capacity exceeds the attended length; the kernels expect batches of
// kv_len rows, so such a call runs one sequence at a time.
#include <cstdint>

#include "clear/engine/kernels.hpp"

namespace clear::cpu {

struct AttentionCall {
  kernels::AttentionDims d;           // whole batch; ldq/ldk/ldv/ldo set explicitly
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* key_mask = nullptr;   // [batch, kv_len] or null
  const float* bias = nullptr;       // [heads, q_len, kv_len] or null
  float* out = nullptr;              // [batch, q_len, heads·head_dim] with row stride ldo
  float* scores = nullptr;           // [batch, heads, q_len, kv_len] (leaf kernels only)
  float* scratch = nullptr;          // fused kernel only
  int64_t kv_batch_rows = 0;         // K/V token rows from one sequence to the next

  bool per_sequence() const { return d.batch > 1 && kv_batch_rows != d.kv_len; }
  kernels::AttentionDims one_sequence() const {
    kernels::AttentionDims one = d;
    one.batch = 1;
    return one;
  }
  int64_t scores_floats() const { return d.batch * d.heads * d.q_len * d.kv_len; }
  int64_t scratch_floats() const {
    int64_t full = kernels::attention_scratch_floats(d);
    int64_t one = kernels::attention_scratch_floats(one_sequence());
    return full > one ? full : one;
  }

  // f(dims, q, k, v, key_mask, out, scores) over the whole batch or one sequence at a time.
  template <class F>
  void each(F f) const {
    if (!per_sequence()) {
      f(d, q, k, v, key_mask, out, scores);
      return;
    }
    kernels::AttentionDims one = one_sequence();
    for (int64_t b = 0; b < d.batch; ++b) {
      f(one, q + b * d.q_len * d.ldq, k + b * kv_batch_rows * d.ldk, v + b * kv_batch_rows * d.ldv,
        key_mask ? key_mask + b * d.kv_len : nullptr, out + b * d.q_len * d.ldo,
        scores ? scores + b * d.heads * d.q_len * d.kv_len : nullptr);
    }
  }

  void fused() const {
    float* s = scratch;
    const float* pb = bias;
    each([s, pb](const kernels::AttentionDims& dd, const float* q, const float* k, const float* v, const float* m,
                 float* o, float*) { kernels::attention_fused(dd, q, k, v, m, pb, o, s); });
  }
  void run_scores() const {
    each([](const kernels::AttentionDims& dd, const float* q, const float* k, const float*, const float*, float*,
            float* sc) { kernels::attention_scores(dd, q, k, sc); });
  }
  void run_mask() const {
    const float* pb = bias;
    each([pb](const kernels::AttentionDims& dd, const float*, const float*, const float*, const float* m, float*,
              float* sc) { kernels::attention_mask(dd, sc, m, pb); });
  }
  void run_softmax() const {
    each([](const kernels::AttentionDims& dd, const float*, const float*, const float*, const float*, float*,
            float* sc) { kernels::attention_softmax(dd, sc); });
  }
  void run_context() const {
    each([](const kernels::AttentionDims& dd, const float*, const float*, const float* v, const float*, float* o,
            float* sc) { kernels::attention_context(dd, sc, v, o); });
  }
};

}  // namespace clear::cpu
