#include "model/graph_builder.hpp"

#include <cmath>

namespace clear::graph_build {

Builder::Builder(const ModelConfig& config) {
  graph_.config = config;
  Component root;
  root.name = "model";
  root.kind = ComponentKind::model;
  switch (config.arch_type) {
    case ArchType::encoder_only: root.stream = Stream::encoder; break;
    case ArchType::vision_encoder: root.stream = Stream::vision; break;
    default: root.stream = Stream::decoder; break;
  }
  graph_.nodes.push_back(std::move(root));
}

int Builder::add(int parent, const std::string& suffix, ComponentKind kind, OpKind op) {
  const Component& p = graph_.nodes[size_t(parent)];
  Component c;
  c.name = parent == 0 ? suffix : p.name + "." + suffix;
  c.kind = kind;
  c.op = op;
  c.parent = parent;
  c.layer = p.layer;
  c.stream = p.stream;
  c.scope = p.scope;
  c.attention = p.attention;
  int index = int(graph_.nodes.size());
  graph_.nodes.push_back(std::move(c));
  graph_.nodes[size_t(parent)].children.push_back(index);
  return index;
}

void Builder::param(int node, const std::string& role, std::vector<int64_t> shape) {
  Component& c = at(node);
  c.params.push_back(ParamSpec{c.name + "." + role, std::move(shape)});
}

void Builder::share(int node, const std::string& owner, bool keep_bias) {
  Component& c = at(node);
  std::vector<ParamSpec> kept;
  for (auto& p : c.params)
    if (keep_bias && p.name == c.name + ".bias") kept.push_back(p);
  c.params = std::move(kept);
  c.params_from = owner;
}

int Builder::linear(int parent, const std::string& suffix, ComponentKind kind, int64_t in, int64_t out, bool bias) {
  int n = add(parent, suffix, kind, OpKind::linear);
  Component& c = at(n);
  c.in_features = in;
  c.out_features = out;
  c.bias = bias;
  param(n, "weight", {out, in});
  if (bias) param(n, "bias", {out});
  return n;
}

int Builder::embedding(int parent, const std::string& suffix, ComponentKind kind, int64_t rows, int64_t width) {
  int n = add(parent, suffix, kind, OpKind::embedding_lookup);
  at(n).in_features = rows;
  at(n).width = width;
  param(n, "weight", {rows, width});
  return n;
}

int Builder::norm(int parent, const std::string& suffix, int64_t width) {
  int n = add(parent, suffix, ComponentKind::norm, OpKind::norm);
  Component& c = at(n);
  c.width = width;
  c.norm = config().norm;
  c.norm_eps = config().norm_eps;
  param(n, "weight", {width});
  if (c.norm == NormKind::layer_norm) param(n, "bias", {width});
  return n;
}

int Builder::add_op(int parent, const std::string& suffix, ComponentKind kind, int64_t width, int64_t inputs) {
  int n = add(parent, suffix, kind, OpKind::add);
  at(n).width = width;
  at(n).add_inputs = inputs;
  return n;
}

int Builder::activation(int parent, const std::string& suffix, Activation act, int64_t width, bool gated) {
  int n = add(parent, suffix, ComponentKind::activation, OpKind::activation);
  at(n).width = width;
  at(n).activation = act;
  at(n).gated = gated;
  return n;
}

AttentionShape self_attention_shape(const ModelConfig& c, const StackConfig& s, bool causal) {
  AttentionShape a;
  a.heads = s.num_heads;
  a.kv_heads = s.num_kv_heads;
  a.head_dim = s.head_dim;
  a.causal = causal;
  a.window = c.sliding_window;
  a.scaled = c.attention_scaled;
  a.relative_bias = c.positions == PositionKind::relative_bias;
  return a;
}

int attention_block(Builder& b, int parent, const AttentionSpec& spec) {
  const int64_t hidden = b.config().hidden_size;
  const AttentionShape& s = spec.shape;
  int block = b.add(parent, spec.kind == ComponentKind::cross_attention ? "cross_attention" : "attention", spec.kind);
  b.at(block).attention = s;
  int64_t q_width = s.heads * s.head_dim;
  int64_t kv_width = s.kv_heads * s.head_dim;
  if (spec.fused_qkv) {
    b.linear(block, "qkv_proj", ComponentKind::qkv_proj, hidden, q_width + 2 * kv_width, spec.qkv_bias);
  } else {
    b.linear(block, "q_proj", ComponentKind::q_proj, hidden, q_width, spec.qkv_bias);
    int k = b.linear(block, "k_proj", ComponentKind::k_proj, hidden, kv_width, spec.qkv_bias);
    int v = b.linear(block, "v_proj", ComponentKind::v_proj, hidden, kv_width, spec.qkv_bias);
    b.at(k).stream = spec.kv_stream;
    b.at(v).stream = spec.kv_stream;
  }
  if (spec.rope) b.at(b.add(block, "rope", ComponentKind::rope, OpKind::rope)).width = s.head_dim;
  b.add(block, "scores", ComponentKind::scores, OpKind::attention_scores);
  if (spec.mask) b.add(block, "mask", ComponentKind::mask, OpKind::attention_mask);
  b.add(block, "softmax", ComponentKind::softmax, OpKind::attention_softmax);
  b.add(block, "context", ComponentKind::context, OpKind::attention_context);
  b.linear(block, "out_proj", ComponentKind::out_proj, q_width, hidden, spec.out_bias);
  return block;
}

int mlp_block(Builder& b, int parent, const std::string& suffix, ComponentKind kind, const MlpSpec& spec) {
  const int64_t hidden = b.config().hidden_size;
  int block = b.add(parent, suffix, kind);
  if (spec.gated) b.linear(block, "gate_proj", ComponentKind::gate_proj, hidden, spec.ffn, spec.bias);
  b.linear(block, "up_proj", ComponentKind::up_proj, hidden, spec.ffn, spec.bias);
  b.activation(block, "activation", spec.act, spec.ffn, spec.gated);
  b.linear(block, "down_proj", ComponentKind::down_proj, spec.ffn, hidden, spec.bias);
  return block;
}

int moe_block(Builder& b, int parent, const MlpSpec& expert) {
  const ModelConfig& c = b.config();
  int block = b.add(parent, "moe", ComponentKind::moe);
  int router = b.add(block, "router", ComponentKind::router, OpKind::router);
  Component& r = b.at(router);
  r.in_features = c.hidden_size;
  r.out_features = c.num_experts;
  r.experts = c.num_experts;
  r.top_k = c.experts_per_token;
  b.param(router, "weight", {c.num_experts, c.hidden_size});
  int experts = b.add(block, "experts", ComponentKind::experts);
  for (int64_t e = 0; e < c.num_experts; ++e) {
    int x = b.add(experts, std::to_string(e), ComponentKind::expert);
    b.at(x).scope = TokenScope::routed;
    // Each expert is an MLP whose leaves sit directly under experts.{e}.
    if (expert.gated) b.linear(x, "gate_proj", ComponentKind::gate_proj, c.hidden_size, expert.ffn, expert.bias);
    b.linear(x, "up_proj", ComponentKind::up_proj, c.hidden_size, expert.ffn, expert.bias);
    b.activation(x, "activation", expert.act, expert.ffn, expert.gated);
    b.linear(x, "down_proj", ComponentKind::down_proj, expert.ffn, c.hidden_size, expert.bias);
  }
  int combine = b.add(block, "combine", ComponentKind::combine, OpKind::moe_combine);
  b.at(combine).width = c.hidden_size;
  b.at(combine).experts = c.num_experts;
  b.at(combine).top_k = c.experts_per_token;
  return block;
}

int layer(Builder& b, int parent, int index, const LayerSpec& spec) {
  const ModelConfig& c = b.config();
  int node = b.add(parent, "layers." + std::to_string(index), ComponentKind::layer);
  b.at(node).layer = index;
  int sub = 0;
  auto wrap = [&](auto build_block) {
    ++sub;
    std::string k = std::to_string(sub);
    if (c.pre_norm) b.norm(node, "norm" + k, c.hidden_size);
    build_block();
    b.add_op(node, "residual" + k, ComponentKind::residual, c.hidden_size, 2);
    if (!c.pre_norm) b.norm(node, "norm" + k, c.hidden_size);
  };
  wrap([&] { attention_block(b, node, spec.self_attention); });
  if (spec.cross) wrap([&] { attention_block(b, node, spec.cross_attention); });
  wrap([&] {
    if (spec.moe) moe_block(b, node, spec.mlp);
    else mlp_block(b, node, "mlp", ComponentKind::mlp, spec.mlp);
  });
  return node;
}

}  // namespace clear::graph_build
