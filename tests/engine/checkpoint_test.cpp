// A checkpoint written with Hugging Face names (single file or shards; F32, F16, BF16 storage)
// runs through the engine via EngineOptions.weights and gives exactly the outputs of the same
// values given directly by canonical name.
#include <gtest/gtest.h>

#include <cstring>

#include "clear/engine/backend.hpp"
#include "clear/engine/weights.hpp"
#include "support/hf_checkpoints.hpp"
#include "support/test_support.hpp"

namespace {

using namespace clear;
using namespace clear::testing;

struct Case {
  const char* name;
  HfModel (*make)();
  StoreAs as;
  int shards;
  const char* prefix;                     // written before base-model names
  bool tied_head_copy = false;            // also store lm_head.weight, equal to the word embedding
};

HfModel gpt2_tied() { return gpt2(2, true); }

ModelInputs random_inputs(const ModelConfig& c, const Workload& wl) {
  ModelInputs in;
  std::uniform_int_distribution<int64_t> token(0, c.vocab_size - 1);
  if (c.family == clear::Family::vit) {
    in.pixel_values = random_floats(size_t(wl.batch * c.num_channels * c.image_size * c.image_size));
    return in;
  }
  for (int64_t i = 0; i < wl.batch * wl.seq; ++i) in.input_ids.push_back(token(rng()));
  if (c.arch_type == ArchType::encoder_decoder)
    for (int64_t i = 0; i < wl.batch * wl.target_seq; ++i) in.decoder_input_ids.push_back(token(rng()));
  return in;
}

std::vector<OutputTensor> run(std::unique_ptr<Backend> engine, const ModelInputs& in) {
  engine->set_inputs(in);
  engine->run_model(1);
  engine->synchronize();
  return engine->outputs();
}

class CheckpointRuns : public ::testing::TestWithParam<Case> {};

TEST_P(CheckpointRuns, SameOutputsAsTensorsGivenDirectly) {
  SCOPED_TRACE(seed_note());
  const Case& c = GetParam();
  const HfModel m = c.make();
  const ModelConfig& config = m.graph.config;
  TempDir dir;
  const Written w = generate(m);
  std::vector<StoredTensor> extra;
  if (c.tied_head_copy)
    extra.push_back(make_tensor("lm_head.weight", param_shapes(m.graph).at("embeddings.word.weight"),
                                w.stored.at("wte.weight"), c.as));
  write(dir.path(), m, w, c.as, c.shards, extra, c.prefix);

  Workload wl;
  wl.batch = 2;
  wl.seq = 5;
  wl.target_seq = config.arch_type == ArchType::encoder_decoder ? 4 : 0;
  const ModelInputs in = random_inputs(config, wl);

  EngineOptions from_folder;
  from_folder.threads = 1;
  from_folder.weights = dir.path();
  auto engine = make_cpu_backend(config, wl, from_folder);
  EXPECT_FALSE(engine->random_weights());
  EXPECT_EQ(engine->weights_description(), "weights from " + dir.path().string());
  const auto loaded = run(std::move(engine), in);

  EngineOptions direct;
  direct.threads = 1;
  const auto given = run(make_cpu_backend(config, wl, direct, weights_from_tensors(m.graph, canonical_values(m, w, c.as))), in);

  ASSERT_EQ(loaded.size(), given.size());
  ASSERT_FALSE(loaded.empty());
  for (size_t i = 0; i < loaded.size(); ++i) {
    SCOPED_TRACE(loaded[i].name);
    EXPECT_EQ(loaded[i].name, given[i].name);
    EXPECT_EQ(loaded[i].shape, given[i].shape);
    ASSERT_EQ(loaded[i].data.size(), given[i].data.size());
    ASSERT_FALSE(loaded[i].data.empty());
    bool nonzero = false;
    for (float v : loaded[i].data) nonzero |= v != 0.0f;
    EXPECT_TRUE(nonzero);
    EXPECT_EQ(std::memcmp(loaded[i].data.data(), given[i].data.data(), loaded[i].data.size() * sizeof(float)), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, CheckpointRuns,
    ::testing::Values(Case{"gpt2_f16_sharded", gpt2_tied, StoreAs::F16, 2, "transformer.", true},
                      Case{"llama_bf16", llama, StoreAs::BF16, 1, "model."},
                      Case{"mixtral_f32_sharded", mixtral, StoreAs::F32, 3, "model."},
                      Case{"bert_f32", bert, StoreAs::F32, 1, ""},
                      Case{"t5_f16_sharded", t5, StoreAs::F16, 2, ""},
                      Case{"bart_bf16", bart, StoreAs::BF16, 1, "model."},
                      Case{"vit_f32", vit, StoreAs::F32, 1, ""},
                      Case{"distilbert_bf16", distilbert, StoreAs::BF16, 1, ""},
                      Case{"roberta_f32", roberta, StoreAs::F32, 1, ""},
                      Case{"albert_f16", albert, StoreAs::F16, 1, ""}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
