// Encoder-decoder families against the float64 reference (docs/REFERENCE.md): T5 (relative position
// buckets, unscaled attention, RMS norm; relu with a tied head rescaled by d_model^-0.5, and v1.1's
// gated-gelu with an untied head and a deeper decoder), BART (positions offset by 2, embedding norm,
// post-norm, scaled embeddings). Encoder padding, decoder KV cache against full recompute.
#include <gtest/gtest.h>

#include "engine/support/reference_harness.hpp"

namespace clear::reference {
namespace {

const FamilyCase kCases[] = {
    {"t5", R"({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": 97, "d_model": 32,
      "d_kv": 6, "d_ff": 37, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4,
      "relative_attention_num_buckets": 8, "relative_attention_max_distance": 12, "layer_norm_epsilon": 1e-6,
      "feed_forward_proj": "relu", "tie_word_embeddings": true, "pad_token_id": 0, "decoder_start_token_id": 0})",
     2, 7, 5, {7, 4}, 4},
    {"t5_v1_1_gated", R"({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": 97,
      "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_decoder_layers": 3, "num_heads": 4,
      "relative_attention_num_buckets": 8, "relative_attention_max_distance": 12, "layer_norm_epsilon": 1e-6,
      "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false, "pad_token_id": 0,
      "decoder_start_token_id": 0})",
     1, 6, 4, {}, 5},
    {"bart", R"({"model_type": "bart", "architectures": ["BartForConditionalGeneration"], "vocab_size": 97,
      "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
      "decoder_attention_heads": 4, "encoder_ffn_dim": 37, "decoder_ffn_dim": 41, "activation_function": "gelu",
      "max_position_embeddings": 16, "scale_embedding": true, "pad_token_id": 1})",
     2, 7, 6, {7, 5}, 4},
};

class ReferenceSeq2Seq : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(ReferenceSeq2Seq, Fp32MatchesReference) { check_prefill(GetParam(), DType::fp32, 1e-5); }

TEST_P(ReferenceSeq2Seq, Bf16MatchesReference) {
  std::string why;
  if (bf16_unavailable(&why)) GTEST_SKIP() << "bf16 is not supported on this CPU: " << why;
  check_prefill(GetParam(), DType::bf16, 2e-2);
}

TEST_P(ReferenceSeq2Seq, DecodeWithCacheEqualsRecompute) { check_decode(GetParam(), DType::fp32, 1e-5); }

TEST_P(ReferenceSeq2Seq, Bf16DecodeWithCacheEqualsRecompute) {
  std::string why;
  if (bf16_unavailable(&why)) GTEST_SKIP() << "bf16 is not supported on this CPU: " << why;
  check_decode(GetParam(), DType::bf16, 2e-2);
}

TEST_P(ReferenceSeq2Seq, CapturedLeavesReproduceForward) { check_capture_replay(GetParam(), Phase::prefill); }

TEST_P(ReferenceSeq2Seq, CapturedDecodeLeavesReproduceForward) { check_capture_replay(GetParam(), Phase::decode); }

TEST_P(ReferenceSeq2Seq, ReferenceReadsExactlyTheGraphParameters) { check_parameter_names(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Families, ReferenceSeq2Seq, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return case_name(info.param); });

}  // namespace
}  // namespace clear::reference
