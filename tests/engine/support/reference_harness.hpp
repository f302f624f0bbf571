#pragma once
// Runs the CPU engine and the float64 reference (reference_model.hpp) on the same random weights
// and inputs and measures how far apart they are (docs/REFERENCE.md).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"
#include "clear/model/graph.hpp"
#include "engine/support/reference_model.hpp"

namespace clear::reference {

// A parsed tiny config, its graph and fresh random values for every parameter of
// graph.parameters(): norm weights uniform(0.5, 1.5), everything else uniform(-0.5, 0.5), so every
// bias and norm weight matters. The reference gets the same values (the fp32 numbers, widened).
struct TinyModel {
  ModelConfig config;
  ComponentGraph graph;
  std::map<std::string, std::vector<float>> fp32;
  Tensors fp64;
};
TinyModel make_tiny_model(const std::string& config_json, const std::string& name);

// Random inputs: ids uniform over the vocabulary (never the pad id in valid positions; padded
// positions hold the pad id, as a tokenizer would write them), decoder ids, pixels in [-1, 1].
ModelInputs make_inputs(const ModelConfig& config, int64_t batch, int64_t seq, int64_t target,
                        const std::vector<int64_t>& valid_lengths = {});

// The engine over the tiny model's weights (weights_from_tensors), one thread.
std::unique_ptr<Backend> make_engine(const TinyModel& model, const Workload& workload, DType dtype);

// max |engine - reference| / max |reference| over the compared values, and where it is largest.
struct Comparison {
  double rel_error = 0.0;
  double max_abs_ref = 0.0;
  std::string worst;   // "logits[1, 3, 17]"
  std::string problem; // non-empty: shapes or names do not match
};
// Compares one engine output with the reference output of the same name. With `valid_lengths`,
// rows of [batch, seq, width] outputs past a sequence's valid length (padding) are skipped.
Comparison compare(const OutputTensor& engine, const Output& reference, const std::vector<int64_t>& valid_lengths = {});

// The outputs a model of this config must return (last_hidden_state always; logits with a head;
// pooler_output with a pooler; encoder_last_hidden_state for encoder-decoder models).
std::vector<std::string> expected_outputs(const ModelConfig& config);

// gtest assertion body: every expected output is present and within `tolerance`; every engine
// output has a reference counterpart. Decode: reference outputs are reduced to their last position
// (encoder_last_hidden_state stays whole).
void expect_close(const std::vector<OutputTensor>& engine, const std::vector<Output>& reference,
                  const ModelConfig& config, double tolerance, const std::vector<int64_t>& valid_lengths = {},
                  bool decode = false);

// One tiny model of a family and the shapes it is tested at.
struct FamilyCase {
  const char* name;
  const char* config_json;  // a Hugging Face config.json
  int64_t batch = 2;
  int64_t seq = 7;          // encoder / prompt tokens
  int64_t target = 0;       // decoder tokens (encoder-decoder)
  std::vector<int64_t> valid_lengths;  // encoder padding (empty: none)
  int64_t kv_len = 0;       // decode check at this cache length (0: no decode check)
};
// gtest prints the case's name.
inline std::string case_name(const FamilyCase& c) { return c.name; }

// The checks every family runs (each adds gtest failures):
// a prefill forward pass agrees with the reference within `tolerance` (fp32 1e-5, bf16 2e-2).
void check_prefill(const FamilyCase& fc, DType dtype, double tolerance);
// One decode step at kv_len (input ids [batch, kv_len + 1], the first kv_len fill the cache)
// agrees with the reference's full recompute at the last position.
void check_decode(const FamilyCase& fc, DType dtype, double tolerance);
// capture(), then every leaf run once in execution order, reproduces capture()'s outputs exactly,
// and those agree with the reference. Prefill, and decode where the case has a decode check.
void check_capture_replay(const FamilyCase& fc, Phase phase);
// The reference reads exactly the tensors of graph.parameters(), with the same element counts:
// the graph's names and shapes and the reference's reading of Hugging Face agree.
void check_parameter_names(const FamilyCase& fc);
// Skips the test (GTEST_SKIP in the caller) when this CPU has no native bf16; returns the reason.
bool bf16_unavailable(std::string* why);

}  // namespace clear::reference
