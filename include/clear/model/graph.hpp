#pragma once
// The component graph: a model as a tree of named components. Names are the contract every
// later stage speaks (analysis, engine, meters, protocol, store, reports); they are listed,
// family by family, in docs/NAMING.md and must stay stable.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clear/model/config.hpp"

namespace clear {

// What a component is (reports group by this). Composite kinds have children; the rest are leaves.
enum class ComponentKind {
  // composites
  model, stack, layer, embeddings, attention, cross_attention, mlp, moe, experts, expert, pooler, head,
  // leaves
  word_embedding, position_embedding, token_type_embedding, embedding_add, embedding_projection,
  patch_embedding, cls_token, position_bias,
  norm, q_proj, k_proj, v_proj, qkv_proj, rope, scores, mask, softmax, context, out_proj,
  residual, gate_proj, up_proj, activation, down_proj, router, combine, dense, lm_head, classifier,
};

// How a leaf computes (the analysis keeps one cost formula per op; a later GPU backend keeps one kernel per op).
enum class OpKind {
  composite,
  linear,            // y = x W^T (+ b); W is [out_features, in_features]
  embedding_lookup,  // y = table[ids]; table is [in_features rows, width]
  patch_embedding,   // conv with kernel = stride = patch, run as a linear over flattened patches
  concat_token,      // prepend a learned token (ViT CLS)
  add,               // elementwise sum of two (embeddings: up to three) streams of `width`
  norm,              // layer_norm or rms_norm over `width`
  activation,        // elementwise act over `width`; gated: act(gate) * up
  rope,              // rotary embedding applied to q and k
  position_bias,     // T5 bucketed relative bias [heads, S, K], computed once per stack
  attention_scores,  // Q K^T (scaled where attention.scaled)
  attention_mask,    // additive mask: causal / sliding window / padding, plus T5 position bias
  attention_softmax, // row softmax over the attended keys
  attention_context, // P V
  router,            // linear to num_experts, softmax, top-k
  moe_combine,       // weighted sum of the top-k expert outputs
};

// Which token stream a component processes (sets its token count for a workload).
enum class Stream { encoder, decoder, vision };
// Which tokens of the stream a component sees.
enum class TokenScope {
  all,          // every token
  first_token,  // one token per sequence (BERT pooler, ViT classifier/pooler on CLS)
  routed,       // the tokens the router sends to this expert
};

struct AttentionShape {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  bool causal = false;
  int64_t window = 0;        // sliding window (0 = none)
  bool cross = false;        // keys/values come from the encoder output
  bool scaled = true;        // scores multiplied by 1/sqrt(head_dim)
  bool relative_bias = false;  // T5: position bias added in the mask leaf
};

// A parameter tensor, named `<component name>.<role>` (e.g. "layers.3.attention.q_proj.weight").
// Layouts follow PyTorch: linear [out, in], embedding [rows, dim], norm [dim], conv [out, in, kh, kw].
struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

struct Component {
  std::string name;            // stable dotted name; the root is "model"
  ComponentKind kind = ComponentKind::model;
  OpKind op = OpKind::composite;
  int parent = -1;             // index into ComponentGraph::nodes; -1 for the root
  std::vector<int> children;   // in execution order
  int layer = -1;              // layer index inside its stack, -1 outside layers
  Stream stream = Stream::decoder;
  TokenScope scope = TokenScope::all;

  // Parameters this component owns. A component that reuses another's tensors (ALBERT's shared
  // layers, tied embeddings and LM heads, T5's shared embedding) has none here and names the owner.
  std::vector<ParamSpec> params;
  std::string params_from;     // empty, or the name of the component whose params it uses

  // Leaf dimensions (zero where they do not apply).
  int64_t in_features = 0;     // linear/patch: inputs; embedding_lookup: table rows
  int64_t out_features = 0;    // linear/patch/router: outputs
  bool bias = false;           // linear/patch: has a bias (it may be owned elsewhere for a tied decoder)
  int64_t width = 0;           // elementwise ops, norms, embeddings: values per token
  AttentionShape attention;    // attention leaves, rope, position_bias
  Activation activation = Activation::gelu_erf;  // activation leaves
  bool gated = false;          // activation leaf of a gated MLP
  NormKind norm = NormKind::layer_norm;          // norm leaves
  double norm_eps = 0.0;
  int64_t experts = 0;         // router, combine
  int64_t top_k = 0;           // router, combine
  int64_t add_inputs = 2;      // add: how many streams are summed

  bool is_leaf() const { return children.empty(); }
};

struct ComponentGraph {
  ModelConfig config;
  // Depth-first pre-order: nodes[0] is the root, a parent precedes its children, and the leaves
  // in this order are exactly the order in which a forward pass runs them.
  std::vector<Component> nodes;

  int find(std::string_view name) const;               // -1 when absent
  const Component& at(std::string_view name) const;    // throws clear::Error naming the component
  std::vector<int> leaves() const;                     // execution order
  std::vector<int> leaves_under(int node) const;       // execution order
  // Every unique parameter tensor (shared ones once), in execution order of their owners.
  std::vector<ParamSpec> parameters() const;
  int64_t param_count() const;                         // == Hugging Face num_parameters()
  // The nearest enclosing block kind (attention, cross_attention, mlp, moe, embeddings, pooler,
  // head) or the component's own kind outside blocks; meters and reports group by it.
  ComponentKind block_kind(int node) const;
  // The component whose tensors `node` uses (itself unless params_from is set).
  int param_owner(int node) const;
};

ComponentGraph build_graph(const ModelConfig& config);

const char* to_string(ComponentKind);
const char* to_string(OpKind);
const char* to_string(Stream);
const char* to_string(TokenScope);
bool is_composite(ComponentKind);

}  // namespace clear
