// build_graph: names and order exactly as docs/NAMING.md, structural invariants for every zoo model
// and for random configs of every family, sharing (ALBERT, tied heads, T5/BART embeddings), and
// parameter counts of random configs against the independent closed-form count.
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clear/model/graph.hpp"
#include "clear/model/zoo.hpp"
#include "clear/util/error.hpp"
#include "model/support/model_fixtures.hpp"
#include "model/support/reference_count.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using nlohmann::json;
using testing::parse;

int64_t draw(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(testing::rng()); }
bool coin() { return draw(0, 1) == 1; }

// ---- Structural invariants -------------------------------------------------------------------

void expect_invariants(const ComponentGraph& g) {
  ASSERT_FALSE(g.nodes.empty());
  EXPECT_EQ(g.nodes[0].name, "model");
  EXPECT_EQ(g.nodes[0].kind, ComponentKind::model);
  EXPECT_EQ(g.nodes[0].parent, -1);
  std::set<std::string> names;
  for (const auto& n : g.nodes) EXPECT_TRUE(names.insert(n.name).second) << "duplicate name " << n.name;

  // Depth-first pre-order: walking children from the root visits 0, 1, 2, ... in turn.
  std::vector<int> order, stack{0}, dfs_leaves;
  while (!stack.empty()) {
    int n = stack.back();
    stack.pop_back();
    order.push_back(n);
    if (g.nodes[size_t(n)].children.empty()) dfs_leaves.push_back(n);
    const auto& ch = g.nodes[size_t(n)].children;
    for (auto it = ch.rbegin(); it != ch.rend(); ++it) {
      EXPECT_EQ(g.nodes[size_t(*it)].parent, n) << g.nodes[size_t(*it)].name;
      stack.push_back(*it);
    }
  }
  ASSERT_EQ(order.size(), g.nodes.size());
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], int(i));
  EXPECT_EQ(g.leaves(), dfs_leaves);

  std::set<std::string> param_names;
  int64_t total = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Component& n = g.nodes[i];
    SCOPED_TRACE(n.name);
    if (i > 0) {
      const Component& p = g.nodes[size_t(n.parent)];
      EXPECT_EQ(n.name.rfind(n.parent == 0 ? "" : p.name + ".", 0), 0u) << "name does not extend its parent's";
      if (n.layer < 0) { EXPECT_EQ(p.layer, -1); }
      if (p.layer >= 0) { EXPECT_EQ(n.layer, p.layer); }
    }
    EXPECT_EQ(is_composite(n.kind), !n.is_leaf()) << to_string(n.kind);
    EXPECT_EQ(n.op == OpKind::composite, !n.is_leaf());
    if (n.kind == ComponentKind::layer) { EXPECT_NE(n.name.find("layers." + std::to_string(n.layer)), std::string::npos); }
    for (const auto& p : n.params) {
      EXPECT_TRUE(p.name == n.name + ".weight" || p.name == n.name + ".bias") << p.name;
      EXPECT_TRUE(param_names.insert(p.name).second) << "duplicate tensor " << p.name;
      for (int64_t d : p.shape) EXPECT_GT(d, 0) << p.name;
      total += p.numel();
    }
    if (!n.params_from.empty()) {
      int owner = g.find(n.params_from);
      ASSERT_GE(owner, 0) << n.params_from;
      EXPECT_FALSE(g.nodes[size_t(owner)].params.empty()) << "owner has no tensors";
      EXPECT_TRUE(g.nodes[size_t(owner)].params_from.empty()) << "chained sharing";
      EXPECT_EQ(g.param_owner(int(i)), owner);
      EXPECT_EQ(g.nodes[size_t(owner)].kind, n.kind == ComponentKind::lm_head ? ComponentKind::word_embedding : n.kind);
      for (const auto& p : n.params) EXPECT_EQ(p.name, n.name + ".bias") << "a sharing component owns only a bias";
    } else {
      EXPECT_EQ(g.param_owner(int(i)), int(i));
    }
    if (n.op == OpKind::linear && n.params_from.empty()) {
      ASSERT_FALSE(n.params.empty());
      EXPECT_EQ(n.params[0].shape, (std::vector<int64_t>{n.out_features, n.in_features}));
      EXPECT_EQ(n.params.size(), n.bias ? 2u : 1u);
    }
    if (n.op == OpKind::norm && n.params_from.empty()) {
      EXPECT_EQ(n.params[0].shape, std::vector<int64_t>{n.width});
      EXPECT_EQ(n.params.size(), n.norm == NormKind::layer_norm ? 2u : 1u);
      EXPECT_GT(n.norm_eps, 0);
    }
    // Kinds follow the last name segment (NAMING.md).
    std::string last = n.name.substr(n.name.rfind('.') + 1);
    if (last.rfind("norm", 0) == 0 || last == "final_norm") { EXPECT_EQ(n.kind, ComponentKind::norm); }
    if (last.rfind("residual", 0) == 0) { EXPECT_EQ(n.kind, ComponentKind::residual); }
    if (n.name.find(".experts.") != std::string::npos && std::isdigit(static_cast<unsigned char>(last[0]))) {
      EXPECT_EQ(n.kind, ComponentKind::expert); }
  }
  EXPECT_EQ(g.param_count(), total);
  EXPECT_EQ(g.parameters().size(), param_names.size());
}

// ---- Execution order per NAMING.md ---------------------------------------------------------

std::vector<std::string> attention_leaves(const std::string& p, bool fused, bool rope, bool mask) {
  std::vector<std::string> v;
  if (fused) v.push_back(p + ".qkv_proj");
  else v.insert(v.end(), {p + ".q_proj", p + ".k_proj", p + ".v_proj"});
  if (rope) v.push_back(p + ".rope");
  v.push_back(p + ".scores");
  if (mask) v.push_back(p + ".mask");
  v.insert(v.end(), {p + ".softmax", p + ".context", p + ".out_proj"});
  return v;
}
std::vector<std::string> mlp_leaves(const std::string& p, bool gated) {
  std::vector<std::string> v;
  if (gated) v.push_back(p + ".gate_proj");
  v.insert(v.end(), {p + ".up_proj", p + ".activation", p + ".down_proj"});
  return v;
}
void append(std::vector<std::string>& v, const std::vector<std::string>& more) { v.insert(v.end(), more.begin(), more.end()); }

// Sub-blocks of a layer wrapped pre-norm (norm, block, residual) or post-norm (block, residual, norm).
std::vector<std::string> layer_leaves(const std::string& l, bool pre_norm, const std::vector<std::vector<std::string>>& blocks) {
  std::vector<std::string> v;
  for (size_t k = 1; k <= blocks.size(); ++k) {
    std::string n = std::to_string(k);
    if (pre_norm) v.push_back(l + ".norm" + n);
    append(v, blocks[k - 1]);
    v.push_back(l + ".residual" + n);
    if (!pre_norm) v.push_back(l + ".norm" + n);
  }
  return v;
}

std::vector<std::string> expected_leaves(const ModelConfig& c) {
  std::vector<std::string> v;
  bool rope = c.positions == PositionKind::rope;
  switch (c.family) {
    case Family::gpt2:
    case Family::llama:
    case Family::mistral:
    case Family::qwen2:
    case Family::mixtral: {
      v.push_back("embeddings.word");
      if (c.family == Family::gpt2) append(v, {"embeddings.position", "embeddings.add"});
      for (int64_t i = 0; i < c.decoder.num_layers; ++i) {
        std::string l = "layers." + std::to_string(i);
        std::vector<std::string> ffn;
        if (c.family == Family::mixtral) {
          ffn.push_back(l + ".moe.router");
          for (int64_t e = 0; e < c.num_experts; ++e) append(ffn, mlp_leaves(l + ".moe.experts." + std::to_string(e), true));
          ffn.push_back(l + ".moe.combine");
        } else {
          ffn = mlp_leaves(l + ".mlp", c.gated_mlp);
        }
        append(v, layer_leaves(l, true, {attention_leaves(l + ".attention", c.family == Family::gpt2, rope, true), ffn}));
      }
      v.push_back("final_norm");
      if (c.head == Head::causal_lm) v.push_back("lm_head");
      break;
    }
    case Family::bert:
    case Family::roberta:
    case Family::distilbert:
    case Family::albert: {
      append(v, {"embeddings.word", "embeddings.position"});
      if (c.family != Family::distilbert) v.push_back("embeddings.token_type");
      append(v, {"embeddings.add", "embeddings.norm"});
      if (c.family == Family::albert) v.push_back("embeddings.projection");
      for (int64_t i = 0; i < c.encoder.num_layers; ++i) {
        std::string l = "layers." + std::to_string(i);
        append(v, layer_leaves(l, false, {attention_leaves(l + ".attention", false, false, true), mlp_leaves(l + ".mlp", false)}));
      }
      if (c.pooler) append(v, {"pooler.dense", "pooler.activation"});
      if (c.head == Head::masked_lm) append(v, {"lm_head.transform", "lm_head.activation", "lm_head.norm", "lm_head.decoder"});
      break;
    }
    case Family::vit: {
      append(v, {"embeddings.patch_embedding", "embeddings.cls_token", "embeddings.position", "embeddings.add"});
      for (int64_t i = 0; i < c.encoder.num_layers; ++i) {
        std::string l = "layers." + std::to_string(i);
        append(v, layer_leaves(l, true, {attention_leaves(l + ".attention", false, false, false), mlp_leaves(l + ".mlp", false)}));
      }
      v.push_back("final_norm");
      if (c.head == Head::image_classification) v.push_back("classifier");
      if (c.pooler) append(v, {"pooler.dense", "pooler.activation"});
      break;
    }
    case Family::t5:
    case Family::bart: {
      bool t5 = c.family == Family::t5;
      for (const std::string stack : {"encoder", "decoder"}) {
        bool dec = stack == "decoder";
        const StackConfig& s = dec ? c.decoder : c.encoder;
        v.push_back(stack + ".embeddings.word");
        if (t5) v.push_back(stack + ".position_bias");
        else append(v, {stack + ".embeddings.position", stack + ".embeddings.add", stack + ".embeddings.norm"});
        for (int64_t i = 0; i < s.num_layers; ++i) {
          std::string l = stack + ".layers." + std::to_string(i);
          std::vector<std::vector<std::string>> blocks{attention_leaves(l + ".attention", false, false, true)};
          if (dec) blocks.push_back(attention_leaves(l + ".cross_attention", false, false, true));
          blocks.push_back(mlp_leaves(l + ".mlp", c.gated_mlp));
          append(v, layer_leaves(l, t5, blocks));
        }
        if (t5) v.push_back(stack + ".final_norm");
      }
      if (c.head == Head::seq2seq_lm) v.push_back("lm_head");
      break;
    }
  }
  return v;
}

std::vector<std::string> leaf_names(const ComponentGraph& g) {
  std::vector<std::string> out;
  for (int n : g.leaves()) out.push_back(g.nodes[size_t(n)].name);
  return out;
}

// ---- Random configs of every family ---------------------------------------------------------

json random_config(const std::string& type) {
  int64_t heads = draw(1, 4), head_dim = 2 * draw(1, 4), hidden = heads * head_dim;
  json j = {{"model_type", type}};
  auto bertish = [&](bool distil) {
    j[distil ? "dim" : "hidden_size"] = hidden;
    j[distil ? "n_layers" : "num_hidden_layers"] = draw(1, 3);
    j[distil ? "n_heads" : "num_attention_heads"] = heads;
    j[distil ? "hidden_dim" : "intermediate_size"] = draw(1, 40);
    j["vocab_size"] = draw(20, 90);
    j["max_position_embeddings"] = draw(8, 40);
    if (!distil) j["type_vocab_size"] = draw(1, 3);
  };
  if (type == "bert" || type == "roberta" || type == "distilbert") {
    bertish(type == "distilbert");
    if (type == "roberta") j["pad_token_id"] = draw(0, 5);
    j["tie_word_embeddings"] = coin();
    j["architectures"] = {type == "bert" ? (coin() ? "BertModel" : "BertForMaskedLM")
                          : type == "roberta" ? (coin() ? "RobertaModel" : "RobertaForMaskedLM")
                                              : (coin() ? "DistilBertModel" : "DistilBertForMaskedLM")};
  } else if (type == "albert") {
    bertish(false);
    int64_t layers = draw(1, 5);
    j["num_hidden_layers"] = layers;
    j["embedding_size"] = draw(1, 12);
    j["num_hidden_groups"] = draw(1, layers);
    j["architectures"] = {coin() ? "AlbertModel" : "AlbertForMaskedLM"};
  } else if (type == "gpt2") {
    j.update({{"vocab_size", draw(20, 90)}, {"n_embd", hidden}, {"n_layer", draw(1, 3)}, {"n_head", heads},
              {"n_positions", draw(4, 30)}, {"tie_word_embeddings", coin()}});
    if (coin()) j["n_inner"] = draw(1, 40);
    j["architectures"] = {coin() ? "GPT2Model" : "GPT2LMHeadModel"};
  } else if (type == "llama" || type == "mistral" || type == "qwen2" || type == "mixtral") {
    int64_t kv = heads;
    while (heads % kv != 0 || coin()) kv = draw(1, heads);  // GQA / MQA / MHA
    j.update({{"vocab_size", draw(20, 90)}, {"hidden_size", hidden}, {"num_hidden_layers", draw(1, 3)},
              {"num_attention_heads", heads}, {"num_key_value_heads", kv}, {"intermediate_size", draw(1, 40)},
              {"tie_word_embeddings", coin()}});
    if (coin()) j["head_dim"] = 2 * draw(1, 5);  // explicit, often != hidden / heads
    if (type == "llama") j.update({{"attention_bias", coin()}, {"mlp_bias", coin()}});
    if (type == "mistral") j["sliding_window"] = coin() ? json(draw(1, 16)) : json(nullptr);
    if (type == "mixtral") {
      int64_t experts = draw(1, 4);
      j.update({{"num_local_experts", experts}, {"num_experts_per_tok", draw(1, experts)}});
    }
    std::string cls = type == "llama" ? "Llama" : type == "mistral" ? "Mistral" : type == "qwen2" ? "Qwen2" : "Mixtral";
    j["architectures"] = {cls + (coin() ? "Model" : "ForCausalLM")};
  } else if (type == "t5") {
    j.update({{"vocab_size", draw(20, 90)}, {"d_model", draw(2, 20)}, {"d_kv", draw(1, 6)}, {"d_ff", draw(1, 40)},
              {"num_layers", draw(1, 3)}, {"num_decoder_layers", draw(1, 3)}, {"num_heads", draw(1, 4)},
              {"relative_attention_num_buckets", draw(2, 40)}, {"tie_word_embeddings", coin()},
              {"feed_forward_proj", coin() ? "relu" : "gated-gelu"}});
    j["architectures"] = {coin() ? "T5Model" : "T5ForConditionalGeneration"};
  } else if (type == "bart") {
    int64_t dec_heads = draw(1, 4);
    hidden = heads * dec_heads * draw(1, 3);
    j.update({{"vocab_size", draw(20, 90)}, {"d_model", hidden}, {"encoder_layers", draw(1, 3)},
              {"decoder_layers", draw(1, 3)}, {"encoder_attention_heads", heads},
              {"decoder_attention_heads", dec_heads}, {"encoder_ffn_dim", draw(1, 40)},
              {"decoder_ffn_dim", draw(1, 40)}, {"max_position_embeddings", draw(4, 40)},
              {"tie_word_embeddings", coin()}});
    j["architectures"] = {coin() ? "BartModel" : "BartForConditionalGeneration"};
  } else if (type == "vit") {
    int64_t patch = draw(1, 5);
    j.update({{"hidden_size", hidden}, {"num_hidden_layers", draw(1, 3)}, {"num_attention_heads", heads},
              {"intermediate_size", draw(1, 40)}, {"patch_size", patch}, {"image_size", patch * draw(1, 6)},
              {"num_channels", draw(1, 4)}, {"qkv_bias", coin()}, {"num_labels", draw(1, 12)}});
    if (coin()) j["pooler_output_size"] = draw(1, 20);
    j["architectures"] = {coin() ? "ViTModel" : "ViTForImageClassification"};
  }
  return j;
}

const char* kTypes[] = {"bert", "roberta", "distilbert", "albert", "gpt2", "llama", "mistral",
                        "qwen2", "mixtral", "t5", "bart", "vit"};

// ---- Tests ---------------------------------------------------------------------------------

TEST(Graph, EveryZooModelAndHeadFollowsNamingAndInvariants) {
  for (const auto& e : zoo_entries()) {
    for (const char* head : {"", "base", "causal_lm", "mlm", "seq2seq_lm", "image_classification"}) {
      ModelConfig c = zoo_config(e.name);
      if (*head) {
        try {
          select_head(c, head);
        } catch (const Error&) {
          continue;  // the family has no such head
        }
      }
      SCOPED_TRACE(e.name + " " + c.architecture);
      ComponentGraph g = build_graph(c);
      expect_invariants(g);
      EXPECT_EQ(leaf_names(g), expected_leaves(c));
      EXPECT_EQ(g.param_count(), testing::reference_param_count(testing::zoo_json(e.name), c.architecture));
    }
  }
}

TEST(Graph, RandomConfigsOfEveryFamilyMatchTheIndependentCount) {
  SCOPED_TRACE(testing::seed_note());
  for (int round = 0; round < 40; ++round) {
    for (const char* type : kTypes) {
      json j = random_config(type);
      SCOPED_TRACE(j.dump());
      ModelConfig c = parse(j);
      ComponentGraph g = build_graph(c);
      expect_invariants(g);
      EXPECT_EQ(leaf_names(g), expected_leaves(c));
      EXPECT_EQ(g.param_count(), testing::reference_param_count(j));
    }
  }
}

TEST(Graph, AlbertLayersShareTheirGroupsTensors) {
  json j = testing::zoo_json("albert-base-v2");
  ComponentGraph g = build_graph(parse(j));
  EXPECT_EQ(g.at("layers.7.attention.q_proj").params_from, "layers.0.attention.q_proj");
  EXPECT_EQ(g.at("layers.11.norm2").params_from, "layers.0.norm2");
  EXPECT_TRUE(g.at("layers.0.mlp.up_proj").params_from.empty());
  EXPECT_FALSE(g.at("layers.0.mlp.up_proj").params.empty());
  EXPECT_TRUE(g.at("layers.5.attention.scores").params_from.empty());  // nothing to share
  j["num_hidden_layers"] = 4;
  j["num_hidden_groups"] = 2;
  g = build_graph(parse(j));
  EXPECT_TRUE(g.at("layers.2.mlp.down_proj").params_from.empty());
  EXPECT_EQ(g.at("layers.3.mlp.down_proj").params_from, "layers.2.mlp.down_proj");
  EXPECT_EQ(g.at("layers.1.attention.out_proj").params_from, "layers.0.attention.out_proj");
  // Python's float division int(9 / (18 / 14)) = 6 puts layer 9 in layer 8's group (exactly: 7).
  j["num_hidden_layers"] = 18;
  j["num_hidden_groups"] = 14;
  g = build_graph(parse(j));
  EXPECT_EQ(g.at("layers.9.norm1").params_from, "layers.8.norm1");
  EXPECT_TRUE(g.at("layers.10.norm1").params_from.empty());
  EXPECT_EQ(g.param_count(), testing::reference_param_count(j));
}

TEST(Graph, TiedEmbeddingsAndHeads) {
  ComponentGraph gpt2 = build_graph(zoo_config("gpt2"));
  EXPECT_EQ(gpt2.at("lm_head").params_from, "embeddings.word");
  EXPECT_TRUE(gpt2.at("lm_head").params.empty());
  ComponentGraph llama = build_graph(zoo_config("llama-2-7b"));
  EXPECT_TRUE(llama.at("lm_head").params_from.empty());
  EXPECT_EQ(llama.at("lm_head").params[0].shape, (std::vector<int64_t>{32000, 4096}));
  EXPECT_EQ(build_graph(zoo_config("llama-3.2-1b")).at("lm_head").params_from, "embeddings.word");
  ComponentGraph t5 = build_graph(zoo_config("t5-small"));
  EXPECT_EQ(t5.at("decoder.embeddings.word").params_from, "encoder.embeddings.word");
  EXPECT_EQ(t5.at("lm_head").params_from, "encoder.embeddings.word");
  ModelConfig bert = zoo_config("bert-base-uncased");
  select_head(bert, "mlm");
  ComponentGraph mlm = build_graph(bert);
  const Component& decoder = mlm.at("lm_head.decoder");
  EXPECT_EQ(decoder.params_from, "embeddings.word");
  ASSERT_EQ(decoder.params.size(), 1u);
  EXPECT_EQ(decoder.params[0].name, "lm_head.decoder.bias");
  EXPECT_EQ(mlm.param_count(), 109514298);  // BertForMaskedLM.num_parameters()
  ComponentGraph bart = build_graph(zoo_config("bart-base"));
  EXPECT_EQ(bart.at("decoder.embeddings.word").params_from, "encoder.embeddings.word");
}

TEST(Graph, PositionTablesAndShapes) {
  EXPECT_EQ(build_graph(zoo_config("roberta-base")).at("embeddings.position").params[0].shape,
            (std::vector<int64_t>{514, 768}));
  ComponentGraph bart = build_graph(zoo_config("bart-base"));
  EXPECT_EQ(bart.at("encoder.embeddings.position").params[0].shape, (std::vector<int64_t>{1026, 768}));
  EXPECT_EQ(bart.at("decoder.embeddings.position").params[0].shape, (std::vector<int64_t>{1026, 768}));
  ComponentGraph vit = build_graph(zoo_config("vit-base-patch16-224"));
  EXPECT_EQ(vit.at("embeddings.patch_embedding").params[0].shape, (std::vector<int64_t>{768, 3, 16, 16}));
  EXPECT_EQ(vit.at("embeddings.patch_embedding").in_features, 768);
  EXPECT_EQ(vit.at("embeddings.cls_token").params[0].name, "embeddings.cls_token.weight");
  EXPECT_EQ(vit.at("embeddings.cls_token").params[0].shape, (std::vector<int64_t>{1, 1, 768}));
  EXPECT_EQ(vit.at("embeddings.position").params[0].shape, (std::vector<int64_t>{197, 768}));
  EXPECT_EQ(vit.at("classifier").scope, TokenScope::first_token);
  ComponentGraph t5 = build_graph(zoo_config("t5-small"));
  EXPECT_EQ(t5.at("encoder.position_bias").params[0].shape, (std::vector<int64_t>{32, 8}));
  EXPECT_FALSE(t5.at("encoder.position_bias").attention.causal);
  EXPECT_TRUE(t5.at("decoder.position_bias").attention.causal);
  ComponentGraph gpt2 = build_graph(zoo_config("gpt2"));
  EXPECT_EQ(gpt2.at("layers.3.attention.qkv_proj").params[0].shape, (std::vector<int64_t>{2304, 768}));
  ComponentGraph qwen = build_graph(zoo_config("qwen2.5-0.5b"));
  EXPECT_EQ(qwen.at("layers.0.attention.k_proj").params[1].shape, std::vector<int64_t>{128});
  EXPECT_EQ(qwen.at("layers.0.attention.out_proj").params.size(), 1u);
  ComponentGraph mixtral = build_graph(zoo_config("mixtral-8x7b-v0.1"));
  EXPECT_EQ(mixtral.at("layers.31.moe.experts.7.down_proj").params[0].shape, (std::vector<int64_t>{4096, 14336}));
  EXPECT_EQ(mixtral.at("layers.31.moe.experts.7").scope, TokenScope::routed);
  EXPECT_EQ(mixtral.at("layers.0.moe.router").top_k, 2);
  EXPECT_EQ(mixtral.at("layers.0.moe.combine").experts, 8);
}

TEST(Graph, LeafDimensionsAndAttentionShapes) {
  ComponentGraph gpt2 = build_graph(zoo_config("gpt2"));
  const Component& scores = gpt2.at("layers.0.attention.scores");
  EXPECT_EQ(scores.op, OpKind::attention_scores);
  EXPECT_TRUE(scores.attention.causal);
  EXPECT_TRUE(scores.attention.scaled);
  EXPECT_EQ(scores.attention.heads, 12);
  EXPECT_EQ(scores.attention.head_dim, 64);
  EXPECT_EQ(gpt2.at("layers.0.mlp.activation").activation, Activation::gelu_tanh);
  EXPECT_EQ(gpt2.at("layers.0.mlp.activation").width, 3072);
  EXPECT_EQ(gpt2.at("embeddings.add").add_inputs, 2);
  ComponentGraph mistral = build_graph(zoo_config("mistral-7b-v0.1"));
  EXPECT_EQ(mistral.at("layers.0.attention.mask").attention.window, 4096);
  EXPECT_EQ(mistral.at("layers.0.attention.context").attention.kv_heads, 8);
  EXPECT_TRUE(mistral.at("layers.0.mlp.activation").gated);
  EXPECT_EQ(mistral.at("layers.0.mlp.activation").activation, Activation::silu);
  EXPECT_EQ(mistral.at("layers.0.norm1").norm, NormKind::rms_norm);
  EXPECT_DOUBLE_EQ(mistral.at("layers.0.norm1").norm_eps, 1e-5);
  ComponentGraph bert = build_graph(zoo_config("bert-base-uncased"));
  EXPECT_EQ(bert.at("embeddings.add").add_inputs, 3);
  EXPECT_FALSE(bert.at("layers.0.attention.mask").attention.causal);
  EXPECT_EQ(bert.at("pooler").scope, TokenScope::first_token);
  EXPECT_EQ(bert.at("pooler.dense").scope, TokenScope::first_token);
  EXPECT_EQ(bert.at("pooler.activation").activation, Activation::tanh);
  ComponentGraph t5 = build_graph(zoo_config("t5-base"));
  const Component& mask = t5.at("encoder.layers.0.attention.mask");
  EXPECT_TRUE(mask.attention.relative_bias);
  EXPECT_FALSE(mask.attention.scaled);
  const Component& cross = t5.at("decoder.layers.0.cross_attention.scores");
  EXPECT_TRUE(cross.attention.cross);
  EXPECT_FALSE(cross.attention.causal);
  EXPECT_FALSE(cross.attention.relative_bias);
  EXPECT_TRUE(t5.at("decoder.layers.0.attention.scores").attention.causal);
  EXPECT_EQ(t5.at("decoder.layers.0.cross_attention.k_proj").stream, Stream::encoder);
  EXPECT_EQ(t5.at("decoder.layers.0.cross_attention.q_proj").stream, Stream::decoder);
  EXPECT_EQ(t5.at("encoder.layers.0.mlp.up_proj").stream, Stream::encoder);
  EXPECT_EQ(t5.at("lm_head").stream, Stream::decoder);
  EXPECT_EQ(build_graph(zoo_config("vit-base-patch16-224")).at("layers.0.mlp.up_proj").stream, Stream::vision);
  EXPECT_EQ(gpt2.at("layers.4.attention.out_proj").layer, 4);
  EXPECT_EQ(gpt2.at("final_norm").layer, -1);
}

TEST(Graph, Queries) {
  ModelConfig c = zoo_config("bert-base-uncased");
  select_head(c, "mlm");
  ComponentGraph g = build_graph(c);
  EXPECT_EQ(g.find("nope"), -1);
  std::string m = testing::error_message([&] { g.at("layers.99.attention"); });
  EXPECT_NE(m.find("layers.99.attention"), std::string::npos);
  EXPECT_EQ(g.block_kind(g.find("layers.0.attention.q_proj")), ComponentKind::attention);
  EXPECT_EQ(g.block_kind(g.find("layers.0.attention")), ComponentKind::attention);
  EXPECT_EQ(g.block_kind(g.find("layers.0.residual1")), ComponentKind::residual);
  EXPECT_EQ(g.block_kind(g.find("layers.0.norm1")), ComponentKind::norm);
  EXPECT_EQ(g.block_kind(g.find("lm_head.decoder")), ComponentKind::head);
  EXPECT_EQ(g.block_kind(g.find("embeddings.norm")), ComponentKind::embeddings);
  ComponentGraph x = build_graph(zoo_config("mixtral-8x7b-v0.1"));
  EXPECT_EQ(x.block_kind(x.find("layers.2.moe.experts.3.up_proj")), ComponentKind::moe);
  int layer = g.find("layers.2");
  std::vector<int> under = g.leaves_under(layer);
  ASSERT_EQ(under.size(), 15u);
  EXPECT_EQ(g.nodes[size_t(under.front())].name, "layers.2.attention.q_proj");
  EXPECT_EQ(g.nodes[size_t(under.back())].name, "layers.2.norm2");
  int leaf = g.find("layers.2.norm2");
  EXPECT_EQ(g.leaves_under(leaf), std::vector<int>{leaf});
  EXPECT_EQ(g.parameters().front().name, "embeddings.word.weight");
  EXPECT_EQ(g.parameters().back().name, "lm_head.decoder.bias");
  EXPECT_EQ(g.param_owner(g.find("lm_head.decoder")), g.find("embeddings.word"));
  EXPECT_STREQ(to_string(ComponentKind::cross_attention), "cross_attention");
  EXPECT_STREQ(to_string(OpKind::attention_mask), "attention_mask");
  EXPECT_STREQ(to_string(Stream::vision), "vision");
  EXPECT_STREQ(to_string(TokenScope::routed), "routed");
  EXPECT_EQ(g.config.architecture, "BertForMaskedLM");
}

}  // namespace
}  // namespace clear
