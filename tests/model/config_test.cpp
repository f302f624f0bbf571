// parse_config: each family's keys and Hugging Face defaults, and every promised error (missing,
// mistyped, out-of-range, contradictory or unsupported values), each naming the field and the file.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clear/model/config.hpp"
#include "clear/model/zoo.hpp"
#include "model/support/model_fixtures.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using nlohmann::json;
using testing::error_message;
using testing::parse;
using testing::zoo_json;

// The error message names every one of `parts`.
void expect_error(const json& config, std::initializer_list<const char*> parts) {
  std::string m = error_message([&] { parse(config); });
  for (const char* p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' not in: " << m;
}

// The smallest config of each family: exactly the required keys.
json minimal(const std::string& type) {
  if (type == "bert" || type == "roberta")
    return {{"model_type", type}, {"vocab_size", 100}, {"hidden_size", 32}, {"num_hidden_layers", 2},
            {"num_attention_heads", 4}, {"intermediate_size", 64}};
  if (type == "distilbert")
    return {{"model_type", type}, {"vocab_size", 100}, {"dim", 32}, {"n_layers", 2}, {"n_heads", 4}, {"hidden_dim", 64}};
  if (type == "albert")
    return {{"model_type", type}, {"vocab_size", 100}, {"embedding_size", 16}, {"hidden_size", 32},
            {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"intermediate_size", 64}};
  if (type == "gpt2") return {{"model_type", type}, {"vocab_size", 100}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}};
  if (type == "llama" || type == "mistral" || type == "qwen2" || type == "mixtral")
    return {{"model_type", type}, {"vocab_size", 100}, {"hidden_size", 32}, {"num_hidden_layers", 2},
            {"num_attention_heads", 4}, {"intermediate_size", 64}};
  if (type == "t5")
    return {{"model_type", type}, {"vocab_size", 100}, {"d_model", 32}, {"d_kv", 8}, {"d_ff", 64},
            {"num_layers", 2}, {"num_heads", 4}};
  if (type == "bart")
    return {{"model_type", type},      {"vocab_size", 100},        {"d_model", 32},
            {"encoder_layers", 2},     {"decoder_layers", 1},      {"encoder_attention_heads", 4},
            {"decoder_attention_heads", 2}, {"encoder_ffn_dim", 64}, {"decoder_ffn_dim", 48}};
  if (type == "vit")
    return {{"model_type", type}, {"hidden_size", 32}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
            {"intermediate_size", 64}};
  ADD_FAILURE() << type;
  return {};
}

const char* kTypes[] = {"bert", "roberta", "distilbert", "albert", "gpt2", "llama", "mistral",
                        "qwen2", "mixtral", "t5", "bart", "vit"};

TEST(Config, BertBaseFromTheZoo) {
  ModelConfig c = parse(zoo_json("bert-base-uncased"));
  EXPECT_EQ(c.family, Family::bert);
  EXPECT_EQ(c.arch_type, ArchType::encoder_only);
  EXPECT_EQ(c.source, "test.json");
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.embedding_size, 768);
  EXPECT_EQ(c.encoder.num_layers, 12);
  EXPECT_EQ(c.encoder.num_heads, 12);
  EXPECT_EQ(c.encoder.num_kv_heads, 12);
  EXPECT_EQ(c.encoder.head_dim, 64);
  EXPECT_EQ(c.encoder.ffn_dim, 3072);
  EXPECT_EQ(c.decoder.num_layers, 0);
  EXPECT_EQ(c.max_positions, 512);
  EXPECT_EQ(c.position_offset, 0);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_EQ(c.norm, NormKind::layer_norm);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-12);
  EXPECT_FALSE(c.pre_norm);
  EXPECT_TRUE(c.embedding_norm);
  EXPECT_FALSE(c.final_norm);
  EXPECT_EQ(c.activation, Activation::gelu_erf);
  EXPECT_EQ(c.head, Head::base);
  EXPECT_TRUE(c.pooler);
  EXPECT_EQ(c.pooler_size, 768);
  EXPECT_EQ(c.pad_token_id, 0);
}

TEST(Config, RobertaPositionsStartAfterThePaddingIndex) {
  ModelConfig c = parse(zoo_json("roberta-base"));
  EXPECT_EQ(c.family, Family::roberta);
  EXPECT_EQ(c.position_offset, 2);
  EXPECT_EQ(c.max_positions, 512);  // 514 rows in the table
  EXPECT_EQ(c.type_vocab_size, 1);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  json j = zoo_json("roberta-base");
  j["pad_token_id"] = 513;
  expect_error(j, {"pad_token_id", "test.json"});
}

TEST(Config, DistilBertAlbert) {
  ModelConfig d = parse(zoo_json("distilbert-base-uncased"));
  EXPECT_EQ(d.type_vocab_size, 0);
  EXPECT_EQ(d.encoder.num_layers, 6);
  EXPECT_EQ(d.encoder.ffn_dim, 3072);
  EXPECT_FALSE(d.pooler);
  ModelConfig a = parse(zoo_json("albert-base-v2"));
  EXPECT_EQ(a.embedding_size, 128);
  EXPECT_EQ(a.hidden_size, 768);
  EXPECT_EQ(a.albert_groups, 1);
  EXPECT_EQ(a.albert_inner, 1);
  EXPECT_EQ(a.activation, Activation::gelu_tanh);
  EXPECT_TRUE(a.pooler);
}

TEST(Config, Gpt2) {
  ModelConfig c = parse(zoo_json("gpt2"));
  EXPECT_EQ(c.arch_type, ArchType::decoder_only);
  EXPECT_EQ(c.decoder.num_layers, 12);
  EXPECT_EQ(c.decoder.ffn_dim, 3072);  // n_inner null -> 4 * n_embd
  EXPECT_EQ(c.activation, Activation::gelu_tanh);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.pre_norm);
  EXPECT_TRUE(c.final_norm);
  EXPECT_EQ(c.max_positions, 1024);
  EXPECT_EQ(c.head, Head::causal_lm);
  EXPECT_EQ(c.pad_token_id, -1);
  json j = minimal("gpt2");
  j["n_inner"] = 50;
  EXPECT_EQ(parse(j).decoder.ffn_dim, 50);
}

TEST(Config, LlamaFamily) {
  ModelConfig c = parse(zoo_json("llama-3.2-1b"));
  EXPECT_EQ(c.family, Family::llama);
  EXPECT_EQ(c.decoder.num_heads, 32);
  EXPECT_EQ(c.decoder.num_kv_heads, 8);
  EXPECT_EQ(c.decoder.head_dim, 64);
  EXPECT_EQ(c.positions, PositionKind::rope);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_positions, 8192);
  EXPECT_EQ(c.norm, NormKind::rms_norm);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_TRUE(c.gated_mlp);
  EXPECT_EQ(c.activation, Activation::silu);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.mlp_bias);
  ModelConfig q = parse(zoo_json("qwen2.5-0.5b"));
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_FALSE(q.out_proj_bias);
  EXPECT_EQ(q.sliding_window, 0);  // use_sliding_window: false
  ModelConfig m = parse(zoo_json("mistral-7b-v0.1"));
  EXPECT_EQ(m.sliding_window, 4096);
  EXPECT_FALSE(m.qkv_bias);
  ModelConfig x = parse(zoo_json("mixtral-8x7b-v0.1"));
  EXPECT_EQ(x.arch_type, ArchType::moe_decoder);
  EXPECT_EQ(x.num_experts, 8);
  EXPECT_EQ(x.experts_per_token, 2);
  EXPECT_EQ(x.sliding_window, 0);
  json bias = minimal("llama");
  bias["attention_bias"] = true;
  bias["mlp_bias"] = true;
  ModelConfig b = parse(bias);
  EXPECT_TRUE(b.qkv_bias);
  EXPECT_TRUE(b.out_proj_bias);
  EXPECT_TRUE(b.mlp_bias);
}

TEST(Config, T5PlainAndGated) {
  ModelConfig c = parse(zoo_json("t5-small"));
  EXPECT_EQ(c.arch_type, ArchType::encoder_decoder);
  EXPECT_EQ(c.encoder.num_layers, 6);
  EXPECT_EQ(c.decoder.num_layers, 6);
  EXPECT_EQ(c.encoder.head_dim, 64);
  EXPECT_EQ(c.activation, Activation::relu);
  EXPECT_FALSE(c.gated_mlp);
  EXPECT_FALSE(c.attention_scaled);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.positions, PositionKind::relative_bias);
  EXPECT_EQ(c.relative_buckets, 32);
  EXPECT_EQ(c.relative_max_distance, 128);
  EXPECT_EQ(c.norm, NormKind::rms_norm);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.head, Head::seq2seq_lm);
  json v11 = minimal("t5");
  v11["feed_forward_proj"] = "gated-gelu";
  v11["num_decoder_layers"] = 5;
  v11["tie_word_embeddings"] = false;
  ModelConfig g = parse(v11);
  EXPECT_TRUE(g.gated_mlp);
  EXPECT_EQ(g.activation, Activation::gelu_tanh);  // T5Config maps gated-gelu to gelu_new
  EXPECT_EQ(g.decoder.num_layers, 5);
  EXPECT_EQ(g.encoder.num_layers, 2);
  v11["feed_forward_proj"] = "gated-silu";
  EXPECT_EQ(parse(v11).activation, Activation::silu);
  v11["feed_forward_proj"] = "gelu";
  EXPECT_EQ(parse(v11).activation, Activation::gelu_erf);
  EXPECT_FALSE(parse(v11).gated_mlp);
}

TEST(Config, BartAndVit) {
  ModelConfig b = parse(zoo_json("bart-base"));
  EXPECT_EQ(b.position_offset, 2);
  EXPECT_EQ(b.max_positions, 1024);
  EXPECT_FALSE(b.pre_norm);
  EXPECT_TRUE(b.embedding_norm);
  EXPECT_FALSE(b.final_norm);
  EXPECT_FALSE(b.scale_embedding);
  EXPECT_EQ(b.encoder.num_layers, 6);
  EXPECT_EQ(b.decoder.num_heads, 12);
  EXPECT_EQ(b.head, Head::base);
  ModelConfig v = parse(zoo_json("vit-base-patch16-224"));
  EXPECT_EQ(v.arch_type, ArchType::vision_encoder);
  EXPECT_EQ(v.image_size, 224);
  EXPECT_EQ(v.patch_size, 16);
  EXPECT_EQ(v.num_channels, 3);
  EXPECT_EQ(v.num_labels, 1000);
  EXPECT_EQ(v.max_positions, 197);
  EXPECT_EQ(v.vocab_size, 0);
  json labels = minimal("vit");
  labels["id2label"] = {{"0", "cat"}, {"1", "dog"}, {"2", "bird"}};
  EXPECT_EQ(parse(labels).num_labels, 3);
  EXPECT_EQ(parse(minimal("vit")).num_labels, 2);  // PretrainedConfig default
}

TEST(Config, OptionalKeysTakeTheHuggingFaceClassDefaults) {
  ModelConfig bert = parse(minimal("bert"));
  EXPECT_EQ(bert.max_positions, 512);
  EXPECT_EQ(bert.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(bert.norm_eps, 1e-12);
  EXPECT_EQ(bert.activation, Activation::gelu_erf);
  EXPECT_EQ(bert.architecture, "BertModel");  // no architectures: the bare class
  ModelConfig roberta = parse(minimal("roberta"));
  EXPECT_EQ(roberta.pad_token_id, 1);
  EXPECT_EQ(roberta.max_positions, 510);  // 512 rows minus the offset of pad + 1
  EXPECT_EQ(parse(minimal("distilbert")).max_positions, 512);
  ModelConfig albert = parse(minimal("albert"));
  EXPECT_EQ(albert.activation, Activation::gelu_tanh);
  EXPECT_EQ(albert.albert_groups, 1);
  ModelConfig gpt2 = parse(minimal("gpt2"));
  EXPECT_EQ(gpt2.max_positions, 1024);
  EXPECT_EQ(gpt2.decoder.ffn_dim, 128);
  EXPECT_EQ(gpt2.architecture, "GPT2Model");
  ModelConfig llama = parse(minimal("llama"));
  EXPECT_EQ(llama.decoder.num_kv_heads, 4);
  EXPECT_EQ(llama.decoder.head_dim, 8);
  EXPECT_EQ(llama.max_positions, 2048);
  EXPECT_DOUBLE_EQ(llama.norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(llama.rope_theta, 10000.0);
  EXPECT_EQ(llama.rope_scaling.type, "none");
  EXPECT_FALSE(llama.tie_word_embeddings);
  ModelConfig mistral = parse(minimal("mistral"));
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_EQ(mistral.max_positions, 131072);
  EXPECT_EQ(parse(minimal("qwen2")).max_positions, 32768);
  ModelConfig mixtral = parse(minimal("mixtral"));
  EXPECT_EQ(mixtral.num_experts, 8);
  EXPECT_EQ(mixtral.experts_per_token, 2);
  EXPECT_DOUBLE_EQ(mixtral.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(mixtral.rope_theta, 1e6);
  EXPECT_EQ(mixtral.sliding_window, 0);
  ModelConfig t5 = parse(minimal("t5"));
  EXPECT_EQ(t5.activation, Activation::relu);
  EXPECT_EQ(t5.decoder.num_layers, 2);
  EXPECT_EQ(t5.relative_buckets, 32);
  ModelConfig bart = parse(minimal("bart"));
  EXPECT_EQ(bart.max_positions, 1024);
  EXPECT_EQ(bart.decoder.ffn_dim, 48);
  EXPECT_EQ(bart.decoder.num_heads, 2);
  ModelConfig vit = parse(minimal("vit"));
  EXPECT_EQ(vit.image_size, 224);
  EXPECT_EQ(vit.max_positions, 14 * 14 + 1);
}

TEST(Config, EveryRequiredFieldMissingIsNamed) {
  for (const char* type : kTypes) {
    json base = minimal(type);
    for (auto it = base.begin(); it != base.end(); ++it) {
      if (it.key() == "model_type") continue;
      SCOPED_TRACE(std::string(type) + " without " + it.key());
      json j = base;
      j.erase(it.key());
      expect_error(j, {it.key().c_str(), "test.json", "missing"});
      j[it.key()] = nullptr;  // null means absent
      expect_error(j, {it.key().c_str(), "test.json"});
    }
  }
}

TEST(Config, WrongTypesAreNamed) {
  for (const json& bad : {json("32"), json(32.5), json(true), json::array({32}), json::object()}) {
    json j = minimal("bert");
    j["hidden_size"] = bad;
    expect_error(j, {"hidden_size", "test.json", "positive integer"});
  }
  json j = minimal("bert");
  j["layer_norm_eps"] = "small";
  expect_error(j, {"layer_norm_eps", "positive number"});
  j = minimal("bert");
  j["tie_word_embeddings"] = "yes";
  expect_error(j, {"tie_word_embeddings", "true or false"});
  j = minimal("bert");
  j["hidden_act"] = 3;
  expect_error(j, {"hidden_act", "string"});
  j = minimal("bert");
  j["architectures"] = "BertModel";
  expect_error(j, {"architectures"});
  j["architectures"] = json::array();
  expect_error(j, {"architectures"});
  j = minimal("llama");
  j["rope_scaling"] = 8;
  expect_error(j, {"rope_scaling"});
  j = minimal("llama");
  j["pad_token_id"] = "none";
  expect_error(j, {"pad_token_id"});
  expect_error(json::array({1, 2}), {"test.json", "JSON object"});
  expect_error(json{{"model_type", 5}}, {"model_type", "string"});
}

TEST(Config, ZeroAndNegativeSizesAreNamed) {
  for (const char* type : kTypes) {
    json base = minimal(type);
    for (auto it = base.begin(); it != base.end(); ++it) {
      if (it.key() == "model_type") continue;
      for (int64_t bad : {int64_t(0), int64_t(-4)}) {
        SCOPED_TRACE(std::string(type) + " " + it.key() + "=" + std::to_string(bad));
        json j = base;
        j[it.key()] = bad;
        expect_error(j, {it.key().c_str(), "test.json"});
        // As read from a file: nlohmann parses a non-negative integer as unsigned, a path of its own.
        expect_error(json::parse(j.dump()), {it.key().c_str(), "test.json"});
      }
    }
  }
  // Optional sizes, as read from a file (a 0 here once divided by zero: num_key_value_heads).
  const std::pair<const char*, const char*> optional[] = {
      {"bert", "type_vocab_size"},          {"bert", "max_position_embeddings"}, {"albert", "num_hidden_groups"},
      {"albert", "inner_group_num"},        {"gpt2", "n_inner"},                 {"llama", "num_key_value_heads"},
      {"llama", "head_dim"},                {"mistral", "sliding_window"},       {"mixtral", "num_local_experts"},
      {"mixtral", "num_experts_per_tok"},   {"t5", "num_decoder_layers"},        {"t5", "relative_attention_num_buckets"},
      {"t5", "relative_attention_max_distance"}, {"bart", "max_position_embeddings"}, {"vit", "image_size"},
      {"vit", "patch_size"},                {"vit", "num_channels"},             {"vit", "num_labels"}};
  for (const auto& [type, key] : optional) {
    SCOPED_TRACE(std::string(type) + " " + key + "=0");
    json j = minimal(type);
    j[key] = 0;
    expect_error(json::parse(j.dump()), {key, "test.json"});
  }
  json j = minimal("bert");
  j["max_position_embeddings"] = 0;
  expect_error(j, {"max_position_embeddings"});
  j = minimal("llama");
  j["rope_theta"] = -1.0;
  expect_error(j, {"rope_theta"});
}

TEST(Config, HugeSizesAreRefused) {
  json j = minimal("bert");
  j["vocab_size"] = int64_t(1) << 40;
  expect_error(j, {"vocab_size"});
  j = minimal("bert");
  j["hidden_size"] = uint64_t(1) << 63;
  expect_error(j, {"hidden_size"});
  j = minimal("mixtral");
  j["hidden_size"] = 1 << 20;
  j["num_attention_heads"] = 1 << 10;
  j["intermediate_size"] = 1 << 20;
  j["num_hidden_layers"] = 4096;
  j["num_local_experts"] = 1024;
  expect_error(j, {"test.json", "2^44"});
}

TEST(Config, HeadsMustDivideTheHiddenSize) {
  json j = minimal("bert");
  j["num_attention_heads"] = 5;
  expect_error(j, {"num_attention_heads", "divide", "32"});
  j = minimal("gpt2");
  j["n_head"] = 3;
  expect_error(j, {"n_head"});
  j = minimal("distilbert");
  j["n_heads"] = 6;
  expect_error(j, {"n_heads"});
  j = minimal("bart");
  j["decoder_attention_heads"] = 5;
  expect_error(j, {"decoder_attention_heads"});
  j = minimal("vit");
  j["num_attention_heads"] = 7;
  expect_error(j, {"num_attention_heads"});
  j = minimal("llama");
  j["num_attention_heads"] = 6;
  j["num_key_value_heads"] = 2;
  expect_error(j, {"num_attention_heads", "head_dim"});
  j["head_dim"] = 10;  // explicit head_dim: heads need not divide the hidden size
  ModelConfig c = parse(j);
  EXPECT_EQ(c.decoder.head_dim, 10);
  j["head_dim"] = 9;
  expect_error(j, {"head_dim", "even"});
  j = minimal("t5");
  j["num_heads"] = 3;  // T5: heads * d_kv need not equal d_model
  EXPECT_EQ(parse(j).encoder.num_heads, 3);
}

TEST(Config, KeyValueHeadsMustDivideTheHeads) {
  json j = minimal("llama");
  j["num_key_value_heads"] = 3;
  expect_error(j, {"num_key_value_heads", "3", "4"});
  j["num_key_value_heads"] = 1;  // MQA
  EXPECT_EQ(parse(j).decoder.num_kv_heads, 1);
  j["num_key_value_heads"] = 8;
  expect_error(j, {"num_key_value_heads"});
}

TEST(Config, UnknownActivationIsNamedWithTheAcceptedOnes) {
  json j = minimal("bert");
  j["hidden_act"] = "quick_gelu";
  expect_error(j, {"hidden_act", "quick_gelu", "gelu_new", "silu"});
  j = minimal("gpt2");
  j["activation_function"] = "mish";
  expect_error(j, {"activation_function", "mish"});
  j = minimal("distilbert");
  j["activation"] = "GELU";
  expect_error(j, {"activation"});
  j = minimal("t5");
  j["feed_forward_proj"] = "gated-mish";
  expect_error(j, {"feed_forward_proj", "mish"});
  for (const char* bad : {"gated-gelu-x", "fancy-relu", "gated-", "-relu"}) {
    j["feed_forward_proj"] = bad;
    expect_error(j, {"feed_forward_proj"});
  }
  j = minimal("vit");
  j["pooler_act"] = "softplus";
  expect_error(j, {"pooler_act"});
}

TEST(Config, UnknownModelTypeListsTheSupportedOnes) {
  std::string m = error_message([] { parse(json{{"model_type", "gptj"}, {"vocab_size", 5}}); });
  for (const char* type : kTypes) EXPECT_NE(m.find(type), std::string::npos) << type << " in " << m;
  EXPECT_NE(m.find("gptj"), std::string::npos);
  EXPECT_NE(m.find("test.json"), std::string::npos);
  m = error_message([] { parse(json{{"vocab_size", 5}}); });
  EXPECT_NE(m.find("model_type"), std::string::npos);
  EXPECT_NE(m.find("mixtral"), std::string::npos);
}

TEST(Config, ArchitecturesMustBeAClassOfTheFamily) {
  json j = minimal("bert");
  j["architectures"] = {"GPT2LMHeadModel"};
  expect_error(j, {"architectures", "GPT2LMHeadModel", "BertModel", "BertForMaskedLM"});
  j["architectures"] = {"BertForSequenceClassification"};
  expect_error(j, {"architectures"});
  j["architectures"] = {"BertForMaskedLM"};
  ModelConfig c = parse(j);
  EXPECT_EQ(c.head, Head::masked_lm);
  EXPECT_FALSE(c.pooler);
  j = minimal("vit");
  j["architectures"] = {"ViTModel"};
  EXPECT_TRUE(parse(j).pooler);
  j = minimal("t5");
  j["architectures"] = {"T5WithLMHeadModel"};  // the class's name in old hub configs
  EXPECT_EQ(parse(j).head, Head::seq2seq_lm);
  j = minimal("mixtral");
  j["architectures"] = {"MistralForCausalLM"};
  expect_error(j, {"architectures", "MixtralForCausalLM"});
}

TEST(Config, ContradictoryFieldsAreNamed) {
  json j = minimal("gpt2");
  j["hidden_size"] = 64;  // attribute_map alias of n_embd
  expect_error(j, {"hidden_size", "n_embd"});
  j["hidden_size"] = 32;  // agreeing alias is fine
  EXPECT_EQ(parse(j).hidden_size, 32);
  j = minimal("gpt2");
  j.erase("n_embd");
  j["hidden_size"] = 32;  // alias alone is read as n_embd
  EXPECT_EQ(parse(j).hidden_size, 32);
  j = minimal("t5");
  j["num_hidden_layers"] = 3;
  expect_error(j, {"num_hidden_layers", "num_layers"});
  j = minimal("t5");
  j["is_encoder_decoder"] = false;
  expect_error(j, {"is_encoder_decoder"});
  j = minimal("bart");
  j["num_hidden_layers"] = 5;
  expect_error(j, {"num_hidden_layers", "encoder_layers"});
  for (const char* key : {"normalize_before", "add_final_layer_norm"}) {
    j = minimal("bart");
    j[key] = true;
    expect_error(j, {key});
  }
  j = minimal("bart");
  j["normalize_embedding"] = false;
  expect_error(j, {"normalize_embedding"});
  j = minimal("vit");
  j["num_labels"] = 5;
  j["id2label"] = {{"0", "a"}, {"1", "b"}};
  expect_error(j, {"num_labels", "id2label"});
  j = minimal("vit");
  j["patch_size"] = 15;
  expect_error(j, {"patch_size", "224"});
  j = minimal("mixtral");
  j["num_experts_per_tok"] = 9;
  expect_error(j, {"num_experts_per_tok", "num_local_experts"});
  j = minimal("bert");
  j["pad_token_id"] = 100;
  expect_error(j, {"pad_token_id", "vocabulary"});
  j = minimal("llama");
  j["rope_scaling"] = {{"rope_type", "linear"}, {"type", "llama3"}, {"factor", 2.0}};
  expect_error(j, {"type", "rope_type"});
}

TEST(Config, UnsupportedVariantsAreNamed) {
  json j = minimal("bert");
  j["position_embedding_type"] = "relative_key";
  expect_error(j, {"position_embedding_type", "relative_key"});
  j = minimal("bert");
  j["is_decoder"] = true;
  expect_error(j, {"is_decoder"});
  j = minimal("gpt2");
  j["scale_attn_by_inverse_layer_idx"] = true;
  expect_error(j, {"scale_attn_by_inverse_layer_idx"});
  j = minimal("albert");
  j["inner_group_num"] = 2;
  expect_error(j, {"inner_group_num"});
  j = minimal("albert");
  j["num_hidden_groups"] = 3;
  expect_error(j, {"num_hidden_groups"});
  j["num_hidden_groups"] = 2;
  EXPECT_EQ(parse(j).albert_groups, 2);
  j = minimal("llama");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error(j, {"rope_scaling.rope_type", "yarn", "llama3"});
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  expect_error(j, {"rope_scaling.factor"});
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(parse(j).rope_scaling.type, "linear");
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse(j).rope_scaling.type, "none");
  j = minimal("qwen2");
  j["use_sliding_window"] = true;
  j["max_window_layers"] = 1;  // layer 0 full, layer 1 sliding: one window kind per model only
  expect_error(j, {"max_window_layers"});
  j["max_window_layers"] = 0;
  j["sliding_window"] = 16;
  EXPECT_EQ(parse(j).sliding_window, 16);
  j["max_window_layers"] = 2;  // no layer reaches the window
  EXPECT_EQ(parse(j).sliding_window, 0);
}

TEST(Config, SelectHead) {
  ModelConfig bert = zoo_config("bert-base-uncased");
  select_head(bert, "mlm");
  EXPECT_EQ(bert.head, Head::masked_lm);
  EXPECT_EQ(bert.architecture, "BertForMaskedLM");
  EXPECT_FALSE(bert.pooler);
  select_head(bert, "base");
  EXPECT_EQ(bert.architecture, "BertModel");
  EXPECT_TRUE(bert.pooler);
  ModelConfig gpt2 = zoo_config("gpt2");
  std::string m = error_message([&] { select_head(gpt2, "mlm"); });
  EXPECT_NE(m.find("--head"), std::string::npos);
  EXPECT_NE(m.find("causal_lm"), std::string::npos) << m;
  select_head(gpt2, "base");
  EXPECT_EQ(gpt2.architecture, "GPT2Model");
  ModelConfig bart = zoo_config("bart-base");
  select_head(bart, "seq2seq_lm");
  EXPECT_EQ(bart.architecture, "BartForConditionalGeneration");
  ModelConfig vit = zoo_config("vit-base-patch16-224");
  select_head(vit, "base");
  EXPECT_TRUE(vit.pooler);
  EXPECT_NE(error_message([&] { select_head(vit, "causal_lm"); }).find("image_classification"), std::string::npos);
  EXPECT_NE(error_message([&] { select_head(vit, "bogus"); }).find("--head"), std::string::npos);
}

TEST(Config, EnumNames) {
  EXPECT_STREQ(to_string(Family::qwen2), "qwen2");
  EXPECT_STREQ(to_string(ArchType::moe_decoder), "moe_decoder");
  EXPECT_STREQ(to_string(Activation::gelu_tanh), "gelu_tanh");
  EXPECT_STREQ(to_string(NormKind::rms_norm), "rms_norm");
  EXPECT_STREQ(to_string(PositionKind::relative_bias), "relative_bias");
  // Head names are the --head values, so a printed head can be given back.
  for (Head h : {Head::base, Head::causal_lm, Head::masked_lm, Head::seq2seq_lm, Head::image_classification}) {
    ModelConfig c = parse(minimal(h == Head::causal_lm    ? "gpt2"
                                  : h == Head::seq2seq_lm ? "t5"
                                  : h == Head::image_classification ? "vit"
                                                                    : "bert"));
    select_head(c, to_string(h));
    EXPECT_EQ(c.head, h);
  }
}

TEST(Config, LoadConfigFileNamesTheFile) {
  testing::TempDir dir;
  std::string m = error_message([&] { load_config_file(dir / "absent.json"); });
  EXPECT_NE(m.find("absent.json"), std::string::npos);
  {
    std::ofstream out(dir / "config.json");
    out << minimal("bert").dump();
  }
  ModelConfig c = load_config_file(dir.path());
  EXPECT_EQ(c.name, dir.path().filename().string());
  EXPECT_EQ(c.source, (dir.path() / "config.json").string());
  {
    std::ofstream out(dir / "config.json");
    json j = minimal("bert");
    j["hidden_size"] = -1;
    out << j.dump();
  }
  m = error_message([&] { load_config_file(dir.path()); });
  EXPECT_NE(m.find("config.json"), std::string::npos);
  EXPECT_NE(m.find("hidden_size"), std::string::npos);
}

}  // namespace
}  // namespace clear
