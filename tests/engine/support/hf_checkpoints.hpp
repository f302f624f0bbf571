#pragma once
// Tiny checkpoints of every family written with Hugging Face tensor names, spelled out by hand
// here (independently of src/engine/weights/hf_names.cpp), with their canonical counterparts.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clear/model/graph.hpp"
#include "safetensors_writer.hpp"

namespace clear::testing {

ComponentGraph graph_of(const std::string& config_json);

// How a Hugging Face tensor is laid out relative to the canonical one.
enum class Layout { same, transposed /* GPT-2 Conv1D [in, out] */, leading_one /* ViT [1, N, H] */ };

struct Mapping {
  std::string hf;
  std::string canonical;
  Layout layout = Layout::same;
  bool head = false;  // stored outside the base-model prefix (lm_head.weight of *ForCausalLM)
};

// A tiny model and the Hugging Face name of every canonical parameter.
struct HfModel {
  ComponentGraph graph;
  std::vector<Mapping> map;
};

std::vector<int64_t> stored_shape(const std::vector<int64_t>& canonical, Layout layout);
std::map<std::string, std::vector<int64_t>> param_shapes(const ComponentGraph& g);

// Fresh random values for every mapped tensor, in stored layout, by Hugging Face name.
struct Written {
  std::map<std::string, std::vector<float>> stored;
};
// Fails the current test when the mapping does not cover the graph's parameters exactly.
Written generate(const HfModel& fam);
// Writes `w` stored as `as` (sharded into `shards` files when > 1) plus `extra`; `prefix` goes
// before every name that is not a head's (Mapping::head).
void write(const std::filesystem::path& dir, const HfModel& fam, const Written& w, StoreAs as, int shards,
           const std::vector<StoredTensor>& extra = {}, const std::string& prefix = "");
Written write_family(const std::filesystem::path& dir, const HfModel& fam, StoreAs as, int shards,
                     const std::vector<StoredTensor>& extra = {}, const std::string& prefix = "");
// The canonical fp32 tensors the checkpoint holds: stored values after `as` rounding, in
// canonical layout (Conv1D transposed back).
std::map<std::string, std::vector<float>> canonical_values(const HfModel& fam, const Written& w, StoreAs as);

// The families (tiny configs). Names under the base prefix are given without it where the
// test chooses the prefix when writing (gpt2, llama, mixtral), with it elsewhere.
HfModel gpt2(int layers = 2, bool tied = true);
HfModel llama();
HfModel mixtral();
HfModel bert();        // BertForMaskedLM, "bert." and "cls."
HfModel t5();          // T5ForConditionalGeneration, gated-gelu, untied head
HfModel bart();        // BartModel, names without "model."
HfModel vit();         // ViTForImageClassification, "vit."
HfModel distilbert();  // DistilBertForMaskedLM
HfModel roberta();     // RobertaForMaskedLM
HfModel albert();      // AlbertModel, 3 layers in one group

}  // namespace clear::testing
