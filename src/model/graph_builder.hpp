#pragma once
// Building blocks of the component graph: nodes are appended in depth-first pre-order, so a block
// built completely before its next sibling keeps the leaves in forward-pass order.
#include <string>

#include "clear/model/graph.hpp"

namespace clear::graph_build {

class Builder {
 public:
  explicit Builder(const ModelConfig& config);

  // A child of `parent` named "<parent>.<suffix>" (no prefix under the root). It inherits the
  // parent's stream, layer and token scope.
  int add(int parent, const std::string& suffix, ComponentKind kind, OpKind op = OpKind::composite);
  Component& at(int node) { return graph_.nodes[size_t(node)]; }
  const std::string& name(int node) const { return graph_.nodes[size_t(node)].name; }
  void param(int node, const std::string& role, std::vector<int64_t> shape);
  // Marks `node` as using `owner`'s tensors (its own are dropped unless `keep_bias`).
  void share(int node, const std::string& owner, bool keep_bias = false);
  ComponentGraph finish() { return std::move(graph_); }
  const ComponentGraph& graph() const { return graph_; }
  const ModelConfig& config() const { return graph_.config; }

  // Leaves. Each owns its PyTorch-layout tensors.
  int linear(int parent, const std::string& suffix, ComponentKind kind, int64_t in, int64_t out, bool bias);
  int embedding(int parent, const std::string& suffix, ComponentKind kind, int64_t rows, int64_t width);
  int norm(int parent, const std::string& suffix, int64_t width);
  int add_op(int parent, const std::string& suffix, ComponentKind kind, int64_t width, int64_t inputs);
  int activation(int parent, const std::string& suffix, Activation act, int64_t width, bool gated);

 private:
  ComponentGraph graph_;
};

struct AttentionSpec {
  ComponentKind kind = ComponentKind::attention;  // or cross_attention
  AttentionShape shape;
  bool fused_qkv = false;   // GPT-2 c_attn
  bool rope = false;
  bool mask = true;         // ViT masks nothing
  bool qkv_bias = true;
  bool out_bias = true;
  Stream kv_stream = Stream::decoder;  // cross-attention: keys/values project the encoder output
};
int attention_block(Builder& b, int parent, const AttentionSpec& spec);

struct MlpSpec {
  int64_t ffn = 0;
  Activation act = Activation::gelu_erf;
  bool gated = false;
  bool bias = true;
};
int mlp_block(Builder& b, int parent, const std::string& suffix, ComponentKind kind, const MlpSpec& spec);
int moe_block(Builder& b, int parent, const MlpSpec& expert);

// One transformer layer: sub-blocks (self-attention, optional cross-attention, MLP or MoE), each
// wrapped as norm{k}, block, residual{k} (pre-norm) or block, residual{k}, norm{k} (post-norm).
struct LayerSpec {
  AttentionSpec self_attention;
  bool cross = false;
  AttentionSpec cross_attention;
  MlpSpec mlp;
  bool moe = false;
};
int layer(Builder& b, int parent, int index, const LayerSpec& spec);

// Attention shape of a stack's self-attention.
AttentionShape self_attention_shape(const ModelConfig& c, const StackConfig& s, bool causal);

}  // namespace clear::graph_build
