#include "analysis/support/models.hpp"

#include "clear/model/config.hpp"
#include "clear/util/files.hpp"

namespace clear::testing {

nlohmann::json zoo_json(const std::string& name) {
  return nlohmann::json::parse(read_file(std::string(CLEAR_SOURCE_DIR) + "/data/zoo/" + name + ".json"));
}

ComponentGraph graph_from_json(const nlohmann::json& config, const std::string& source) {
  return build_graph(parse_config(config, source));
}

Component leaf(OpKind op, ComponentKind kind) {
  Component c;
  c.name = "test." + std::string(to_string(kind));
  c.op = op;
  c.kind = kind;
  return c;
}

LeafSums sum_leaves(const ComponentGraph& graph, const Analysis& analysis) {
  LeafSums s;
  for (int i : graph.leaves()) {
    const auto& c = analysis.components[size_t(i)];
    s.params += c.params;
    s.macs += c.macs;
    s.flops += c.flops;
    s.bytes += c.bytes;
    s.backward_flops += c.backward_flops;
    s.kv_read += c.kv_bytes_read;
    s.kv_written += c.kv_bytes_written;
  }
  return s;
}

ComponentGraph small_gpt2(int64_t layers, int64_t hidden, int64_t heads, int64_t vocab) {
  auto json = zoo_json("gpt2");
  json["n_layer"] = layers;
  json["n_embd"] = hidden;
  json["n_head"] = heads;
  json["vocab_size"] = vocab;
  return graph_from_json(json);
}

}  // namespace clear::testing
