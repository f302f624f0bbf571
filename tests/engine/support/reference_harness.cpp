// Engine-against-reference plumbing (reference_harness.hpp).
#include "engine/support/reference_harness.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "clear/engine/kernels.hpp"
#include "clear/engine/weights.hpp"
#include "support/test_support.hpp"

namespace clear::reference {

TinyModel make_tiny_model(const std::string& config_json, const std::string& name) {
  TinyModel m;
  m.config = parse_config(nlohmann::json::parse(config_json), "test config " + name);
  m.config.name = name;
  m.graph = build_graph(m.config);
  for (const ParamSpec& p : m.graph.parameters()) {
    const std::string leaf = p.name.substr(0, p.name.rfind('.'));
    const OpKind op = m.graph.find(leaf) >= 0 ? m.graph.at(leaf).op : OpKind::composite;
    const bool weight = p.name.ends_with(".weight");
    float lo = -0.5f, hi = 0.5f;
    if (weight && op == OpKind::norm) {
      lo = 0.5f, hi = 1.5f;
    } else if (weight && (op == OpKind::linear || op == OpKind::router || op == OpKind::patch_embedding)) {
      // uniform(±sqrt(3)·0.5/sqrt(fan_in)): std 0.5/sqrt(fan_in), the scale of Hugging Face's
      // normal(0, 0.02) at BERT-base's width (0.02·sqrt(768) ≈ 0.55), so activations stay O(1) and
      // softmaxes soft, as in a real network. Larger weights amplify bf16's rounding of the matrix
      // operands alone past 2e-2 (measured: uniform(±0.5) gives 2-8% for Mistral, Mixtral and T5, and
      // std 1/sqrt(fan_in) up to 2.3%, while the engine agrees with a reference that rounds the
      // operands the same way to ~1e-7). Each sublayer still changes the stream by O(1), far above
      // the fp32 tolerance, so a wrong weight, bias or layout cannot hide.
      int64_t fan_in = 1;
      for (size_t d = 1; d < p.shape.size(); ++d) fan_in *= p.shape[d];
      double bound = 0.5 * std::sqrt(3.0 / static_cast<double>(fan_in));
      // T5 leaves the 1/sqrt(d_kv) out of its attention and puts it in the query's initialisation
      // (std (d_model · d_kv)^-0.5 in T5PreTrainedModel._init_weights); do the same.
      if (!m.config.attention_scaled && leaf.ends_with("q_proj"))
        bound /= std::sqrt(static_cast<double>(leaf.starts_with("decoder") ? m.config.decoder.head_dim : m.config.encoder.head_dim));
      hi = static_cast<float>(bound);
      lo = -hi;
    }
    std::vector<float> v = clear::testing::random_floats(p.numel(), lo, hi);
    m.fp64[p.name].assign(v.begin(), v.end());
    m.fp32[p.name] = std::move(v);
  }
  return m;
}

ModelInputs make_inputs(const ModelConfig& c, int64_t batch, int64_t seq, int64_t target,
                        const std::vector<int64_t>& valid_lengths) {
  ModelInputs in;
  if (c.arch_type == ArchType::vision_encoder) {
    in.pixel_values = clear::testing::random_floats(batch * c.num_channels * c.image_size * c.image_size);
    return in;
  }
  std::uniform_int_distribution<int64_t> id(0, c.vocab_size - 1);
  auto draw = [&](int64_t n) {
    std::vector<int64_t> ids(n);
    for (auto& x : ids)
      do x = id(clear::testing::rng());
      while (x == c.pad_token_id);
    return ids;
  };
  in.input_ids = draw(batch * seq);
  in.valid_lengths = valid_lengths;
  if (!valid_lengths.empty() && c.pad_token_id >= 0)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t j = valid_lengths[b]; j < seq; ++j) in.input_ids[b * seq + j] = c.pad_token_id;
  if (c.arch_type == ArchType::encoder_decoder) in.decoder_input_ids = draw(batch * target);
  return in;
}

std::unique_ptr<Backend> make_engine(const TinyModel& model, const Workload& workload, DType dtype) {
  EngineOptions options;
  options.threads = 1;
  options.dtype = dtype;
  return make_cpu_backend(model.config, workload, options, weights_from_tensors(model.graph, model.fp32));
}

namespace {
std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  return s.str() + "]";
}

std::string index_text(const std::vector<int64_t>& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_text(idx);
}
}  // namespace

Comparison compare(const OutputTensor& e, const Output& r, const std::vector<int64_t>& valid_lengths) {
  Comparison c;
  if (e.shape != r.shape) {
    c.problem = e.name + ": engine shape " + shape_text(e.shape) + ", reference " + shape_text(r.shape);
    return c;
  }
  if (e.data.size() != r.data.size()) {
    c.problem = e.name + ": engine has " + std::to_string(e.data.size()) + " values for shape " + shape_text(e.shape);
    return c;
  }
  const bool skip_padding = !valid_lengths.empty() && r.shape.size() == 3;
  const int64_t S = skip_padding ? r.shape[1] : 1, W = skip_padding ? r.shape[2] : 1;
  double max_diff = 0.0;
  int64_t worst = 0;
  for (size_t i = 0; i < r.data.size(); ++i) {
    if (skip_padding) {
      const int64_t b = static_cast<int64_t>(i) / (S * W), s = static_cast<int64_t>(i) / W % S;
      if (s >= valid_lengths[b]) continue;
    }
    const double diff = std::abs(static_cast<double>(e.data[i]) - r.data[i]);
    c.max_abs_ref = std::max(c.max_abs_ref, std::abs(r.data[i]));
    if (!(diff <= max_diff)) {  // also catches NaN
      max_diff = std::isnan(diff) ? INFINITY : diff;
      worst = static_cast<int64_t>(i);
    }
  }
  c.rel_error = max_diff / std::max(c.max_abs_ref, 1e-30);
  c.worst = e.name + index_text(r.shape, worst) + " engine " + std::to_string(e.data[worst]) + " reference " +
            std::to_string(r.data[worst]);
  return c;
}

std::vector<std::string> expected_outputs(const ModelConfig& c) {
  std::vector<std::string> names{"last_hidden_state"};
  if (c.head != Head::base) names.push_back("logits");
  if (c.pooler) names.push_back("pooler_output");
  if (c.arch_type == ArchType::encoder_decoder) names.push_back("encoder_last_hidden_state");
  return names;
}

void expect_close(const std::vector<OutputTensor>& engine, const std::vector<Output>& reference,
                  const ModelConfig& config, double tolerance, const std::vector<int64_t>& valid_lengths,
                  bool decode) {
  for (const std::string& name : expected_outputs(config)) {
    bool found = false;
    for (const OutputTensor& e : engine) found |= e.name == name;
    EXPECT_TRUE(found) << "the engine returns no '" << name << "'";
  }
  for (const OutputTensor& e : engine) {
    const Output* r = nullptr;
    for (const Output& o : reference)
      if (o.name == e.name) r = &o;
    if (!r) {
      ADD_FAILURE() << "engine output '" << e.name << "' has no reference counterpart";
      continue;
    }
    const bool per_token = decode && e.name != "encoder_last_hidden_state" && r->shape.size() == 3;
    const Output want = per_token ? last_position(*r) : *r;
    // Padding applies to the encoder side only: the decoder side of encoder-decoder models is unpadded.
    const bool encoder_side = config.arch_type != ArchType::encoder_decoder || e.name == "encoder_last_hidden_state";
    const Comparison c = compare(e, want, encoder_side ? valid_lengths : std::vector<int64_t>{});
    EXPECT_TRUE(c.problem.empty()) << c.problem;
    if (!c.problem.empty()) continue;
    if (std::getenv("CLEAR_REFERENCE_VERBOSE"))
      std::printf("  %-28s %-26s relative error %.3g (max |ref| %.3g)\n", config.name.c_str(), e.name.c_str(),
                  c.rel_error, c.max_abs_ref);
    EXPECT_LT(c.rel_error, tolerance) << e.name << ": relative error " << c.rel_error << " (max |ref| "
                                      << c.max_abs_ref << "), worst at " << c.worst;
  }
}

namespace {

// bf16 checks compare given the same expert choice (Options::bf16_routing); the diagnostic
// CLEAR_REFERENCE_BF16_OPERANDS=1 also rounds every linear's operands (docs/REFERENCE.md).
Options reference_options(DType dtype) {
  Options o;
  o.bf16_routing = dtype == DType::bf16;
  const char* operands = std::getenv("CLEAR_REFERENCE_BF16_OPERANDS");
  o.bf16_linear_operands = dtype == DType::bf16 && operands && std::string(operands) == "1";
  return o;
}

Workload prefill_workload(const FamilyCase& fc, DType dtype) {
  Workload w;
  w.batch = fc.batch;
  w.seq = fc.seq;
  w.target_seq = fc.target;
  w.dtype = dtype;
  return w;
}

// Decode: decoder-only models read [batch, kv_len + 1] prompt ids; encoder-decoder models read
// fc.seq encoder ids and [batch, kv_len + 1] decoder ids.
Workload decode_workload(const FamilyCase& fc, const ModelConfig& c, DType dtype) {
  Workload w;
  w.batch = fc.batch;
  w.phase = Phase::decode;
  w.kv_len = fc.kv_len;
  w.seq = c.arch_type == ArchType::encoder_decoder ? fc.seq : fc.kv_len + 1;
  w.dtype = dtype;
  return w;
}

ModelInputs decode_inputs(const FamilyCase& fc, const ModelConfig& c) {
  if (c.arch_type == ArchType::encoder_decoder) return make_inputs(c, fc.batch, fc.seq, fc.kv_len + 1, fc.valid_lengths);
  return make_inputs(c, fc.batch, fc.kv_len + 1, 0);
}

// Outputs must agree to the last bit.
void expect_identical(const std::vector<OutputTensor>& a, const std::vector<OutputTensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name) << what;
    EXPECT_EQ(a[i].shape, b[i].shape) << what << " " << a[i].name;
    if (a[i].data.size() != b[i].data.size()) continue;
    size_t differing = 0, first = 0;
    for (size_t j = 0; j < a[i].data.size(); ++j)
      if (std::memcmp(&a[i].data[j], &b[i].data[j], sizeof(float)) != 0 && differing++ == 0) first = j;
    EXPECT_EQ(differing, 0u) << what << " " << a[i].name << ": " << differing << " values differ, first at flat index "
                             << first << " (" << a[i].data[first] << " vs " << b[i].data[first] << ")";
  }
}

}  // namespace

bool bf16_unavailable(std::string* why) { return !kernels::bf16_supported(why); }

void check_prefill(const FamilyCase& fc, DType dtype, double tolerance) {
  SCOPED_TRACE(clear::testing::seed_note());
  const TinyModel m = make_tiny_model(fc.config_json, fc.name);
  const ModelInputs in = make_inputs(m.config, fc.batch, fc.seq, fc.target, fc.valid_lengths);
  auto engine = make_engine(m, prefill_workload(fc, dtype), dtype);
  engine->set_inputs(in);
  engine->run_model(1);
  engine->synchronize();
  expect_close(engine->outputs(), forward(m.config, m.fp64, in, fc.batch, reference_options(dtype)), m.config, tolerance,
               fc.valid_lengths);
}

void check_decode(const FamilyCase& fc, DType dtype, double tolerance) {
  SCOPED_TRACE(clear::testing::seed_note());
  const TinyModel m = make_tiny_model(fc.config_json, fc.name);
  const ModelInputs in = decode_inputs(fc, m.config);
  auto engine = make_engine(m, decode_workload(fc, m.config, dtype), dtype);
  engine->set_inputs(in);
  engine->run_model(1);
  engine->synchronize();
  expect_close(engine->outputs(), forward(m.config, m.fp64, in, fc.batch, reference_options(dtype)), m.config, tolerance,
               fc.valid_lengths, /*decode=*/true);
  // Running the step again from the same cache gives the same answer (the step does not grow the cache).
  const std::vector<OutputTensor> first = engine->outputs();
  engine->run_model(2);
  engine->synchronize();
  expect_identical(first, engine->outputs(), "decode step repeated");
}

void check_capture_replay(const FamilyCase& fc, Phase phase) {
  SCOPED_TRACE(clear::testing::seed_note());
  const TinyModel m = make_tiny_model(fc.config_json, fc.name);
  const bool decode = phase == Phase::decode;
  const ModelInputs in = decode ? decode_inputs(fc, m.config)
                                : make_inputs(m.config, fc.batch, fc.seq, fc.target, fc.valid_lengths);
  auto engine = make_engine(m, decode ? decode_workload(fc, m.config, DType::fp32) : prefill_workload(fc, DType::fp32),
                            DType::fp32);
  engine->set_inputs(in);
  engine->capture();
  engine->synchronize();
  const std::vector<OutputTensor> captured = engine->outputs();
  expect_close(captured, forward(m.config, m.fp64, in, fc.batch), m.config, 1e-5, fc.valid_lengths, decode);
  const std::vector<int> runnable = engine->runnable_components();
  int leaves = 0;
  for (int node : runnable)
    if (m.graph.nodes[node].is_leaf()) {
      engine->run_component(node, 1);
      ++leaves;
    }
  engine->synchronize();
  EXPECT_GT(leaves, 0);
  expect_identical(captured, engine->outputs(), "leaves replayed in order after capture");
  // Components run many times in a row (as the energy protocol does) still leave the same outputs
  // once the leaves are replayed in order again.
  for (int node : runnable)
    if (m.graph.nodes[node].is_leaf()) engine->run_component(node, 3);
  for (int node : runnable)
    if (m.graph.nodes[node].is_leaf()) engine->run_component(node, 1);
  engine->synchronize();
  expect_identical(captured, engine->outputs(), "leaves run 3 times each, then replayed in order");
}

void check_parameter_names(const FamilyCase& fc) {
  const TinyModel m = make_tiny_model(fc.config_json, fc.name);
  const ModelInputs in = make_inputs(m.config, fc.batch, fc.seq, fc.target, fc.valid_lengths);
  const Tensors read = make_weights(m.config, in, fc.batch, [](const std::string&, int64_t n) {
    return std::vector<double>(n, 0.01);
  });
  for (const auto& [name, values] : m.fp64) {
    auto it = read.find(name);
    if (it == read.end()) {
      ADD_FAILURE() << "graph parameter '" << name << "' is not read by the reference";
      continue;
    }
    EXPECT_EQ(it->second.size(), values.size()) << name;
  }
  for (const auto& [name, values] : read)
    EXPECT_TRUE(m.fp64.count(name)) << "the reference reads '" << name << "', which the graph does not list";
}

}  // namespace clear::reference
