#include "hf_checkpoints.hpp"

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clear/model/config.hpp"
#include "support/test_support.hpp"

namespace clear::testing {

ComponentGraph graph_of(const std::string& json) { return build_graph(parse_config(nlohmann::json::parse(json), "test")); }

std::vector<int64_t> stored_shape(const std::vector<int64_t>& canonical, Layout layout) {
  if (layout == Layout::transposed) return {canonical[1], canonical[0]};
  if (layout == Layout::leading_one) {
    std::vector<int64_t> s{1};
    s.insert(s.end(), canonical.begin(), canonical.end());
    return s;
  }
  return canonical;
}

std::map<std::string, std::vector<int64_t>> param_shapes(const ComponentGraph& g) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : g.parameters()) out[p.name] = p.shape;
  return out;
}

Written generate(const HfModel& fam) {
  const auto shapes = param_shapes(fam.graph);
  // The mapping written in this test must cover the graph's parameters exactly.
  std::set<std::string> covered, expected;
  for (const auto& m : fam.map) covered.insert(m.canonical);
  for (const auto& [n, s] : shapes) expected.insert(n);
  EXPECT_EQ(covered, expected) << "the test's name list does not match the graph";
  Written w;
  for (const auto& m : fam.map) {
    int64_t n = 1;
    for (int64_t d : shapes.at(m.canonical)) n *= d;
    w.stored[m.hf] = random_floats(size_t(n));
  }
  return w;
}

// Writes `w` stored as `as` (sharded into `shards` files when > 1) plus `extra`; `prefix` goes
// before every name that is not a head's (Mapping::head).
void write(const std::filesystem::path& dir, const HfModel& fam, const Written& w, StoreAs as, int shards,
           const std::vector<StoredTensor>& extra, const std::string& prefix) {
  const auto shapes = param_shapes(fam.graph);
  std::vector<std::vector<StoredTensor>> files(static_cast<size_t>(shards));
  size_t k = 0;
  for (const auto& m : fam.map)
    files[k++ % files.size()].push_back(make_tensor((m.head ? "" : prefix) + m.hf,
                                                    stored_shape(shapes.at(m.canonical), m.layout), w.stored.at(m.hf), as));
  for (const auto& t : extra) files[k++ % files.size()].push_back(t);
  if (shards == 1) write_safetensors(dir / "model.safetensors", files[0]);
  else write_sharded(dir, files);
}

Written write_family(const std::filesystem::path& dir, const HfModel& fam, StoreAs as, int shards,
                     const std::vector<StoredTensor>& extra, const std::string& prefix) {
  Written w = generate(fam);
  write(dir, fam, w, as, shards, extra, prefix);
  return w;
}
std::map<std::string, std::vector<float>> canonical_values(const HfModel& fam, const Written& w, StoreAs as) {
  const auto shapes = param_shapes(fam.graph);
  std::map<std::string, std::vector<float>> out;
  for (const auto& m : fam.map) {
    const auto& stored = w.stored.at(m.hf);
    const auto& shape = shapes.at(m.canonical);
    std::vector<float> values(stored.size());
    for (size_t i = 0; i < stored.size(); ++i) {
      size_t at = i;
      if (m.layout == Layout::transposed) {  // stored [in, out] element i is canonical (i % out, i / out)
        const size_t o = size_t(shape[0]), in = size_t(shape[1]);
        at = (i % o) * in + i / o;
      }
      values[at] = float(stored_value(stored[i], as));
    }
    out[m.canonical] = std::move(values);
  }
  return out;
}

// ---- the families, with Hugging Face names written out ----

HfModel gpt2(int layers, bool tied) {
  HfModel f{graph_of(R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50,
      "n_positions": 16, "n_embd": 8, "n_layer": )" + std::to_string(layers) + R"(, "n_head": 2,
      "tie_word_embeddings": )" + (tied ? "true" : "false") + "}"), {}};
  auto& m = f.map;
  m.push_back({"wte.weight", "embeddings.word.weight"});
  m.push_back({"wpe.weight", "embeddings.position.weight"});
  for (int i = 0; i < layers; ++i) {
    const std::string h = "h." + std::to_string(i) + ".", l = "layers." + std::to_string(i) + ".";
    for (std::string r : {"weight", "bias"}) {
      m.push_back({h + "ln_1." + r, l + "norm1." + r});
      m.push_back({h + "ln_2." + r, l + "norm2." + r});
    }
    m.push_back({h + "attn.c_attn.weight", l + "attention.qkv_proj.weight", Layout::transposed});
    m.push_back({h + "attn.c_attn.bias", l + "attention.qkv_proj.bias"});
    m.push_back({h + "attn.c_proj.weight", l + "attention.out_proj.weight", Layout::transposed});
    m.push_back({h + "attn.c_proj.bias", l + "attention.out_proj.bias"});
    m.push_back({h + "mlp.c_fc.weight", l + "mlp.up_proj.weight", Layout::transposed});
    m.push_back({h + "mlp.c_fc.bias", l + "mlp.up_proj.bias"});
    m.push_back({h + "mlp.c_proj.weight", l + "mlp.down_proj.weight", Layout::transposed});
    m.push_back({h + "mlp.c_proj.bias", l + "mlp.down_proj.bias"});
  }
  m.push_back({"ln_f.weight", "final_norm.weight"});
  m.push_back({"ln_f.bias", "final_norm.bias"});
  if (!tied) m.push_back({"lm_head.weight", "lm_head.weight", Layout::same, true});
  return f;
}

HfModel llama() {
  HfModel f{graph_of(R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 40,
      "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2, "num_attention_heads": 2,
      "num_key_value_heads": 1, "max_position_embeddings": 32, "tie_word_embeddings": false})"), {}};
  auto& m = f.map;
  m.push_back({"embed_tokens.weight", "embeddings.word.weight"});
  for (int i = 0; i < 2; ++i) {
    const std::string h = "layers." + std::to_string(i) + ".", l = h;
    m.push_back({h + "input_layernorm.weight", l + "norm1.weight"});
    m.push_back({h + "self_attn.q_proj.weight", l + "attention.q_proj.weight"});
    m.push_back({h + "self_attn.k_proj.weight", l + "attention.k_proj.weight"});
    m.push_back({h + "self_attn.v_proj.weight", l + "attention.v_proj.weight"});
    m.push_back({h + "self_attn.o_proj.weight", l + "attention.out_proj.weight"});
    m.push_back({h + "post_attention_layernorm.weight", l + "norm2.weight"});
    m.push_back({h + "mlp.gate_proj.weight", l + "mlp.gate_proj.weight"});
    m.push_back({h + "mlp.up_proj.weight", l + "mlp.up_proj.weight"});
    m.push_back({h + "mlp.down_proj.weight", l + "mlp.down_proj.weight"});
  }
  m.push_back({"norm.weight", "final_norm.weight"});
  m.push_back({"lm_head.weight", "lm_head.weight", Layout::same, true});
  return f;
}

HfModel mixtral() {
  HfModel f{graph_of(R"({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "vocab_size": 30,
      "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 1, "num_attention_heads": 2,
      "num_key_value_heads": 2, "num_local_experts": 3, "num_experts_per_tok": 2,
      "max_position_embeddings": 32, "tie_word_embeddings": false})"), {}};
  auto& m = f.map;
  m.push_back({"embed_tokens.weight", "embeddings.word.weight"});
  m.push_back({"layers.0.input_layernorm.weight", "layers.0.norm1.weight"});
  for (std::string p : {"q_proj", "k_proj", "v_proj"})
    m.push_back({"layers.0.self_attn." + p + ".weight", "layers.0.attention." + p + ".weight"});
  m.push_back({"layers.0.self_attn.o_proj.weight", "layers.0.attention.out_proj.weight"});
  m.push_back({"layers.0.post_attention_layernorm.weight", "layers.0.norm2.weight"});
  m.push_back({"layers.0.block_sparse_moe.gate.weight", "layers.0.moe.router.weight"});
  for (int e = 0; e < 3; ++e) {
    const std::string h = "layers.0.block_sparse_moe.experts." + std::to_string(e) + ".";
    const std::string l = "layers.0.moe.experts." + std::to_string(e) + ".";
    m.push_back({h + "w1.weight", l + "gate_proj.weight"});
    m.push_back({h + "w3.weight", l + "up_proj.weight"});
    m.push_back({h + "w2.weight", l + "down_proj.weight"});
  }
  m.push_back({"norm.weight", "final_norm.weight"});
  m.push_back({"lm_head.weight", "lm_head.weight", Layout::same, true});
  return f;
}

// BertForMaskedLM: body under "bert.", head under "cls.".
HfModel bert() {
  HfModel f{graph_of(R"({"model_type": "bert", "architectures": ["BertForMaskedLM"], "vocab_size": 30,
      "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16,
      "max_position_embeddings": 20, "type_vocab_size": 2})"), {}};
  auto& m = f.map;
  m.push_back({"bert.embeddings.word_embeddings.weight", "embeddings.word.weight"});
  m.push_back({"bert.embeddings.position_embeddings.weight", "embeddings.position.weight"});
  m.push_back({"bert.embeddings.token_type_embeddings.weight", "embeddings.token_type.weight"});
  for (std::string r : {"weight", "bias"}) {
    m.push_back({"bert.embeddings.LayerNorm." + r, "embeddings.norm." + r});
    for (int i = 0; i < 2; ++i) {
      const std::string h = "bert.encoder.layer." + std::to_string(i) + ".", l = "layers." + std::to_string(i) + ".";
      m.push_back({h + "attention.self.query." + r, l + "attention.q_proj." + r});
      m.push_back({h + "attention.self.key." + r, l + "attention.k_proj." + r});
      m.push_back({h + "attention.self.value." + r, l + "attention.v_proj." + r});
      m.push_back({h + "attention.output.dense." + r, l + "attention.out_proj." + r});
      m.push_back({h + "attention.output.LayerNorm." + r, l + "norm1." + r});
      m.push_back({h + "intermediate.dense." + r, l + "mlp.up_proj." + r});
      m.push_back({h + "output.dense." + r, l + "mlp.down_proj." + r});
      m.push_back({h + "output.LayerNorm." + r, l + "norm2." + r});
    }
    m.push_back({"cls.predictions.transform.dense." + r, "lm_head.transform." + r});
    m.push_back({"cls.predictions.transform.LayerNorm." + r, "lm_head.norm." + r});
  }
  m.push_back({"cls.predictions.bias", "lm_head.decoder.bias"});
  return f;
}

// T5ForConditionalGeneration, gated-gelu (T5 v1.1 style), untied LM head.
HfModel t5() {
  HfModel f{graph_of(R"({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": 32,
      "d_model": 8, "d_kv": 4, "d_ff": 16, "num_layers": 2, "num_decoder_layers": 1, "num_heads": 2,
      "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16,
      "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false})"), {}};
  auto& m = f.map;
  m.push_back({"shared.weight", "encoder.embeddings.word.weight"});
  for (std::string s : {"encoder", "decoder"}) {
    m.push_back({s + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight", s + ".position_bias.weight"});
    const int layers = s == "encoder" ? 2 : 1;
    for (int i = 0; i < layers; ++i) {
      const std::string h = s + ".block." + std::to_string(i) + ".", l = s + ".layers." + std::to_string(i) + ".";
      for (auto [hp, cp] : {std::pair{"q", "q_proj"}, {"k", "k_proj"}, {"v", "v_proj"}, {"o", "out_proj"}}) {
        m.push_back({h + "layer.0.SelfAttention." + hp + ".weight", l + "attention." + cp + ".weight"});
        if (s == "decoder") m.push_back({h + "layer.1.EncDecAttention." + hp + ".weight", l + "cross_attention." + cp + ".weight"});
      }
      m.push_back({h + "layer.0.layer_norm.weight", l + "norm1.weight"});
      const std::string ffn = h + (s == "encoder" ? "layer.1." : "layer.2.");
      m.push_back({ffn + "DenseReluDense.wi_0.weight", l + "mlp.gate_proj.weight"});
      m.push_back({ffn + "DenseReluDense.wi_1.weight", l + "mlp.up_proj.weight"});
      m.push_back({ffn + "DenseReluDense.wo.weight", l + "mlp.down_proj.weight"});
      m.push_back({ffn + "layer_norm.weight", l + (s == "encoder" ? "norm2.weight" : "norm3.weight")});
      if (s == "decoder") m.push_back({h + "layer.1.layer_norm.weight", l + "norm2.weight"});
    }
    m.push_back({s + ".final_layer_norm.weight", s + ".final_norm.weight"});
  }
  m.push_back({"lm_head.weight", "lm_head.weight"});
  return f;
}

// BartModel (names as BartForConditionalGeneration stores them, under "model.").
HfModel bart() {
  HfModel f{graph_of(R"({"model_type": "bart", "architectures": ["BartModel"], "vocab_size": 30, "d_model": 8,
      "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2, "decoder_attention_heads": 2,
      "encoder_ffn_dim": 16, "decoder_ffn_dim": 16, "max_position_embeddings": 12})"), {}};
  auto& m = f.map;
  m.push_back({"shared.weight", "encoder.embeddings.word.weight"});
  for (std::string s : {"encoder", "decoder"}) {
    m.push_back({s + ".embed_positions.weight", s + ".embeddings.position.weight"});
    const std::string h = s + ".layers.0.", l = s + ".layers.0.";
    for (std::string r : {"weight", "bias"}) {
      m.push_back({s + ".layernorm_embedding." + r, s + ".embeddings.norm." + r});
      for (std::string p : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        m.push_back({h + "self_attn." + p + "." + r, l + "attention." + p + "." + r});
        if (s == "decoder") m.push_back({h + "encoder_attn." + p + "." + r, l + "cross_attention." + p + "." + r});
      }
      m.push_back({h + "self_attn_layer_norm." + r, l + "norm1." + r});
      m.push_back({h + "fc1." + r, l + "mlp.up_proj." + r});
      m.push_back({h + "fc2." + r, l + "mlp.down_proj." + r});
      if (s == "decoder") {
        m.push_back({h + "encoder_attn_layer_norm." + r, l + "norm2." + r});
        m.push_back({h + "final_layer_norm." + r, l + "norm3." + r});
      } else {
        m.push_back({h + "final_layer_norm." + r, l + "norm2." + r});
      }
    }
  }
  return f;
}

// ViTForImageClassification: body under "vit.", classifier at the top.
HfModel vit() {
  HfModel f{graph_of(R"({"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": 8,
      "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "image_size": 8,
      "patch_size": 4, "num_channels": 3, "id2label": {"0": "a", "1": "b", "2": "c"}})"), {}};
  auto& m = f.map;
  m.push_back({"vit.embeddings.cls_token", "embeddings.cls_token.weight"});
  m.push_back({"vit.embeddings.position_embeddings", "embeddings.position.weight", Layout::leading_one});
  for (std::string r : {"weight", "bias"}) {
    m.push_back({"vit.embeddings.patch_embeddings.projection." + r, "embeddings.patch_embedding." + r});
    const std::string h = "vit.encoder.layer.0.", l = "layers.0.";
    m.push_back({h + "layernorm_before." + r, l + "norm1." + r});
    m.push_back({h + "attention.attention.query." + r, l + "attention.q_proj." + r});
    m.push_back({h + "attention.attention.key." + r, l + "attention.k_proj." + r});
    m.push_back({h + "attention.attention.value." + r, l + "attention.v_proj." + r});
    m.push_back({h + "attention.output.dense." + r, l + "attention.out_proj." + r});
    m.push_back({h + "layernorm_after." + r, l + "norm2." + r});
    m.push_back({h + "intermediate.dense." + r, l + "mlp.up_proj." + r});
    m.push_back({h + "output.dense." + r, l + "mlp.down_proj." + r});
    m.push_back({"vit.layernorm." + r, "final_norm." + r});
    m.push_back({"classifier." + r, "classifier." + r});
  }
  return f;
}

// DistilBertForMaskedLM, RobertaForMaskedLM and AlbertModel complete the encoder families.
HfModel distilbert() {
  HfModel f{graph_of(R"({"model_type": "distilbert", "architectures": ["DistilBertForMaskedLM"], "vocab_size": 30,
      "dim": 8, "n_layers": 1, "n_heads": 2, "hidden_dim": 16, "max_position_embeddings": 20})"), {}};
  auto& m = f.map;
  m.push_back({"distilbert.embeddings.word_embeddings.weight", "embeddings.word.weight"});
  m.push_back({"distilbert.embeddings.position_embeddings.weight", "embeddings.position.weight"});
  for (std::string r : {"weight", "bias"}) {
    m.push_back({"distilbert.embeddings.LayerNorm." + r, "embeddings.norm." + r});
    const std::string h = "distilbert.transformer.layer.0.", l = "layers.0.";
    m.push_back({h + "attention.q_lin." + r, l + "attention.q_proj." + r});
    m.push_back({h + "attention.k_lin." + r, l + "attention.k_proj." + r});
    m.push_back({h + "attention.v_lin." + r, l + "attention.v_proj." + r});
    m.push_back({h + "attention.out_lin." + r, l + "attention.out_proj." + r});
    m.push_back({h + "sa_layer_norm." + r, l + "norm1." + r});
    m.push_back({h + "ffn.lin1." + r, l + "mlp.up_proj." + r});
    m.push_back({h + "ffn.lin2." + r, l + "mlp.down_proj." + r});
    m.push_back({h + "output_layer_norm." + r, l + "norm2." + r});
    m.push_back({"vocab_transform." + r, "lm_head.transform." + r});
    m.push_back({"vocab_layer_norm." + r, "lm_head.norm." + r});
  }
  m.push_back({"vocab_projector.bias", "lm_head.decoder.bias"});
  return f;
}

HfModel roberta() {
  HfModel f{graph_of(R"({"model_type": "roberta", "architectures": ["RobertaForMaskedLM"], "vocab_size": 30,
      "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
      "max_position_embeddings": 22, "type_vocab_size": 1, "pad_token_id": 1})"), {}};
  auto& m = f.map;
  m.push_back({"roberta.embeddings.word_embeddings.weight", "embeddings.word.weight"});
  m.push_back({"roberta.embeddings.position_embeddings.weight", "embeddings.position.weight"});
  m.push_back({"roberta.embeddings.token_type_embeddings.weight", "embeddings.token_type.weight"});
  for (std::string r : {"weight", "bias"}) {
    m.push_back({"roberta.embeddings.LayerNorm." + r, "embeddings.norm." + r});
    const std::string h = "roberta.encoder.layer.0.", l = "layers.0.";
    m.push_back({h + "attention.self.query." + r, l + "attention.q_proj." + r});
    m.push_back({h + "attention.self.key." + r, l + "attention.k_proj." + r});
    m.push_back({h + "attention.self.value." + r, l + "attention.v_proj." + r});
    m.push_back({h + "attention.output.dense." + r, l + "attention.out_proj." + r});
    m.push_back({h + "attention.output.LayerNorm." + r, l + "norm1." + r});
    m.push_back({h + "intermediate.dense." + r, l + "mlp.up_proj." + r});
    m.push_back({h + "output.dense." + r, l + "mlp.down_proj." + r});
    m.push_back({h + "output.LayerNorm." + r, l + "norm2." + r});
    m.push_back({"lm_head.dense." + r, "lm_head.transform." + r});
    m.push_back({"lm_head.layer_norm." + r, "lm_head.norm." + r});
  }
  m.push_back({"lm_head.bias", "lm_head.decoder.bias"});
  return f;
}

// AlbertModel with 3 layers sharing one group: only group 0's tensors exist.
HfModel albert() {
  HfModel f{graph_of(R"({"model_type": "albert", "architectures": ["AlbertModel"], "vocab_size": 30,
      "embedding_size": 4, "hidden_size": 8, "num_hidden_layers": 3, "num_attention_heads": 2,
      "intermediate_size": 16, "max_position_embeddings": 20, "type_vocab_size": 2})"), {}};
  auto& m = f.map;
  m.push_back({"albert.embeddings.word_embeddings.weight", "embeddings.word.weight"});
  m.push_back({"albert.embeddings.position_embeddings.weight", "embeddings.position.weight"});
  m.push_back({"albert.embeddings.token_type_embeddings.weight", "embeddings.token_type.weight"});
  for (std::string r : {"weight", "bias"}) {
    m.push_back({"albert.embeddings.LayerNorm." + r, "embeddings.norm." + r});
    m.push_back({"albert.encoder.embedding_hidden_mapping_in." + r, "embeddings.projection." + r});
    const std::string h = "albert.encoder.albert_layer_groups.0.albert_layers.0.", l = "layers.0.";
    m.push_back({h + "attention.query." + r, l + "attention.q_proj." + r});
    m.push_back({h + "attention.key." + r, l + "attention.k_proj." + r});
    m.push_back({h + "attention.value." + r, l + "attention.v_proj." + r});
    m.push_back({h + "attention.dense." + r, l + "attention.out_proj." + r});
    m.push_back({h + "attention.LayerNorm." + r, l + "norm1." + r});
    m.push_back({h + "ffn." + r, l + "mlp.up_proj." + r});
    m.push_back({h + "ffn_output." + r, l + "mlp.down_proj." + r});
    m.push_back({h + "full_layer_layer_norm." + r, l + "norm2." + r});
    m.push_back({"albert.pooler." + r, "pooler.dense." + r});
  }
  return f;
}

}  // namespace clear::testing
