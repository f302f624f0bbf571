// The built-in zoo: real public config.json files under data/zoo/, compiled into the program.
#include "clear/model/zoo.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/util/embedded.hpp"
#include "clear/util/error.hpp"

namespace clear {

namespace {

struct ZooModel {
  const char* name;                       // data/zoo/<name>.json
  std::vector<const char*> organisations; // accepted "<org>/" prefixes; the first is the canonical one
  std::vector<const char*> aliases;       // Hugging Face repository names when they differ from `name`
};

const std::vector<ZooModel>& zoo_table() {
  static const std::vector<ZooModel> table = {
      {"bert-base-uncased", {"google-bert"}, {}},
      {"bert-large-uncased", {"google-bert"}, {}},
      {"distilbert-base-uncased", {"distilbert"}, {}},
      {"roberta-base", {"FacebookAI"}, {}},
      {"albert-base-v2", {"albert"}, {}},
      {"gpt2", {"openai-community"}, {}},
      {"gpt2-medium", {"openai-community"}, {}},
      {"llama-2-7b", {"meta-llama"}, {"Llama-2-7b-hf"}},
      {"llama-3.2-1b", {"meta-llama"}, {"Llama-3.2-1B"}},
      {"llama-3.1-8b", {"meta-llama"}, {"Llama-3.1-8B", "Meta-Llama-3.1-8B"}},
      {"tinyllama-1.1b", {"TinyLlama"}, {"TinyLlama-1.1B-Chat-v1.0"}},
      {"qwen2.5-0.5b", {"Qwen"}, {"Qwen2.5-0.5B"}},
      {"mistral-7b-v0.1", {"mistralai"}, {"Mistral-7B-v0.1"}},
      {"mixtral-8x7b-v0.1", {"mistralai"}, {"Mixtral-8x7B-v0.1"}},
      {"t5-small", {"google-t5", "google"}, {}},
      {"t5-base", {"google-t5", "google"}, {}},
      {"bart-base", {"facebook"}, {}},
      {"vit-base-patch16-224", {"google"}, {}},
  };
  return table;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

// The zoo model a user's name means, or nullptr.
const ZooModel* lookup(const std::string& requested) {
  std::string text = lower(requested);
  std::string organisation;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    organisation = text.substr(0, slash);
    text = text.substr(slash + 1);
  }
  for (const auto& model : zoo_table()) {
    bool name_matches = text == model.name;
    for (const char* alias : model.aliases) name_matches = name_matches || text == lower(alias);
    if (!name_matches) continue;
    if (organisation.empty()) return &model;
    for (const char* org : model.organisations)
      if (organisation == lower(org)) return &model;
  }
  return nullptr;
}

std::string zoo_list() {
  std::string list;
  for (const auto& model : zoo_table()) list += (list.empty() ? "" : ", ") + std::string(model.name);
  return list;
}

}  // namespace

std::vector<ZooEntry> zoo_entries() {
  std::vector<ZooEntry> out;
  for (const auto& model : zoo_table()) out.push_back({model.name, model.organisations.front()});
  return out;
}

bool is_zoo_name(const std::string& name) { return lookup(name) != nullptr; }

ModelConfig zoo_config(const std::string& name) {
  const ZooModel* model = lookup(name);
  if (!model) throw Error(fmt::format("unknown zoo model '{}'; the zoo has: {}", name, zoo_list()));
  std::string file = std::string(model->name) + ".json";
  for (const auto& embedded : embedded_files_zoo()) {
    if (embedded.name != file) continue;
    nlohmann::json json = nlohmann::json::parse(embedded.content);
    ModelConfig c = parse_config(json, "zoo:" + std::string(model->name));
    c.name = model->name;
    return c;
  }
  throw Error(fmt::format("internal: zoo model '{}' has no embedded data/zoo/{}", model->name, file));
}

ModelConfig resolve_model(const std::string& model_or_path) {
  if (is_zoo_name(model_or_path)) return zoo_config(model_or_path);
  std::error_code ec;
  std::filesystem::path path(model_or_path);
  if (!model_or_path.empty() && std::filesystem::exists(path, ec)) {
    if (std::filesystem::is_directory(path, ec) && !std::filesystem::exists(path / "config.json", ec))
      throw Error(fmt::format("{}: folder has no config.json", model_or_path));
    return load_config_file(path);
  }
  throw Error(fmt::format("unknown model '{}': not a zoo name and no such file or folder; the zoo has: {}",
                          model_or_path, zoo_list()));
}

}  // namespace clear
