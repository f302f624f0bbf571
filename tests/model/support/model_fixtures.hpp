#pragma once
// Shared by the model tests: the raw zoo configs and a way to capture a clear::Error message.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "clear/model/config.hpp"

namespace clear::testing {

// data/zoo/<name>.json as embedded in the library, unparsed.
nlohmann::json zoo_json(const std::string& name);
// The message of the clear::Error `action` throws; fails the test (and returns "") when it throws
// nothing or something else.
std::string error_message(const std::function<void()>& action);
// parse_config of `config` under the source name "test.json".
ModelConfig parse(const nlohmann::json& config);

}  // namespace clear::testing
