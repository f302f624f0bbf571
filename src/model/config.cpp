// config.json -> ModelConfig: the model_type picks the family parser, `architectures[0]` picks the
// head, and everything is checked before any graph is built.
#include "clear/model/config.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/util/error.hpp"
#include "clear/util/files.hpp"
#include "model/families/families.hpp"

namespace clear {

namespace {

using config_fields::Fields;

// A Hugging Face class of a family and the head it carries.
struct HeadClass {
  const char* name;
  Head head;
  bool pooler;
};

struct FamilyInfo {
  const char* model_type;
  Family family;
  ArchType arch_type;
  void (*parse)(const Fields&, ModelConfig&);
  std::vector<HeadClass> classes;  // the first is the bare base class
};

const std::vector<FamilyInfo>& family_table() {
  static const std::vector<FamilyInfo> table = {
      {"bert", Family::bert, ArchType::encoder_only, families::parse_bert,
       {{"BertModel", Head::base, true}, {"BertForMaskedLM", Head::masked_lm, false}}},
      {"roberta", Family::roberta, ArchType::encoder_only, families::parse_bert,
       {{"RobertaModel", Head::base, true}, {"RobertaForMaskedLM", Head::masked_lm, false}}},
      {"distilbert", Family::distilbert, ArchType::encoder_only, families::parse_distilbert,
       {{"DistilBertModel", Head::base, false}, {"DistilBertForMaskedLM", Head::masked_lm, false}}},
      {"albert", Family::albert, ArchType::encoder_only, families::parse_albert,
       {{"AlbertModel", Head::base, true}, {"AlbertForMaskedLM", Head::masked_lm, false}}},
      {"gpt2", Family::gpt2, ArchType::decoder_only, families::parse_gpt2,
       {{"GPT2Model", Head::base, false}, {"GPT2LMHeadModel", Head::causal_lm, false}}},
      {"llama", Family::llama, ArchType::decoder_only, families::parse_llama,
       {{"LlamaModel", Head::base, false}, {"LlamaForCausalLM", Head::causal_lm, false}}},
      {"mistral", Family::mistral, ArchType::decoder_only, families::parse_llama,
       {{"MistralModel", Head::base, false}, {"MistralForCausalLM", Head::causal_lm, false}}},
      {"qwen2", Family::qwen2, ArchType::decoder_only, families::parse_llama,
       {{"Qwen2Model", Head::base, false}, {"Qwen2ForCausalLM", Head::causal_lm, false}}},
      {"mixtral", Family::mixtral, ArchType::moe_decoder, families::parse_llama,
       {{"MixtralModel", Head::base, false}, {"MixtralForCausalLM", Head::causal_lm, false}}},
      {"t5", Family::t5, ArchType::encoder_decoder, families::parse_t5,
       {{"T5Model", Head::base, false},
        {"T5ForConditionalGeneration", Head::seq2seq_lm, false},
        {"T5WithLMHeadModel", Head::seq2seq_lm, false}}},  // the class's name before transformers 2.x
      {"bart", Family::bart, ArchType::encoder_decoder, families::parse_bart,
       {{"BartModel", Head::base, false}, {"BartForConditionalGeneration", Head::seq2seq_lm, false}}},
      {"vit", Family::vit, ArchType::vision_encoder, families::parse_vit,
       {{"ViTModel", Head::base, true}, {"ViTForImageClassification", Head::image_classification, false}}},
  };
  return table;
}

const FamilyInfo& family_info(Family family) {
  for (const auto& info : family_table())
    if (info.family == family) return info;
  throw Error("internal: family without a table entry");
}

std::string supported_model_types() {
  std::string list;
  for (const auto& info : family_table()) list += (list.empty() ? "" : ", ") + std::string(info.model_type);
  return list;
}

std::string class_list(const FamilyInfo& info) {
  std::string list;
  for (const auto& cls : info.classes) list += (list.empty() ? "" : ", ") + std::string(cls.name);
  return list;
}

void apply_class(ModelConfig& c, const HeadClass& cls) {
  c.architecture = cls.name;
  c.head = cls.head;
  c.pooler = cls.pooler;
}

// The head class named by architectures[0]; absent -> the family's base class.
void choose_class(const Fields& f, const FamilyInfo& info, ModelConfig& c) {
  const nlohmann::json* archs = f.find("architectures");
  if (!archs) {
    apply_class(c, info.classes.front());
    return;
  }
  if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    f.fail_value("architectures", "a non-empty list of class names");
  std::string name = (*archs)[0].get<std::string>();
  for (const auto& cls : info.classes)
    if (name == cls.name) return apply_class(c, cls);
  f.fail("architectures", fmt::format("class '{}' is not a supported class of model_type '{}'; supported: {}", name,
                                      info.model_type, class_list(info)));
}

// A generous upper bound on the parameter count, so later products (FLOPs, bytes) stay inside int64.
double parameter_bound(const ModelConfig& c) {
  double h = double(c.hidden_size);
  double experts = std::max<double>(1, double(c.num_experts));
  auto stack = [&](const StackConfig& s, double attention_blocks) {
    double attention = 4.0 * h * double(s.num_heads) * double(s.head_dim) + 4 * h;
    double mlp = experts * (3.0 * h * double(s.ffn_dim) + 2 * h) + experts * h;
    return double(s.num_layers) * (attention_blocks * attention + mlp + 8 * h);
  };
  double bound = stack(c.encoder, 1) + stack(c.decoder, 2);
  double table_width = double(std::max(c.embedding_size, c.hidden_size));
  bound += 2.0 * double(c.vocab_size) * table_width + double(c.max_positions + c.position_offset) * table_width;
  bound += double(c.type_vocab_size) * table_width + 4 * h * h;
  bound += 2.0 * double(c.relative_buckets) * double(std::max(c.encoder.num_heads, c.decoder.num_heads));
  bound += double(c.num_labels) * h + double(c.num_channels * c.patch_size * c.patch_size) * h;
  bound += double(c.pooler_size) * h;
  return bound;
}

}  // namespace

ModelConfig parse_config(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object())
    throw Error(fmt::format("{}: expected a JSON object (a Hugging Face config.json), got {}", source,
                            config_fields::describe(config)));
  auto type_it = config.find("model_type");
  if (type_it == config.end() || type_it->is_null())
    throw Error(fmt::format("{}: missing required field 'model_type'; supported: {}", source, supported_model_types()));
  if (!type_it->is_string())
    throw Error(fmt::format("{}: field 'model_type': expected a string, got {}; supported: {}", source,
                            config_fields::describe(*type_it), supported_model_types()));
  std::string model_type = type_it->get<std::string>();
  const FamilyInfo* info = nullptr;
  for (const auto& candidate : family_table())
    if (candidate.model_type == model_type) info = &candidate;
  if (!info)
    throw Error(fmt::format("{}: field 'model_type': unknown model_type '{}'; supported: {}", source, model_type,
                            supported_model_types()));

  ModelConfig c;
  c.source = source;
  c.model_type = model_type;
  c.family = info->family;
  c.arch_type = info->arch_type;
  Fields f(config, source, model_type);
  info->parse(f, c);
  choose_class(f, *info, c);
  if (c.pooler_size == 0) c.pooler_size = c.hidden_size;
  if (c.vocab_size > 0 && c.pad_token_id >= c.vocab_size)
    f.fail("pad_token_id", fmt::format("{} is outside the vocabulary of {} tokens", c.pad_token_id, c.vocab_size));
  double bound = parameter_bound(c);
  if (!(bound < double(int64_t(1) << 44)))
    throw Error(fmt::format("{}: the sizes in this config describe about {:.3g} parameters; CLEAR handles at most "
                            "2^44 (check hidden_size, intermediate_size, vocab_size and the layer counts)",
                            source, bound));
  return c;
}

ModelConfig load_config_file(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path / "config.json";
  std::string text = read_file(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
  ModelConfig c = parse_config(json, file.string());
  std::filesystem::path folder = std::filesystem::absolute(file, ec).parent_path();
  c.name = file.filename() == "config.json" && !folder.filename().empty() ? folder.filename().string()
                                                                          : file.stem().string();
  return c;
}

void select_head(ModelConfig& config, const std::string& head) {
  Head wanted;
  if (head == "base") wanted = Head::base;
  else if (head == "causal_lm") wanted = Head::causal_lm;
  else if (head == "mlm" || head == "masked_lm") wanted = Head::masked_lm;
  else if (head == "seq2seq_lm") wanted = Head::seq2seq_lm;
  else if (head == "image_classification") wanted = Head::image_classification;
  else
    throw Error(fmt::format("--head: unknown head '{}'; expected base, causal_lm, mlm, seq2seq_lm or "
                            "image_classification",
                            head));
  const FamilyInfo& info = family_info(config.family);
  std::string available;
  for (const auto& cls : info.classes) {
    if (cls.head == wanted) return apply_class(config, cls);
    std::string name = to_string(cls.head);
    if (available.find(name) == std::string::npos) available += (available.empty() ? "" : ", ") + name;
  }
  throw Error(fmt::format("--head: model_type '{}' has no '{}' head; available: {}", info.model_type, head, available));
}

const char* to_string(Family f) {
  switch (f) {
    case Family::bert: return "bert";
    case Family::roberta: return "roberta";
    case Family::distilbert: return "distilbert";
    case Family::albert: return "albert";
    case Family::gpt2: return "gpt2";
    case Family::llama: return "llama";
    case Family::mistral: return "mistral";
    case Family::qwen2: return "qwen2";
    case Family::mixtral: return "mixtral";
    case Family::t5: return "t5";
    case Family::bart: return "bart";
    case Family::vit: return "vit";
  }
  return "?";
}

const char* to_string(ArchType a) {
  switch (a) {
    case ArchType::encoder_only: return "encoder_only";
    case ArchType::decoder_only: return "decoder_only";
    case ArchType::encoder_decoder: return "encoder_decoder";
    case ArchType::vision_encoder: return "vision_encoder";
    case ArchType::moe_decoder: return "moe_decoder";
  }
  return "?";
}

const char* to_string(Activation a) {
  switch (a) {
    case Activation::gelu_erf: return "gelu_erf";
    case Activation::gelu_tanh: return "gelu_tanh";
    case Activation::relu: return "relu";
    case Activation::silu: return "silu";
    case Activation::tanh: return "tanh";
  }
  return "?";
}

const char* to_string(NormKind n) {
  switch (n) {
    case NormKind::layer_norm: return "layer_norm";
    case NormKind::rms_norm: return "rms_norm";
  }
  return "?";
}

const char* to_string(PositionKind p) {
  switch (p) {
    case PositionKind::learned: return "learned";
    case PositionKind::rope: return "rope";
    case PositionKind::relative_bias: return "relative_bias";
  }
  return "?";
}

const char* to_string(Head h) {
  switch (h) {
    case Head::base: return "base";
    case Head::causal_lm: return "causal_lm";
    case Head::masked_lm: return "mlm";
    case Head::seq2seq_lm: return "seq2seq_lm";
    case Head::image_classification: return "image_classification";
  }
  return "?";
}

}  // namespace clear
