#include "clear/report/profile_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace clear {

namespace {

Table::Cell energy_cell(double joules, double ci) {
  if (!std::isfinite(joules)) return cell_null();
  std::string text = format_si(joules, "J", 3);
  text += std::isfinite(ci) ? " ±" + format_si(ci, "J", 2) : " ±?";
  return {text, joules};
}

Table::Cell ci_cell(double ci) { return std::isfinite(ci) ? Table::Cell{format_si(ci, "J", 2), ci} : cell_null(); }

Table::Cell json_cell(const nlohmann::json& v, const std::string& unit, int precision = 3) {
  if (!v.is_number()) return cell_null();
  return unit.empty() ? cell(v.get<double>(), precision) : cell_si(v.get<double>(), unit, precision);
}

}  // namespace

std::vector<ComponentResult> order_rows(std::vector<ComponentResult> rows) {
  auto scope_rank = [](const ComponentResult& r) { return r.scope == "model" ? 0 : r.scope == "kind" ? 1 : 2; };
  std::stable_sort(rows.begin(), rows.end(), [&](const ComponentResult& a, const ComponentResult& b) {
    if ((a.scope == "model") != (b.scope == "model")) return a.scope == "model";
    if (a.layer != b.layer) return a.layer < b.layer;  // kind rows (-1) and non-layer rows first
    if (a.order != b.order) return a.order < b.order;
    return scope_rank(a) < scope_rank(b);
  });
  return rows;
}

Table component_table(const std::vector<ComponentResult>& rows) {
  Table t;
  t.add_column("component", Table::Align::left);
  t.add_column("kind", Table::Align::left);
  t.add_column("scope", Table::Align::left);
  t.add_column("basis", Table::Align::left);
  t.add_column("calls");
  t.add_column("latency_median_s");
  t.add_column("latency_p90_s");
  t.add_column("gross_per_call");
  t.add_column("gross_ci95");
  t.add_column("net_per_call");
  t.add_column("net_ci95");
  t.add_column("cv_pct");
  t.add_column("trials");
  t.add_column("reps");
  t.add_column("flops");
  t.add_column("bytes");
  t.add_column("pj_per_flop_net");
  t.add_column("gflops");
  t.add_column("gbs");
  t.add_column("bound", Table::Align::left);
  t.add_column("share_pct");
  t.add_column("stopped_by", Table::Align::left);
  t.add_column("energy_source", Table::Align::left);
  for (const auto& r : order_rows(rows)) {
    t.add_row({cell(r.name), cell(r.kind), cell(r.scope), cell(r.basis), cell(r.calls), cell_si(r.latency_median_s, "s", 2),
               cell_si(r.latency_p90_s, "s", 2), energy_cell(r.gross_j, r.gross_ci95_j), ci_cell(r.gross_ci95_j),
               energy_cell(r.net_j, r.net_ci95_j), ci_cell(r.net_ci95_j), cell(r.cv * 100, 2), cell(r.trials),
               cell(r.repetitions), cell_si(r.flops, "FLOP"), cell_si(r.bytes, "B"),
               r.flops > 0 ? cell(r.pj_per_flop_net, 2) : cell_null(), cell(r.gflops, 2), cell(r.gbs, 2), cell(r.bound),
               cell(r.share * 100, 2), cell(r.stopped_by), cell(r.energy_source + " (" + r.energy_label + ")")});
  }
  return t;
}

Table summary_table(const RunRecord& run) {
  const auto& s = run.summary;
  Table t;
  t.add_column("figure", Table::Align::left);
  t.add_column("value");
  t.add_column("note", Table::Align::left);
  auto get = [&](const char* key) { return s.contains(key) ? s.at(key) : nlohmann::json(nullptr); };
  const std::string label = s.value("energy_label", std::string("?"));
  const std::string source = s.value("energy_source", std::string("?")) + " (" + label + ")";
  auto row = [&](const std::string& name, Table::Cell value, const std::string& note) { t.add_row({cell(name), value, cell(note)}); };
  row("energy per forward, gross", json_cell(get("energy_per_forward_gross_j"), "J"), source);
  row("energy per forward, net", json_cell(get("energy_per_forward_net_j"), "J"), source + ", idle subtracted");
  row("energy per token, gross", json_cell(get("energy_per_token_gross_j"), "J"), source);
  row("energy per token, net", json_cell(get("energy_per_token_net_j"), "J"), source);
  row("average power", json_cell(get("average_power_w"), "W"), source + ", gross energy / latency");
  row("latency per forward", json_cell(get("latency_per_forward_s"), "s"), "median single call");
  row("CO2e per forward", json_cell(get("co2e_per_forward_kg"), "g", 3),
      s.value("carbon_intensity_source", std::string("")) + " (gross energy)");
  row("coverage (net)", json_cell(get("coverage_net"), ""), "sum over leaves of calls x energy / model energy");
  row("coverage (gross)", json_cell(get("coverage_gross"), ""), "");
  row("model pJ/FLOP (net)", json_cell(get("model_pj_per_flop_net"), ""), "");
  if (s.contains("pj_per_flop_by_block"))
    for (const auto& [block, v] : s.at("pj_per_flop_by_block").items())
      row("  " + block + " pJ/FLOP (net)", json_cell(v.value("pj_per_flop_net", nlohmann::json(nullptr)), ""),
          fmt::format("{} components", v.value("components", 0)));
  row("CPU utilisation", json_cell(get("cpu_utilisation"), ""), "CPU time / (wall time x threads), getrusage");
  row("peak RSS", json_cell(get("peak_rss_bytes"), "B"), "getrusage ru_maxrss");
  row("window per trial", json_cell(get("window_s"), "s"), s.value("window_rule", std::string("")));
  row("quantisation bound", json_cell(get("quantisation_bound"), ""), "worst case per window, relative");
  row("idle power before / after", json_cell(get("idle_before_w"), "W"),
      s.contains("idle_after_w") && s.at("idle_after_w").is_number()
          ? format_si(s.at("idle_after_w").get<double>(), "W") + (s.value("drift_flagged", false) ? " DRIFT FLAGGED" : "")
          : "");
  row("stopped by", cell(s.value("stopped_by", std::string("?"))), fmt::format("{} rounds", s.value("rounds", 0)));
  row("elapsed", json_cell(get("elapsed_s"), "s"), "protocol wall time");
  return t;
}

nlohmann::json profile_json(const RunRecord& run, const std::vector<ComponentResult>& rows,
                            const std::vector<TrialRecord>* trials) {
  nlohmann::json out;
  out["run"] = to_json(run);
  out["components"] = nlohmann::json::array();
  for (const auto& r : order_rows(rows)) out["components"].push_back(to_json(r));
  if (trials) {
    out["trials"] = nlohmann::json::array();
    for (const auto& t : *trials) out["trials"].push_back(to_json(t));
  }
  return out;
}

std::string render_profile(const RunRecord& run, const std::vector<ComponentResult>& rows, Format format) {
  if (format == Format::json) return profile_json(run, rows).dump(2) + "\n";
  if (format == Format::csv) return component_table(rows).render(format);
  std::string out;
  const std::string label = run.meter.value("label", std::string("?"));
  out += fmt::format("run {} · {} · status {}\n", run.id, run.model, run.status);
  out += fmt::format("workload: {} · weights: {}\n", run.workload.dump(), run.weights);
  out += fmt::format("energy: {} ({}) — {}\n", run.meter.value("name", std::string("?")), label,
                     run.meter.value("method", std::string("")));
  if (label == "estimate")
    out += "NOTE: every energy figure below is an ESTIMATE from a model, not a measurement.\n";
  if (!run.meter.value("selection_note", std::string("")).empty())
    out += run.meter.value("selection_note", std::string("")) + "\n";
  out += fmt::format("sensor traits ({}): {}\n", run.meter.value("traits_source", std::string("?")),
                     run.meter.value("traits", nlohmann::json::object()).dump());
  out += fmt::format("machine: {} · {} cores / {} threads · GEMM fp32 {:.1f} GFLOP/s · {:.1f} GB/s · {} {}\n",
                     run.machine.cpu_model, run.machine.cores, run.machine.threads,
                     run.machine.gemm_gflops.count("fp32") ? run.machine.gemm_gflops.at("fp32") : 0.0,
                     run.machine.memory_bandwidth_gbs, run.clear_version, run.clear_commit);
  if (run.summary.contains("notes"))
    for (const auto& note : run.summary.at("notes")) out += "note: " + note.get<std::string>() + "\n";
  out += "\n" + component_table(rows).render(format) + "\n" + summary_table(run).render(format);
  return out;
}

}  // namespace clear
