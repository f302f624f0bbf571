#include "engine/cpu/leaf_ops.hpp"

#include <cmath>
#include <cstring>

namespace clear::cpu {

void embedding_lookup(const float* table, const int64_t* ids, float* y, int64_t rows, int64_t width, float scale) {
#pragma omp parallel for schedule(static) if (rows * width > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = table + ids[r] * width;
    float* dst = y + r * width;
    if (scale == 1.0f) {
      std::memcpy(dst, src, static_cast<size_t>(width) * sizeof(float));
    } else {
      for (int64_t i = 0; i < width; ++i) dst[i] = src[i] * scale;
    }
  }
}

void sequential_positions(int64_t* positions, int64_t batch, int64_t len, int64_t past, int64_t offset) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < len; ++s) positions[b * len + s] = offset + past + s;
}

void roberta_positions(const int64_t* ids, int64_t* positions, int64_t batch, int64_t len, int64_t pad) {
  for (int64_t b = 0; b < batch; ++b) {
    int64_t count = 0;
    for (int64_t s = 0; s < len; ++s) {
      bool real = ids[b * len + s] != pad;
      count += real;
      positions[b * len + s] = real ? pad + count : pad;
    }
  }
}

int64_t t5_relative_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  int64_t bucket = 0;
  if (bidirectional) {
    num_buckets /= 2;
    if (relative_position > 0) bucket += num_buckets;
    relative_position = relative_position < 0 ? -relative_position : relative_position;
  } else {
    relative_position = relative_position < 0 ? -relative_position : 0;
  }
  int64_t max_exact = num_buckets / 2;
  if (relative_position < max_exact) return bucket + relative_position;
  // float32 as Hugging Face computes it: log(rp / max_exact) / log(max_distance / max_exact) * (nb - max_exact).
  float ratio = static_cast<float>(relative_position) / static_cast<float>(max_exact);
  float scaled = std::log(ratio) / static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact));
  scaled *= static_cast<float>(num_buckets - max_exact);
  int64_t large = max_exact + static_cast<int64_t>(scaled);
  if (large > num_buckets - 1) large = num_buckets - 1;
  return bucket + large;
}

void t5_position_bias(const float* table, int64_t heads, int64_t q_len, int64_t kv_len, int64_t q_offset,
                      bool bidirectional, int64_t num_buckets, int64_t max_distance, float* bias) {
  for (int64_t i = 0; i < q_len; ++i) {
    for (int64_t j = 0; j < kv_len; ++j) {
      int64_t bucket = t5_relative_bucket(j - (q_offset + i), bidirectional, num_buckets, max_distance);
      for (int64_t h = 0; h < heads; ++h) bias[(h * q_len + i) * kv_len + j] = table[bucket * heads + h];
    }
  }
}

void image_patches(const float* pixels, int64_t batch, int64_t channels, int64_t image, int64_t patch, float* patches) {
  int64_t grid = image / patch;
  int64_t patch_len = channels * patch * patch;
#pragma omp parallel for collapse(2) schedule(static) if (batch * grid * grid * patch_len > 65536)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t p = 0; p < grid * grid; ++p) {
      int64_t py = p / grid, px = p % grid;
      float* dst = patches + (b * grid * grid + p) * patch_len;
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t ky = 0; ky < patch; ++ky) {
          const float* src = pixels + ((b * channels + c) * image + py * patch + ky) * image + px * patch;
          std::memcpy(dst + (c * patch + ky) * patch, src, static_cast<size_t>(patch) * sizeof(float));
        }
    }
  }
}

void prepend_token(const float* cls, const float* x, float* y, int64_t batch, int64_t n, int64_t width) {
  for (int64_t b = 0; b < batch; ++b) {
    float* dst = y + b * (n + 1) * width;
    std::memcpy(dst, cls, static_cast<size_t>(width) * sizeof(float));
    std::memcpy(dst + width, x + b * n * width, static_cast<size_t>(n * width) * sizeof(float));
  }
}

void append_to_cache(const float* rows, int64_t ld, float* cache, int64_t batch, int64_t n, int64_t past,
                     int64_t capacity, int64_t width) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < n; ++s)
      std::memcpy(cache + (b * capacity + past + s) * width, rows + (b * n + s) * ld,
                  static_cast<size_t>(width) * sizeof(float));
}

void scale(const float* x, float* y, int64_t n, float s) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

void route_top_k(const float* probs, const float* x, int64_t rows, int64_t width, int64_t experts, int64_t k,
                 int64_t* offsets, int64_t* slot_token, int64_t* choice_slot, float* choice_weight, float* gathered) {
  // Pass 1: each token's top k (choice_slot temporarily holds the expert index).
  for (int64_t t = 0; t < rows; ++t) {
    const float* p = probs + t * experts;
    int64_t* chosen = choice_slot + t * k;
    float* w = choice_weight + t * k;
    float sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) {
      int64_t best = -1;
      for (int64_t e = 0; e < experts; ++e) {
        bool taken = false;
        for (int64_t i = 0; i < j; ++i) taken |= chosen[i] == e;
        if (!taken && (best < 0 || p[e] > p[best])) best = e;
      }
      chosen[j] = best;
      w[j] = p[best];
      sum += p[best];
    }
    for (int64_t j = 0; j < k; ++j) w[j] /= sum;
  }
  // Pass 2: slots expert by expert, tokens ascending within an expert.
  for (int64_t e = 0; e <= experts; ++e) offsets[e] = 0;
  for (int64_t i = 0; i < rows * k; ++i) offsets[choice_slot[i] + 1] += 1;
  for (int64_t e = 0; e < experts; ++e) offsets[e + 1] += offsets[e];
  for (int64_t e = 0; e < experts; ++e) {
    int64_t slot = offsets[e];
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t j = 0; j < k; ++j)
        if (choice_slot[t * k + j] == e) slot_token[slot++] = t * k + j;  // pair index for now
  }
  for (int64_t slot = 0; slot < rows * k; ++slot) {
    int64_t pair = slot_token[slot];
    choice_slot[pair] = slot;
    slot_token[slot] = pair / k;
    std::memcpy(gathered + slot * width, x + (pair / k) * width, static_cast<size_t>(width) * sizeof(float));
  }
}

void moe_combine(const float* expert_out, const int64_t* choice_slot, const float* choice_weight, float* y,
                 int64_t rows, int64_t width, int64_t k) {
#pragma omp parallel for schedule(static) if (rows * width * k > 65536)
  for (int64_t t = 0; t < rows; ++t) {
    float* dst = y + t * width;
    for (int64_t i = 0; i < width; ++i) dst[i] = 0.0f;
    for (int64_t j = 0; j < k; ++j) {
      const float* src = expert_out + choice_slot[t * k + j] * width;
      float w = choice_weight[t * k + j];
      for (int64_t i = 0; i < width; ++i) dst[i] += w * src[i];
    }
  }
}

}  // namespace clear::cpu
