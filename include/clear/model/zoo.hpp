#pragma once
// The built-in zoo: configs of real public models, stored as data/zoo/<name>.json and embedded.
#include <string>
#include <vector>

#include "clear/model/config.hpp"

namespace clear {

struct ZooEntry {
  std::string name;          // canonical lower-case name, e.g. "llama-3.2-1b"
  std::string organisation;  // e.g. "meta-llama" (a prefix "meta-llama/" is accepted on look-up)
};

std::vector<ZooEntry> zoo_entries();
// Case-insensitive; an organisation prefix ("openai-community/gpt2") is accepted.
// Throws clear::Error listing the zoo when the name is unknown.
ModelConfig zoo_config(const std::string& name);
bool is_zoo_name(const std::string& name);
// A zoo name, a folder holding config.json, or a config.json path.
ModelConfig resolve_model(const std::string& model_or_path);

}  // namespace clear
