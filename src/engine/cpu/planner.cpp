// Binds every leaf of the component graph to buffers and a kernel call for one pass shape. The
// walk follows the graph (children in execution order), so the leaves of a plan are exactly the
// forward pass; each family differs only in which leaves its graph holds (docs/ENGINE.md).
#include <cmath>
#include <string>

#include "clear/util/error.hpp"
#include "engine/cpu/attention_call.hpp"
#include "engine/cpu/leaf_ops.hpp"
#include "engine/cpu/plan.hpp"

namespace clear::cpu {
namespace {

struct Tensor {
  float* p = nullptr;
  int64_t rows = 0;
  int64_t width = 0;
  int64_t floats() const { return rows * width; }
};

Region floats_region(const void* p, int64_t count) { return Region{p, count * static_cast<int64_t>(sizeof(float))}; }
Region ints_region(const void* p, int64_t count) { return Region{p, count * static_cast<int64_t>(sizeof(int64_t))}; }

// One token stream (encoder side or decoder side) within a pass.
struct StreamCtx {
  std::string prefix;            // buffer names: "enc." or "dec."
  bool decoder = false;          // causal self-attention; the KV cache when the pass uses one
  int64_t len = 0;               // tokens per sequence in this pass
  int64_t rows = 0;              // batch * len
  int64_t rows_max = 0;          // rows the buffers are sized for (largest pass)
  int64_t past = 0;
  const int64_t* ids = nullptr;  // [rows]
  int64_t* positions = nullptr;  // [rows]
  const float* key_mask = nullptr;     // [batch, len] padding of this stream's keys, or null
  const float* position_bias = nullptr;  // T5 [heads, len, kv]
  Tensor cur;                    // the stream's hidden states after the last planned component
};

class Planner {
 public:
  Planner(EngineData& data, const Pass& pass)
      : d_(data), g_(data.graph), cfg_(data.graph.config), pass_(pass), batch_(data.batch) {}

  Plan build() {
    setup_streams();
    const Component& root = g_.nodes[0];
    if (cfg_.arch_type == ArchType::encoder_decoder) {
      for (int c : root.children) {
        const Component& n = g_.nodes[c];
        if (n.kind == ComponentKind::stack) {
          bool encoder = n.name == "encoder";
          if (encoder && !pass_.run_encoder) continue;
          plan_stack(c, encoder ? enc_ : dec_);
        } else if (pass_.heads_enabled) {
          plan_head(c, dec_);
        }
      }
      output("last_hidden_state", dec_.cur, {batch_, dec_.len, cfg_.hidden_size});
      if (pass_.run_encoder) output("encoder_last_hidden_state", enc_out_, {batch_, enc_.len, cfg_.hidden_size});
    } else {
      StreamCtx& s = decoder_only() ? dec_ : enc_;
      for (int c : root.children) plan_top(c, s);
      output("last_hidden_state", s.cur, {batch_, s.len, cfg_.hidden_size});
    }
    compute_hooks(g_, plan_);
    return std::move(plan_);
  }

 private:
  EngineData& d_;
  const ComponentGraph& g_;
  const ModelConfig& cfg_;
  Pass pass_;
  int64_t batch_;
  Plan plan_;
  StreamCtx enc_, dec_;
  Tensor enc_out_;

  bool decoder_only() const {
    return cfg_.arch_type == ArchType::decoder_only || cfg_.arch_type == ArchType::moe_decoder;
  }

  void add_step(int node, std::function<void()> run, std::vector<Region> inputs, bool fused = false) {
    Step step;
    step.node = node;
    step.fused = fused;
    step.run = std::move(run);
    step.inputs = std::move(inputs);
    plan_.steps.push_back(std::move(step));
  }

  void output(const std::string& name, Tensor t, std::vector<int64_t> shape) {
    if (t.p) plan_.outputs.push_back(OutputRef{name, std::move(shape), t.p});
  }

  float* buffer(const StreamCtx& s, const std::string& name, int64_t width) {
    return d_.arena.floats(s.prefix + name + "." + std::to_string(width), s.rows_max * width);
  }

  // A hidden-state buffer [rows, H] of the stream that holds none of `busy`. Four buffers: a layer
  // never overwrites its own input (nor the residual stream or latest output it still needs), so a
  // layer repeated by run_component does the same work on the same input every time.
  Tensor hidden(const StreamCtx& s, const float* busy1, const float* busy2, int64_t width,
                const float* busy3 = nullptr) {
    for (int i = 0; i < 4; ++i) {
      float* p = buffer(s, "x" + std::to_string(i), width);
      if (p != busy1 && p != busy2 && p != busy3) return Tensor{p, s.rows, width};
    }
    throw std::logic_error("planner: no free hidden buffer");
  }

  void setup_streams() {
    int64_t enc_len = d_.enc_len;
    enc_.prefix = "enc.";
    enc_.len = enc_len;
    enc_.rows = batch_ * enc_len;
    enc_.rows_max = d_.enc_rows_max;
    enc_.ids = d_.enc_ids;
    enc_.key_mask = d_.padding ? d_.enc_key_mask : nullptr;
    if (enc_len > 0) {
      int64_t* positions = d_.arena.ints("enc.positions", enc_.rows_max);
      enc_.positions = positions;
      const int64_t* ids = d_.enc_ids;
      int64_t b = batch_, len = enc_len, offset = cfg_.position_offset, pad = cfg_.pad_token_id;
      bool roberta = cfg_.family == Family::roberta;
      bool vision = cfg_.arch_type == ArchType::vision_encoder;
      prepares_.push_back([=] {
        if (roberta) roberta_positions(ids, positions, b, len, pad);
        else sequential_positions(positions, b, len, 0, vision ? 0 : offset);
      });
    }
    dec_.prefix = "dec.";
    dec_.decoder = true;
    dec_.len = pass_.dec_len;
    dec_.rows = batch_ * pass_.dec_len;
    dec_.rows_max = d_.dec_rows_max;
    dec_.past = pass_.past;
    if (pass_.dec_len > 0) {
      std::string tag = std::to_string(pass_.dec_len);
      int64_t* ids = d_.arena.ints("dec.ids." + tag, dec_.rows);
      int64_t* positions = d_.arena.ints("dec.positions." + tag, dec_.rows);
      dec_.ids = ids;
      dec_.positions = positions;
      const int64_t* all = d_.dec_ids;
      int64_t b = batch_, len = pass_.dec_len, past = pass_.past, stride = d_.dec_ids_len;
      int64_t offset = cfg_.position_offset;
      prepares_.push_back([=] {
        for (int64_t i = 0; i < b; ++i)
          for (int64_t s = 0; s < len; ++s) ids[i * len + s] = all[i * stride + past + s];
        sequential_positions(positions, b, len, past, offset);
      });
    }
    auto prepares = prepares_;
    plan_.prepare = [prepares] {
      for (const auto& f : prepares) f();
    };
  }
  std::vector<std::function<void()>> prepares_;

  // --- model level -------------------------------------------------------------------------
  void plan_top(int node, StreamCtx& s) {
    const Component& c = g_.nodes[node];
    switch (c.kind) {
      case ComponentKind::embeddings: s.cur = plan_embeddings(node, s); break;
      case ComponentKind::layer: s.cur = plan_layer(node, s, s.cur); break;
      case ComponentKind::norm:
        if (pass_.heads_enabled) s.cur = plan_norm(node, s.cur, hidden(s, s.cur.p, nullptr, s.cur.width));
        break;
      case ComponentKind::position_bias: plan_position_bias(node, s); break;
      default:
        if (pass_.heads_enabled) plan_head(node, s);
    }
  }

  void plan_stack(int node, StreamCtx& s) {
    for (int c : g_.nodes[node].children) {
      const Component& n = g_.nodes[c];
      switch (n.kind) {
        case ComponentKind::embeddings: s.cur = plan_embeddings(c, s); break;
        case ComponentKind::position_bias: plan_position_bias(c, s); break;
        case ComponentKind::layer: s.cur = plan_layer(c, s, s.cur); break;
        case ComponentKind::norm: s.cur = plan_norm(c, s.cur, hidden(s, s.cur.p, nullptr, s.cur.width)); break;
        default: throw Error("engine: unexpected component " + n.name + " in stack " + g_.nodes[node].name);
      }
    }
    if (!s.decoder) enc_out_ = s.cur;
  }

  // Pooler, LM heads, classifier: leaves applied in order to the stream's last hidden state.
  void plan_head(int node, StreamCtx& s) {
    const Component& c = g_.nodes[node];
    Tensor t = s.cur;
    if (c.is_leaf()) {
      t = plan_simple_leaf(node, t, s);
    } else {
      for (int leaf : g_.leaves_under(node)) t = plan_simple_leaf(leaf, t, s);
    }
    int64_t len = t.rows == batch_ ? 1 : s.len;
    if (c.kind == ComponentKind::pooler) {
      output("pooler_output", t, {batch_, t.width});
    } else if (t.rows == batch_ && c.scope == TokenScope::first_token) {
      output("logits", t, {batch_, t.width});
    } else {
      output("logits", t, {batch_, len, t.width});
    }
  }

  // Linear (all tokens or first token of each sequence), activation or norm, out of place.
  Tensor plan_simple_leaf(int node, Tensor in, StreamCtx& s) {
    const Component& c = g_.nodes[node];
    switch (c.op) {
      case OpKind::linear: {
        kernels::PackedLinear& lin = d_.linear(node);
        bool first = c.scope == TokenScope::first_token && in.rows != batch_;
        int64_t rows = first ? batch_ : in.rows;
        int64_t rows_max = first ? batch_ : s.rows_max;
        float* y = d_.arena.floats(s.prefix + c.name, rows_max * lin.out_features());
        Tensor out{y, rows, lin.out_features()};
        const float* x = in.p;
        int64_t in_w = in.width, ldx = first ? s.len * in.width : in.width;
        check_width(c, in_w, lin.in_features());
        // T5 with tied embeddings rescales the decoder output by d_model^-0.5 before its LM head.
        bool rescale = c.kind == ComponentKind::lm_head && cfg_.family == Family::t5 && cfg_.tie_word_embeddings;
        if (rescale) {
          float* scaled = d_.arena.floats(s.prefix + c.name + ".rescaled", s.rows_max * in_w);
          float factor = static_cast<float>(1.0 / std::sqrt(static_cast<double>(cfg_.hidden_size)));
          lin.prepare(rows);
          add_step(node, [&lin, x, scaled, y, rows, in_w, factor] {
            scale(x, scaled, rows * in_w, factor);
            lin.forward(scaled, y, rows);
          }, {floats_region(x, in.floats())});
          return out;
        }
        lin.prepare(rows);
        if (first) {
          add_step(node, [&lin, x, ldx, y, rows] { lin.forward_strided(x, ldx, y, lin.out_features(), rows); },
                   {floats_region(x, in.floats())});
        } else {
          add_step(node, [&lin, x, y, rows] { lin.forward(x, y, rows); }, {floats_region(x, in.floats())});
        }
        return out;
      }
      case OpKind::activation: {
        float* y = d_.arena.floats(s.prefix + c.name, (in.rows == batch_ ? batch_ : s.rows_max) * in.width);
        Activation act = c.activation;
        const float* x = in.p;
        int64_t n = in.floats();
        add_step(node, [act, x, y, n] { kernels::activation(act, x, y, n); }, {floats_region(x, n)});
        return Tensor{y, in.rows, in.width};
      }
      case OpKind::norm: {
        float* y = d_.arena.floats(s.prefix + c.name, (in.rows == batch_ ? batch_ : s.rows_max) * in.width);
        return plan_norm(node, in, Tensor{y, in.rows, in.width});
      }
      default:
        throw Error("engine: component " + c.name + " (" + to_string(c.op) + ") is not supported in a head");
    }
  }

  void check_width(const Component& c, int64_t got, int64_t expected) {
    if (got != expected)
      throw std::logic_error("planner: " + c.name + " receives width " + std::to_string(got) + ", expects " +
                             std::to_string(expected));
  }

  Tensor plan_norm(int node, Tensor in, Tensor out) {
    const Component& c = g_.nodes[node];
    const float* w = d_.param(node, "weight");
    bool layer_norm = c.norm == NormKind::layer_norm;
    const float* b = layer_norm && d_.has_param(node, "bias") ? d_.param(node, "bias") : nullptr;
    float eps = static_cast<float>(c.norm_eps);
    const float* x = in.p;
    float* y = out.p;
    int64_t rows = in.rows, width = in.width;
    add_step(node, [=] {
      if (layer_norm) kernels::layer_norm(x, w, b, y, rows, width, eps);
      else kernels::rms_norm(x, w, y, rows, width, eps);
    }, {floats_region(x, in.floats())});
    return Tensor{out.p, rows, width};
  }

  Tensor plan_linear(int node, Tensor in, float* y) {
    kernels::PackedLinear& lin = d_.linear(node);
    check_width(g_.nodes[node], in.width, lin.in_features());
    const float* x = in.p;
    int64_t rows = in.rows;
    if (rows > 0) lin.prepare(rows);
    add_step(node, [&lin, x, y, rows] { lin.forward(x, y, rows); }, {floats_region(x, in.floats())});
    return Tensor{y, rows, lin.out_features()};
  }

  // --- embeddings ----------------------------------------------------------------------------
  Tensor plan_embeddings(int node, StreamCtx& s) {
    std::vector<Tensor> parts;  // streams the add leaf sums, in order
    Tensor last;
    for (int leaf : g_.leaves_under(node)) {
      const Component& c = g_.nodes[leaf];
      switch (c.kind) {
        case ComponentKind::word_embedding:
        case ComponentKind::position_embedding:
        case ComponentKind::token_type_embedding: {
          const auto& shape = d_.weights.shape(g_.nodes[g_.param_owner(leaf)].name + ".weight");
          int64_t table_rows = shape[0], width = shape[1];
          const float* table = d_.param(leaf, "weight");
          const int64_t* ids = c.kind == ComponentKind::word_embedding ? s.ids
                               : c.kind == ComponentKind::position_embedding ? s.positions
                                                                             : zero_ids(s);
          if (c.kind == ComponentKind::position_embedding) check_positions(c, table_rows, s);
          float factor = c.kind == ComponentKind::word_embedding && cfg_.scale_embedding
                             ? static_cast<float>(std::sqrt(static_cast<double>(cfg_.hidden_size)))
                             : 1.0f;
          float* y = buffer(s, c.name, width);
          int64_t rows = s.rows;
          add_step(leaf, [=] { embedding_lookup(table, ids, y, rows, width, factor); }, {ints_region(ids, rows)});
          last = Tensor{y, rows, width};
          parts.push_back(last);
          break;
        }
        case ComponentKind::patch_embedding: {
          kernels::PackedLinear& lin = d_.linear(leaf);
          int64_t C = cfg_.num_channels, P = cfg_.patch_size, image = d_.image, b = batch_;
          int64_t n = b * d_.grid * d_.grid, patch_len = C * P * P;
          float* patches = d_.arena.floats("enc.patches", n * patch_len);
          float* y = d_.arena.floats("enc.patch_out", n * lin.out_features());
          const float* pixels = d_.pixels;
          lin.prepare(n);
          add_step(leaf, [=, &lin] {
            image_patches(pixels, b, C, image, P, patches);
            lin.forward(patches, y, n);
          }, {floats_region(pixels, b * C * image * image)});
          last = Tensor{y, n, lin.out_features()};
          parts.push_back(last);
          break;
        }
        case ComponentKind::cls_token: {
          if (parts.empty()) throw Error("engine: " + c.name + " needs the patch embedding before it");
          Tensor patches = parts.back();
          parts.pop_back();
          const float* cls = d_.param(leaf, "weight");
          float* y = buffer(s, c.name, patches.width);
          int64_t b = batch_, n = d_.grid * d_.grid, width = patches.width;
          add_step(leaf, [=] { prepend_token(cls, patches.p, y, b, n, width); }, {floats_region(patches.p, patches.floats())});
          last = Tensor{y, s.rows, width};
          parts.push_back(last);
          break;
        }
        case ComponentKind::embedding_add: {
          int64_t k = c.add_inputs;
          if (static_cast<int64_t>(parts.size()) < k) throw Error("engine: " + c.name + " sums " + std::to_string(k) + " streams");
          Tensor a = parts[parts.size() - k], b2 = parts[parts.size() - k + 1];
          Tensor c3 = k == 3 ? parts[parts.size() - 1] : Tensor{};
          float* y = buffer(s, c.name, a.width);
          int64_t n = a.floats();
          if (k == 3) {
            add_step(leaf, [=] { kernels::add3(a.p, b2.p, c3.p, y, n); },
                     {floats_region(a.p, n), floats_region(b2.p, n), floats_region(c3.p, n)});
          } else {
            add_step(leaf, [=] { kernels::add(a.p, b2.p, y, n); }, {floats_region(a.p, n), floats_region(b2.p, n)});
          }
          last = Tensor{y, a.rows, a.width};
          parts.assign(1, last);
          break;
        }
        case ComponentKind::norm: {
          float* y = buffer(s, c.name, last.width);
          last = plan_norm(leaf, last, Tensor{y, last.rows, last.width});
          parts.assign(1, last);
          break;
        }
        case ComponentKind::embedding_projection: {
          kernels::PackedLinear& lin = d_.linear(leaf);
          last = plan_linear(leaf, last, buffer(s, c.name, lin.out_features()));
          parts.assign(1, last);
          break;
        }
        default: throw Error("engine: unexpected component " + c.name + " in embeddings");
      }
    }
    return last;
  }

  const int64_t* zero_ids(const StreamCtx& s) {
    return d_.arena.ints(s.prefix + "zero_ids", s.rows_max);  // zero-filled at allocation, never written
  }

  void check_positions(const Component& c, int64_t table_rows, const StreamCtx& s) {
    int64_t last = (s.decoder ? s.past : 0) + s.len - 1 + (cfg_.arch_type == ArchType::vision_encoder ? 0 : cfg_.position_offset);
    if (last >= table_rows)
      throw Error("workload: position " + std::to_string(last) + " is beyond the " + std::to_string(table_rows) +
                  " rows of " + c.name + " (max_position_embeddings)");
  }

  void plan_position_bias(int node, StreamCtx& s) {
    const Component& c = g_.nodes[node];
    const auto& shape = d_.weights.shape(g_.nodes[g_.param_owner(node)].name + ".weight");
    int64_t heads = shape[1];
    int64_t q_len = s.len, kv = s.decoder ? s.past + s.len : s.len, q_offset = s.decoder ? s.past : 0;
    bool bidirectional = !s.decoder;
    int64_t buckets = cfg_.relative_buckets, max_distance = cfg_.relative_max_distance;
    float* bias = d_.arena.floats(s.prefix + c.name + "." + std::to_string(q_len) + "x" + std::to_string(kv), heads * q_len * kv);
    const float* table = d_.param(node, "weight");
    add_step(node, [=] { t5_position_bias(table, heads, q_len, kv, q_offset, bidirectional, buckets, max_distance, bias); }, {});
    s.position_bias = bias;
  }

  // --- layers --------------------------------------------------------------------------------
  // Pre-norm: norm → block → residual. Post-norm: block → residual → norm. `base` is the residual
  // stream (updated by residual adds, and by norms in post-norm models), `last` the latest output.
  Tensor plan_layer(int node, StreamCtx& s, Tensor in) {
    Tensor base = in, last = in;
    for (int c : g_.nodes[node].children) {
      const Component& n = g_.nodes[c];
      switch (n.kind) {
        case ComponentKind::norm:
          last = plan_norm(c, last, hidden(s, base.p, last.p, last.width, in.p));
          if (!cfg_.pre_norm) base = last;
          break;
        case ComponentKind::attention: last = plan_attention(c, s, last, false); break;
        case ComponentKind::cross_attention: last = plan_attention(c, s, last, true); break;
        case ComponentKind::mlp: last = plan_mlp(c, s, last); break;
        case ComponentKind::moe: last = plan_moe(c, s, last); break;
        case ComponentKind::residual: {
          Tensor out = hidden(s, base.p, last.p, base.width, in.p);
          const float* a = base.p;
          const float* b = last.p;
          int64_t n_floats = base.floats();
          add_step(c, [=] { kernels::add(a, b, out.p, n_floats); }, {floats_region(a, n_floats), floats_region(b, n_floats)});
          base = last = out;
          break;
        }
        default: throw Error("engine: unexpected component " + n.name + " in layer " + g_.nodes[node].name);
      }
    }
    return last;
  }

  Tensor plan_attention(int node, StreamCtx& s, Tensor in, bool cross) {
    const Component& att = g_.nodes[node];
    AttentionShape shape;
    bool has_rope = false;
    for (int c : att.children) {
      const Component& n = g_.nodes[c];
      if (n.op == OpKind::attention_scores) shape = n.attention;
      if (n.op == OpKind::rope) has_rope = true;
    }
    int64_t H = shape.heads, Hkv = shape.kv_heads, D = shape.head_dim;
    int64_t qw = H * D, kvw = Hkv * D;
    bool use_cache = !cross && s.decoder && pass_.cache;
    int64_t cap = d_.kv_capacity;

    AttentionCall call;
    call.d.batch = batch_;
    call.d.q_len = s.len;
    call.d.heads = H;
    call.d.kv_heads = Hkv;
    call.d.head_dim = D;
    call.d.causal = shape.causal && !cross;
    call.d.window = cross ? 0 : shape.window;
    call.d.scale = shape.scaled ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))) : 1.0f;
    call.d.q_offset = cross ? 0 : s.past;
    call.key_mask = cross ? (d_.padding ? d_.enc_key_mask : nullptr) : s.key_mask;
    call.bias = shape.relative_bias && !cross ? s.position_bias : nullptr;
    if (call.bias == nullptr && shape.relative_bias && !cross)
      throw Error("engine: " + att.name + " needs the stack's position_bias before it");

    float* q = buffer(s, "q", qw);
    float* k = buffer(s, "k", kvw);
    float* v = buffer(s, "v", kvw);
    float* kcache = nullptr;
    float* vcache = nullptr;
    int64_t kv_rows_total;  // rows of K/V the attention may read (for capture)
    if (cross) {
      k = d_.arena.floats("cross." + att.name + ".k", d_.enc_rows_max * kvw);
      v = d_.arena.floats("cross." + att.name + ".v", d_.enc_rows_max * kvw);
      call.d.kv_len = d_.enc_len;
      call.kv_batch_rows = d_.enc_len;
      kv_rows_total = batch_ * d_.enc_len;
      call.k = k;
      call.v = v;
      call.d.ldk = call.d.ldv = kvw;
    } else if (use_cache) {
      kcache = d_.arena.floats("cache." + att.name + ".k", batch_ * cap * kvw);
      vcache = d_.arena.floats("cache." + att.name + ".v", batch_ * cap * kvw);
      call.d.kv_len = s.past + s.len;
      call.kv_batch_rows = cap;
      kv_rows_total = batch_ * cap;
      call.k = kcache;
      call.v = vcache;
      call.d.ldk = call.d.ldv = kvw;
    } else {
      call.d.kv_len = s.len;
      call.kv_batch_rows = s.len;
      kv_rows_total = s.rows;
      call.k = k;
      call.v = v;
      call.d.ldk = call.d.ldv = kvw;
    }
    call.q = q;
    call.d.ldq = qw;
    call.d.ldo = qw;
    float* ctx = buffer(s, "context", qw);
    call.out = ctx;

    int64_t b = batch_, len = s.len, past = s.past;
    const int64_t* positions = s.positions;
    bool core_done = false;
    Tensor out;
    for (int c : att.children) {
      const Component& n = g_.nodes[c];
      switch (n.op) {
        case OpKind::linear: {
          if (n.kind == ComponentKind::q_proj) {
            plan_linear(c, in, q);
          } else if (n.kind == ComponentKind::k_proj || n.kind == ComponentKind::v_proj) {
            bool is_k = n.kind == ComponentKind::k_proj;
            if (cross) {
              if (!pass_.cross_kv) break;
              plan_linear(c, enc_out_, is_k ? k : v);
            } else {
              float* y = is_k ? k : v;
              plan_linear(c, in, y);
              if (use_cache && !(is_k && has_rope)) {
                // The projection's rows go to the cache at positions past..past+len (part of this leaf).
                float* cache = is_k ? kcache : vcache;
                auto& step = plan_.steps.back();
                auto proj = std::move(step.run);
                step.run = [proj, y, cache, b, len, past, cap, kvw] {
                  proj();
                  append_to_cache(y, kvw, cache, b, len, past, cap, kvw);
                };
              }
            }
          } else if (n.kind == ComponentKind::qkv_proj) {
            kernels::PackedLinear& lin = d_.linear(c);
            float* qkv = buffer(s, "qkv", lin.out_features());
            plan_linear(c, in, qkv);
            int64_t ld = lin.out_features();
            call.q = qkv;
            call.d.ldq = ld;
            if (use_cache) {
              auto& step = plan_.steps.back();
              auto proj = std::move(step.run);
              step.run = [proj, qkv, kcache, vcache, b, len, past, cap, qw, kvw, ld] {
                proj();
                append_to_cache(qkv + qw, ld, kcache, b, len, past, cap, kvw);
                append_to_cache(qkv + qw + kvw, ld, vcache, b, len, past, cap, kvw);
              };
            } else {
              call.k = qkv + qw;
              call.v = qkv + qw + kvw;
              call.d.ldk = call.d.ldv = ld;
            }
          } else if (n.kind == ComponentKind::out_proj) {
            out = plan_linear(c, Tensor{ctx, s.rows, qw}, buffer(s, "attn_out", cfg_.hidden_size));
          } else {
            throw Error("engine: unexpected linear " + n.name + " in " + att.name);
          }
          break;
        }
        case OpKind::rope: {
          auto& freq = d_.inv_freq[D];
          if (freq.empty()) {
            freq.resize(static_cast<size_t>(D / 2));
            kernels::rope_inv_freq(cfg_, D, freq.data());
          }
          const float* inv = freq.data();
          int64_t rows = s.rows;
          add_step(c, [=] {
            kernels::rope(q, rows, H, D, positions, inv);
            kernels::rope(k, rows, Hkv, D, positions, inv);
            if (use_cache) append_to_cache(k, kvw, kcache, b, len, past, cap, kvw);
          }, {floats_region(q, rows * qw), floats_region(k, rows * kvw), ints_region(positions, rows)});
          break;
        }
        case OpKind::attention_scores:
        case OpKind::attention_mask:
        case OpKind::attention_softmax:
        case OpKind::attention_context:
          if (pass_.fused) {
            if (!core_done) plan_fused_core(node, call, kv_rows_total);
          } else {
            plan_core_leaf(c, n.op, call, kv_rows_total);
          }
          core_done = true;
          break;
        default: throw Error("engine: unexpected component " + n.name + " in " + att.name);
      }
    }
    if (!out.p) throw Error("engine: " + att.name + " has no out_proj");
    return out;
  }

  std::vector<Region> core_regions(const AttentionCall& call, int64_t kv_rows_total, bool q, bool kv_k, bool kv_v) {
    std::vector<Region> r;
    const auto& d = call.d;
    if (q) r.push_back(floats_region(call.q, (d.batch * d.q_len - 1) * d.ldq + d.heads * d.head_dim));
    int64_t kvw = d.kv_heads * d.head_dim;
    if (kv_k) r.push_back(floats_region(call.k, (kv_rows_total - 1) * d.ldk + kvw));
    if (kv_v) r.push_back(floats_region(call.v, (kv_rows_total - 1) * d.ldv + kvw));
    return r;
  }

  void plan_fused_core(int attention_node, AttentionCall call, int64_t kv_rows_total) {
    int64_t scratch_floats = call.scratch_floats();
    call.scratch = d_.arena.floats("attention.scratch." + std::to_string(scratch_floats), scratch_floats);
    auto regions = core_regions(call, kv_rows_total, true, true, true);
    add_masks(call, regions);
    add_step(attention_node, [call] { call.fused(); }, std::move(regions), true);
  }

  void add_masks(const AttentionCall& call, std::vector<Region>& regions) {
    if (call.key_mask) regions.push_back(floats_region(call.key_mask, call.d.batch * call.d.kv_len));
    if (call.bias) regions.push_back(floats_region(call.bias, call.d.heads * call.d.q_len * call.d.kv_len));
  }

  void plan_core_leaf(int leaf, OpKind op, AttentionCall call, int64_t kv_rows_total) {
    int64_t n = call.scores_floats();
    call.scores = d_.arena.floats("attention.scores." + std::to_string(n), n);
    Region scores = floats_region(call.scores, n);
    switch (op) {
      case OpKind::attention_scores:
        add_step(leaf, [call] { call.run_scores(); }, core_regions(call, kv_rows_total, true, true, false));
        break;
      case OpKind::attention_mask: {
        std::vector<Region> regions{scores};
        add_masks(call, regions);
        add_step(leaf, [call] { call.run_mask(); }, std::move(regions));
        break;
      }
      case OpKind::attention_softmax: add_step(leaf, [call] { call.run_softmax(); }, {scores}); break;
      default: {
        auto regions = core_regions(call, kv_rows_total, false, false, true);
        regions.push_back(scores);
        add_step(leaf, [call] { call.run_context(); }, std::move(regions));
      }
    }
  }

  // --- MLP and mixture of experts ----------------------------------------------------------------
  Tensor plan_mlp(int node, StreamCtx& s, Tensor in) {
    Tensor gate, up, act, out;
    for (int c : g_.nodes[node].children) {
      const Component& n = g_.nodes[c];
      switch (n.kind) {
        case ComponentKind::gate_proj: gate = plan_linear(c, in, buffer(s, "mlp.gate", d_.linear(c).out_features())); break;
        case ComponentKind::up_proj: up = plan_linear(c, in, buffer(s, "mlp.up", d_.linear(c).out_features())); break;
        case ComponentKind::activation: {
          act = Tensor{buffer(s, "mlp.act", up.width), up.rows, up.width};
          plan_activation(c, gate, up, act);
          break;
        }
        case ComponentKind::down_proj: out = plan_linear(c, act, buffer(s, "mlp_out", d_.linear(c).out_features())); break;
        default: throw Error("engine: unexpected component " + n.name + " in " + g_.nodes[node].name);
      }
    }
    return out;
  }

  void plan_activation(int leaf, Tensor gate, Tensor up, Tensor out) {
    const Component& c = g_.nodes[leaf];
    Activation kind = c.activation;
    int64_t n = up.floats();
    if (c.gated) {
      add_step(leaf, [=] { kernels::gated_activation(kind, gate.p, up.p, out.p, n); },
               {floats_region(gate.p, n), floats_region(up.p, n)});
    } else {
      add_step(leaf, [=] { kernels::activation(kind, up.p, out.p, n); }, {floats_region(up.p, n)});
    }
  }

  Tensor plan_moe(int node, StreamCtx& s, Tensor in) {
    const Component& moe = g_.nodes[node];
    int64_t E = cfg_.num_experts, k = cfg_.experts_per_token, H = in.width, rows = in.rows;
    int64_t slots_max = s.rows_max * k;
    float* logits = buffer(s, "moe.logits", E);
    int64_t* offsets = d_.arena.ints(s.prefix + "moe.offsets", E + 1);
    int64_t* slot_token = d_.arena.ints(s.prefix + "moe.slot_token", slots_max);
    int64_t* choice_slot = d_.arena.ints(s.prefix + "moe.choice_slot", slots_max);
    float* choice_weight = d_.arena.floats(s.prefix + "moe.choice_weight", slots_max);
    float* gathered = d_.arena.floats(s.prefix + "moe.gathered", slots_max * H);
    float* expert_out = d_.arena.floats(s.prefix + "moe.expert_out", slots_max * H);
    float* y = buffer(s, "moe_out", H);
    for (int c : moe.children) {
      const Component& n = g_.nodes[c];
      if (n.kind == ComponentKind::router) {
        kernels::PackedLinear& lin = d_.linear(c);
        if (lin.out_features() != E) throw Error("engine: " + n.name + " routes to " + std::to_string(lin.out_features()) + " experts, config says " + std::to_string(E));
        const float* x = in.p;
        lin.prepare(rows);
        kernels::AttentionDims soft;
        soft.batch = 1;
        soft.q_len = rows;
        soft.kv_len = E;
        add_step(c, [=, &lin] {
          lin.forward(x, logits, rows);
          kernels::attention_softmax(soft, logits);
          route_top_k(logits, x, rows, H, E, k, offsets, slot_token, choice_slot, choice_weight, gathered);
        }, {floats_region(x, in.floats())});
      } else if (n.kind == ComponentKind::experts) {
        int64_t e = 0;
        for (int expert : n.children) plan_expert(expert, e++, s, gathered, offsets, expert_out, slots_max, H);
      } else if (n.kind == ComponentKind::combine) {
        add_step(c, [=] { moe_combine(expert_out, choice_slot, choice_weight, y, rows, H, k); },
                 {floats_region(expert_out, rows * k * H), ints_region(choice_slot, rows * k),
                  floats_region(choice_weight, rows * k)});
      } else {
        throw Error("engine: unexpected component " + n.name + " in " + moe.name);
      }
    }
    return Tensor{y, rows, H};
  }

  // One expert over its routed rows [offsets[e], offsets[e+1]) of the gathered tokens.
  void plan_expert(int expert, int64_t e, StreamCtx& s, float* gathered, const int64_t* offsets, float* expert_out,
                   int64_t slots_max, int64_t H) {
    float* gate = nullptr;
    float* up = nullptr;
    float* act = nullptr;
    int64_t F = 0;
    int64_t all_rows = s.rows * (slots_max / s.rows_max);
    for (int c : g_.nodes[expert].children) {
      const Component& n = g_.nodes[c];
      Region routing = ints_region(offsets, e + 2);
      if (n.op == OpKind::linear) {
        kernels::PackedLinear& lin = d_.linear(c);
        int64_t in_w = lin.in_features(), out_w = lin.out_features();
        const float* x;
        float* y;
        if (n.kind == ComponentKind::gate_proj || n.kind == ComponentKind::up_proj) {
          F = out_w;
          x = gathered;
          y = d_.arena.floats(s.prefix + (n.kind == ComponentKind::gate_proj ? "moe.gate" : "moe.up"), slots_max * F);
          (n.kind == ComponentKind::gate_proj ? gate : up) = y;
        } else if (n.kind == ComponentKind::down_proj) {
          x = act;
          y = expert_out;
        } else {
          throw Error("engine: unexpected component " + n.name + " in an expert");
        }
        add_step(c, [=, &lin] {
          int64_t first = offsets[e], count = offsets[e + 1] - offsets[e];
          if (count > 0) lin.forward(x + first * in_w, y + first * out_w, count);
        }, {floats_region(x, all_rows * in_w), routing});
      } else if (n.op == OpKind::activation) {
        act = d_.arena.floats(s.prefix + "moe.act", slots_max * F);
        Activation kind = n.activation;
        bool gated = n.gated;
        add_step(c, [=] {
          int64_t first = offsets[e], count = offsets[e + 1] - offsets[e];
          if (count <= 0) return;
          if (gated) kernels::gated_activation(kind, gate + first * F, up + first * F, act + first * F, count * F);
          else kernels::activation(kind, up + first * F, act + first * F, count * F);
        }, {floats_region(gate ? gate : up, all_rows * F), floats_region(up, all_rows * F), routing});
      } else {
        throw Error("engine: unexpected component " + n.name + " in an expert");
      }
    }
  }
};

}  // namespace

Plan build_plan(EngineData& data, const Pass& pass) { return Planner(data, pass).build(); }

void compute_hooks(const ComponentGraph& graph, Plan& plan) {
  auto chain = [&](const Step& step) {
    std::vector<int> c;  // root first
    int n = step.fused ? step.node : graph.nodes[step.node].parent;
    for (; n >= 0; n = graph.nodes[n].parent) c.insert(c.begin(), n);
    return c;
  };
  size_t count = plan.steps.size();
  plan.begins.assign(count, {});
  plan.ends.assign(count, {});
  std::vector<int> open;
  for (size_t i = 0; i < count; ++i) {
    std::vector<int> next = chain(plan.steps[i]);
    size_t common = 0;
    while (common < open.size() && common < next.size() && open[common] == next[common]) ++common;
    // Close what the previous step had open beyond the common prefix (inner first).
    if (i > 0)
      for (size_t j = open.size(); j > common; --j) plan.ends[i - 1].push_back(open[j - 1]);
    for (size_t j = common; j < next.size(); ++j) plan.begins[i].push_back(next[j]);
    open = std::move(next);
  }
  if (count > 0)
    for (size_t j = open.size(); j > 0; --j) plan.ends[count - 1].push_back(open[j - 1]);
}

}  // namespace clear::cpu
