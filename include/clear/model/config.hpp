#pragma once
// A transformer described by its Hugging Face config.json, normalised across families.
// Parsing (config.cpp) fills every field explicitly from the family's config keys and the
// family's documented defaults; no field is left to a silent default.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace clear {

enum class Family { bert, roberta, distilbert, albert, gpt2, llama, mistral, qwen2, mixtral, t5, bart, vit };
enum class ArchType { encoder_only, decoder_only, encoder_decoder, vision_encoder, moe_decoder };
// gelu_erf: exact GELU ("gelu"); gelu_tanh: tanh approximation ("gelu_new", "gelu_pytorch_tanh");
// relu; silu ("silu", "swish"); tanh (poolers).
enum class Activation { gelu_erf, gelu_tanh, relu, silu, tanh };
// layer_norm: (x - mean) / sqrt(var + eps) * w + b; rms_norm: x / sqrt(mean(x^2) + eps) * w (T5 and Llama).
enum class NormKind { layer_norm, rms_norm };
// learned: absolute position table; rope: rotary; relative_bias: T5 bucketed bias added to scores.
enum class PositionKind { learned, rope, relative_bias };
// Which head the model class carries. base = the bare *Model class (with its pooler where it has one).
enum class Head { base, causal_lm, masked_lm, seq2seq_lm, image_classification };

// Rotary embedding frequency scaling (Llama 3.x uses "llama3").
struct RopeScaling {
  std::string type = "none";  // none | linear | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 1.0;
  int64_t original_max_positions = 0;
};

// One stack of transformer layers (decoder-only models use `decoder`, encoder-only and
// vision models use `encoder`, encoder-decoder models use both).
struct StackConfig {
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // == num_heads without GQA/MQA
  int64_t head_dim = 0;      // usually hidden_size / num_heads; Llama-family configs may set it
  int64_t ffn_dim = 0;       // MLP inner width (per expert for Mixtral)
};

struct ModelConfig {
  std::string name;         // zoo name (e.g. "bert-base-uncased") or the folder's name
  std::string source;       // file the config was read from, or "zoo:<name>"
  Family family = Family::bert;
  ArchType arch_type = ArchType::encoder_only;
  std::string model_type;    // as in config.json, e.g. "bert"
  std::string architecture;  // Hugging Face class, e.g. "BertModel"
  Head head = Head::base;
  bool pooler = false;       // BertModel/RobertaModel/AlbertModel/ViTModel carry a pooler

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t embedding_size = 0;   // == hidden_size except ALBERT's factorised embedding
  StackConfig encoder;
  StackConfig decoder;

  PositionKind positions = PositionKind::learned;
  int64_t max_positions = 0;     // rows of the learned position table (excluding the offset rows)
  int64_t position_offset = 0;   // BART: 2; RoBERTa: padding_idx + 1 = 2; others 0
  int64_t type_vocab_size = 0;   // token type (segment) embeddings; 0 = none
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t sliding_window = 0;    // 0 = full attention (Mistral: 4096)
  int64_t relative_buckets = 0;        // T5 relative_attention_num_buckets
  int64_t relative_max_distance = 0;   // T5 relative_attention_max_distance

  NormKind norm = NormKind::layer_norm;
  double norm_eps = 1e-5;
  bool pre_norm = true;          // false: BERT-style post-norm (norm after the residual add)
  bool embedding_norm = false;   // norm right after the embeddings (BERT, BART layernorm_embedding)
  bool final_norm = false;       // norm after the last layer (GPT-2 ln_f, Llama norm, T5, ViT)

  Activation activation = Activation::gelu_erf;
  bool gated_mlp = false;        // act(gate(x)) * up(x) (SwiGLU, T5 gated-gelu)
  bool qkv_bias = true;
  bool out_proj_bias = true;
  bool mlp_bias = true;
  bool attention_scaled = true;  // false for T5 (no 1/sqrt(d) on scores)
  bool scale_embedding = false;  // BART/T5-style sqrt(d_model) embedding scale where configured
  bool tie_word_embeddings = false;

  int64_t num_experts = 0;        // Mixtral num_local_experts
  int64_t experts_per_token = 0;  // Mixtral num_experts_per_tok

  int64_t albert_groups = 0;      // ALBERT num_hidden_groups
  int64_t albert_inner = 0;       // ALBERT inner_group_num

  int64_t image_size = 0;         // ViT
  int64_t patch_size = 0;
  int64_t num_channels = 0;
  int64_t num_labels = 0;         // classifier outputs (ViTForImageClassification)
  int64_t pooler_size = 0;        // pooler output width (== hidden_size except ViT pooler_output_size)
  Activation pooler_activation = Activation::tanh;  // ViT pooler_act; BERT-family poolers use tanh

  int64_t pad_token_id = -1;      // -1 when the config has none
};

// Parse a config.json object. `source` names the file in error messages.
// Throws clear::Error naming the field on a missing, mistyped, contradictory or unsupported value;
// an unknown model_type lists the supported ones.
ModelConfig parse_config(const nlohmann::json& config, const std::string& source);
// Read `path` (a config.json, or a folder holding one).
ModelConfig load_config_file(const std::filesystem::path& path);
// Override the head chosen by `architecture` ("base", "causal_lm", "mlm", "seq2seq_lm",
// "image_classification"); throws clear::Error where the family has no such head.
void select_head(ModelConfig& config, const std::string& head);

const char* to_string(Family);
const char* to_string(ArchType);
const char* to_string(Activation);
const char* to_string(NormKind);
const char* to_string(PositionKind);
const char* to_string(Head);

}  // namespace clear
