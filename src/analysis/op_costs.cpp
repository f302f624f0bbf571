// One cost formula per OpKind. Notation: T = shape.rows (token rows), B = batch, H = heads,
// Hkv = kv heads, D = head_dim, A = attended (Σ keys attended per sequence and head, masks applied),
// F = full_pairs (queries × keys), dt = dtype bytes. Every formula is stated in docs/ANALYSIS.md.
#include "clear/analysis/op_costs.hpp"

#include <algorithm>
#include <stdexcept>

#include "analysis/checked.hpp"

namespace clear {

using checked::prod;
using checked::sum;

int64_t OpCost::bytes() const {
  return sum({weight_bytes_read, activation_bytes_read, activation_bytes_written, kv_bytes_read, kv_bytes_written});
}

int64_t norm_flops_per_element(NormKind norm) {
  // layer_norm: mean (1 add), variance (sub, square, add), normalise (sub, mul by rstd), affine (mul, add).
  // rms_norm: square, add, mul by rstd, mul by weight.
  return norm == NormKind::layer_norm ? 8 : 4;
}

int64_t norm_backward_flops_per_element(NormKind norm) {
  // layer_norm: g = dy·w (1), dw += dy·x̂ (2), db += dy (1), mean(g) (1), mean(g·x̂) (2),
  // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) (4). rms_norm drops db, mean(g) and one subtraction.
  return norm == NormKind::layer_norm ? 11 : 8;
}

int64_t activation_flops_per_element(Activation act, bool gated) {
  // Each arithmetic operation and each transcendental (exp, erf, tanh) counts 1.
  int64_t f = 0;
  switch (act) {
    case Activation::relu: f = 1; break;       // max(x, 0)
    case Activation::silu: f = 4; break;       // x / (1 + exp(−x)): neg, exp, add, div
    case Activation::gelu_erf: f = 5; break;   // 0.5·x·(1 + erf(x/√2)): mul, erf, add, mul, mul
    case Activation::gelu_tanh: f = 9; break;  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): x³ (2), mul, add, mul, tanh, add, mul, mul
    case Activation::tanh: f = 1; break;
  }
  return f + (gated ? 1 : 0);  // gated: act(gate) ⊙ up
}

int64_t activation_backward_flops_per_element(Activation act, bool gated) {
  int64_t f = 0;
  switch (act) {
    case Activation::relu: f = 1; break;        // dy masked by x > 0
    case Activation::silu: f = 9; break;        // σ recomputed (4), dy·σ·(1 + x·(1 − σ)) (5)
    case Activation::gelu_erf: f = 11; break;   // Φ(x) (4), φ(x) (4), x·φ (1), Φ + xφ (1), ·dy (1)
    case Activation::gelu_tanh: f = 18; break;  // u (5), tanh (1), 0.5(1+t) (2), 1−t² (2), du/dx (3), 0.5·x·sech²·du (3), add (1), ·dy (1)
    case Activation::tanh: f = 3; break;        // (1 − y²)·dy
  }
  return f + (gated ? 2 : 0);  // d_up = dy·act(gate), dy·up fed to act's backward
}

int64_t attended_positions(int64_t first_position, int64_t queries, int64_t keys, bool causal, int64_t window) {
  if (queries <= 0) return 0;
  if (!causal) return prod({queries, keys});
  // prefix(n) = Σ_{p=0}^{n-1} min(p + 1, W): a triangle up to W, then W per position.
  auto prefix = [window](int64_t n) -> int64_t {
    if (window <= 0 || n <= window) return prod({n, n + 1}) / 2;
    return sum({prod({window, window + 1}) / 2, prod({n - window, window})});
  };
  return prefix(sum({first_position, queries})) - prefix(first_position);
}

namespace {

// Kaplan et al. exclude vocabulary and position embeddings (input and output) from N.
bool is_embedding_kind(ComponentKind k) {
  switch (k) {
    case ComponentKind::word_embedding:
    case ComponentKind::position_embedding:
    case ComponentKind::token_type_embedding:
    case ComponentKind::patch_embedding:
    case ComponentKind::cls_token:
    case ComponentKind::position_bias:
    case ComponentKind::lm_head:
      return true;
    default:
      return false;
  }
}

// Kaplan: every non-embedding parameter costs 2 FLOPs (one MAC) per token that uses it.
void kaplan_params(const Component& c, const OpShape& s, OpCost& o) {
  if (is_embedding_kind(c.kind)) return;
  o.macs = prod({s.weight_params, s.rows});
  o.flops = prod({2, o.macs});
}

// y[T, out] = x[T, in] · Wᵀ (+ b). MACs T·in·out.
void linear(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t T = s.rows, in = c.in_features, out = c.out_features, dt = s.dtype_bytes;
  const int64_t matmul_macs = prod({T, in, out});
  const int64_t bias_flops = c.bias ? prod({T, out}) : 0;
  const int64_t scale_flops = s.input_scaled ? prod({T, in}) : 0;
  switch (conv) {
    case Convention::full:
      o.macs = matmul_macs;
      o.flops = sum({prod({2, matmul_macs}), bias_flops, scale_flops});
      // dX = dY·W and dW = dYᵀ·X (2 matmuls), db = Σ dY, and the scale's own gradient.
      if (training) o.backward_flops = sum({prod({4, matmul_macs}), bias_flops, scale_flops});
      break;
    case Convention::calflops:
      o.macs = matmul_macs;
      o.flops = sum({prod({2, matmul_macs}), s.addmm_bias && c.bias ? out : 0});
      break;
    case Convention::kaplan:
      kaplan_params(c, s, o);
      break;
  }
  o.weight_bytes_read = prod({s.weight_params, dt});
  o.activation_bytes_read = prod({T, in, dt});
  o.activation_bytes_written = prod({T, out - s.kv_out_features, dt});
  o.kv_bytes_written = prod({T, s.kv_out_features, dt});
}

// Conv with kernel = stride = patch over T = B·patches patches of in = C·P² values. MACs T·in·out.
void patch_embedding(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t T = s.rows, in = c.in_features, out = c.out_features, dt = s.dtype_bytes;
  const int64_t matmul_macs = prod({T, in, out});
  const int64_t bias_flops = c.bias ? prod({T, out}) : 0;
  if (conv != Convention::kaplan) {
    // calflops's conv2d counts the bias once per output element, like `full`.
    o.macs = matmul_macs;
    o.flops = sum({prod({2, matmul_macs}), bias_flops});
    // Pixels need no gradient: dW and db only.
    if (training && conv == Convention::full) o.backward_flops = sum({prod({2, matmul_macs}), bias_flops});
  }
  o.weight_bytes_read = prod({s.weight_params, dt});
  o.activation_bytes_read = prod({T, in, dt});
  o.activation_bytes_written = prod({T, out, dt});
}

// y[T, width] = table[ids]. No arithmetic (unless the embedding is scaled).
void embedding_lookup(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t elements = prod({s.rows, c.width});
  if (conv == Convention::full) {
    o.flops = s.input_scaled ? elements : 0;
    // The table's gradient: dY rows scatter-added into it.
    if (training) o.backward_flops = sum({elements, o.flops});
  }
  o.weight_bytes_read = prod({s.distinct_rows, c.width, s.dtype_bytes});
  o.activation_bytes_written = prod({elements, s.dtype_bytes});
}

// ViT: [B, P, H] → [B, P + 1, H] with the learned CLS row first. T = B·(P + 1).
void concat_token(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  if (conv == Convention::full && training) o.backward_flops = prod({s.batch, c.width});  // dCLS = Σ_b dY[b, 0]
  o.weight_bytes_read = prod({s.weight_params, s.dtype_bytes});
  o.activation_bytes_read = prod({s.rows - s.batch, c.width, s.dtype_bytes});
  o.activation_bytes_written = prod({s.rows, c.width, s.dtype_bytes});
}

// y = Σ of add_inputs streams of T·width.
void add(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t elements = prod({s.rows, c.width});
  if (conv == Convention::full) {
    o.flops = prod({c.add_inputs - 1, elements});
    // The residual closes a fork: the two gradient paths are summed there (1 per element).
    if (training) o.backward_flops = c.kind == ComponentKind::residual ? elements : 0;
  }
  o.activation_bytes_read = prod({c.add_inputs, elements, s.dtype_bytes});
  o.activation_bytes_written = prod({elements, s.dtype_bytes});
}

void norm(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t elements = prod({s.rows, c.width});
  switch (conv) {
    case Convention::full:
      o.flops = prod({norm_flops_per_element(c.norm), elements});
      if (training) o.backward_flops = prod({norm_backward_flops_per_element(c.norm), elements});
      break;
    case Convention::calflops:
      // F.layer_norm with affine: 5 per element; Hugging Face's RMSNorm is plain tensor arithmetic, unseen.
      o.flops = c.norm == NormKind::layer_norm ? prod({5, elements}) : 0;
      break;
    case Convention::kaplan:
      kaplan_params(c, s, o);
      break;
  }
  o.weight_bytes_read = prod({s.weight_params, s.dtype_bytes});
  o.activation_bytes_read = prod({elements, s.dtype_bytes});
  o.activation_bytes_written = prod({elements, s.dtype_bytes});
}

void activation(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t elements = prod({s.rows, c.width});
  switch (conv) {
    case Convention::full:
      o.flops = prod({activation_flops_per_element(c.activation, c.gated), elements});
      if (training) o.backward_flops = prod({activation_backward_flops_per_element(c.activation, c.gated), elements});
      break;
    case Convention::calflops:
      // F.relu and F.silu are counted 1 per element; Hugging Face's GELU wrappers, tanh and the
      // gating multiply (`*`) are not seen.
      o.flops = (c.activation == Activation::relu || c.activation == Activation::silu) ? elements : 0;
      break;
    case Convention::kaplan:
      break;
  }
  o.activation_bytes_read = prod({c.gated ? 2 : 1, elements, s.dtype_bytes});
  o.activation_bytes_written = prod({elements, s.dtype_bytes});
}

// q·cos + rotate_half(q)·sin on T·(H + Hkv)·D values (q and k). The rotated k goes to the cache.
void rope(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const auto& a = c.attention;
  const int64_t q_values = prod({s.rows, a.heads, a.head_dim});
  const int64_t k_values = prod({s.rows, a.kv_heads, a.head_dim});
  const int64_t elements = sum({q_values, k_values});
  if (conv == Convention::full) {
    o.flops = prod({3, elements});
    if (training) o.backward_flops = prod({3, elements});  // the inverse rotation
  }
  o.activation_bytes_read = prod({elements, s.dtype_bytes});
  o.activation_bytes_written = prod({s.kv_cached ? q_values : elements, s.dtype_bytes});
  o.kv_bytes_written = s.kv_cached ? prod({k_values, s.dtype_bytes}) : 0;
}

// T5: bucket of each (query, key) relative position (4 float ops: divide, log, divide, multiply),
// then a lookup of H biases; once per stack, shared by every sequence and layer.
void position_bias(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t heads = c.attention.heads;
  if (conv == Convention::full) {
    o.flops = prod({4, s.attended});
    if (training) o.backward_flops = prod({heads, s.attended});  // scatter-add into the table
  }
  o.weight_bytes_read = prod({s.weight_params, s.dtype_bytes});
  o.activation_bytes_written = prod({heads, s.attended, s.dtype_bytes});
}

// Q Kᵀ (or P V): B·H·pairs·D MACs; full counts attended pairs, calflops every pair.
// Q (or the output) is an activation; K and V come from the KV cache where there is one.
void attention_matmul(const Component& c, const OpShape& s, Convention conv, bool training, bool is_scores, OpCost& o) {
  const auto& a = c.attention;
  const int64_t B = s.batch, H = a.heads, D = a.head_dim, dt = s.dtype_bytes;
  const int64_t attended_scores = prod({B, H, s.attended});
  switch (conv) {
    case Convention::full: {
      o.macs = prod({attended_scores, D});
      const int64_t scale_flops = (is_scores && a.scaled) ? attended_scores : 0;
      o.flops = sum({prod({2, o.macs}), scale_flops});
      // dQ = dS·K and dK = dSᵀ·Q (or dP = dO·Vᵀ and dV = Pᵀ·dO), plus the scale's gradient.
      if (training) o.backward_flops = sum({prod({4, o.macs}), scale_flops});
      break;
    }
    case Convention::calflops:
      o.macs = prod({B, H, s.full_pairs, D});
      o.flops = prod({2, o.macs});
      break;
    case Convention::kaplan:
      // Kaplan's attention term, 2·n_ctx·d_attn per token and layer, is the QKᵀ row of their table.
      if (is_scores) {
        o.macs = prod({B, H, s.full_pairs, D});
        o.flops = prod({2, o.macs});
      }
      break;
  }
  const int64_t q_or_out = prod({B, s.queries, H, D, dt});
  const int64_t kv = prod({B, s.keys_read, a.kv_heads, D, dt});
  const int64_t scores_bytes = prod({attended_scores, dt});
  (s.kv_cached ? o.kv_bytes_read : o.activation_bytes_read) = kv;
  if (is_scores) {
    o.activation_bytes_read = sum({o.activation_bytes_read, q_or_out});
    o.activation_bytes_written = scores_bytes;
  } else {
    o.activation_bytes_read = sum({o.activation_bytes_read, scores_bytes});
    o.activation_bytes_written = q_or_out;
  }
}

// Additive mask (causal / window / padding, plus T5's position bias): 1 add per attended score.
void attention_mask(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const auto& a = c.attention;
  const int64_t scores = prod({s.batch, a.heads, s.attended});
  if (conv == Convention::full) {
    o.flops = scores;
    // The bias's gradient sums dScores over the batch; a constant mask has none.
    if (training) o.backward_flops = a.relative_bias ? scores : 0;
  }
  const int64_t bias_read = a.relative_bias ? prod({a.heads, s.attended}) : 0;
  o.activation_bytes_read = prod({sum({scores, bias_read}), s.dtype_bytes});
  o.activation_bytes_written = prod({scores, s.dtype_bytes});
}

// Row softmax: max, subtract, exp, sum, divide (5 per score); backward P ⊙ (dP − Σ dP·P) (4).
void attention_softmax(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const auto& a = c.attention;
  const int64_t scores = prod({s.batch, a.heads, s.attended});
  switch (conv) {
    case Convention::full:
      o.flops = prod({5, scores});
      if (training) o.backward_flops = prod({4, scores});
      break;
    case Convention::calflops:
      o.flops = prod({s.batch, a.heads, s.full_pairs});
      break;
    case Convention::kaplan:
      break;
  }
  o.activation_bytes_read = prod({scores, s.dtype_bytes});
  o.activation_bytes_written = prod({scores, s.dtype_bytes});
}

// Mixtral gate: logits = x·Wᵀ (T·H·E MACs), softmax over E (5E), top-k by k passes over E (kE),
// renormalise the k weights (2k).
void router(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t T = s.rows, in = c.in_features, E = c.out_features, k = c.top_k;
  const int64_t matmul_macs = prod({T, in, E});
  const int64_t bias_flops = c.bias ? prod({T, E}) : 0;
  switch (conv) {
    case Convention::full:
      o.macs = matmul_macs;
      o.flops = sum({prod({2, matmul_macs}), bias_flops, prod({T, sum({prod({5, E}), prod({k, E}), prod({2, k})})})});
      // Linear backward (2 matmuls, db), softmax backward (4E), renormalisation backward (3k).
      if (training)
        o.backward_flops = sum({prod({4, matmul_macs}), bias_flops, prod({T, sum({prod({4, E}), prod({3, k})})})});
      break;
    case Convention::calflops:
      o.macs = matmul_macs;
      o.flops = sum({prod({2, matmul_macs}), prod({T, E})});  // F.linear + F.softmax; top-k unseen
      break;
    case Convention::kaplan:
      kaplan_params(c, s, o);
      break;
  }
  o.weight_bytes_read = prod({s.weight_params, s.dtype_bytes});
  o.activation_bytes_read = prod({T, in, s.dtype_bytes});
  o.activation_bytes_written = prod({T, k, s.dtype_bytes});  // the k routing weights per token
}

// Σ over the k chosen experts of weight · expert output: k multiplies and k adds per value.
void moe_combine(const Component& c, const OpShape& s, Convention conv, bool training, OpCost& o) {
  const int64_t values = prod({s.rows, c.width});
  if (conv == Convention::full) {
    o.flops = prod({2, c.top_k, values});
    // d(expert output) = w·dY (k per value), d(w) = Σ dY·output (2k per value).
    if (training) o.backward_flops = prod({3, c.top_k, values});
  }
  o.activation_bytes_read = prod({sum({prod({c.top_k, values}), prod({s.rows, c.top_k})}), s.dtype_bytes});
  o.activation_bytes_written = prod({values, s.dtype_bytes});
}

}  // namespace

OpCost op_cost(const Component& c, const OpShape& s, Convention conv, bool training) {
  OpCost o;
  switch (c.op) {
    case OpKind::composite: throw std::logic_error("op_cost: " + c.name + " is a composite");
    case OpKind::linear: linear(c, s, conv, training, o); break;
    case OpKind::embedding_lookup: embedding_lookup(c, s, conv, training, o); break;
    case OpKind::patch_embedding: patch_embedding(c, s, conv, training, o); break;
    case OpKind::concat_token: concat_token(c, s, conv, training, o); break;
    case OpKind::add: add(c, s, conv, training, o); break;
    case OpKind::norm: norm(c, s, conv, training, o); break;
    case OpKind::activation: activation(c, s, conv, training, o); break;
    case OpKind::rope: rope(c, s, conv, training, o); break;
    case OpKind::position_bias: position_bias(c, s, conv, training, o); break;
    case OpKind::attention_scores: attention_matmul(c, s, conv, training, true, o); break;
    case OpKind::attention_mask: attention_mask(c, s, conv, training, o); break;
    case OpKind::attention_softmax: attention_softmax(c, s, conv, training, o); break;
    case OpKind::attention_context: attention_matmul(c, s, conv, training, false, o); break;
    case OpKind::router: router(c, s, conv, training, o); break;
    case OpKind::moe_combine: moe_combine(c, s, conv, training, o); break;
  }
  // calflops and kaplan state a training step as 3× forward (calflops prints "fwd + bwd" that way;
  // Kaplan's C ≈ 6N per token): backward = 2× forward for every op.
  if (training && conv != Convention::full) o.backward_flops = prod({2, o.flops});
  return o;
}

}  // namespace clear
