// Float64 layers of the reference forward pass (reference_ops.hpp). Written from the Hugging Face
// modelling files: torch.nn.Linear/LayerNorm, T5LayerNorm/LlamaRMSNorm, ACT2FN, eager attention,
// apply_rotary_pos_emb, _compute_llama3_parameters and T5Attention._relative_position_bucket.
#include "engine/support/reference_ops.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "clear/util/error.hpp"

namespace clear::reference {

const Vec& WeightTable::get(const std::string& name, int64_t numel) const {
  const Vec* found = nullptr;
  if (auto it = tensors_.find(name); it != tensors_.end()) {
    found = &it->second;
  } else if (fresh_) {
    auto fit = fresh_->find(name);
    if (fit == fresh_->end()) fit = fresh_->emplace(name, generator_(name, numel)).first;
    found = &fit->second;
  }
  if (!found) throw Error("reference: tensor '" + name + "' is missing from the weights");
  if (static_cast<int64_t>(found->size()) != numel)
    throw Error("reference: tensor '" + name + "' has " + std::to_string(found->size()) + " values, expected " +
                std::to_string(numel));
  return *found;
}

double round_to_bf16(double x) {
  float f = static_cast<float>(x);
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7f800000u) != 0x7f800000u) bits += 0x7fffu + ((bits >> 16) & 1u);  // nearest, ties to even
  bits &= 0xffff0000u;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

Vec linear(const Vec& x, int64_t rows, int64_t in, const Vec& weight, const Vec* bias, int64_t out,
           bool bf16_operands) {
  if (bf16_operands) {
    Vec xr = x, wr = weight;
    for (double& v : xr) v = round_to_bf16(v);
    for (double& v : wr) v = round_to_bf16(v);
    return linear(xr, rows, in, wr, bias, out, false);
  }
  Vec y(static_cast<size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias ? (*bias)[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * weight[o * in + i];
      y[r * out + o] = acc;
    }
  return y;
}

Vec linear(const WeightTable& w, const std::string& name, const Vec& x, int64_t rows, int64_t in, int64_t out,
           bool bias, bool bf16_operands) {
  const Vec& weight = w.get(name + ".weight", out * in);
  const Vec* b = bias ? &w.get(name + ".bias", out) : nullptr;
  return linear(x, rows, in, weight, b, out, bf16_operands);
}

void layer_norm(Vec& x, int64_t rows, int64_t width, const Vec& g, const Vec& b, double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double* row = x.data() + r * width;
    double mean = 0.0;
    for (int64_t i = 0; i < width; ++i) mean += row[i];
    mean /= width;
    double var = 0.0;
    for (int64_t i = 0; i < width; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= width;
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < width; ++i) row[i] = (row[i] - mean) * inv * g[i] + b[i];
  }
}

void rms_norm(Vec& x, int64_t rows, int64_t width, const Vec& g, double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double* row = x.data() + r * width;
    double ms = 0.0;
    for (int64_t i = 0; i < width; ++i) ms += row[i] * row[i];
    ms /= width;
    const double inv = 1.0 / std::sqrt(ms + eps);
    for (int64_t i = 0; i < width; ++i) row[i] = row[i] * inv * g[i];
  }
}

void norm(const ModelConfig& c, const WeightTable& w, const std::string& name, Vec& x, int64_t rows,
          int64_t width) {
  if (c.norm == NormKind::rms_norm) {
    rms_norm(x, rows, width, w.get(name + ".weight", width), c.norm_eps);
  } else {
    layer_norm(x, rows, width, w.get(name + ".weight", width), w.get(name + ".bias", width), c.norm_eps);
  }
}

double activation(Activation act, double x) {
  switch (act) {
    case Activation::gelu_erf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::gelu_tanh: {
      const double k = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    case Activation::relu: return x > 0.0 ? x : 0.0;
    case Activation::silu: return x / (1.0 + std::exp(-x));
    case Activation::tanh: return std::tanh(x);
  }
  throw Error("reference: unknown activation");
}

void activate(Activation act, Vec& x) {
  for (double& v : x) v = activation(act, v);
}

Vec add(const Vec& a, const Vec& b) {
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

Vec attend(const Vec& q, const Vec& k, const Vec& v, int64_t batch, int64_t q_len, int64_t kv_len,
           const AttentionSpec& s) {
  const int64_t H = s.heads, Hkv = s.kv_heads, D = s.head_dim, group = H / Hkv;
  const double scale = s.scaled ? 1.0 / std::sqrt(static_cast<double>(D)) : 1.0;
  Vec out(static_cast<size_t>(batch * q_len * H * D), 0.0);
  Vec scores(static_cast<size_t>(kv_len));
  std::vector<char> allowed(static_cast<size_t>(kv_len));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t hk = h / group;
      for (int64_t i = 0; i < q_len; ++i) {
        const int64_t qpos = s.q_pos0 + i;
        const double* qv = q.data() + ((b * q_len + i) * H + h) * D;
        double max_score = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < kv_len; ++j) {
          bool ok = true;
          if (s.causal && j > qpos) ok = false;
          if (s.window > 0 && qpos - j >= s.window) ok = false;
          if (s.key_keep && !(*s.key_keep)[b * kv_len + j]) ok = false;
          allowed[j] = ok;
          if (!ok) continue;
          const double* kv = k.data() + ((b * kv_len + j) * Hkv + hk) * D;
          double dot = 0.0;
          for (int64_t d = 0; d < D; ++d) dot += qv[d] * kv[d];
          scores[j] = dot * scale + (s.bias ? (*s.bias)[(h * q_len + i) * kv_len + j] : 0.0);
          max_score = std::max(max_score, scores[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < kv_len; ++j) {
          scores[j] = allowed[j] ? std::exp(scores[j] - max_score) : 0.0;
          sum += scores[j];
        }
        if (sum == 0.0) throw Error("reference: a query attends to no key");
        double* o = out.data() + ((b * q_len + i) * H + h) * D;
        for (int64_t j = 0; j < kv_len; ++j) {
          if (!allowed[j]) continue;
          const double p = scores[j] / sum;
          const double* vv = v.data() + ((b * kv_len + j) * Hkv + hk) * D;
          for (int64_t d = 0; d < D; ++d) o[d] += p * vv[d];
        }
      }
    }
  return out;
}

void apply_rope(Vec& x, int64_t tokens, int64_t heads, int64_t head_dim, const std::vector<int64_t>& positions,
                const Vec& inv_freq) {
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      double* row = x.data() + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(positions[t]) * inv_freq[i];
        const double c = std::cos(angle), s = std::sin(angle);
        const double x1 = row[i], x2 = row[i + half];
        row[i] = x1 * c - x2 * s;         // x·cos + rotate_half(x)·sin, rotate_half = (-x2, x1)
        row[i + half] = x2 * c + x1 * s;
      }
    }
}

std::vector<double> rope_inv_freq(const ModelConfig& c, int64_t head_dim) {
  Vec inv(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i)
    inv[i] = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "linear") {
    for (double& f : inv) f /= rs.factor;
  } else if (rs.type == "llama3") {
    const double old_len = static_cast<double>(rs.original_max_positions);
    const double low_wavelen = old_len / rs.low_freq_factor;
    const double high_wavelen = old_len / rs.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f = f / rs.factor;                 // low frequencies: fully scaled
      } else if (wavelen >= high_wavelen) {  // medium: interpolate between scaled and unscaled
        const double smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }                                    // high frequencies unchanged
    }
  } else if (rs.type != "none" && rs.type != "default") {
    throw Error("reference: rope scaling '" + rs.type + "' is not implemented");
  }
  return inv;
}

int64_t t5_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  int64_t bucket = 0;
  int64_t n = relative_position;
  if (bidirectional) {
    num_buckets /= 2;
    if (n > 0) bucket += num_buckets;
    n = n < 0 ? -n : n;
  } else {
    n = n < 0 ? -n : 0;  // -min(n, 0): only keys before the query have distinct buckets
  }
  const int64_t max_exact = num_buckets / 2;
  if (n < max_exact) return bucket + n;
  // Hugging Face computes the log in float32 (a float tensor over a Python float), then truncates;
  // done the same way so bucket edges agree.
  const float ratio = std::log(static_cast<float>(n) / static_cast<float>(max_exact)) /
                      static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  int64_t large = max_exact + static_cast<int64_t>(ratio * static_cast<float>(num_buckets - max_exact));
  if (large > num_buckets - 1) large = num_buckets - 1;
  return bucket + large;
}

}  // namespace clear::reference
