// Model-level figures from a run's rows: shares, coverage, energy per forward and per token,
// pJ/FLOP of the model against each kind and block.
#include <cmath>
#include <map>

#include "clear/protocol/protocol.hpp"

namespace clear {

namespace {

// Per-layer mode measures instances; their kind row is the mean over the instances.
void add_missing_kind_rows(std::vector<ComponentResult>& rows) {
  std::map<std::string, std::vector<const ComponentResult*>> groups;
  std::map<std::string, bool> has_kind_row;
  for (const auto& r : rows) {
    if (r.scope == "instance") groups[unit_name(r.name, false)].push_back(&r);
    if (r.scope == "kind") has_kind_row[r.name] = true;
  }
  std::vector<ComponentResult> added;
  for (const auto& [name, members] : groups) {
    if (members.size() < 2 || has_kind_row[name]) continue;
    ComponentResult k = *members.front();
    const double n = static_cast<double>(members.size());
    k.name = name;
    k.layer = -1;
    k.scope = "kind";
    k.basis = "instances_mean";
    k.instances = static_cast<int64_t>(members.size());
    double sums[10] = {};
    double net_var = 0.0, gross_var = 0.0;
    int64_t min_trials = members.front()->trials;
    for (const auto* m : members) {
      const double values[10] = {m->latency_median_s, m->latency_p90_s, m->gross_j, m->net_j, m->cv,
                                 m->window_s,         m->flops,         m->bytes,   0.0,      0.0};
      for (int i = 0; i < 8; ++i) sums[i] += values[i];
      net_var += m->net_ci95_j * m->net_ci95_j;
      gross_var += m->gross_ci95_j * m->gross_ci95_j;
      min_trials = std::min(min_trials, m->trials);
      k.drift_flagged = k.drift_flagged || m->drift_flagged;
    }
    k.latency_median_s = sums[0] / n;
    k.latency_p90_s = sums[1] / n;
    k.gross_j = sums[2] / n;
    k.net_j = sums[3] / n;
    k.cv = sums[4] / n;
    k.window_s = sums[5] / n;
    k.flops = sums[6] / n;
    k.bytes = sums[7] / n;
    k.net_ci95_j = std::sqrt(net_var) / n;  // independent instances: the mean's interval
    k.gross_ci95_j = std::sqrt(gross_var) / n;
    k.trials = min_trials;
    // Roofline figures follow from the averaged latency/flops/bytes/energy.
    const double t = k.latency_median_s;
    k.gflops = t > 0 ? k.flops / t / 1e9 : 0.0;
    k.gbs = t > 0 ? k.bytes / t / 1e9 : 0.0;
    k.pj_per_flop_net = k.flops > 0 ? k.net_j / k.flops * 1e12 : 0.0;
    k.pj_per_flop_gross = k.flops > 0 ? k.gross_j / k.flops * 1e12 : 0.0;
    added.push_back(k);
  }
  rows.insert(rows.end(), added.begin(), added.end());
}

struct Totals {
  double net_j = 0.0, gross_j = 0.0, flops = 0.0;
  int64_t components = 0;
};

nlohmann::json totals_json(const std::map<std::string, Totals>& groups) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, t] : groups) {
    out[name] = {{"components", t.components},
                 {"energy_net_j", t.net_j},
                 {"energy_gross_j", t.gross_j},
                 {"flops", t.flops},
                 {"pj_per_flop_net", t.flops > 0 ? nlohmann::json(t.net_j / t.flops * 1e12) : nlohmann::json(nullptr)},
                 {"pj_per_flop_gross", t.flops > 0 ? nlohmann::json(t.gross_j / t.flops * 1e12) : nlohmann::json(nullptr)}};
  }
  return out;
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json summarize_rows(std::vector<ComponentResult>& rows, int64_t tokens) {
  add_missing_kind_rows(rows);
  const ComponentResult* model = nullptr;
  for (const auto& r : rows)
    if (r.scope == "model") model = &r;

  // Leaves only (instance rows): each forward-pass computation is counted exactly once.
  Totals leaves;
  std::map<std::string, Totals> by_kind, by_block;
  for (const auto& r : rows) {
    if (r.scope != "instance") continue;
    const double calls = static_cast<double>(r.calls);
    for (Totals* t : {&leaves, &by_kind[r.kind], &by_block[r.block]}) {
      t->net_j += calls * r.net_j;
      t->gross_j += calls * r.gross_j;
      t->flops += calls * r.flops;
      t->components += 1;
    }
  }

  nlohmann::json s = nlohmann::json::object();
  s["components_measured"] = leaves.components;
  s["components_energy_net_j"] = leaves.net_j;
  s["components_energy_gross_j"] = leaves.gross_j;
  s["pj_per_flop_by_kind"] = totals_json(by_kind);
  s["pj_per_flop_by_block"] = totals_json(by_block);
  if (!model) {
    s["coverage_net"] = nullptr;
    s["coverage_gross"] = nullptr;
    return s;
  }
  for (auto& r : rows) {
    const double count = r.scope == "kind" ? static_cast<double>(r.instances) : 1.0;
    r.share = r.scope == "model" ? 1.0 : model->net_j != 0.0 ? count * r.calls * r.net_j / model->net_j : 0.0;
  }
  const double t = static_cast<double>(std::max<int64_t>(tokens, 1));
  s["tokens_per_forward"] = tokens;
  s["coverage_net"] = finite_or_null(leaves.net_j / model->net_j);
  s["coverage_gross"] = finite_or_null(leaves.gross_j / model->gross_j);
  s["energy_per_forward_gross_j"] = model->gross_j;
  s["energy_per_forward_gross_ci95_j"] = finite_or_null(model->gross_ci95_j);
  s["energy_per_forward_net_j"] = model->net_j;
  s["energy_per_forward_net_ci95_j"] = finite_or_null(model->net_ci95_j);
  s["energy_per_token_gross_j"] = model->gross_j / t;
  s["energy_per_token_net_j"] = model->net_j / t;
  s["latency_per_forward_s"] = model->latency_median_s;
  s["average_power_w"] = model->latency_median_s > 0 ? nlohmann::json(model->gross_j / model->latency_median_s) : nlohmann::json(nullptr);
  s["model_flops"] = model->flops;
  s["model_pj_per_flop_net"] = model->flops > 0 ? nlohmann::json(model->net_j / model->flops * 1e12) : nlohmann::json(nullptr);
  s["model_pj_per_flop_gross"] = model->flops > 0 ? nlohmann::json(model->gross_j / model->flops * 1e12) : nlohmann::json(nullptr);
  s["energy_source"] = model->energy_source;
  s["energy_label"] = model->energy_label;
  return s;
}

}  // namespace clear
