#pragma once
// An independent parameter count written from Hugging Face's module definitions, straight from
// the raw config.json (with the class defaults): no CLEAR parsing or graph code is used, so a
// test comparing it with ComponentGraph::param_count() checks both.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace clear::testing {

// `cls` is the Hugging Face class counted (e.g. "BertModel", "GPT2LMHeadModel").
int64_t reference_param_count(const nlohmann::json& config, const std::string& cls);

// The config's own class (architectures[0]).
inline int64_t reference_param_count(const nlohmann::json& config) {
  return reference_param_count(config, config.at("architectures").at(0).get<std::string>());
}

}  // namespace clear::testing
