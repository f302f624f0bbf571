#pragma once
// The CPU engine's compute kernels: plain functions over flat fp32 arrays (llm.c style), each with
// its shape and FLOPs in the comment. Matrix products go through oneDNN with weights packed once;
// the rest are our own vectorised loops. All parallel work uses the thread count set here.
#include <cstdint>
#include <memory>
#include <string>

#include "clear/model/config.hpp"
#include "clear/model/workload.hpp"

namespace clear::kernels {

// Threads for every kernel (oneDNN and our own loops). 0 = every core this process may use.
void set_threads(int threads);
int threads();
// True when this CPU runs bf16 matrix products natively (AVX512-BF16 or AMX); the reason otherwise.
bool bf16_supported(std::string* why_not = nullptr);
// oneDNN's effective CPU ISA ("avx512_core_bf16", "avx512_core_amx", ...), for reports.
std::string onednn_isa_name();

// y[rows, out] = x[rows, in] · Wᵀ (+ b), W given as [out, in] (PyTorch layout), packed once at
// construction for `dtype` (fp32 or bf16; bf16 converts x on the fly and accumulates in fp32).
// fp32 runs our own AVX-512 panel GEMM where the CPU has AVX-512, oneDNN otherwise; bf16 runs
// oneDNN. prepare(rows) builds oneDNN's primitive for a row count ahead of time so forward() never
// allocates (the panel GEMM needs nothing). x and y must not overlap.
// FLOPs: 2·rows·in·out (+ rows·out for the bias).
class PackedLinear {
 public:
  PackedLinear(const float* weight, const float* bias, int64_t out_features, int64_t in_features, DType dtype);
  ~PackedLinear();
  PackedLinear(PackedLinear&&) noexcept;
  PackedLinear& operator=(PackedLinear&&) noexcept;
  void prepare(int64_t rows);
  void forward(const float* x, float* y, int64_t rows) const;
  // x has row stride ldx (>= in) and y row stride ldy (>= out): used for the pooler/CLS rows.
  void forward_strided(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows) const;
  int64_t in_features() const;
  int64_t out_features() const;
  int64_t packed_bytes() const;
  // "clear:panel_gemm_avx512", or oneDNN's implementation name for the representative shape
  // (e.g. "brg:avx512_core_bf16").
  std::string implementation() const;
  struct Impl;
 private:
  std::unique_ptr<Impl> impl_;
};
// PackedLinears constructed while this is set run fp32 through oneDNN even where the panel GEMM
// applies: tests check both paths, bench_gemm measures both.
void force_onednn_fp32(bool onednn);

// Each over `rows` vectors of `width`. FLOPs per element: layer_norm 8, rms_norm 4 (documented in
// docs/ANALYSIS.md; the analysis uses the same table).
void layer_norm(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t width, float eps);
void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t width, float eps);
// y = x + r (y may alias x or r).
void add(const float* x, const float* r, float* y, int64_t n);
void add3(const float* a, const float* b, const float* c, float* y, int64_t n);
// y = act(x) in place allowed; gated: y = act(gate) * up.
void activation(Activation act, const float* x, float* y, int64_t n);
void gated_activation(Activation act, const float* gate, const float* up, float* y, int64_t n);

// Rotary embedding, Hugging Face rotate_half convention (pairs i and i + d/2), applied in place to
// x[tokens, heads, head_dim] at positions[tokens]; inv_freq[head_dim/2] holds the (scaled) frequencies.
void rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const int64_t* positions, const float* inv_freq);
// inv_freq for a config (rope_theta, head_dim, rope_scaling incl. llama3).
void rope_inv_freq(const ModelConfig& config, int64_t head_dim, float* inv_freq);

// Attention, split into the graph's leaves. Layouts: q [B, S, H, D] with row stride ldq per token,
// k and v [B, K, Hkv, D] with row strides ldk/ldv (views into fused QKV or the KV cache are fine),
// scores/probs [B, H, S, K], context out [B, S, H, D]. Head h reads kv head h / (H / Hkv).
struct AttentionDims {
  int64_t batch = 1, q_len = 1, kv_len = 1, heads = 1, kv_heads = 1, head_dim = 1;
  int64_t ldq = 0, ldk = 0, ldv = 0, ldo = 0;  // 0: dense (H*D or Hkv*D)
  int64_t q_offset = 0;   // absolute position of query 0 (decode: kv_len - q_len)
  bool causal = false;
  int64_t window = 0;     // sliding window, 0 = none
  float scale = 1.0f;     // 1/sqrt(D), or 1 for T5
  // Rows of k/v between one batch element and the next; 0 = kv_len. A KV cache with room for C
  // tokens per sequence passes C.
  int64_t kv_batch_rows = 0;
};
// FLOPs 2·B·H·S·K·D (the analysis counts only attended positions under masks).
void attention_scores(const AttentionDims& d, const float* q, const float* k, float* scores);
// Adds the causal/sliding-window mask (-inf), a padding mask key_mask[B, K] (1 keep, 0 drop, may be
// null) and a position bias [H, S, K] (may be null) to scores.
void attention_mask(const AttentionDims& d, float* scores, const float* key_mask, const float* position_bias);
// Row softmax over K in place, rows fully masked give zeros.
void attention_softmax(const AttentionDims& d, float* scores);
// out = P V.
void attention_context(const AttentionDims& d, const float* probs, const float* v, float* out);
// All four in one pass over blocks of queries, never materialising [B, H, S, K]; the arithmetic
// per element is the same as the four leaves in sequence, so results are identical.
// scratch: attention_scratch_floats(d) floats (per-thread blocks for max(threads(), cores)); this
// overload uses at most min(threads(), cores) threads, so the scratch stays valid after set_threads.
int64_t attention_scratch_floats(const AttentionDims& d);
void attention_fused(const AttentionDims& d, const float* q, const float* k, const float* v,
                     const float* key_mask, const float* position_bias, float* out, float* scratch);
// The same with the scratch size given: uses up to threads() threads, as many as the scratch holds
// per-thread blocks for (at least one; a smaller scratch is an error).
void attention_fused(const AttentionDims& d, const float* q, const float* k, const float* v,
                     const float* key_mask, const float* position_bias, float* out, float* scratch,
                     int64_t scratch_floats);

}  // namespace clear::kernels
