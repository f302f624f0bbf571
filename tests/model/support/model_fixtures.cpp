#include "model/support/model_fixtures.hpp"

#include <gtest/gtest.h>

#include "clear/util/embedded.hpp"
#include "clear/util/error.hpp"

namespace clear::testing {

nlohmann::json zoo_json(const std::string& name) {
  for (const auto& f : embedded_files_zoo())
    if (f.name == name + ".json") return nlohmann::json::parse(f.content);
  ADD_FAILURE() << "no embedded zoo file " << name;
  return nlohmann::json::object();
}

std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-clear::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected a clear::Error, nothing was thrown";
  return "";
}

ModelConfig parse(const nlohmann::json& config) { return parse_config(config, "test.json"); }

}  // namespace clear::testing
