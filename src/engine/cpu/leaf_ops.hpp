#pragma once
// The engine's own leaf computations that are not kernels of clear::kernels: table look-ups,
// position ids, T5's relative position buckets, ViT patches, Mixtral routing, KV-cache appends.
// Plain functions over flat arrays (llm.c style); shapes and FLOPs in the comments.
#include <cstdint>

namespace clear::cpu {

// y[rows, width] = table[ids[r]] * scale (scale 1: a copy). FLOPs: rows·width when scaled, else 0.
void embedding_lookup(const float* table, const int64_t* ids, float* y, int64_t rows, int64_t width, float scale);

// positions[b, s] = offset + past + s for b < batch, s < len.
void sequential_positions(int64_t* positions, int64_t batch, int64_t len, int64_t past, int64_t offset);
// RoBERTa: positions count non-padding tokens only (Hugging Face create_position_ids_from_input_ids):
// positions[b, s] = pad + cumsum(ids[b, :s+1] != pad) where ids[b, s] != pad, else pad.
void roberta_positions(const int64_t* ids, int64_t* positions, int64_t batch, int64_t len, int64_t pad);

// T5's bucket for key position minus query position (Hugging Face _relative_position_bucket,
// including its float32 logarithm so bucket edges match).
int64_t t5_relative_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance);
// bias[h, i, j] = table[bucket(j - (q_offset + i)), h]; table [buckets, heads], bias [heads, q_len, kv_len].
// FLOPs: 0 (look-ups).
void t5_position_bias(const float* table, int64_t heads, int64_t q_len, int64_t kv_len, int64_t q_offset,
                      bool bidirectional, int64_t num_buckets, int64_t max_distance, float* bias);

// Patches of images pixels[B, C, I, I] in the conv weight's [C, P, P] order, patch index row-major
// over the (I/P)x(I/P) grid: patches[B·(I/P)², C·P·P]. FLOPs: 0 (a gather).
void image_patches(const float* pixels, int64_t batch, int64_t channels, int64_t image, int64_t patch, float* patches);
// y[b, 0] = cls[H]; y[b, 1 + p] = x[b, p] for p < n: x[B, n, H] → y[B, 1 + n, H].
void prepend_token(const float* cls, const float* x, float* y, int64_t batch, int64_t n, int64_t width);

// Copies rows[B, n, width] (row stride ld) into cache[B, capacity, width] at positions past..past+n.
void append_to_cache(const float* rows, int64_t ld, float* cache, int64_t batch, int64_t n, int64_t past,
                     int64_t capacity, int64_t width);

// y[n] = x[n] * s. FLOPs: n.
void scale(const float* x, float* y, int64_t n, float s);

// Mixtral routing after the router's softmax, for rows tokens over E experts, top k:
// choose the k largest probabilities per token (lower expert index first on ties), renormalise them
// to sum 1 (Hugging Face Mixtral), and lay the (token, choice) pairs out expert by expert:
// expert e owns slots [offsets[e], offsets[e + 1]) whose tokens are slot_token[slot] (ascending);
// choice_slot[t, j] is the slot of token t's j-th choice and choice_weight[t, j] its weight.
// gathered[slot] = x[slot_token[slot]]: the rows each expert runs on. FLOPs: rows·E·k compares.
void route_top_k(const float* probs, const float* x, int64_t rows, int64_t width, int64_t experts, int64_t k,
                 int64_t* offsets, int64_t* slot_token, int64_t* choice_slot, float* choice_weight, float* gathered);
// y[t] = Σ_j choice_weight[t, j] · expert_out[choice_slot[t, j]]. FLOPs: 2·rows·k·width.
void moe_combine(const float* expert_out, const int64_t* choice_slot, const float* choice_weight, float* y,
                 int64_t rows, int64_t width, int64_t k);

}  // namespace clear::cpu
