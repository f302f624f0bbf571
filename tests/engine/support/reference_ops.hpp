#pragma once
// The float64 reference's layers: plain loops over flat row-major arrays (see reference_model.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/support/reference_model.hpp"

namespace clear::reference {

using Vec = std::vector<double>;

// Canonical-name tensor look-up that checks the element count. With a generator, a missing tensor is
// made on first use and kept in `fresh` (make_weights).
class WeightTable {
 public:
  explicit WeightTable(const Tensors& tensors) : tensors_(tensors) {}
  WeightTable(const Tensors& tensors, Tensors* fresh, WeightGenerator generator)
      : tensors_(tensors), fresh_(fresh), generator_(std::move(generator)) {}
  const Vec& get(const std::string& name, int64_t numel) const;
  bool has(const std::string& name) const { return tensors_.count(name) != 0 || (fresh_ && fresh_->count(name)); }
 private:
  const Tensors& tensors_;
  Tensors* fresh_ = nullptr;
  WeightGenerator generator_;
};

// y[rows, out] = x[rows, in] · W[out, in]ᵀ (+ b[out]); with bf16_operands, x and W rounded to bf16 first.
Vec linear(const Vec& x, int64_t rows, int64_t in, const Vec& weight, const Vec* bias, int64_t out,
           bool bf16_operands = false);
// The same with `<name>.weight` (and `<name>.bias` when `bias`).
Vec linear(const WeightTable& w, const std::string& name, const Vec& x, int64_t rows, int64_t in, int64_t out,
           bool bias, bool bf16_operands = false);
// In place over rows of `width`: (x - mean) / sqrt(var + eps) * g + b (biased variance, as torch).
void layer_norm(Vec& x, int64_t rows, int64_t width, const Vec& g, const Vec& b, double eps);
// In place: x / sqrt(mean(x²) + eps) * g (T5LayerNorm, LlamaRMSNorm).
void rms_norm(Vec& x, int64_t rows, int64_t width, const Vec& g, double eps);
// The config's norm with `<name>.weight` (and `.bias` for layer_norm).
void norm(const ModelConfig& c, const WeightTable& w, const std::string& name, Vec& x, int64_t rows, int64_t width);
void activate(Activation act, Vec& x);
Vec add(const Vec& a, const Vec& b);

struct AttentionSpec {
  int64_t heads = 1, kv_heads = 1, head_dim = 1;
  bool scaled = true;          // scores · 1/sqrt(head_dim)
  bool causal = false;         // key position <= query position
  int64_t window = 0;          // query - key < window (Hugging Face sliding_window_overlay), 0 = none
  int64_t q_pos0 = 0;          // absolute position of query 0 (keys are at 0..K-1)
  const std::vector<char>* key_keep = nullptr;  // [B, K], 0 = padding key
  const Vec* bias = nullptr;   // [H, S, K] added to the scores (T5 relative position bias)
};
// q [B, S, H·D], k and v [B, K, Hkv·D] -> context [B, S, H·D]; head h reads kv head h / (H / Hkv).
Vec attend(const Vec& q, const Vec& k, const Vec& v, int64_t batch, int64_t q_len, int64_t kv_len,
           const AttentionSpec& spec);

// In place on x[tokens, heads, head_dim] at positions[tokens] (Hugging Face rotate_half: i pairs i + D/2).
void apply_rope(Vec& x, int64_t tokens, int64_t heads, int64_t head_dim, const std::vector<int64_t>& positions,
                const Vec& inv_freq);

}  // namespace clear::reference
