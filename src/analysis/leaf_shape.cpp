#include "analysis/leaf_shape.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "analysis/checked.hpp"

namespace clear::analysis_detail {

using checked::prod;
using checked::sum;

namespace {

bool is_attention_op(OpKind op) {
  switch (op) {
    case OpKind::attention_scores:
    case OpKind::attention_mask:
    case OpKind::attention_softmax:
    case OpKind::attention_context:
    case OpKind::rope:
    case OpKind::position_bias:
      return true;
    default:
      return false;
  }
}

bool is_attention_block(ComponentKind k) { return k == ComponentKind::attention || k == ComponentKind::cross_attention; }

bool has_sibling(const ComponentGraph& g, int node, OpKind op) {
  const int parent = g.nodes[node].parent;
  if (parent < 0) return false;
  for (int child : g.nodes[parent].children)
    if (g.nodes[child].op == op) return true;
  return false;
}

int64_t own_params(const Component& c) {
  int64_t n = 0;
  for (const auto& p : c.params) n = sum({n, p.numel()});
  return n;
}

// Uniform routing: the B·S·k expert slots of the step spread as evenly as integers allow, the
// remainder going to the lowest-numbered experts, so the per-expert rows sum to exactly B·S·k.
int64_t routed_rows(const ComponentGraph& g, int node, int64_t tokens) {
  int child = node;
  int parent = g.nodes[node].parent;
  while (parent >= 0 && g.nodes[child].kind != ComponentKind::expert) {
    child = parent;
    parent = g.nodes[parent].parent;
  }
  if (parent < 0) throw std::logic_error("analysis: routed component " + g.nodes[node].name + " is not inside an expert");
  const auto& experts = g.nodes[parent].children;
  const int64_t e = std::find(experts.begin(), experts.end(), child) - experts.begin();
  const int64_t count = static_cast<int64_t>(experts.size());
  const int64_t slots = prod({tokens, g.config.experts_per_token});
  return slots / count + (e < slots % count ? 1 : 0);
}

}  // namespace

WorkloadShape workload_shape(const ModelConfig& c, const Workload& w) {
  // The analysis counts any length: a learned position table's row limit constrains running the
  // model (the CLI checks it), not counting its cost, so a what-if beyond it is allowed here.
  ModelConfig unlimited = c;
  unlimited.max_positions = std::numeric_limits<int64_t>::max();
  validate_workload(unlimited, w);

  WorkloadShape s;
  s.batch = w.batch;
  s.dtype_bytes = dtype_bytes(w.dtype);
  s.training = w.training;
  s.decode = w.phase == Phase::decode;
  const bool enc_dec = c.arch_type == ArchType::encoder_decoder;
  switch (c.arch_type) {
    case ArchType::encoder_only:
      s.encoder = {true, w.seq, 0};
      break;
    case ArchType::vision_encoder: {
      const int64_t image = w.image_size > 0 ? w.image_size : c.image_size;
      s.patches = prod({image / c.patch_size, image / c.patch_size});
      s.encoder = {true, s.patches + 1, 0};  // + the CLS token
      break;
    }
    case ArchType::decoder_only:
    case ArchType::moe_decoder:
      s.decoder = {true, s.decode ? 1 : w.seq, w.kv_len};
      break;
    case ArchType::encoder_decoder:
      s.encoder = {!s.decode, w.seq, 0};
      s.decoder = {true, s.decode ? 1 : (w.target_seq > 0 ? w.target_seq : w.seq), w.kv_len};
      s.source_len = w.seq;
      break;
  }
  // Single-stream models run every component on their one stream, whatever stream a node names.
  if (!enc_dec) {
    const StreamRun only = s.encoder.runs ? s.encoder : s.decoder;
    s.encoder = s.decoder = s.vision = only;
  }
  return s;
}

const StreamRun& stream_run(const WorkloadShape& w, Stream stream) {
  switch (stream) {
    case Stream::encoder: return w.encoder;
    case Stream::decoder: return w.decoder;
    case Stream::vision: return w.vision;
  }
  return w.decoder;
}

const AttentionShape* attention_of(const ComponentGraph& g, int node) {
  const Component& c = g.nodes[node];
  if (is_attention_op(c.op) && c.attention.heads > 0) return &c.attention;
  const int parent = c.parent;
  if (parent < 0 || !is_attention_block(g.nodes[parent].kind)) return nullptr;
  for (int child : g.nodes[parent].children)
    if (g.nodes[child].op == OpKind::attention_scores) return &g.nodes[child].attention;
  return nullptr;
}

bool kv_cached(const AttentionShape& a, const WorkloadShape& w) { return !w.training && (a.cross || a.causal); }

int64_t cached_positions(const AttentionShape& a, const WorkloadShape& w, const StreamRun& run) {
  if (a.cross) return w.source_len;
  const int64_t held = sum({run.first_position, run.queries});
  // A sliding window needs only the last `window` positions (Mistral's rolling buffer cache).
  return a.window > 0 ? std::min(held, a.window) : held;
}

OpShape leaf_shape(const ComponentGraph& g, int node, const WorkloadShape& w) {
  const Component& c = g.nodes[node];
  const ModelConfig& config = g.config;
  OpShape s;
  s.batch = w.batch;
  s.dtype_bytes = w.dtype_bytes;
  s.weight_params = own_params(c);
  if (!c.params_from.empty()) {
    const int owner = g.param_owner(node);
    if (owner != node) s.weight_params = sum({s.weight_params, own_params(g.nodes[owner])});
  }
  s.input_scaled = (c.kind == ComponentKind::lm_head && config.family == Family::t5 && config.tie_word_embeddings) ||
                   (c.kind == ComponentKind::word_embedding && config.scale_embedding);
  s.addmm_bias = config.family == Family::gpt2 && c.op == OpKind::linear && c.layer >= 0;

  const StreamRun& run = stream_run(w, c.stream);
  if (!run.runs || run.queries < 1) return s;
  const int64_t tokens = prod({w.batch, run.queries});
  switch (c.scope) {
    case TokenScope::all: s.rows = tokens; break;
    case TokenScope::first_token: s.rows = w.batch; break;
    case TokenScope::routed: s.rows = routed_rows(g, node, tokens); break;
  }
  if (c.op == OpKind::patch_embedding) s.rows = prod({w.batch, w.patches});
  if (c.op == OpKind::embedding_lookup)
    s.distinct_rows = std::min(c.kind == ComponentKind::position_embedding ? run.queries : s.rows, c.in_features);

  if (const AttentionShape* a = attention_of(g, node)) {
    const bool causal = a->causal && !a->cross;
    s.queries = run.queries;
    s.keys = a->cross ? w.source_len : sum({run.first_position, run.queries});
    s.attended = attended_positions(a->cross ? 0 : run.first_position, s.queries, s.keys, causal, a->window);
    s.keys_read = causal && a->window > 0 ? std::min(s.keys, s.queries + a->window - 1) : s.keys;
    s.full_pairs = prod({s.queries, s.keys});
    s.kv_cached = kv_cached(*a, w);
    if (c.op == OpKind::position_bias) s.rows = run.queries;  // once per stack, shared by the batch
    if (s.kv_cached && c.op == OpKind::linear) {
      // The projection whose output is the cached tensor appends it; with RoPE, rope appends K.
      const bool rope_appends_k = has_sibling(g, node, OpKind::rope);
      const int64_t kv_width = prod({a->kv_heads, a->head_dim});
      if (c.kind == ComponentKind::v_proj) s.kv_out_features = c.out_features;
      if (c.kind == ComponentKind::k_proj && !rope_appends_k) s.kv_out_features = c.out_features;
      if (c.kind == ComponentKind::qkv_proj) s.kv_out_features = rope_appends_k ? kv_width : prod({2, kv_width});
    }
  }
  return s;
}

}  // namespace clear::analysis_detail
