#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

Activation parse_activation(const Fields& f, const char* key, const std::string& fallback) {
  return activation_named(f, key, f.text_or(key, fallback));
}

Activation activation_named(const Fields& f, const char* key, const std::string& name) {
  // Names as in transformers' ACT2FN; gelu_fast is the same tanh approximation as gelu_new.
  if (name == "gelu" || name == "gelu_python") return Activation::gelu_erf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "relu") return Activation::relu;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "tanh") return Activation::tanh;
  f.fail(key, fmt::format("unknown activation '{}'; supported: gelu, gelu_python, gelu_new, gelu_pytorch_tanh, "
                          "gelu_fast, relu, silu, swish, tanh",
                          name));
}

StackConfig uniform_stack(const Fields& f, int64_t hidden, int64_t layers, int64_t heads, const char* heads_key,
                          int64_t ffn) {
  if (hidden % heads != 0)
    f.fail(heads_key, fmt::format("{} heads do not divide the hidden size {}", heads, hidden));
  StackConfig s;
  s.num_layers = layers;
  s.num_heads = heads;
  s.num_kv_heads = heads;
  s.head_dim = hidden / heads;
  s.ffn_dim = ffn;
  return s;
}

void learned_positions(ModelConfig& c, int64_t rows, int64_t offset) {
  c.positions = PositionKind::learned;
  c.max_positions = rows;
  c.position_offset = offset;
}

}  // namespace clear::families
