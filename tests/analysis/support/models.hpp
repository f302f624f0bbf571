#pragma once
// Configs and graphs the analysis tests share.
#include <string>

#include <nlohmann/json.hpp>

#include "clear/analysis/analysis.hpp"
#include "clear/model/graph.hpp"

namespace clear::testing {

// data/zoo/<name>.json as JSON, for tests that edit a real config before parsing it.
nlohmann::json zoo_json(const std::string& name);
// Parse (edited) config JSON and build its graph.
ComponentGraph graph_from_json(const nlohmann::json& config, const std::string& source = "test config.json");

// The zoo's GPT-2 shrunk to the given sizes (layers, width, heads, vocabulary).
ComponentGraph small_gpt2(int64_t layers, int64_t hidden, int64_t heads, int64_t vocab);

// A leaf of `op` with the given dimensions, for op_cost tests.
Component leaf(OpKind op, ComponentKind kind);

// Σ over the leaves of one field, computed independently of analyze()'s own totals.
struct LeafSums {
  int64_t params = 0, macs = 0, flops = 0, bytes = 0, backward_flops = 0, kv_read = 0, kv_written = 0;
};
LeafSums sum_leaves(const ComponentGraph& graph, const Analysis& analysis);

}  // namespace clear::testing
