// Decoder-only families against the float64 reference (docs/REFERENCE.md): GPT-2 (fused QKV,
// gelu_new, tied head), Llama (GQA, explicit head_dim, llama3 rope scaling, untied head), TinyLlama
// (MQA, tied head), Mistral (sliding window shorter than the sequence), Qwen2 (QKV bias), Mixtral
// (4 experts, top-2). Prefill, decode with a KV cache against full recompute, captured leaves.
#include <gtest/gtest.h>

#include "engine/support/reference_harness.hpp"

namespace clear::reference {
namespace {

const FamilyCase kCases[] = {
    {"gpt2", R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 97, "n_embd": 32,
      "n_layer": 2, "n_head": 4, "n_positions": 16, "n_inner": 44, "activation_function": "gelu_new",
      "layer_norm_epsilon": 1e-5})",
     2, 7, 0, {}, 5},
    {"llama", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 97, "hidden_size": 32,
      "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
      "head_dim": 16, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
      "rope_theta": 10000.0, "tie_word_embeddings": false,
      "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 256}})",
     2, 7, 0, {}, 6},
    {"tinyllama_mqa_tied", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 89,
      "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 3,
      "num_key_value_heads": 1, "hidden_act": "silu", "max_position_embeddings": 32, "rms_norm_eps": 1e-6,
      "rope_theta": 10000.0, "tie_word_embeddings": true})",
     1, 9, 0, {}, 8},
    {"mistral_window", R"({"model_type": "mistral", "architectures": ["MistralForCausalLM"], "vocab_size": 97,
      "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
      "rope_theta": 10000.0, "sliding_window": 4, "tie_word_embeddings": false})",
     2, 9, 0, {}, 7},
    {"qwen2", R"({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 97, "hidden_size": 32,
      "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
      "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
      "use_sliding_window": false, "tie_word_embeddings": true})",
     2, 6, 0, {}, 5},
    {"mixtral", R"({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "vocab_size": 97,
      "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
      "rope_theta": 1000000.0, "sliding_window": null, "num_local_experts": 4, "num_experts_per_tok": 2,
      "tie_word_embeddings": false})",
     2, 7, 0, {}, 5},
};

class ReferenceDecoders : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(ReferenceDecoders, Fp32MatchesReference) { check_prefill(GetParam(), DType::fp32, 1e-5); }

TEST_P(ReferenceDecoders, Bf16MatchesReference) {
  std::string why;
  if (bf16_unavailable(&why)) GTEST_SKIP() << "bf16 is not supported on this CPU: " << why;
  check_prefill(GetParam(), DType::bf16, 2e-2);
}

TEST_P(ReferenceDecoders, DecodeWithCacheEqualsRecompute) { check_decode(GetParam(), DType::fp32, 1e-5); }

TEST_P(ReferenceDecoders, Bf16DecodeWithCacheEqualsRecompute) {
  std::string why;
  if (bf16_unavailable(&why)) GTEST_SKIP() << "bf16 is not supported on this CPU: " << why;
  check_decode(GetParam(), DType::bf16, 2e-2);
}

TEST_P(ReferenceDecoders, CapturedLeavesReproduceForward) { check_capture_replay(GetParam(), Phase::prefill); }

TEST_P(ReferenceDecoders, CapturedDecodeLeavesReproduceForward) { check_capture_replay(GetParam(), Phase::decode); }

TEST_P(ReferenceDecoders, ReferenceReadsExactlyTheGraphParameters) { check_parameter_names(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Families, ReferenceDecoders, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return case_name(info.param); });

}  // namespace
}  // namespace clear::reference
