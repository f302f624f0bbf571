// dissect analyze: formats, totals in JSON, and exit status 2 with a clear message on bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace clear {
namespace {

using testing::run_dissect;

TEST(AnalyzeCli, JsonHasTotalsAndEveryComponent) {
  const auto r = run_dissect({"analyze", "bert-base-uncased", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"model", "family", "arch_type", "workload", "convention", "params_total", "macs_total",
                          "flops_total", "bytes_total", "kv_cache_bytes", "weights_bytes", "components"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["model"], "bert-base-uncased");
  EXPECT_EQ(j["family"], "bert");
  EXPECT_EQ(j["arch_type"], "encoder_only");
  EXPECT_EQ(j["params_total"], 109482240);
  EXPECT_EQ(j["workload"]["seq"], 128);
  int64_t leaf_flops = 0, leaf_params = 0;
  std::set<std::string> parents;
  for (const auto& c : j["components"])
    if (!c["parent"].is_null()) parents.insert(c["parent"].get<std::string>());
  for (const auto& c : j["components"]) {
    for (const char* key : {"name", "kind", "parent", "params", "macs", "flops", "bytes", "calls", "weight_bytes_read",
                            "activation_bytes_read", "activation_bytes_written", "kv_bytes_read", "kv_bytes_written",
                            "intensity"})
      EXPECT_TRUE(c.contains(key)) << key;
    if (!parents.count(c["name"].get<std::string>())) {
      leaf_flops += c["flops"].get<int64_t>();
      leaf_params += c["params"].get<int64_t>();
    }
  }
  EXPECT_EQ(leaf_flops, j["flops_total"].get<int64_t>());
  EXPECT_EQ(leaf_params, j["params_total"].get<int64_t>());
}

TEST(AnalyzeCli, CalflopsConventionOnAUserConfig) {
  testing::TempDir dir;
  auto config = nlohmann::json::parse(R"({"architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 768,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "type_vocab_size": 2,
    "vocab_size": 21128})");
  {
    std::ofstream out(dir / "config.json");
    out << config.dump();
  }
  const auto r = run_dissect({"analyze", dir.path().string(), "--convention", "calflops", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["macs_total"], 11174215680);
  EXPECT_EQ(j["flops_total"], 22363078656);
}

TEST(AnalyzeCli, TableFitsOneHundredColumns) {
  for (const char* depth : {"1", "2"}) {
    const auto r = run_dissect({"analyze", "llama-3.1-8b", "--phase", "decode", "--kv-len", "1000", "--depth", depth});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("layers.0-31 attention"), std::string::npos);
    size_t start = r.out.find("component");  // the header block above may be longer
    std::istringstream lines(r.out.substr(start));
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
  }
}

TEST(AnalyzeCli, CsvAndMarkdown) {
  const auto csv = run_dissect({"analyze", "t5-small", "--target-seq", "16", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("component,n,calls,params,macs,flops", 0), 0u) << csv.out.substr(0, 200);
  EXPECT_NE(csv.out.find("decoder.layers.0-5 cross_attention"), std::string::npos);
  const auto md = run_dissect({"analyze", "gpt2", "--training", "--format", "md"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| component |"), std::string::npos);
  EXPECT_NE(md.out.find("bwd FLOPs"), std::string::npos);
}

TEST(AnalyzeCli, BadInputExitsTwoNamingTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {{"analyze", "no-such-model"}, "no-such-model"},
      {{"analyze", "gpt2", "--convention", "flops"}, "--convention"},
      {{"analyze", "gpt2", "--phase", "later"}, "--phase"},
      {{"analyze", "gpt2", "--dtype", "fp8"}, "--dtype"},
      {{"analyze", "bert-base-uncased", "--phase", "decode"}, "--phase"},
      {{"analyze", "gpt2", "--batch", "0"}, "--batch"},
      {{"analyze", "gpt2", "--seq", "4096"}, "--seq"},  // past GPT-2's 1024 learned positions
      {{"analyze", "gpt2", "--depth", "0"}, "--depth"},
      {{"analyze", "gpt2", "--target-seq", "8"}, "--target-seq"},
      {{"analyze", "vit-base-patch16-224", "--image-size", "100"}, "--image-size"},
      {{"analyze", "gpt2", "--head", "mlm"}, "mlm"},
  };
  for (const auto& c : cases) {
    const auto r = run_dissect(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args.back() << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

}  // namespace
}  // namespace clear
