// `dissect models` lists the zoo in every format; a model name that is neither a zoo name nor a
// path is refused with exit status 2 and the zoo listed.
#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace {

using clear::testing::run_dissect;

const char* kZoo[] = {"bert-base-uncased", "bert-large-uncased", "distilbert-base-uncased", "roberta-base",
                      "albert-base-v2",    "gpt2",               "gpt2-medium",             "llama-2-7b",
                      "llama-3.2-1b",      "llama-3.1-8b",       "tinyllama-1.1b",          "qwen2.5-0.5b",
                      "mistral-7b-v0.1",   "mixtral-8x7b-v0.1",  "t5-small",                "t5-base",
                      "bart-base",         "vit-base-patch16-224"};

TEST(DissectModels, TableFitsOneHundredColumnsAndListsEveryModel) {
  auto r = run_dissect({"models"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : kZoo) EXPECT_NE(r.out.find(name), std::string::npos) << name;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    EXPECT_LE(end - start, 100u) << r.out.substr(start, end - start);
    start = end + 1;
  }
  EXPECT_NE(r.out.find("GPT2LMHeadModel"), std::string::npos);
  EXPECT_NE(r.out.find("encoder_decoder"), std::string::npos);
}

TEST(DissectModels, JsonParsesWithExactParameterCounts) {
  auto r = run_dissect({"models", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), std::size(kZoo));
  bool saw_gpt2 = false;
  for (const auto& row : j) {
    for (const char* key : {"name", "family", "type", "class", "params"}) EXPECT_TRUE(row.contains(key)) << key;
    if (row["name"] == "gpt2") {
      saw_gpt2 = true;
      EXPECT_EQ(row["params"].get<int64_t>(), 124439808);
      EXPECT_EQ(row["class"], "GPT2LMHeadModel");
    }
    if (row["name"] == "bert-base-uncased") { EXPECT_EQ(row["params"].get<int64_t>(), 109482240); }
  }
  EXPECT_TRUE(saw_gpt2);
}

TEST(DissectModels, CsvAndMarkdownHaveOneLinePerModel) {
  auto csv = run_dissect({"models", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), long(std::size(kZoo) + 1));
  EXPECT_NE(csv.out.find("mixtral-8x7b-v0.1,mixtral,moe_decoder,MixtralForCausalLM,46702792704"), std::string::npos);
  auto md = run_dissect({"models", "--format", "md"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| t5-small |"), std::string::npos);
}

TEST(DissectModels, BadFormatIsExitTwo) {
  auto r = run_dissect({"models", "--format", "xml"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(DissectModels, UnknownModelNameIsExitTwoWithTheZooListed) {
  auto r = run_dissect({"analyze", "no-such-model-anywhere"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no-such-model-anywhere"), std::string::npos) << r.err;
  for (const char* name : kZoo) EXPECT_NE(r.err.find(name), std::string::npos) << name << "\n" << r.err;
}

}  // namespace
