#pragma once
// One parser per family of Hugging Face config.json. Each reads exactly the keys of the family's
// configuration_<family>.py, takes that class's default for an absent optional key, and fills
// every field of ModelConfig it uses. Keys and defaults are listed in docs/MODELS.md.
#include <string>
#include <vector>

#include "clear/model/config.hpp"
#include "model/config_fields.hpp"

namespace clear::families {

using config_fields::Fields;

void parse_bert(const Fields& f, ModelConfig& c);        // bert, roberta
void parse_distilbert(const Fields& f, ModelConfig& c);
void parse_albert(const Fields& f, ModelConfig& c);
void parse_gpt2(const Fields& f, ModelConfig& c);
void parse_llama(const Fields& f, ModelConfig& c);       // llama, mistral, qwen2, mixtral
void parse_t5(const Fields& f, ModelConfig& c);
void parse_bart(const Fields& f, ModelConfig& c);
void parse_vit(const Fields& f, ModelConfig& c);

// Shared pieces.
// Hugging Face activation name -> Activation; an unknown name is an error listing the accepted ones.
Activation parse_activation(const Fields& f, const char* key, const std::string& fallback);
Activation activation_named(const Fields& f, const char* key, const std::string& name);
// A stack with heads dividing `hidden` (head_dim = hidden / heads); errors name `heads_key`.
StackConfig uniform_stack(const Fields& f, int64_t hidden, int64_t layers, int64_t heads, const char* heads_key,
                          int64_t ffn);
// ALBERT's layer -> group map, computed as AlbertTransformer does (Python float division):
// int(layer / (layers / groups)).
int64_t albert_group_of(int64_t layer, int64_t layers, int64_t groups);
// Positions as an absolute learned table: rows excluding the offset rows.
void learned_positions(ModelConfig& c, int64_t rows, int64_t offset);

}  // namespace clear::families
