// libFuzzer target: arbitrary bytes -> JSON -> parse_config -> build_graph. Bad input may only ever
// surface as clear::Error (or a JSON parse error before parse_config); any other exception, crash,
// sanitizer report or inconsistent graph is a bug.
// Build: cmake -DCLEAR_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...; run: fuzz_config -max_total_time=20 CORPUS data/zoo
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "clear/model/config.hpp"
#include "clear/model/graph.hpp"
#include "clear/model/workload.hpp"
#include "clear/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  try {
    clear::ModelConfig config = clear::parse_config(json, "fuzz.json");
    clear::ComponentGraph graph = clear::build_graph(config);
    // Every accepted config yields a well-formed graph with a positive count that fits int64.
    if (graph.nodes.empty() || graph.param_count() <= 0) std::abort();
    for (const auto& node : graph.nodes)
      if (!node.params_from.empty() && graph.find(node.params_from) < 0) std::abort();
    clear::validate_workload(config, clear::Workload{});
  } catch (const clear::Error&) {
    return 0;
  }
  return 0;
}
