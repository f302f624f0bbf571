// Rotary position embedding (Hugging Face rotate_half convention) and its frequencies.
#include <cmath>
#include <string>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/parallel.hpp"

namespace clear::kernels {
namespace {

constexpr int64_t kMaxHeadDim = 1024;

// x[heads, head_dim] of one token rotated by angles with cos c[half], sin s[half]:
// out_i = x_i·c_i − x_{i+half}·s_i, out_{i+half} = x_{i+half}·c_i + x_i·s_i.
CLEAR_VECTOR_CLONES void rotate_token(float* x, int64_t heads, int64_t head_dim, const float* c, const float* s) {
  int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    float* a = x + h * head_dim;
    float* b = a + half;
    for (int64_t i = 0; i < half; ++i) {
      float x1 = a[i], x2 = b[i];
      a[i] = x1 * c[i] - x2 * s[i];
      b[i] = x2 * c[i] + x1 * s[i];
    }
  }
}

}  // namespace

void rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const int64_t* positions, const float* inv_freq) {
  if (head_dim % 2 != 0 || head_dim > kMaxHeadDim)
    throw Error("rope: head_dim must be even and at most " + std::to_string(kMaxHeadDim) + ", got " + std::to_string(head_dim));
  int64_t half = head_dim / 2;
  parallel_for(tokens, 8, [&](int64_t tb, int64_t te) {
    float c[kMaxHeadDim / 2], s[kMaxHeadDim / 2];
    for (int64_t t = tb; t < te; ++t) {
      // The angle in double: position × frequency loses ~1e-4 rad in fp32 at positions in the thousands.
      for (int64_t i = 0; i < half; ++i) {
        double angle = static_cast<double>(positions[t]) * static_cast<double>(inv_freq[i]);
        c[i] = static_cast<float>(std::cos(angle));
        s[i] = static_cast<float>(std::sin(angle));
      }
      rotate_token(x + t * heads * head_dim, heads, head_dim, c, s);
    }
  });
}

// inv_freq_i = 1 / theta^(2i / head_dim), then the config's scaling:
//  linear: inv_freq / factor;
//  llama3 (HF _compute_llama3_parameters): wavelen = 2π / inv_freq; wavelen above
//  original_max_positions / low_freq_factor → inv_freq / factor; below
//  original_max_positions / high_freq_factor → unchanged; in between, interpolated with
//  smooth = (original_max_positions / wavelen − low_freq_factor) / (high_freq_factor − low_freq_factor):
//  (1 − smooth) · inv_freq / factor + smooth · inv_freq.
void rope_inv_freq(const ModelConfig& config, int64_t head_dim, float* inv_freq) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    throw Error("rope: head_dim must be a positive even number, got " + std::to_string(head_dim));
  if (!(config.rope_theta > 0.0)) throw Error("rope_theta: expected a positive number, got " + std::to_string(config.rope_theta));
  const RopeScaling& rs = config.rope_scaling;
  bool linear = rs.type == "linear", llama3 = rs.type == "llama3";
  if (!linear && !llama3 && rs.type != "none" && !rs.type.empty())
    throw Error("rope_scaling.rope_type: expected none, linear or llama3, got " + rs.type);
  if ((linear || llama3) && !(rs.factor > 0.0))
    throw Error("rope_scaling.factor: expected a positive number, got " + std::to_string(rs.factor));
  if (llama3 && (rs.original_max_positions <= 0 || !(rs.high_freq_factor > rs.low_freq_factor)))
    throw Error("rope_scaling (llama3): expected original_max_position_embeddings > 0 and high_freq_factor > low_freq_factor");
  int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(config.rope_theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
    if (linear) {
      f /= rs.factor;
    } else if (llama3) {
      double old_len = static_cast<double>(rs.original_max_positions);
      double low_wavelen = old_len / rs.low_freq_factor, high_wavelen = old_len / rs.high_freq_factor;
      double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= rs.factor;
      } else if (wavelen >= high_wavelen) {
        double smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }
    }
    inv_freq[i] = static_cast<float>(f);
  }
}

}  // namespace clear::kernels
