// Encoder-only and vision families against the float64 reference (docs/REFERENCE.md): BERT (with
// pooler, and masked-LM with odd sizes), RoBERTa (positions from padding_idx + 1), DistilBERT,
// ALBERT (factorised embedding, shared layers), ViT (classifier, and ViTModel's pooler). Batches
// of two with padding; fresh random weights for every tensor and fresh random inputs each run.
#include <gtest/gtest.h>

#include "engine/support/reference_harness.hpp"

namespace clear::reference {
namespace {

const FamilyCase kCases[] = {
    {"bert", R"({"model_type": "bert", "architectures": ["BertModel"], "vocab_size": 97, "hidden_size": 32,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37, "hidden_act": "gelu",
      "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0})",
     2, 7, 0, {7, 4}},
    {"bert_mlm_odd", R"({"model_type": "bert", "architectures": ["BertForMaskedLM"], "vocab_size": 53, "hidden_size": 20,
      "num_hidden_layers": 3, "num_attention_heads": 5, "intermediate_size": 23, "hidden_act": "gelu",
      "max_position_embeddings": 12, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0})",
     3, 5, 0, {5, 1, 3}},
    {"roberta", R"({"model_type": "roberta", "architectures": ["RobertaForMaskedLM"], "vocab_size": 97, "hidden_size": 32,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37, "hidden_act": "gelu",
      "max_position_embeddings": 18, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1})",
     2, 7, 0, {7, 3}},
    {"distilbert", R"({"model_type": "distilbert", "architectures": ["DistilBertForMaskedLM"], "vocab_size": 97, "dim": 32,
      "n_layers": 2, "n_heads": 4, "hidden_dim": 37, "activation": "gelu", "max_position_embeddings": 16,
      "sinusoidal_pos_embds": false, "pad_token_id": 0})",
     2, 7, 0, {7, 5}},
    {"albert", R"({"model_type": "albert", "architectures": ["AlbertForMaskedLM"], "vocab_size": 97, "embedding_size": 12,
      "hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 37,
      "hidden_act": "gelu_new", "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
      "num_hidden_groups": 1, "inner_group_num": 1, "pad_token_id": 0})",
     2, 7, 0, {7, 2}},
    {"albert_model", R"({"model_type": "albert", "architectures": ["AlbertModel"], "vocab_size": 61, "embedding_size": 10,
      "hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 30,
      "hidden_act": "gelu_new", "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
      "num_hidden_groups": 1, "inner_group_num": 1, "pad_token_id": 0})",
     1, 6, 0, {}},
    {"vit", R"({"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": 32,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37, "hidden_act": "gelu",
      "layer_norm_eps": 1e-12, "image_size": 12, "patch_size": 4, "num_channels": 3,
      "id2label": {"0": "a", "1": "b", "2": "c", "3": "d", "4": "e"}})",
     2, 10, 0, {}},
    {"vit_model", R"({"model_type": "vit", "architectures": ["ViTModel"], "hidden_size": 24,
      "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 29, "hidden_act": "gelu",
      "layer_norm_eps": 1e-12, "image_size": 8, "patch_size": 4, "num_channels": 3})",
     1, 5, 0, {}},
};

class ReferenceEncoders : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(ReferenceEncoders, Fp32MatchesReference) { check_prefill(GetParam(), DType::fp32, 1e-5); }

TEST_P(ReferenceEncoders, Bf16MatchesReference) {
  std::string why;
  if (bf16_unavailable(&why)) GTEST_SKIP() << "bf16 is not supported on this CPU: " << why;
  check_prefill(GetParam(), DType::bf16, 2e-2);
}

TEST_P(ReferenceEncoders, CapturedLeavesReproduceForward) { check_capture_replay(GetParam(), Phase::prefill); }

TEST_P(ReferenceEncoders, ReferenceReadsExactlyTheGraphParameters) { check_parameter_names(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Families, ReferenceEncoders, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return case_name(info.param); });

}  // namespace
}  // namespace clear::reference
