// Hugging Face tensor names <-> canonical names, one rule table per family.
// A rule pairs a canonical pattern with a Hugging Face pattern; placeholders are whole
// dot-separated segments: {i} a layer index, {e} an expert index, {r} the role (weight|bias).
// Sources: transformers' modeling_<family>.py module names (state_dict keys).
#include "engine/weights/hf_names.hpp"

#include <map>
#include <optional>

#include "clear/util/error.hpp"
#include "model/families/families.hpp"  // albert_group_of: one layer->group rule for graph and names

namespace clear::hf {
namespace {

struct Rule {
  std::string canonical;  // pattern; empty for buffers and other heads
  std::string hf;         // pattern, without the base prefix when in_base
  bool in_base = true;
  Transform transform = Transform::none;
  RuleKind kind = RuleKind::param;
};

using Vars = std::map<std::string, std::string>;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return s.size() == 1 || s[0] != '0';
}

// Matches `name` against `pattern`, filling the placeholders.
bool match(const std::string& pattern, const std::string& name, Vars* vars) {
  auto p = split(pattern), n = split(name);
  if (p.size() != n.size()) return false;
  Vars found;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] == "{i}" || p[k] == "{e}") {
      if (!all_digits(n[k])) return false;
      found[p[k]] = n[k];
    } else if (p[k] == "{r}") {
      if (n[k] != "weight" && n[k] != "bias") return false;
      found[p[k]] = n[k];
    } else if (p[k] != n[k]) {
      return false;
    }
  }
  *vars = std::move(found);
  return true;
}

std::string fill(const std::string& pattern, const Vars& vars) {
  std::string out;
  for (const auto& part : split(pattern)) {
    auto it = vars.find(part);
    out += (out.empty() ? "" : ".") + (it != vars.end() ? it->second : part);
  }
  return out;
}

// ---- rule tables ----

using Rules = std::vector<Rule>;

void param(Rules& r, std::string canonical, std::string hf, bool in_base = true, Transform t = Transform::none) {
  r.push_back({std::move(canonical), std::move(hf), in_base, t, RuleKind::param});
}
void copy(Rules& r, std::string canonical, std::string hf, bool in_base = true) {
  r.push_back({std::move(canonical), std::move(hf), in_base, Transform::none, RuleKind::copy});
}
void skip(Rules& r, std::string hf, RuleKind kind, bool in_base = true) {
  r.push_back({"", std::move(hf), in_base, Transform::none, kind});
}

// BERT-style embeddings (BERT, RoBERTa, ALBERT; DistilBERT has no token types).
void bert_embeddings(Rules& r) {
  param(r, "embeddings.word.{r}", "embeddings.word_embeddings.{r}");
  param(r, "embeddings.position.{r}", "embeddings.position_embeddings.{r}");
  param(r, "embeddings.token_type.{r}", "embeddings.token_type_embeddings.{r}");
  param(r, "embeddings.norm.{r}", "embeddings.LayerNorm.{r}");
  skip(r, "embeddings.position_ids", RuleKind::buffer);
  skip(r, "embeddings.token_type_ids", RuleKind::buffer);
}

// BertLayer / RobertaLayer under `layer` (e.g. "encoder.layer.{i}").
void bert_layer(Rules& r, const std::string& layer) {
  param(r, "layers.{i}.attention.q_proj.{r}", layer + ".attention.self.query.{r}");
  param(r, "layers.{i}.attention.k_proj.{r}", layer + ".attention.self.key.{r}");
  param(r, "layers.{i}.attention.v_proj.{r}", layer + ".attention.self.value.{r}");
  param(r, "layers.{i}.attention.out_proj.{r}", layer + ".attention.output.dense.{r}");
  param(r, "layers.{i}.norm1.{r}", layer + ".attention.output.LayerNorm.{r}");
  param(r, "layers.{i}.mlp.up_proj.{r}", layer + ".intermediate.dense.{r}");
  param(r, "layers.{i}.mlp.down_proj.{r}", layer + ".output.dense.{r}");
  param(r, "layers.{i}.norm2.{r}", layer + ".output.LayerNorm.{r}");
}

Rules bert_rules(Family family) {
  Rules r;
  bert_embeddings(r);
  bert_layer(r, "encoder.layer.{i}");
  param(r, "pooler.dense.{r}", "pooler.dense.{r}");
  if (family == Family::bert) {
    // BertOnlyMLMHead / BertPreTrainingHeads; the decoder's bias is the head's `bias`.
    param(r, "lm_head.transform.{r}", "cls.predictions.transform.dense.{r}", false);
    param(r, "lm_head.norm.{r}", "cls.predictions.transform.LayerNorm.{r}", false);
    param(r, "lm_head.decoder.bias", "cls.predictions.bias", false);
    param(r, "lm_head.decoder.weight", "cls.predictions.decoder.weight", false);
    copy(r, "lm_head.decoder.bias", "cls.predictions.decoder.bias", false);
    skip(r, "cls.seq_relationship.{r}", RuleKind::other_head, false);  // next-sentence head
  } else {
    // RobertaLMHead.
    param(r, "lm_head.transform.{r}", "lm_head.dense.{r}", false);
    param(r, "lm_head.norm.{r}", "lm_head.layer_norm.{r}", false);
    param(r, "lm_head.decoder.bias", "lm_head.bias", false);
    param(r, "lm_head.decoder.weight", "lm_head.decoder.weight", false);
    copy(r, "lm_head.decoder.bias", "lm_head.decoder.bias", false);
  }
  return r;
}

Rules distilbert_rules() {
  Rules r;
  param(r, "embeddings.word.{r}", "embeddings.word_embeddings.{r}");
  param(r, "embeddings.position.{r}", "embeddings.position_embeddings.{r}");
  param(r, "embeddings.norm.{r}", "embeddings.LayerNorm.{r}");
  skip(r, "embeddings.position_ids", RuleKind::buffer);
  const std::string layer = "transformer.layer.{i}";
  param(r, "layers.{i}.attention.q_proj.{r}", layer + ".attention.q_lin.{r}");
  param(r, "layers.{i}.attention.k_proj.{r}", layer + ".attention.k_lin.{r}");
  param(r, "layers.{i}.attention.v_proj.{r}", layer + ".attention.v_lin.{r}");
  param(r, "layers.{i}.attention.out_proj.{r}", layer + ".attention.out_lin.{r}");
  param(r, "layers.{i}.norm1.{r}", layer + ".sa_layer_norm.{r}");
  param(r, "layers.{i}.mlp.up_proj.{r}", layer + ".ffn.lin1.{r}");
  param(r, "layers.{i}.mlp.down_proj.{r}", layer + ".ffn.lin2.{r}");
  param(r, "layers.{i}.norm2.{r}", layer + ".output_layer_norm.{r}");
  param(r, "lm_head.transform.{r}", "vocab_transform.{r}", false);
  param(r, "lm_head.norm.{r}", "vocab_layer_norm.{r}", false);
  param(r, "lm_head.decoder.{r}", "vocab_projector.{r}", false);
  return r;
}

// ALBERT: layer group g holds the parameters of the layers assigned to it ({i} here is the
// group index; to_hf/from_hf convert between layer and group).
Rules albert_rules() {
  Rules r;
  bert_embeddings(r);
  param(r, "embeddings.projection.{r}", "encoder.embedding_hidden_mapping_in.{r}");
  const std::string layer = "encoder.albert_layer_groups.{i}.albert_layers.0";
  param(r, "layers.{i}.attention.q_proj.{r}", layer + ".attention.query.{r}");
  param(r, "layers.{i}.attention.k_proj.{r}", layer + ".attention.key.{r}");
  param(r, "layers.{i}.attention.v_proj.{r}", layer + ".attention.value.{r}");
  param(r, "layers.{i}.attention.out_proj.{r}", layer + ".attention.dense.{r}");
  param(r, "layers.{i}.norm1.{r}", layer + ".attention.LayerNorm.{r}");
  param(r, "layers.{i}.mlp.up_proj.{r}", layer + ".ffn.{r}");
  param(r, "layers.{i}.mlp.down_proj.{r}", layer + ".ffn_output.{r}");
  param(r, "layers.{i}.norm2.{r}", layer + ".full_layer_layer_norm.{r}");
  param(r, "pooler.dense.{r}", "pooler.{r}");
  param(r, "lm_head.transform.{r}", "predictions.dense.{r}", false);
  param(r, "lm_head.norm.{r}", "predictions.LayerNorm.{r}", false);
  param(r, "lm_head.decoder.bias", "predictions.bias", false);
  param(r, "lm_head.decoder.weight", "predictions.decoder.weight", false);
  copy(r, "lm_head.decoder.bias", "predictions.decoder.bias", false);
  skip(r, "sop_classifier.classifier.{r}", RuleKind::other_head, false);  // sentence-order head
  return r;
}

// GPT-2's Conv1D modules store weight [in, out].
Rules gpt2_rules() {
  Rules r;
  const auto T = Transform::transpose;
  param(r, "embeddings.word.weight", "wte.weight");
  param(r, "embeddings.position.weight", "wpe.weight");
  param(r, "layers.{i}.norm1.{r}", "h.{i}.ln_1.{r}");
  param(r, "layers.{i}.attention.qkv_proj.weight", "h.{i}.attn.c_attn.weight", true, T);
  param(r, "layers.{i}.attention.qkv_proj.bias", "h.{i}.attn.c_attn.bias");
  param(r, "layers.{i}.attention.out_proj.weight", "h.{i}.attn.c_proj.weight", true, T);
  param(r, "layers.{i}.attention.out_proj.bias", "h.{i}.attn.c_proj.bias");
  param(r, "layers.{i}.norm2.{r}", "h.{i}.ln_2.{r}");
  param(r, "layers.{i}.mlp.up_proj.weight", "h.{i}.mlp.c_fc.weight", true, T);
  param(r, "layers.{i}.mlp.up_proj.bias", "h.{i}.mlp.c_fc.bias");
  param(r, "layers.{i}.mlp.down_proj.weight", "h.{i}.mlp.c_proj.weight", true, T);
  param(r, "layers.{i}.mlp.down_proj.bias", "h.{i}.mlp.c_proj.bias");
  param(r, "final_norm.{r}", "ln_f.{r}");
  param(r, "lm_head.weight", "lm_head.weight", false);
  skip(r, "h.{i}.attn.bias", RuleKind::buffer);         // causal mask
  skip(r, "h.{i}.attn.masked_bias", RuleKind::buffer);  // mask fill value
  return r;
}

// Llama, Mistral, Qwen2, Mixtral.
Rules llama_rules(Family family) {
  Rules r;
  param(r, "embeddings.word.weight", "embed_tokens.weight");
  param(r, "layers.{i}.norm1.weight", "layers.{i}.input_layernorm.weight");
  param(r, "layers.{i}.attention.q_proj.{r}", "layers.{i}.self_attn.q_proj.{r}");
  param(r, "layers.{i}.attention.k_proj.{r}", "layers.{i}.self_attn.k_proj.{r}");
  param(r, "layers.{i}.attention.v_proj.{r}", "layers.{i}.self_attn.v_proj.{r}");
  param(r, "layers.{i}.attention.out_proj.{r}", "layers.{i}.self_attn.o_proj.{r}");
  param(r, "layers.{i}.norm2.weight", "layers.{i}.post_attention_layernorm.weight");
  if (family == Family::mixtral) {
    param(r, "layers.{i}.moe.router.weight", "layers.{i}.block_sparse_moe.gate.weight");
    const std::string expert = "layers.{i}.block_sparse_moe.experts.{e}";
    param(r, "layers.{i}.moe.experts.{e}.gate_proj.weight", expert + ".w1.weight");
    param(r, "layers.{i}.moe.experts.{e}.up_proj.weight", expert + ".w3.weight");
    param(r, "layers.{i}.moe.experts.{e}.down_proj.weight", expert + ".w2.weight");
  } else {
    param(r, "layers.{i}.mlp.gate_proj.{r}", "layers.{i}.mlp.gate_proj.{r}");
    param(r, "layers.{i}.mlp.up_proj.{r}", "layers.{i}.mlp.up_proj.{r}");
    param(r, "layers.{i}.mlp.down_proj.{r}", "layers.{i}.mlp.down_proj.{r}");
  }
  param(r, "final_norm.weight", "norm.weight");
  param(r, "lm_head.weight", "lm_head.weight", false);
  skip(r, "layers.{i}.self_attn.rotary_emb.inv_freq", RuleKind::buffer);
  skip(r, "rotary_emb.inv_freq", RuleKind::buffer);
  return r;
}

// T5: modules at the top level; the embedding is `shared`, encoder/decoder embed_tokens are tied to it.
Rules t5_rules(const ModelConfig& c) {
  Rules r;
  param(r, "encoder.embeddings.word.weight", "shared.weight");
  copy(r, "encoder.embeddings.word.weight", "encoder.embed_tokens.weight");
  param(r, "decoder.embeddings.word.weight", "decoder.embed_tokens.weight");
  for (std::string stack : {"encoder", "decoder"}) {
    const std::string block = stack + ".block.{i}";
    const std::string layers = stack + ".layers.{i}";
    // Only block 0 holds the relative position table; every layer of the stack uses it.
    param(r, stack + ".position_bias.weight", stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    const std::string self = block + ".layer.0.SelfAttention";
    param(r, layers + ".attention.q_proj.weight", self + ".q.weight");
    param(r, layers + ".attention.k_proj.weight", self + ".k.weight");
    param(r, layers + ".attention.v_proj.weight", self + ".v.weight");
    param(r, layers + ".attention.out_proj.weight", self + ".o.weight");
    param(r, layers + ".norm1.weight", block + ".layer.0.layer_norm.weight");
    std::string ffn_layer = block + ".layer.1";
    std::string ffn_norm = layers + ".norm2.weight";
    if (stack == "decoder") {
      const std::string cross = block + ".layer.1.EncDecAttention";
      param(r, layers + ".cross_attention.q_proj.weight", cross + ".q.weight");
      param(r, layers + ".cross_attention.k_proj.weight", cross + ".k.weight");
      param(r, layers + ".cross_attention.v_proj.weight", cross + ".v.weight");
      param(r, layers + ".cross_attention.out_proj.weight", cross + ".o.weight");
      param(r, layers + ".norm2.weight", block + ".layer.1.layer_norm.weight");
      ffn_layer = block + ".layer.2";
      ffn_norm = layers + ".norm3.weight";
    }
    const std::string ffn = ffn_layer + ".DenseReluDense";
    if (c.gated_mlp) {
      param(r, layers + ".mlp.gate_proj.weight", ffn + ".wi_0.weight");
      param(r, layers + ".mlp.up_proj.weight", ffn + ".wi_1.weight");
    } else {
      param(r, layers + ".mlp.up_proj.weight", ffn + ".wi.weight");
    }
    param(r, layers + ".mlp.down_proj.weight", ffn + ".wo.weight");
    param(r, ffn_norm, ffn_layer + ".layer_norm.weight");
    param(r, stack + ".final_norm.weight", stack + ".final_layer_norm.weight");
  }
  param(r, "lm_head.weight", "lm_head.weight", false);
  // Older checkpoints carry an unused cross-attention position table (transformers ignores it too).
  skip(r, "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight", RuleKind::buffer);
  return r;
}

Rules bart_rules() {
  Rules r;
  param(r, "encoder.embeddings.word.weight", "shared.weight");
  copy(r, "encoder.embeddings.word.weight", "encoder.embed_tokens.weight");
  param(r, "decoder.embeddings.word.weight", "decoder.embed_tokens.weight");
  for (std::string stack : {"encoder", "decoder"}) {
    param(r, stack + ".embeddings.position.weight", stack + ".embed_positions.weight");
    param(r, stack + ".embeddings.norm.{r}", stack + ".layernorm_embedding.{r}");
    const std::string hf = stack + ".layers.{i}";
    const std::string layers = stack + ".layers.{i}";
    for (std::string p : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      param(r, layers + ".attention." + p + ".{r}", hf + ".self_attn." + p + ".{r}");
      if (stack == "decoder") param(r, layers + ".cross_attention." + p + ".{r}", hf + ".encoder_attn." + p + ".{r}");
    }
    param(r, layers + ".norm1.{r}", hf + ".self_attn_layer_norm.{r}");
    param(r, layers + ".mlp.up_proj.{r}", hf + ".fc1.{r}");
    param(r, layers + ".mlp.down_proj.{r}", hf + ".fc2.{r}");
    if (stack == "decoder") {
      param(r, layers + ".norm2.{r}", hf + ".encoder_attn_layer_norm.{r}");
      param(r, layers + ".norm3.{r}", hf + ".final_layer_norm.{r}");
    } else {
      param(r, layers + ".norm2.{r}", hf + ".final_layer_norm.{r}");
    }
  }
  param(r, "lm_head.weight", "lm_head.weight", false);
  skip(r, "final_logits_bias", RuleKind::zero_buffer, false);  // BartForConditionalGeneration buffer
  return r;
}

Rules vit_rules() {
  Rules r;
  param(r, "embeddings.cls_token.weight", "embeddings.cls_token");
  param(r, "embeddings.position.weight", "embeddings.position_embeddings", true, Transform::unsqueeze);
  param(r, "embeddings.patch_embedding.{r}", "embeddings.patch_embeddings.projection.{r}");
  const std::string layer = "encoder.layer.{i}";
  param(r, "layers.{i}.norm1.{r}", layer + ".layernorm_before.{r}");
  param(r, "layers.{i}.attention.q_proj.{r}", layer + ".attention.attention.query.{r}");
  param(r, "layers.{i}.attention.k_proj.{r}", layer + ".attention.attention.key.{r}");
  param(r, "layers.{i}.attention.v_proj.{r}", layer + ".attention.attention.value.{r}");
  param(r, "layers.{i}.attention.out_proj.{r}", layer + ".attention.output.dense.{r}");
  param(r, "layers.{i}.norm2.{r}", layer + ".layernorm_after.{r}");
  param(r, "layers.{i}.mlp.up_proj.{r}", layer + ".intermediate.dense.{r}");
  param(r, "layers.{i}.mlp.down_proj.{r}", layer + ".output.dense.{r}");
  param(r, "final_norm.{r}", "layernorm.{r}");
  param(r, "pooler.dense.{r}", "pooler.dense.{r}");
  param(r, "classifier.{r}", "classifier.{r}", false);
  return r;
}

Rules rules_for(const ModelConfig& c) {
  switch (c.family) {
    case Family::bert:
    case Family::roberta: return bert_rules(c.family);
    case Family::distilbert: return distilbert_rules();
    case Family::albert: return albert_rules();
    case Family::gpt2: return gpt2_rules();
    case Family::llama:
    case Family::mistral:
    case Family::qwen2:
    case Family::mixtral: return llama_rules(c.family);
    case Family::t5: return t5_rules(c);
    case Family::bart: return bart_rules();
    case Family::vit: return vit_rules();
  }
  throw Error(std::string("hf_names: no name table for family ") + to_string(c.family));
}

// ALBERT layer <-> layer group, with the model stage's assignment (families::albert_group_of).
std::string albert_layer_to_group(const ModelConfig& c, const std::string& layer) {
  return std::to_string(families::albert_group_of(std::stoll(layer), c.encoder.num_layers, c.albert_groups));
}
// The first layer of the group owns the group's parameters in the canonical graph; a group past
// the last gives a layer index past the last (an unexpected tensor).
std::string albert_group_to_layer(const ModelConfig& c, const std::string& group) {
  const int64_t g = std::stoll(group);
  int64_t i = 0;
  while (i < c.encoder.num_layers && families::albert_group_of(i, c.encoder.num_layers, c.albert_groups) < g) ++i;
  if (i < c.encoder.num_layers && families::albert_group_of(i, c.encoder.num_layers, c.albert_groups) != g)
    i = c.encoder.num_layers;
  return std::to_string(i);
}

HfTensor make(const Rule& rule, const std::string& hf_name, const std::string& canonical) {
  HfTensor t;
  t.name = hf_name;
  t.in_base = rule.in_base;
  t.transform = rule.transform;
  t.kind = rule.kind;
  t.canonical = canonical;
  return t;
}

std::optional<HfTensor> find_canonical(const ModelConfig& c, const std::string& canonical, RuleKind kind) {
  for (const auto& rule : rules_for(c)) {
    Vars vars;
    if (rule.kind != kind || rule.canonical.empty() || !match(rule.canonical, canonical, &vars)) continue;
    if (c.family == Family::albert && vars.count("{i}")) vars["{i}"] = albert_layer_to_group(c, vars["{i}"]);
    return make(rule, fill(rule.hf, vars), canonical);
  }
  return std::nullopt;
}

}  // namespace

std::string base_prefix(Family family) {
  switch (family) {
    case Family::bert: return "bert";
    case Family::roberta: return "roberta";
    case Family::distilbert: return "distilbert";
    case Family::albert: return "albert";
    case Family::gpt2: return "transformer";
    case Family::llama:
    case Family::mistral:
    case Family::qwen2:
    case Family::mixtral:
    case Family::bart: return "model";
    case Family::t5: return "";
    case Family::vit: return "vit";
  }
  return "";
}

HfTensor to_hf(const ModelConfig& config, const std::string& canonical) {
  if (auto t = find_canonical(config, canonical, RuleKind::param)) return *t;
  throw Error("weights: no Hugging Face name known for parameter '" + canonical + "' of family " +
              to_string(config.family) + " (see src/engine/weights/hf_names.cpp)");
}

bool from_hf(const ModelConfig& config, const std::string& name, bool in_base, HfTensor* out) {
  for (const auto& rule : rules_for(config)) {
    Vars vars;
    if (rule.in_base != in_base || !match(rule.hf, name, &vars)) continue;
    std::string canonical;
    if (!rule.canonical.empty()) {
      if (config.family == Family::albert && vars.count("{i}")) vars["{i}"] = albert_group_to_layer(config, vars["{i}"]);
      canonical = fill(rule.canonical, vars);
    }
    *out = make(rule, name, canonical);
    return true;
  }
  return false;
}

std::vector<std::string> checkpoint_names(const ModelConfig& config, const HfTensor& t) {
  const std::string prefix = base_prefix(config.family);
  if (!t.in_base || prefix.empty()) return {t.name};
  return {prefix + "." + t.name, t.name};
}

std::vector<HfTensor> tied_copies(const ComponentGraph& graph) {
  const ModelConfig& c = graph.config;
  std::vector<HfTensor> copies;
  auto add = [&](const HfTensor& t) {
    for (const auto& have : copies)
      if (have.name == t.name) return;
    copies.push_back(t);
  };
  std::map<std::string, bool> owned;
  for (const auto& p : graph.parameters()) owned[p.name] = true;
  for (const auto& p : graph.parameters())
    if (auto t = find_canonical(c, p.name, RuleKind::copy)) add(*t);
  // A component using another's tensors: where Hugging Face also names the tensor under the
  // user (lm_head.weight, decoder.embed_tokens.weight, cls.predictions.decoder.weight) that
  // name is a tied copy of the owner's tensor.
  for (const auto& node : graph.nodes) {
    if (node.params_from.empty()) continue;
    for (std::string role : {"weight", "bias"}) {
      const std::string user = node.name + "." + role, owner = node.params_from + "." + role;
      if (owned.count(user) || !owned.count(owner)) continue;
      auto t = find_canonical(c, user, RuleKind::param);
      if (!t || t->name == to_hf(c, owner).name) continue;
      t->kind = RuleKind::copy;
      t->canonical = owner;
      add(*t);
    }
  }
  return copies;
}

}  // namespace clear::hf
