// The engine as the protocol drives it: components as units (capture, run_component, hooks),
// whole-model runs, decode steps, memory refusal and seeded random weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "clear/engine/cpu_engine.hpp"
#include "clear/engine/kernels.hpp"
#include "clear/engine/weights.hpp"
#include "clear/model/zoo.hpp"
#include "clear/util/error.hpp"
#include "engine/engine_tiny_configs.hpp"
#include "engine/support/reference_harness.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using engine_test::TinyConfig;

// Workload of a tiny test: batch 2, 6 tokens (decode: 5 cached + 1), target 4, 16-pixel images.
Workload tiny_workload(const ModelConfig& config, Phase phase) {
  Workload w;
  w.batch = 2;
  w.seq = 6;
  w.target_seq = config.arch_type == ArchType::encoder_decoder ? 4 : 0;
  w.phase = phase;
  w.kv_len = phase == Phase::decode ? 5 : 0;
  return w;
}

std::unique_ptr<CpuEngine> tiny_engine(const TinyConfig& tc, Phase phase, EngineOptions options = {}) {
  reference::TinyModel m = reference::make_tiny_model(tc.json, tc.name);
  if (options.threads == 0) options.threads = 1;
  return make_cpu_engine(m.config, tiny_workload(m.config, phase), options, weights_from_tensors(m.graph, m.fp32));
}

bool is_decoder(const TinyConfig& tc) {
  return std::string(tc.name) != "bert" && std::string(tc.name) != "vit";
}

void expect_bitwise_equal(const std::vector<OutputTensor>& a, const std::vector<OutputTensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name) << what;
    EXPECT_EQ(a[i].shape, b[i].shape) << what << " " << a[i].name;
    ASSERT_EQ(a[i].data.size(), b[i].data.size()) << what << " " << a[i].name;
    EXPECT_EQ(0, std::memcmp(a[i].data.data(), b[i].data.data(), a[i].data.size() * sizeof(float)))
        << what << ": " << a[i].name << " differs";
  }
}

double max_rel_diff(const OutputTensor& a, const OutputTensor& b) {
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    worst = std::max(worst, std::abs(double(a.data[i]) - double(b.data[i])));
    scale = std::max(scale, std::abs(double(b.data[i])));
  }
  return worst / std::max(scale, 1e-30);
}

const OutputTensor& named(const std::vector<OutputTensor>& outs, const std::string& name) {
  for (const auto& o : outs)
    if (o.name == name) return o;
  throw std::runtime_error("no output " + name);
}

// Records every hook as (+node) for begin and (-node - 1) for end.
class Recorder : public ComponentObserver {
 public:
  std::vector<int> events;
  void on_begin(const ComponentGraph&, int node) override { events.push_back(node); }
  void on_end(const ComponentGraph&, int node) override { events.push_back(-node - 1); }
};

bool is_attention_core(const Component& c) {
  return c.op == OpKind::attention_scores || c.op == OpKind::attention_mask || c.op == OpKind::attention_softmax ||
         c.op == OpKind::attention_context;
}

class EngineFamilies : public ::testing::TestWithParam<TinyConfig> {};

// In a forward pass hooks nest (every end closes the latest begin), begins come in execution
// (depth-first) order, and every runnable component is reported exactly once; with the fused
// attention kernel the four core leaves run inside their attention block without hooks of their own.
TEST_P(EngineFamilies, HooksNestAndCoverEveryComponent) {
  SCOPED_TRACE(testing::seed_note());
  for (Phase phase : {Phase::prefill, Phase::decode}) {
    if (phase == Phase::decode && !is_decoder(GetParam())) continue;
    for (bool fused : {true, false}) {
      auto engine = tiny_engine(GetParam(), phase);
      engine->set_fused_attention(fused);
      Recorder rec;
      engine->set_observer(&rec);
      engine->run_model(1);
      const ComponentGraph& g = engine->graph();
      std::vector<int> open, begun;
      for (int e : rec.events) {
        if (e >= 0) {
          if (!open.empty()) { EXPECT_EQ(g.nodes[e].parent, open.back()) << g.nodes[e].name << " not nested in its parent"; }
          open.push_back(e);
          begun.push_back(e);
        } else {
          ASSERT_FALSE(open.empty());
          EXPECT_EQ(open.back(), -e - 1) << "end of " << g.nodes[-e - 1].name << " closes another component";
          open.pop_back();
        }
      }
      EXPECT_TRUE(open.empty());
      EXPECT_TRUE(std::is_sorted(begun.begin(), begun.end())) << "begins out of execution order";
      std::vector<int> expected;
      for (int n : engine->runnable_components())
        if (!(fused && is_attention_core(g.nodes[n]))) expected.push_back(n);
      EXPECT_EQ(begun, expected) << "phase " << to_string(phase) << (fused ? " fused" : " leaves");
    }
  }
}

// run_component reports its component once around all repetitions, and repeating a component on
// its captured inputs gives the same outputs as running it once.
TEST_P(EngineFamilies, RunComponentHooksOnceAroundRepetitions) {
  SCOPED_TRACE(testing::seed_note());
  auto engine = tiny_engine(GetParam(), Phase::prefill);
  engine->capture();
  const ComponentGraph& g = engine->graph();
  Recorder rec;
  engine->set_observer(&rec);
  for (int node : engine->runnable_components()) {
    rec.events.clear();
    engine->run_component(node, 3);
    EXPECT_EQ(rec.events, (std::vector<int>{node, -node - 1})) << g.nodes[node].name;
  }
  engine->set_observer(nullptr);
  // The last leaf (a head or the final norm) writes a model output out of place.
  int last = g.leaves().back();
  engine->run_component(last, 1);
  auto once = engine->outputs();
  engine->run_component(last, 5);
  expect_bitwise_equal(once, engine->outputs(), "repeated " + g.nodes[last].name);
}

// capture() gives the same outputs as the fused forward; running the leaves one by one in order,
// or the root's children as composites, on the captured inputs reproduces them bit for bit.
TEST_P(EngineFamilies, CapturedComponentsReproduceTheForwardPass) {
  SCOPED_TRACE(testing::seed_note());
  for (Phase phase : {Phase::prefill, Phase::decode}) {
    if (phase == Phase::decode && !is_decoder(GetParam())) continue;
    auto engine = tiny_engine(GetParam(), phase);
    engine->run_model(1);
    auto fused = engine->outputs();
    engine->capture();
    auto captured = engine->outputs();
    expect_bitwise_equal(fused, captured, "capture vs fused forward");
    const ComponentGraph& g = engine->graph();
    auto runnable = engine->runnable_components();
    for (int n : runnable)
      if (g.nodes[n].is_leaf()) engine->run_component(n, 1);
    expect_bitwise_equal(captured, engine->outputs(), "leaves in order");
    for (int child : g.nodes[0].children)
      if (std::find(runnable.begin(), runnable.end(), child) != runnable.end()) engine->run_component(child, 2);
    expect_bitwise_equal(captured, engine->outputs(), "top-level composites in order");
    engine->run_component(0, 1);
    expect_bitwise_equal(captured, engine->outputs(), "the root");
  }
}

// Decode: repeated steps measure the same work (same position) and give the same outputs; the
// step's outputs equal the last position of a prefill over the same tokens.
TEST_P(EngineFamilies, DecodeStepsRepeatAndMatchPrefill) {
  if (!is_decoder(GetParam())) GTEST_SKIP() << "encoder-only";
  SCOPED_TRACE(testing::seed_note());
  reference::TinyModel m = reference::make_tiny_model(GetParam().json, GetParam().name);
  EngineOptions options;
  options.threads = 1;
  auto decode = make_cpu_engine(m.config, tiny_workload(m.config, Phase::decode), options, weights_from_tensors(m.graph, m.fp32));
  bool enc_dec = m.config.arch_type == ArchType::encoder_decoder;
  ModelInputs in = reference::make_inputs(m.config, 2, enc_dec ? 6 : 6, 6);
  decode->set_inputs(in);
  decode->run_model(1);
  auto once = decode->outputs();
  decode->run_model(4);
  expect_bitwise_equal(once, decode->outputs(), "one step vs four repeated steps");

  Workload full = tiny_workload(m.config, Phase::prefill);
  full.seq = 6;
  if (enc_dec) full.target_seq = 6;
  auto prefill = make_cpu_engine(m.config, full, options, weights_from_tensors(m.graph, m.fp32));
  prefill->set_inputs(in);
  prefill->run_model(1);
  auto whole = prefill->outputs();
  for (const char* name : {"logits", "last_hidden_state"}) {
    const OutputTensor& step = named(once, name);
    OutputTensor last = named(whole, name);
    int64_t len = last.shape[1], width = last.shape[2];
    OutputTensor tail;
    tail.shape = {last.shape[0], 1, width};
    for (int64_t b = 0; b < last.shape[0]; ++b)
      tail.data.insert(tail.data.end(), last.data.begin() + (b * len + len - 1) * width,
                       last.data.begin() + (b * len + len) * width);
    EXPECT_EQ(step.shape, tail.shape) << name;
    EXPECT_LT(max_rel_diff(step, tail), 1e-5) << name << ": decode step vs prefill's last position";
  }
}

// generate() grows the cache token by token; its last step equals a decode engine whose prompt
// already holds the generated tokens.
TEST_P(EngineFamilies, GenerateEqualsDecodeAtTheGrownPosition) {
  if (!is_decoder(GetParam())) GTEST_SKIP() << "encoder-only";
  SCOPED_TRACE(testing::seed_note());
  reference::TinyModel m = reference::make_tiny_model(GetParam().json, GetParam().name);
  EngineOptions options;
  options.threads = 1;
  options.max_new_tokens = 3;
  Workload w = tiny_workload(m.config, Phase::decode);
  auto engine = make_cpu_engine(m.config, w, options, weights_from_tensors(m.graph, m.fp32));
  bool enc_dec = m.config.arch_type == ArchType::encoder_decoder;
  ModelInputs in = reference::make_inputs(m.config, 2, 6, 6);
  engine->set_inputs(in);
  auto seconds = engine->generate(3);
  ASSERT_EQ(seconds.size(), 3u);
  auto grown = engine->outputs();
  const auto& tokens = engine->generated_tokens();
  ASSERT_EQ(tokens.size(), 3u);

  // Same model at kv_len + 2 with the generated tokens appended to the prompt.
  std::vector<int64_t>& ids = enc_dec ? in.decoder_input_ids : in.input_ids;
  std::vector<int64_t> longer;
  for (int64_t b = 0; b < 2; ++b) {
    longer.insert(longer.end(), ids.begin() + b * 6, ids.begin() + b * 6 + 6);
    longer.push_back(tokens[1][b]);
    longer.push_back(tokens[2][b]);
  }
  ids = longer;
  Workload w2 = w;
  w2.kv_len = 7;
  options.max_new_tokens = 1;
  auto check = make_cpu_engine(m.config, w2, options, weights_from_tensors(m.graph, m.fp32));
  check->set_inputs(in);
  check->run_model(1);
  EXPECT_LT(max_rel_diff(named(grown, "logits"), named(check->outputs(), "logits")), 1e-5);
  EXPECT_THROW(engine->generate(4), Error);
}

INSTANTIATE_TEST_SUITE_P(Tiny, EngineFamilies, ::testing::ValuesIn(engine_test::kAll),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EngineUnits, RunComponentNeedsCaptureAndARunnableComponent) {
  auto engine = tiny_engine(engine_test::kT5, Phase::decode);
  int encoder_layer = engine->graph().find("encoder.layers.0");
  ASSERT_GE(encoder_layer, 0);
  EXPECT_THROW(engine->run_component(encoder_layer, 1), Error);  // before capture
  engine->capture();
  auto runnable = engine->runnable_components();
  EXPECT_EQ(std::find(runnable.begin(), runnable.end(), encoder_layer), runnable.end())
      << "decode of an encoder-decoder model does not run the encoder";
  EXPECT_EQ(std::find(runnable.begin(), runnable.end(), engine->graph().find("decoder.layers.0.cross_attention.k_proj")),
            runnable.end())
      << "cross-attention K/V come from the cache in decode";
  EXPECT_NE(std::find(runnable.begin(), runnable.end(), engine->graph().find("decoder.layers.0.cross_attention.q_proj")),
            runnable.end());
  try {
    engine->run_component(encoder_layer, 1);
    FAIL() << "the encoder ran in decode";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.layers.0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(engine->run_component(100000, 1), Error);
}

TEST(EngineUnits, PaddingMasksOnlyPaddedKeys) {
  // With padding, the valid rows of a sequence equal that sequence run alone at its own length.
  reference::TinyModel m = reference::make_tiny_model(engine_test::kBert.json, "bert");
  EngineOptions options;
  options.threads = 1;
  Workload w = tiny_workload(m.config, Phase::prefill);
  auto padded = make_cpu_engine(m.config, w, options, weights_from_tensors(m.graph, m.fp32));
  ModelInputs in = reference::make_inputs(m.config, 2, 6, 0, {6, 4});
  padded->set_inputs(in);
  padded->run_model(1);
  auto h = named(padded->outputs(), "last_hidden_state");
  Workload alone_w = w;
  alone_w.batch = 1;
  alone_w.seq = 4;
  auto alone = make_cpu_engine(m.config, alone_w, options, weights_from_tensors(m.graph, m.fp32));
  ModelInputs one;
  one.input_ids.assign(in.input_ids.begin() + 6, in.input_ids.begin() + 10);
  alone->set_inputs(one);
  alone->run_model(1);
  auto ref = named(alone->outputs(), "last_hidden_state");
  OutputTensor rows;
  rows.data.assign(h.data.begin() + 6 * 32, h.data.begin() + 10 * 32);
  EXPECT_LT(max_rel_diff(rows, ref), 1e-5);
  ModelInputs bad = in;
  bad.valid_lengths = {0, 6};
  EXPECT_THROW(padded->set_inputs(bad), Error);
}

TEST(EngineUnits, BadInputsAreNamed) {
  auto engine = tiny_engine(engine_test::kGpt2, Phase::prefill);
  ModelInputs in;
  in.input_ids = {1, 2, 3};
  try {
    engine->set_inputs(in);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input_ids"), std::string::npos) << e.what();
  }
  in.input_ids.assign(12, 5);
  in.input_ids[7] = 97;  // == vocab
  try {
    engine->set_inputs(in);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocabulary"), std::string::npos) << e.what();
  }
}

TEST(EngineUnits, RefusesAModelThatDoesNotFitWithTheBytesNeeded) {
  reference::TinyModel m = reference::make_tiny_model(engine_test::kLlama.json, "llama");
  EngineOptions options;
  options.memory_limit_bytes = 4096;
  Workload w = tiny_workload(m.config, Phase::prefill);
  MemoryEstimate need = estimate_cpu_memory(m.graph, w, options);
  EXPECT_GT(need.weights, m.graph.param_count() * 4);
  EXPECT_GT(need.activations, 0);
  try {
    make_cpu_engine(m.config, w, options, weights_from_tensors(m.graph, m.fp32));
    FAIL() << "a 4 KiB limit was accepted";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(std::to_string(need.total()) + " bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4096 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available"), std::string::npos) << msg;
  }
  // A decode KV cache is part of the estimate and grows with the cache length.
  Workload d = tiny_workload(m.config, Phase::decode);
  EngineOptions plain;
  int64_t short_cache = estimate_cpu_memory(m.graph, d, plain).kv_cache;
  d.kv_len = 50;
  EXPECT_GT(estimate_cpu_memory(m.graph, d, plain).kv_cache, short_cache);
  EXPECT_GT(short_cache, 0);
}

TEST(EngineUnits, RefusesAHugeZooModelBeforeMakingWeights) {
  // Llama 2 7B at batch 64 x 4096 tokens needs far more than any test machine has; the refusal
  // comes from the estimate, before 27 GB of random weights would be drawn.
  ModelConfig config = zoo_config("llama-2-7b");
  Workload w;
  w.batch = 64;
  w.seq = 4096;
  EngineOptions options;
  options.memory_limit_bytes = int64_t(64) << 30;
  try {
    make_cpu_engine(config, w, options);
    FAIL() << "refusal expected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit"), std::string::npos) << e.what();
  }
}

TEST(EngineUnits, SeededRandomWeightsAreSaidAndRepeatable) {
  ModelConfig config = parse_config(nlohmann::json::parse(engine_test::kGpt2.json), "gpt2 test");
  EngineOptions options;
  options.threads = 1;
  options.seed = 42;
  Workload w = tiny_workload(config, Phase::prefill);
  auto a = make_cpu_engine(config, w, options);
  auto b = make_cpu_engine(config, w, options);
  EXPECT_TRUE(a->random_weights());
  EXPECT_NE(a->weights_description().find("random weights"), std::string::npos) << a->weights_description();
  a->run_model(1);
  b->run_model(1);
  expect_bitwise_equal(a->outputs(), b->outputs(), "same seed");
  options.seed = 43;
  auto c = make_cpu_engine(config, w, options);
  c->run_model(1);
  EXPECT_NE(named(a->outputs(), "logits").data, named(c->outputs(), "logits").data);
}

TEST(EngineUnits, Bf16IsRefusedWithTheReasonWhereUnsupported) {
  std::string why;
  if (kernels::bf16_supported(&why)) GTEST_SKIP() << "this CPU runs bf16";
  ModelConfig config = parse_config(nlohmann::json::parse(engine_test::kGpt2.json), "gpt2 test");
  Workload w = tiny_workload(config, Phase::prefill);
  w.dtype = DType::bf16;
  try {
    make_cpu_engine(config, w, EngineOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace clear
