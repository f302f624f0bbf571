// dissect profile / machine / results end to end on a tiny model: the emulated sensor with a store,
// an interrupted run resumed, exports, the estimate path labelled, bad flags named.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"
#include "clear/util/files.hpp"

namespace clear {
namespace {

const char* kTinyBert =
    R"({"model_type":"bert","architectures":["BertModel"],"hidden_size":32,"num_hidden_layers":2,)"
    R"("num_attention_heads":2,"intermediate_size":64,"vocab_size":97,"max_position_embeddings":32,)"
    R"("type_vocab_size":2,"layer_norm_eps":1e-12,"hidden_act":"gelu","pad_token_id":0})";
// 2 ms updates: 0.1 s windows (50 periods), so the whole program stays short.
const char* kEmulated = "emulated:update=2ms,resolution=1mJ,idle=40W,attention=120W,mlp=90W,default=80W,noise=0.2%";

struct Scratch {
  testing::TempDir dir;
  std::vector<std::string> env;
  Scratch() {
    std::filesystem::create_directories(dir / "tiny");
    write_file_atomic(dir / "tiny" / "config.json", kTinyBert);
    // Machine ceilings are measured once per cache: one cache for the whole program.
    static testing::TempDir cache;
    env = {"CLEAR_CACHE_DIR=" + cache.path().string()};
  }
  std::vector<std::string> profile_args(const std::string& components) {
    return {"profile", (dir / "tiny").string(), "--seq", "8", "--threads", "1", "--meter", kEmulated,
            "--components", components, "--min-trials", "2", "--target-ci", "0.2", "--budget", "120",
            "--store", (dir / "r.db").string()};
  }
};

TEST(Profile, InterruptedRunResumesAndExports) {
  Scratch s;
  auto args = s.profile_args("layers.0.attention.[qkv]_proj");
  args.insert(args.end(), {"--stop-after", "2", "--format", "json"});
  auto first = testing::run_dissect(args, s.env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto j = nlohmann::json::parse(first.out);
  EXPECT_EQ(j["run"]["status"], "interrupted");
  const int64_t run = j["run"]["id"];
  EXPECT_EQ(j["components"].size(), 2u);

  auto resume = s.profile_args("layers.0.attention.[qkv]_proj");
  resume.insert(resume.end(), {"--resume", std::to_string(run), "--format", "json"});
  auto second = testing::run_dissect(resume, s.env);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("2 units already finished"), std::string::npos) << second.err;
  j = nlohmann::json::parse(second.out);
  EXPECT_EQ(j["run"]["status"], "finished");
  EXPECT_EQ(j["run"]["id"], run);
  // q, k and v projections of layer 0, and the model.
  EXPECT_EQ(j["components"].size(), 4u);
  for (const auto& c : j["components"]) {
    EXPECT_EQ(c["energy_source"], "emulated");
    EXPECT_EQ(c["energy_label"], "measured");
  }
  EXPECT_TRUE(j["run"]["summary"]["coverage_net"].is_number());
  EXPECT_TRUE(j["run"]["machine"]["gemm_gflops"].contains("fp32"));

  // Resuming with other settings is refused, naming the setting.
  auto other = s.profile_args("layers.0.attention.[qkv]_proj");
  other[13] = "0.1";  // --target-ci
  other.insert(other.end(), {"--resume", std::to_string(run)});
  auto refused = testing::run_dissect(other, s.env);
  EXPECT_EQ(refused.exit_code, 2);

  auto list = testing::run_dissect({"results", "list", "--store", (s.dir / "r.db").string()}, s.env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("finished"), std::string::npos);
  for (std::string format : {"csv", "json", "md", "sql"}) {
    auto ex = testing::run_dissect({"results", "export", std::to_string(run), "--format", format, "--store",
                                    (s.dir / "r.db").string()}, s.env);
    ASSERT_EQ(ex.exit_code, 0) << format << ex.err;
    EXPECT_NE(ex.out.find("layers.0.attention.q_proj"), std::string::npos) << format;
  }
  auto missing = testing::run_dissect({"results", "show", "99", "--store", (s.dir / "r.db").string()}, s.env);
  EXPECT_EQ(missing.exit_code, 2);
}

TEST(Profile, EstimateMeterIsLabelled) {
  Scratch s;
  auto args = s.profile_args("embeddings.word");
  args[7] = "estimate";  // --meter
  args[15] = "8";         // --budget: the estimate's net energy of a tiny op may never reach the CI target
  auto r = testing::run_dissect(args, s.env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ESTIMATE"), std::string::npos);
  EXPECT_NE(r.out.find("estimate (estimate)"), std::string::npos);
  EXPECT_EQ(r.out.find("(measured)"), std::string::npos);
}

// With no sensor, `--meter auto` profiles with the estimate charging only this process's CPU time.
TEST(Profile, AutoWithoutSensorUsesProcessScopeEstimate) {
  Scratch s;
  testing::TempDir empty;
  auto env = s.env;
  for (const char* var : {"CLEAR_POWERCAP_ROOT=", "CLEAR_PERF_POWER_ROOT=", "CLEAR_HWMON_ROOT="})
    env.push_back(var + (empty / "none").string());
  env.push_back("CLEAR_NVML_LIB=" + (empty / "libnvidia-ml.so.1").string());
  auto args = s.profile_args("pooler.dense");
  args[7] = "auto";
  args[15] = "6";
  args.insert(args.end(), {"--format", "json"});
  auto r = testing::run_dissect(args, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["run"]["meter"]["name"], "estimate");
  EXPECT_NE(j["run"]["meter"]["method"].get<std::string>().find("scope=process"), std::string::npos);
  EXPECT_NE(r.err.find("using estimate with scope=process"), std::string::npos) << r.err;
  ASSERT_FALSE(j["components"].empty());
  for (const auto& c : j["components"]) {
    EXPECT_EQ(c["energy_label"], "estimate");
    EXPECT_EQ(c["energy_source"], "estimate");
  }
}

TEST(Profile, BadFlagsAreNamed) {
  Scratch s;
  auto args = s.profile_args("no.such.component");
  auto r = testing::run_dissect(args, s.env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--components"), std::string::npos);
}

}  // namespace
}  // namespace clear
