// The built-in zoo: every model parses, its parameter count equals both the value Hugging Face's
// num_parameters() reports for the class and an independent closed-form count, and look-ups
// accept the names people type.
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clear/model/graph.hpp"
#include "clear/model/zoo.hpp"
#include "clear/util/embedded.hpp"
#include "clear/util/error.hpp"
#include "model/support/model_fixtures.hpp"
#include "model/support/reference_count.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

// num_parameters() of the named class as published (model cards, papers) or printed by transformers.
const std::map<std::string, int64_t> kPublished = {
    {"bert-base-uncased", 109482240},        {"bert-large-uncased", 335141888},
    {"distilbert-base-uncased", 66362880},   {"roberta-base", 124645632},
    {"albert-base-v2", 11683584},            {"gpt2", 124439808},
    {"gpt2-medium", 354823168},              {"llama-2-7b", 6738415616},
    {"llama-3.2-1b", 1235814400},            {"llama-3.1-8b", 8030261248},
    {"tinyllama-1.1b", 1100048384},          {"qwen2.5-0.5b", 494032768},
    {"mistral-7b-v0.1", 7241732096},         {"mixtral-8x7b-v0.1", 46702792704},
    {"t5-small", 60506624},                  {"t5-base", 222903552},
    {"bart-base", 139420416},                {"vit-base-patch16-224", 86567656},
};

using testing::zoo_json;

TEST(Zoo, HasTheEighteenModelsOfTheIssue) {
  auto entries = zoo_entries();
  ASSERT_EQ(entries.size(), kPublished.size());
  for (const auto& e : entries) EXPECT_TRUE(kPublished.count(e.name)) << e.name;
  EXPECT_EQ(embedded_files_zoo().size(), kPublished.size());
}

TEST(Zoo, ParamCountsMatchPublishedAndIndependentCounts) {
  for (const auto& e : zoo_entries()) {
    SCOPED_TRACE(e.name);
    ModelConfig c = zoo_config(e.name);
    ComponentGraph g = build_graph(c);
    EXPECT_EQ(g.param_count(), kPublished.at(e.name));
    EXPECT_EQ(g.param_count(), testing::reference_param_count(zoo_json(e.name), c.architecture));
  }
}

TEST(Zoo, ClassesAreTheIssues) {
  const std::map<std::string, std::string> classes = {
      {"bert-base-uncased", "BertModel"},       {"distilbert-base-uncased", "DistilBertModel"},
      {"roberta-base", "RobertaModel"},         {"albert-base-v2", "AlbertModel"},
      {"gpt2", "GPT2LMHeadModel"},              {"llama-2-7b", "LlamaForCausalLM"},
      {"qwen2.5-0.5b", "Qwen2ForCausalLM"},     {"mistral-7b-v0.1", "MistralForCausalLM"},
      {"mixtral-8x7b-v0.1", "MixtralForCausalLM"}, {"t5-small", "T5ForConditionalGeneration"},
      {"bart-base", "BartModel"},               {"vit-base-patch16-224", "ViTForImageClassification"}};
  for (const auto& [name, cls] : classes) {
    ModelConfig c = zoo_config(name);
    EXPECT_EQ(c.architecture, cls) << name;
    EXPECT_EQ(c.name, name);
    EXPECT_EQ(c.source, "zoo:" + name);
  }
  EXPECT_EQ(zoo_config("bert-base-uncased").head, Head::base);
  EXPECT_TRUE(zoo_config("bert-base-uncased").pooler);
  EXPECT_EQ(zoo_config("gpt2").head, Head::causal_lm);
  EXPECT_EQ(zoo_config("t5-base").head, Head::seq2seq_lm);
  EXPECT_EQ(zoo_config("vit-base-patch16-224").head, Head::image_classification);
  EXPECT_FALSE(zoo_config("vit-base-patch16-224").pooler);
  EXPECT_EQ(zoo_config("mixtral-8x7b-v0.1").arch_type, ArchType::moe_decoder);
  EXPECT_EQ(zoo_config("mistral-7b-v0.1").sliding_window, 4096);
  EXPECT_EQ(zoo_config("mixtral-8x7b-v0.1").sliding_window, 0);  // "sliding_window": null
  EXPECT_EQ(zoo_config("llama-3.2-1b").rope_scaling.type, "llama3");
}

TEST(Zoo, NamesAreCaseInsensitiveWithOrganisationPrefixAndHubAliases) {
  for (const char* name : {"GPT2", "openai-community/gpt2", "OpenAI-Community/GPT2"}) EXPECT_EQ(zoo_config(name).name, "gpt2");
  EXPECT_EQ(zoo_config("google-bert/bert-base-uncased").name, "bert-base-uncased");
  EXPECT_EQ(zoo_config("meta-llama/Llama-2-7b-hf").name, "llama-2-7b");
  EXPECT_EQ(zoo_config("meta-llama/Llama-3.2-1B").name, "llama-3.2-1b");
  EXPECT_EQ(zoo_config("meta-llama/Meta-Llama-3.1-8B").name, "llama-3.1-8b");
  EXPECT_EQ(zoo_config("TinyLlama/TinyLlama-1.1B-Chat-v1.0").name, "tinyllama-1.1b");
  EXPECT_EQ(zoo_config("Qwen/Qwen2.5-0.5B").name, "qwen2.5-0.5b");
  EXPECT_EQ(zoo_config("mistralai/Mixtral-8x7B-v0.1").name, "mixtral-8x7b-v0.1");
  EXPECT_EQ(zoo_config("google/t5-small").name, "t5-small");
  EXPECT_EQ(zoo_config("google-t5/t5-base").name, "t5-base");
  EXPECT_EQ(zoo_config("facebook/bart-base").name, "bart-base");
  EXPECT_EQ(zoo_config("FacebookAI/roberta-base").name, "roberta-base");
  EXPECT_EQ(zoo_config("albert/albert-base-v2").name, "albert-base-v2");
  EXPECT_EQ(zoo_config("distilbert/distilbert-base-uncased").name, "distilbert-base-uncased");
  EXPECT_EQ(zoo_config("google/vit-base-patch16-224").name, "vit-base-patch16-224");
  EXPECT_TRUE(is_zoo_name("Mistral-7B-v0.1"));
  EXPECT_FALSE(is_zoo_name("meta-llama/gpt2"));  // a prefix of another organisation is not accepted
  EXPECT_FALSE(is_zoo_name("gpt3"));
  EXPECT_FALSE(is_zoo_name(""));
}

TEST(Zoo, UnknownNameListsTheZoo) {
  try {
    zoo_config("gpt-5");
    FAIL() << "expected clear::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("gpt-5"), std::string::npos);
    for (const auto& entry : zoo_entries()) EXPECT_NE(m.find(entry.name), std::string::npos) << entry.name;
  }
  try {
    resolve_model("no-such-model-or-folder");
    FAIL() << "expected clear::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bert-base-uncased"), std::string::npos);
  }
}

TEST(Zoo, ResolveModelReadsAFolderOrAFile) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "my-model");
  nlohmann::json j = zoo_json("gpt2");
  j["n_layer"] = 3;
  {
    std::ofstream out(dir / "my-model" / "config.json");
    out << j.dump();
  }
  ModelConfig from_folder = resolve_model((dir / "my-model").string());
  EXPECT_EQ(from_folder.name, "my-model");
  EXPECT_EQ(from_folder.decoder.num_layers, 3);
  ModelConfig from_file = resolve_model((dir / "my-model" / "config.json").string());
  EXPECT_EQ(from_file.decoder.num_layers, 3);
  EXPECT_NE(from_file.source.find("config.json"), std::string::npos);
  std::filesystem::create_directories(dir / "empty");
  EXPECT_THROW(resolve_model((dir / "empty").string()), Error);
  {
    std::ofstream out(dir / "broken.json");
    out << "{ not json";
  }
  try {
    resolve_model((dir / "broken.json").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace clear
