// Checkpoints written with Hugging Face names (written out here, per family) load into the
// canonical tensors with the values written; bad checkpoints give the promised errors; random
// weights follow their documented distribution; tensors given directly are checked.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "clear/engine/weights.hpp"
#include "clear/model/config.hpp"
#include "clear/model/graph.hpp"
#include "clear/util/error.hpp"
#include "support/hf_checkpoints.hpp"
#include "support/safetensors_writer.hpp"
#include "support/test_support.hpp"

namespace {

using namespace clear;
using namespace clear::testing;

template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\n  lacks: " << p;
  }
}

void expect_loaded(const WeightStore& ws, const HfModel& fam, const Written& w, StoreAs as) {
  const auto shapes = param_shapes(fam.graph);
  const auto expected = canonical_values(fam, w, as);
  EXPECT_EQ(ws.names().size(), shapes.size());
  for (const auto& [name, values] : expected) {
    ASSERT_TRUE(ws.contains(name)) << name;
    EXPECT_EQ(ws.shape(name), shapes.at(name)) << name;
    const float* got = ws.data(name);
    for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(got[i], values[i]) << name << " [" << i << "]";
  }
  EXPECT_FALSE(ws.random());
}

// ---- loading, per family ----

TEST(LoadWeights, Gpt2Conv1DTransposedTiedCopyAndBuffers) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = gpt2();
  // GPT2LMHeadModel names, the causal-mask buffers, and lm_head.weight tied to wte.
  const Written w = generate(f);
  write(dir.path(), f, w, StoreAs::F32, 1,
        {make_tensor("lm_head.weight", {50, 8}, w.stored.at("wte.weight"), StoreAs::F32),
         make_tensor("transformer.h.0.attn.bias", {1, 1, 4, 4}, random_floats(16), StoreAs::F32),
         make_tensor("transformer.h.1.attn.masked_bias", {}, {-1e4f}, StoreAs::F32)},
        "transformer.");
  const WeightStore ws = load_weights(f.graph, dir.path());
  expect_loaded(ws, f, w, StoreAs::F32);
  EXPECT_EQ(ws.description(), "weights from " + dir.path().string());
  // Untransformed F32 is read in place from the mapping; Conv1D weights are transposed copies.
  EXPECT_TRUE(ws.is_mapped("embeddings.word.weight"));
  EXPECT_TRUE(ws.is_mapped("layers.0.attention.qkv_proj.bias"));
  EXPECT_FALSE(ws.is_mapped("layers.0.attention.qkv_proj.weight"));
  int64_t transposed = 0;
  for (const auto& m : f.map)
    if (m.layout == Layout::transposed) transposed += int64_t(w.stored.at(m.hf).size()) * 4;
  EXPECT_EQ(ws.owned_bytes(), transposed);
  EXPECT_EQ(ws.mapped_bytes() + ws.owned_bytes(), ws.bytes());
}

TEST(LoadWeights, Gpt2WithoutPrefixAndUntiedHead) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = gpt2(1, false);
  const Written w = write_family(dir.path(), f, StoreAs::BF16, 1);
  expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::BF16);
}

TEST(LoadWeights, LlamaShardedBf16) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = llama();
  const Written w = write_family(dir.path(), f, StoreAs::BF16, 2,
                                 {make_tensor("model.layers.0.self_attn.rotary_emb.inv_freq", {2}, {1.0f, 0.01f}, StoreAs::F32),
                                  make_tensor("model.layers.1.self_attn.rotary_emb.inv_freq", {2}, {1.0f, 0.01f}, StoreAs::F32)},
                                 "model.");
  const WeightStore ws = load_weights(f.graph, dir.path());
  expect_loaded(ws, f, w, StoreAs::BF16);
  EXPECT_EQ(ws.mapped_bytes(), 0);  // BF16 is converted
  EXPECT_EQ(ws.owned_bytes(), ws.bytes());
}

TEST(LoadWeights, MixtralExpertsSharded) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = mixtral();
  // Unprefixed body names (as MixtralModel stores them) are accepted too.
  const Written w = write_family(dir.path(), f, StoreAs::F32, 3);
  expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::F32);
}

TEST(LoadWeights, BertPrefixF16WithTiedDecoderAndUnusedHeads) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = bert();
  const Written w = generate(f);
  std::vector<StoredTensor> all;
  // Tied copies (equal to their owners), a buffer, and heads BertForMaskedLM does not carry.
  all.push_back(make_tensor("cls.predictions.decoder.weight", {30, 8}, w.stored.at("bert.embeddings.word_embeddings.weight"), StoreAs::F16));
  all.push_back(make_tensor("cls.predictions.decoder.bias", {30}, w.stored.at("cls.predictions.bias"), StoreAs::F16));
  all.push_back(StoredTensor{"bert.embeddings.position_ids", "I64", {1, 20}, std::string(160, '\0')});
  all.push_back(make_tensor("bert.pooler.dense.weight", {8, 8}, random_floats(64), StoreAs::F16));
  all.push_back(make_tensor("bert.pooler.dense.bias", {8}, random_floats(8), StoreAs::F16));
  all.push_back(make_tensor("cls.seq_relationship.weight", {2, 8}, random_floats(16), StoreAs::F16));
  all.push_back(make_tensor("cls.seq_relationship.bias", {2}, random_floats(2), StoreAs::F16));
  write(dir.path(), f, w, StoreAs::F16, 1, all);
  const WeightStore ws = load_weights(f.graph, dir.path());
  expect_loaded(ws, f, w, StoreAs::F16);
  const auto skipped = ws.skipped();
  ASSERT_EQ(skipped.size(), 4u);
  std::string joined;
  for (const auto& s : skipped) joined += s + "\n";
  EXPECT_NE(joined.find("bert.pooler.dense.weight"), std::string::npos) << joined;
  EXPECT_NE(joined.find("cls.seq_relationship.bias"), std::string::npos) << joined;
}

TEST(LoadWeights, BertLegacyGammaBeta) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  HfModel f = bert();
  for (auto& m : f.map) {  // old checkpoints name LayerNorm parameters gamma/beta
    if (m.hf.find("LayerNorm.weight") != std::string::npos) m.hf.replace(m.hf.size() - 6, 6, "gamma");
    if (m.hf.find("LayerNorm.bias") != std::string::npos) m.hf.replace(m.hf.size() - 4, 4, "beta");
  }
  const Written w = write_family(dir.path(), f, StoreAs::F32, 1);
  expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::F32);
}

TEST(LoadWeights, T5RelativeBiasSharedAndTiedEmbedTokens) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = t5();
  const Written w = generate(f);
  std::vector<StoredTensor> all;
  const auto shared = w.stored.at("shared.weight");
  all.push_back(make_tensor("encoder.embed_tokens.weight", {32, 8}, shared, StoreAs::F32));
  all.push_back(make_tensor("decoder.embed_tokens.weight", {32, 8}, shared, StoreAs::F32));
  all.push_back(make_tensor("decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight", {8, 2},
                            random_floats(16), StoreAs::F32));
  write(dir.path(), f, w, StoreAs::F32, 1, all);
  expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::F32);

  // A decoder embed_tokens that is not a copy of shared contradicts the tied model.
  all[1] = make_tensor("decoder.embed_tokens.weight", {32, 8}, random_floats(256), StoreAs::F32);
  write(dir.path(), f, w, StoreAs::F32, 1, all);
  expect_error([&] { load_weights(f.graph, dir.path()); },
               {"tensor decoder.embed_tokens.weight in", "tied copy of canonical encoder.embeddings.word.weight",
                "shared.weight", "differ"});
}

TEST(LoadWeights, BartPositionsWithOffsetRows) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = bart();
  // BART's learned position table has max_position_embeddings + 2 rows.
  EXPECT_EQ(param_shapes(f.graph).at("encoder.embeddings.position.weight"), (std::vector<int64_t>{14, 8}));
  const Written w = write_family(dir.path(), f, StoreAs::BF16, 2, {}, "model.");
  expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::BF16);
}

TEST(LoadWeights, VitPositionTableWithLeadingOne) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = vit();
  const Written w = write_family(dir.path(), f, StoreAs::F16, 1);
  expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::F16);
}

TEST(LoadWeights, EncoderFamiliesDistilbertRobertaAlbert) {
  SCOPED_TRACE(seed_note());
  for (const HfModel& f : {distilbert(), roberta(), albert()}) {
    SCOPED_TRACE(f.graph.config.model_type);
    TempDir dir;
    const Written w = write_family(dir.path(), f, StoreAs::F32, 1);
    expect_loaded(load_weights(f.graph, dir.path()), f, w, StoreAs::F32);
  }
}

// ---- bad checkpoints ----

class BadCheckpoint : public ::testing::Test {
 protected:
  TempDir dir;
  HfModel f = gpt2();
  std::string file() const { return (dir / "model.safetensors").string(); }
  // The GPT-2 tensors with prefix, with `edit` applied to the list before writing.
  template <class Edit>
  void write(Edit&& edit) {
    const Written w = generate(f);
    std::vector<StoredTensor> all;
    for (const auto& m : f.map)
      all.push_back(make_tensor("transformer." + m.hf, stored_shape(param_shapes(f.graph).at(m.canonical), m.layout),
                                w.stored.at(m.hf), StoreAs::F32));
    edit(all);
    write_safetensors(dir / "model.safetensors", all);
  }
  StoredTensor* find(std::vector<StoredTensor>& all, const std::string& name) {
    for (auto& t : all)
      if (t.name == name) return &t;
    ADD_FAILURE() << name;
    return nullptr;
  }
  void expect(const std::vector<std::string>& parts) {
    expect_error([&] { load_weights(f.graph, dir.path()); }, parts);
  }
};

TEST_F(BadCheckpoint, Valid) {
  write([](auto&) {});
  EXPECT_NO_THROW(load_weights(f.graph, dir.path()));
}

TEST_F(BadCheckpoint, WrongShape) {
  // c_attn stored in the canonical [out, in] orientation instead of Conv1D's [in, out].
  write([&](auto& all) {
    auto* t = find(all, "transformer.h.0.attn.c_attn.weight");
    t->shape = {24, 8};
  });
  expect({"tensor transformer.h.0.attn.c_attn.weight in " + file(),
          "expected shape [8, 24] (canonical layers.0.attention.qkv_proj.weight), found [24, 8]"});
}

TEST_F(BadCheckpoint, MissingTensor) {
  write([&](auto& all) { all.erase(all.begin() + 5); });
  expect({"missing tensor transformer.", "(canonical ", file()});
  write([&](auto& all) {
    std::erase_if(all, [](const StoredTensor& t) { return t.name == "transformer.h.1.ln_2.bias"; });
  });
  expect({"missing tensor transformer.h.1.ln_2.bias (or h.1.ln_2.bias)", "canonical layers.1.norm2.bias", "shape [8]",
          file()});
}

TEST_F(BadCheckpoint, ExtraTensor) {
  write([&](auto& all) { all.push_back(make_tensor("transformer.h.0.attn.rotary.weight", {2}, {1, 2}, StoreAs::F32)); });
  expect({"unexpected tensor transformer.h.0.attn.rotary.weight in " + file()});
}

TEST_F(BadCheckpoint, ExtraLayer) {
  write([&](auto& all) { all.push_back(make_tensor("transformer.h.2.ln_1.weight", {8}, random_floats(8), StoreAs::F32)); });
  expect({"unexpected tensor transformer.h.2.ln_1.weight", "canonical layers.2.norm1.weight"});
}

TEST_F(BadCheckpoint, PrefixedAndUnprefixedCopies) {
  write([&](auto& all) { all.push_back(make_tensor("ln_f.bias", {8}, random_floats(8), StoreAs::F32)); });
  expect({"unexpected tensor ln_f.bias in " + file(), "second tensor for canonical final_norm.bias",
          "transformer.ln_f.bias"});
}

TEST_F(BadCheckpoint, IntegerWeight) {
  write([&](auto& all) {
    auto* t = find(all, "transformer.ln_f.weight");
    *t = StoredTensor{t->name, "I32", {8}, std::string(32, '\1')};
  });
  expect({"tensor transformer.ln_f.weight in " + file(), "dtype I32", "canonical final_norm.weight"});
}

TEST_F(BadCheckpoint, TiedHeadDiffers) {
  write([&](auto& all) { all.push_back(make_tensor("lm_head.weight", {50, 8}, random_floats(400), StoreAs::F32)); });
  expect({"tensor lm_head.weight in " + file(), "tied copy of canonical embeddings.word.weight", "differ"});
}

TEST_F(BadCheckpoint, CorruptFileNamesIt) {
  write([](auto&) {});
  std::filesystem::resize_file(dir / "model.safetensors", std::filesystem::file_size(dir / "model.safetensors") - 3);
  expect({file(), "outside the data section"});
}

TEST_F(BadCheckpoint, ShardMissing) {
  write_family(dir.path(), f, StoreAs::F16, 2);
  EXPECT_NO_THROW(load_weights(f.graph, dir.path()));
  std::filesystem::remove(dir / "model-00001-of-00002.safetensors");
  expect({"model-00001-of-00002.safetensors", "does not exist"});
}

TEST_F(BadCheckpoint, NoCheckpointInFolder) {
  expect({dir.path().string(), "no model.safetensors"});
}

// ---- memory ----

TEST(WeightStoreMemory, ReleaseGivesMemoryBack) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  const HfModel f = gpt2();
  write_family(dir.path(), f, StoreAs::F32, 1);
  WeightStore ws = load_weights(f.graph, dir.path());
  const int64_t mapped = ws.mapped_bytes(), owned = ws.owned_bytes();
  ws.release("embeddings.word.weight");  // mapped
  EXPECT_EQ(ws.mapped_bytes(), mapped - 50 * 8 * 4);
  ws.release("layers.0.mlp.up_proj.weight");  // owned (transposed)
  EXPECT_EQ(ws.owned_bytes(), owned - 8 * 32 * 4);
  expect_error([&] { ws.data("embeddings.word.weight"); }, {"embeddings.word.weight", "released"});
  EXPECT_NE(ws.data("embeddings.position.weight"), nullptr);
  expect_error([&] { ws.release("nope.weight"); }, {"nope.weight"});
}

// ---- random weights ----

TEST(RandomWeights, DistributionAndDescription) {
  const uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note());
  const auto g = graph_of(R"({"model_type": "bert", "architectures": ["BertModel"], "vocab_size": 1000,
      "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 128,
      "max_position_embeddings": 20, "type_vocab_size": 2})");
  const WeightStore ws = random_weights(g, seed);
  EXPECT_TRUE(ws.random());
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(seed));
  EXPECT_EQ(ws.description(), std::string("random weights (seed ") + hex + ", normal(0, 0.02))");
  for (const auto& p : g.parameters()) {
    const float* v = ws.data(p.name);
    const bool bias = p.name.ends_with(".bias");
    const bool norm = g.nodes[size_t(g.find(p.name.substr(0, p.name.rfind('.'))))].op == OpKind::norm;
    if (bias || norm) {
      for (int64_t i = 0; i < p.numel(); ++i) ASSERT_EQ(v[i], bias ? 0.0f : 1.0f) << p.name;
      continue;
    }
    // Sample moments of normal(0, 0.02): sd of the mean 0.02/sqrt(n), of the sd about 0.02/sqrt(2n).
    double sum = 0, sq = 0;
    int64_t within = 0;
    for (int64_t i = 0; i < p.numel(); ++i) {
      sum += v[i];
      sq += double(v[i]) * v[i];
      within += std::fabs(v[i]) < 0.02;
    }
    const double n = double(p.numel()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
    EXPECT_LT(std::fabs(mean), 6 * 0.02 / std::sqrt(n)) << p.name;
    EXPECT_LT(std::fabs(sd - 0.02), 6 * 0.02 / std::sqrt(2 * n)) << p.name;
    if (n >= 64000) {  // normal, not uniform
      EXPECT_NEAR(double(within) / n, 0.6827, 0.01) << p.name;
    }
  }
}

TEST(RandomWeights, SameSeedSameWeightsPerTensorName) {
  const uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note());
  const HfModel two = gpt2(2), one = gpt2(1);
  const WeightStore a = random_weights(two.graph, seed), b = random_weights(two.graph, seed);
  const WeightStore c = random_weights(one.graph, seed), d = random_weights(two.graph, seed + 1);
  for (const auto& p : two.graph.parameters()) {
    const auto n = size_t(p.numel());
    EXPECT_EQ(std::memcmp(a.data(p.name), b.data(p.name), n * 4), 0) << p.name;
    // A tensor's values depend only on (seed, name): layer 0 is the same in a 1-layer model.
    if (c.contains(p.name)) {
      EXPECT_EQ(std::memcmp(a.data(p.name), c.data(p.name), n * 4), 0) << p.name;
    }
    if (!p.name.ends_with(".bias") && p.name.find("norm") == std::string::npos) {
      EXPECT_NE(std::memcmp(a.data(p.name), d.data(p.name), n * 4), 0) << p.name;
    }
  }
  // Different tensors of one model are not the same stream.
  EXPECT_NE(a.data("layers.0.mlp.up_proj.weight")[0], a.data("layers.1.mlp.up_proj.weight")[0]);
}

TEST(RandomWeights, OptionsSpreadNormsAndBiases) {
  SCOPED_TRACE(seed_note());
  const HfModel f = gpt2(1);
  const WeightStore ws = random_weights(f.graph, test_seed(), RandomWeightsOptions{0.05, 0.1, 0.2});
  EXPECT_NE(ws.description().find("norm weights 1 + normal(0, 0.1)"), std::string::npos) << ws.description();
  EXPECT_NE(ws.description().find("biases normal(0, 0.2)"), std::string::npos) << ws.description();
  const float* bias = ws.data("layers.0.mlp.up_proj.bias");
  const float* norm = ws.data("layers.0.norm1.weight");
  int nonzero = 0, not_one = 0;
  for (int i = 0; i < 32; ++i) nonzero += bias[i] != 0.0f;
  for (int i = 0; i < 8; ++i) not_one += norm[i] != 1.0f;
  EXPECT_EQ(nonzero, 32);
  EXPECT_EQ(not_one, 8);
}

// ---- tensors given directly ----

TEST(WeightsFromTensors, CheckedLikeACheckpoint) {
  SCOPED_TRACE(seed_note());
  const HfModel f = gpt2(1);
  std::map<std::string, std::vector<float>> tensors;
  for (const auto& p : f.graph.parameters()) tensors[p.name] = random_floats(size_t(p.numel()));
  const auto copy = tensors;
  const WeightStore ws = weights_from_tensors(f.graph, tensors);
  for (const auto& [name, values] : copy) {
    EXPECT_EQ(std::vector<float>(ws.data(name), ws.data(name) + values.size()), values) << name;
    EXPECT_EQ(ws.shape(name), param_shapes(f.graph).at(name));
  }
  auto missing = copy;
  missing.erase("final_norm.bias");
  expect_error([&] { weights_from_tensors(f.graph, missing); }, {"missing tensor 'final_norm.bias'", "[8]"});
  auto extra = copy;
  extra["layers.1.norm1.weight"] = random_floats(8);
  expect_error([&] { weights_from_tensors(f.graph, extra); }, {"unexpected tensor 'layers.1.norm1.weight'"});
  auto wrong = copy;
  wrong["layers.0.attention.qkv_proj.weight"] = random_floats(10);
  expect_error([&] { weights_from_tensors(f.graph, wrong); },
               {"'layers.0.attention.qkv_proj.weight'", "expected shape [24, 8]", "found 10 values"});
}

}  // namespace
