// Workload names, byte widths and validation against a model; errors name the dissect flag.
#include <gtest/gtest.h>

#include "clear/model/config.hpp"
#include "clear/model/workload.hpp"
#include "clear/model/zoo.hpp"
#include "model/support/model_fixtures.hpp"

namespace clear {
namespace {

using testing::error_message;

void expect_flag_error(const std::string& model, const Workload& w, const char* flag) {
  ModelConfig c = zoo_config(model);
  std::string m = error_message([&] { validate_workload(c, w); });
  EXPECT_EQ(m.rfind(flag, 0), 0u) << "expected the message to start with " << flag << ": " << m;
}

TEST(Workload, NamesAndBytes) {
  EXPECT_EQ(parse_phase("prefill"), Phase::prefill);
  EXPECT_EQ(parse_phase("decode"), Phase::decode);
  EXPECT_STREQ(to_string(Phase::decode), "decode");
  for (DType d : {DType::fp32, DType::fp16, DType::bf16, DType::int8}) EXPECT_EQ(parse_dtype(to_string(d)), d);
  EXPECT_EQ(dtype_bytes(DType::fp32), 4);
  EXPECT_EQ(dtype_bytes(DType::fp16), 2);
  EXPECT_EQ(dtype_bytes(DType::bf16), 2);
  EXPECT_EQ(dtype_bytes(DType::int8), 1);
  std::string m = error_message([] { parse_phase("Prefill"); });
  EXPECT_NE(m.find("--phase"), std::string::npos);
  EXPECT_NE(m.find("decode"), std::string::npos);
  m = error_message([] { parse_dtype("fp8"); });
  EXPECT_NE(m.find("--dtype"), std::string::npos);
  EXPECT_NE(m.find("bf16"), std::string::npos);
}

TEST(Workload, ValidWorkloadsPass) {
  Workload w;
  for (const auto& e : zoo_entries()) EXPECT_NO_THROW(validate_workload(zoo_config(e.name), w)) << e.name;
  w.phase = Phase::decode;
  w.kv_len = 4000;
  EXPECT_NO_THROW(validate_workload(zoo_config("llama-2-7b"), w));
  w.kv_len = 0;  // the first generated token
  EXPECT_NO_THROW(validate_workload(zoo_config("gpt2"), w));
  Workload t5;
  t5.seq = 4096;  // relative positions: no table limit
  t5.target_seq = 17;
  EXPECT_NO_THROW(validate_workload(zoo_config("t5-small"), t5));
  Workload vit;
  vit.image_size = 384;
  EXPECT_NO_THROW(validate_workload(zoo_config("vit-base-patch16-224"), vit));
  Workload train;
  train.training = true;
  EXPECT_NO_THROW(validate_workload(zoo_config("bert-base-uncased"), train));
}

TEST(Workload, BadSizesNameTheirFlag) {
  Workload w;
  w.batch = 0;
  expect_flag_error("gpt2", w, "--batch");
  w = Workload{};
  w.seq = -3;
  expect_flag_error("gpt2", w, "--seq");
  w = Workload{};
  w.target_seq = -1;
  expect_flag_error("t5-small", w, "--target-seq");
  w = Workload{};
  w.batch = 1 << 20;
  w.seq = 1 << 20;
  expect_flag_error("llama-2-7b", w, "--batch");
  w = Workload{};
  w.seq = 513;  // BERT has 512 positions
  expect_flag_error("bert-base-uncased", w, "--seq");
  w.seq = 1025;
  expect_flag_error("bart-base", w, "--seq");
  w = Workload{};
  w.target_seq = 2000;
  expect_flag_error("bart-base", w, "--target-seq");
}

TEST(Workload, InconsistentWorkloadsNameTheirFlag) {
  Workload w;
  w.phase = Phase::decode;
  expect_flag_error("bert-base-uncased", w, "--phase");  // no KV cache in an encoder
  expect_flag_error("vit-base-patch16-224", w, "--phase");
  w.kv_len = 1024;  // gpt2: 1024 positions, the new token would be the 1025th
  expect_flag_error("gpt2", w, "--kv-len");
  w.kv_len = 3;
  w.training = true;
  expect_flag_error("gpt2", w, "--training");
  w = Workload{};
  w.kv_len = 5;
  expect_flag_error("gpt2", w, "--kv-len");  // kv-len without decode
  w = Workload{};
  w.target_seq = 8;
  expect_flag_error("gpt2", w, "--target-seq");
  w = Workload{};
  w.image_size = 230;
  expect_flag_error("vit-base-patch16-224", w, "--image-size");
  w.image_size = 224;
  expect_flag_error("gpt2", w, "--image-size");
}

}  // namespace
}  // namespace clear
