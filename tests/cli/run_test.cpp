// `dissect run` end to end on tiny configs: the report, JSON, saved .npy outputs, token-by-token
// decode, and every bad flag exiting 2 with the flag named.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clear/util/files.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using testing::run_dissect;

constexpr const char* kTinyGpt2 = R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
  "vocab_size": 97, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64})";
constexpr const char* kTinyT5 = R"({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"],
  "vocab_size": 97, "d_model": 32, "d_kv": 8, "d_ff": 40, "num_layers": 2, "num_heads": 4,
  "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16, "feed_forward_proj": "relu",
  "tie_word_embeddings": true, "pad_token_id": 0, "decoder_start_token_id": 0})";

class RunCommand : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::string model(const char* json, const std::string& name = "tiny") {
    std::filesystem::create_directories(dir / name);
    write_file_atomic(dir / name / "config.json", json);
    return (dir / name).string();
  }
};

TEST_F(RunCommand, ReportsLatencyThroughputAndBreakdown) {
  auto r = run_dissect({"run", model(kTinyGpt2), "--seq", "8", "--iters", "2", "--warmup", "1", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("random weights"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokens/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layers.0-1 attention"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lm_head"), std::string::npos) << r.out;
}

TEST_F(RunCommand, JsonCarriesLatencyWeightsAndBreakdown) {
  auto r = run_dissect({"run", model(kTinyGpt2), "--seq", "8", "--batch", "2", "--iters", "3", "--threads", "1",
                        "--format", "json", "--depth", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("random_weights").get<bool>());
  EXPECT_NE(j.at("weights").get<std::string>().find("random weights"), std::string::npos);
  EXPECT_EQ(j.at("latency").at("samples").get<int>(), 3);
  EXPECT_GT(j.at("latency").at("median_ms").get<double>(), 0.0);
  EXPECT_LE(j.at("latency").at("p10_ms").get<double>(), j.at("latency").at("p90_ms").get<double>());
  EXPECT_GT(j.at("tokens_per_second").get<double>(), 0.0);
  bool softmax_row = false;
  for (const auto& row : j.at("breakdown"))
    softmax_row |= row.at("component").get<std::string>() == "layers.0-1 attention.softmax";
  EXPECT_TRUE(softmax_row) << j.at("breakdown").dump();
  EXPECT_EQ(j.at("outputs").size(), 2u);
}

TEST_F(RunCommand, SavesOutputsAsNpy) {
  auto out = dir / "outputs";
  auto r = run_dissect({"run", model(kTinyGpt2), "--seq", "5", "--batch", "2", "--iters", "1", "--threads", "1",
                        "--input-ids", "1,2,3,4,5", "--save-outputs", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"logits", "last_hidden_state"}) {
    std::string bytes = read_file(out / (std::string(name) + ".npy"));
    ASSERT_GT(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 6), std::string("\x93NUMPY", 6));
    size_t header = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
    int64_t values = std::string(name) == "logits" ? 2 * 5 * 97 : 2 * 5 * 32;
    EXPECT_EQ(bytes.size(), 10 + header + 4 * values) << name;
    EXPECT_NE(bytes.find(std::string(name) == "logits" ? "(2, 5, 97)" : "(2, 5, 32)"), std::string::npos) << name;
  }
}

TEST_F(RunCommand, DecodesTokenByToken) {
  auto r = run_dissect({"run", model(kTinyGpt2), "--phase", "decode", "--seq", "8", "--kv-len", "6", "--new-tokens", "4", "--iters",
                        "2", "--warmup", "0", "--threads", "1", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("latency").at("unit"), "per token");
  EXPECT_EQ(j.at("latency").at("samples").get<int>(), 8);
  EXPECT_EQ(j.at("generated_tokens").size(), 4u);
  auto t5 = run_dissect({"run", model(kTinyT5, "t5"), "--phase", "decode", "--seq", "6", "--kv-len", "3", "--iters",
                         "1", "--threads", "1"});
  EXPECT_EQ(t5.exit_code, 0) << t5.err;
}

TEST_F(RunCommand, BadFlagsExit2NamingTheFlag) {
  std::string m = model(kTinyGpt2);
  struct Case {
    std::vector<std::string> args;
    const char* flag;
  };
  std::vector<Case> cases = {
      {{"--seq", "0"}, "--seq"},
      {{"--dtype", "fp8"}, "fp8"},
      {{"--phase", "sideways"}, "phase"},
      {{"--iters", "0"}, "--iters"},
      {{"--warmup", "-1"}, "--warmup"},
      {{"--threads", "-2"}, "--threads"},
      {{"--input-ids", "1,2,3"}, "--input-ids"},
      {{"--seq", "4", "--input-ids", "1,2,3,97"}, "--input-ids"},
      {{"--seq", "4", "--input-ids", "1,2,x,4"}, "--input-ids"},
      {{"--new-tokens", "3"}, "--new-tokens"},
      {{"--depth", "0"}, "--depth"},
      {{"--format", "xml"}, "--format"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"run", m, "--iters", "1"};
    // The case's own flags come last so they override the defaults above.
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = run_dissect(args);
    EXPECT_EQ(r.exit_code, 2) << c.flag << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(c.flag), std::string::npos) << "stderr does not name " << c.flag << ": " << r.err;
  }
  auto missing = run_dissect({"run", (dir / "nowhere").string()});
  EXPECT_EQ(missing.exit_code, 2);
  // A ViT at another image size would need an interpolated position table: refused, not sliced.
  auto vit = run_dissect({"run", "vit-base-patch16-224", "--image-size", "96", "--iters", "1"});
  EXPECT_EQ(vit.exit_code, 2) << vit.out << vit.err;
  EXPECT_NE(vit.err.find("--image-size"), std::string::npos) << vit.err;
}

}  // namespace
}  // namespace clear
