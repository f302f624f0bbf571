#pragma once
// Hugging Face tensor names <-> canonical parameter names (docs/NAMING.md), per family. This is
// the one place in CLEAR that knows Hugging Face's names; docs/WEIGHTS.md lists the tables.
#include <string>
#include <vector>

#include "clear/model/config.hpp"
#include "clear/model/graph.hpp"

namespace clear::hf {

// How a stored tensor becomes the canonical one.
enum class Transform {
  none,
  transpose,  // GPT-2 Conv1D: stored [in, out], canonical [out, in]
  unsqueeze,  // stored with a leading 1 (ViT position_embeddings [1, N+1, H]); same bytes
};

// What a Hugging Face tensor is to the loader.
enum class RuleKind {
  param,        // holds a canonical parameter
  copy,         // a tied duplicate of a canonical parameter: accepted when equal to it
  buffer,       // a non-parameter buffer Hugging Face stores (position_ids, causal masks, inv_freq): skipped
  zero_buffer,  // a buffer that must be all zeros to be skipped (BART's final_logits_bias)
  other_head,   // a head no model class of ours uses (BERT's NSP, ALBERT's SOP): skipped and reported
};

struct HfTensor {
  std::string name;       // without the base-model prefix
  bool in_base = true;    // lives under the family's base-model prefix (optional in a checkpoint)
  Transform transform = Transform::none;
  RuleKind kind = RuleKind::param;
  std::string canonical;  // the canonical parameter (param, copy); empty otherwise
};

// The family's base-model prefix: "bert", "roberta", "distilbert", "albert", "transformer"
// (GPT-2), "model" (Llama family, BART), "vit"; "" for T5, whose modules sit at the top level.
std::string base_prefix(Family family);

// The Hugging Face tensor holding canonical parameter `canonical` (kind param).
// Throws clear::Error naming the tensor when the family has no rule for it.
HfTensor to_hf(const ModelConfig& config, const std::string& canonical);

// The rule matching a Hugging Face name, tried as a base-model name (prefix already removed)
// when `in_base`, else as a top-level (head) name. false when no rule matches.
bool from_hf(const ModelConfig& config, const std::string& name, bool in_base, HfTensor* out);

// Names under which a checkpoint may store `t`: with and without the base prefix for base tensors.
std::vector<std::string> checkpoint_names(const ModelConfig& config, const HfTensor& t);

// Tied duplicates a checkpoint may hold besides the owners' tensors: tied LM heads
// (lm_head.weight), T5/BART's encoder/decoder embed_tokens (copies of shared), tied MLM decoders.
std::vector<HfTensor> tied_copies(const ComponentGraph& graph);

}  // namespace clear::hf
