#pragma once
// An independent float64 forward pass of every zoo family, written from the Hugging Face modelling
// files (modeling_<family>.py), never from the engine. Plain loops over flat row-major arrays; speed
// does not matter (tiny configs). The engine's tests compare against it (docs/REFERENCE.md).
//
// Weights are looked up by canonical name (docs/NAMING.md); a tied or shared tensor is read from its
// owner (ALBERT's layers from `layers.0`, tied heads from the word embedding), so the map holds each
// tensor once, exactly like ComponentGraph::parameters(). A missing or mis-sized tensor throws
// clear::Error naming it.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"
#include "clear/model/config.hpp"

namespace clear::reference {

using Tensors = std::map<std::string, std::vector<double>>;

struct Output {
  std::string name;             // as the engine names it: last_hidden_state, logits, pooler_output, encoder_last_hidden_state
  std::vector<int64_t> shape;   // as Hugging Face returns it
  std::vector<double> data;
};

// Ways to make the reference see what a bf16 engine sees. Both default off: the reference is exact.
struct Options {
  // Mixtral: choose each token's experts as a pass rounding every linear's operands to bf16 would
  // (Options::bf16_linear_operands), then compute exactly with those choices. The choice is discrete:
  // where two experts' probabilities are closer than bf16's rounding, exact and bf16 arithmetic
  // legitimately pick different experts and outputs differ by O(1) (measured: 6-25% relative error
  // in some runs), so bf16 checks compare given the choice bf16 arithmetic makes.
  bool bf16_routing = false;
  // Diagnostic (CLEAR_REFERENCE_BF16_OPERANDS=1 in the harness): round both operands of every linear
  // to bf16 (round to nearest even), accumulate in double. A bf16 engine that rounds its matrix
  // operands and accumulates in fp32 then agrees to about 1e-6; a larger gap points at a bf16 path
  // doing something else.
  bool bf16_linear_operands = false;
};

// The whole forward pass, every position. `batch` splits the flat inputs: input_ids is
// [batch, seq] (encoder side of encoder-decoder models), decoder_input_ids [batch, target],
// valid_lengths [batch] or empty (encoder padding), pixel_values [batch, channels, image, image].
// Outputs: last_hidden_state (decoder side for encoder-decoder models, after the final norm where the
// model has one), encoder_last_hidden_state (encoder-decoder), pooler_output (config.pooler),
// logits (causal_lm, masked_lm, seq2seq_lm, image_classification heads).
std::vector<Output> forward(const ModelConfig& config, const Tensors& weights, const ModelInputs& inputs,
                            int64_t batch, const Options& options = {});

// The same model run one decoder token at a time with an explicit KV cache (decoder-only and
// encoder-decoder models), returning the outputs at the last position only ([batch, 1, ...]; the
// encoder output whole). A second route through the reference: it must equal the last position of
// forward(), which checks the reference's own causal/sliding-window masks and positions.
std::vector<Output> forward_incremental(const ModelConfig& config, const Tensors& weights,
                                        const ModelInputs& inputs, int64_t batch);

// The named output; throws clear::Error listing the names present when absent.
const Output& find_output(const std::vector<Output>& outputs, const std::string& name);
// [batch, seq, ...] -> [batch, 1, ...] (the last position of every sequence).
Output last_position(const Output& output);

// Values for a tensor the reference reads (name, element count).
using WeightGenerator = std::function<std::vector<double>(const std::string& name, int64_t numel)>;
// Every tensor one forward pass of this model reads, made by `generator` (each once, shared tensors
// once): the reference's own view of the parameter list, for self-tests and for checking it against
// ComponentGraph::parameters().
Tensors make_weights(const ModelConfig& config, const ModelInputs& inputs, int64_t batch,
                     const WeightGenerator& generator);

// Pieces exposed for their own tests.
// Round to the nearest bf16 value (ties to even), as a float.
double round_to_bf16(double x);
double activation(Activation act, double x);
// Hugging Face T5 _relative_position_bucket for one relative position (key - query).
int64_t t5_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance);
// Rotary inverse frequencies [head_dim / 2] with the config's theta and rope scaling (linear, llama3).
std::vector<double> rope_inv_freq(const ModelConfig& config, int64_t head_dim);

}  // namespace clear::reference
