#pragma once
// Tiny Hugging Face configs for the engine's own unit tests (capture, hooks, decode, allocation).
// Numerics against the float64 reference live in reference_*_test.cpp.
namespace clear::engine_test {

struct TinyConfig {
  const char* name;
  const char* json;
};

inline constexpr TinyConfig kGpt2{"gpt2", R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
  "vocab_size": 97, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 32, "activation_function": "gelu_new"})"};
inline constexpr TinyConfig kLlama{"llama", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"],
  "vocab_size": 97, "hidden_size": 32, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
  "rope_theta": 10000.0, "tie_word_embeddings": false})"};
inline constexpr TinyConfig kBert{"bert", R"({"model_type": "bert", "architectures": ["BertModel"],
  "vocab_size": 97, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48,
  "max_position_embeddings": 32, "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12})"};
inline constexpr TinyConfig kMixtral{"mixtral", R"({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"],
  "vocab_size": 97, "hidden_size": 32, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
  "rope_theta": 1000000.0, "num_local_experts": 4, "num_experts_per_tok": 2, "tie_word_embeddings": false})"};
inline constexpr TinyConfig kT5{"t5", R"({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"],
  "vocab_size": 97, "d_model": 32, "d_kv": 8, "d_ff": 40, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4,
  "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16, "layer_norm_epsilon": 1e-6,
  "feed_forward_proj": "relu", "tie_word_embeddings": true, "pad_token_id": 0, "decoder_start_token_id": 0})"};
inline constexpr TinyConfig kBart{"bart", R"({"model_type": "bart", "architectures": ["BartForConditionalGeneration"],
  "vocab_size": 97, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
  "decoder_attention_heads": 4, "encoder_ffn_dim": 40, "decoder_ffn_dim": 40, "activation_function": "gelu",
  "max_position_embeddings": 32, "scale_embedding": true, "pad_token_id": 1})"};
inline constexpr TinyConfig kVit{"vit", R"({"model_type": "vit", "architectures": ["ViTForImageClassification"],
  "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48, "image_size": 16,
  "patch_size": 4, "num_channels": 3, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
  "id2label": {"0": "a", "1": "b", "2": "c"}})"};

inline constexpr TinyConfig kAll[] = {kGpt2, kLlama, kBert, kMixtral, kT5, kBart, kVit};

}  // namespace clear::engine_test
