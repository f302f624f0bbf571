#include "clear/record/records.hpp"

#include <ctime>

namespace clear {

using CR = ComponentResult;
const std::vector<FieldDef<ComponentResult>>& component_result_fields() {
  static const std::vector<FieldDef<CR>> fields = {
      {"name", &CR::name, "component name (docs/NAMING.md), kind pattern, or model"},
      {"kind", &CR::kind, "component kind"},
      {"block", &CR::block, "enclosing block kind"},
      {"layer", &CR::layer, "layer index, -1 outside layers"},
      {"scope", &CR::scope, "instance | kind | model"},
      {"basis", &CR::basis, "measured | kind_share | instances_mean"},
      {"instances", &CR::instances, "components covered by this row"},
      {"calls", &CR::calls, "calls per forward pass"},
      {"latency_median_s", &CR::latency_median_s, "median single-call latency"},
      {"latency_p90_s", &CR::latency_p90_s, "90th percentile single-call latency"},
      {"gross_j", &CR::gross_j, "energy per call, gross"},
      {"gross_ci95_j", &CR::gross_ci95_j, "95% CI half-width of gross_j"},
      {"net_j", &CR::net_j, "energy per call, net of idle"},
      {"net_ci95_j", &CR::net_ci95_j, "95% CI half-width of net_j"},
      {"cv", &CR::cv, "coefficient of variation of net_j across trials"},
      {"trials", &CR::trials, "trials run"},
      {"repetitions", &CR::repetitions, "calls per trial window"},
      {"window_s", &CR::window_s, "mean trial window"},
      {"stopped_by", &CR::stopped_by, "target_ci | budget | max_trials"},
      {"quantisation_bound", &CR::quantisation_bound, "bound on one window's relative quantisation error"},
      {"idle_before_w", &CR::idle_before_w, "idle power before"},
      {"idle_after_w", &CR::idle_after_w, "idle power after"},
      {"drift_flagged", &CR::drift_flagged, "idle drift above tolerance"},
      {"flops", &CR::flops, "FLOPs per call"},
      {"bytes", &CR::bytes, "bytes moved per call"},
      {"pj_per_flop_net", &CR::pj_per_flop_net, "net pJ per FLOP"},
      {"pj_per_flop_gross", &CR::pj_per_flop_gross, "gross pJ per FLOP"},
      {"gflops", &CR::gflops, "achieved GFLOP/s"},
      {"gbs", &CR::gbs, "achieved GB/s"},
      {"gflops_fraction", &CR::gflops_fraction, "achieved / GEMM ceiling"},
      {"gbs_fraction", &CR::gbs_fraction, "achieved / memory bandwidth"},
      {"bound", &CR::bound, "compute | memory | overhead | unknown"},
      {"share", &CR::share, "calls x net_j / model net energy"},
      {"energy_source", &CR::energy_source, "sensor name or estimate"},
      {"energy_label", &CR::energy_label, "measured | estimate"},
      {"energy_method", &CR::energy_method, "sensor path or estimate model"},
      {"display_order", &CR::order, "graph node index, for display order"},
  };
  return fields;
}

using TR = TrialRecord;
const std::vector<FieldDef<TrialRecord>>& trial_fields() {
  static const std::vector<FieldDef<TR>> fields = {
      {"unit", &TR::unit, "measured unit"},
      {"trial", &TR::index, "trial number"},
      {"round", &TR::round, "interleaving round"},
      {"repetitions", &TR::repetitions, "calls in the window"},
      {"start_s", &TR::start_s, "window start, steady clock"},
      {"window_s", &TR::window_s, "window length"},
      {"work_s", &TR::work_s, "time the calls took"},
      {"energy_j", &TR::energy_j, "energy read over the window"},
      {"idle_power_w", &TR::idle_power_w, "idle power at the window midpoint"},
      {"gross_per_call_j", &TR::gross_per_call_j, "gross energy per call"},
      {"net_per_call_j", &TR::net_per_call_j, "net energy per call"},
      {"aligned", &TR::aligned, "window start aligned to a counter update"},
  };
  return fields;
}

nlohmann::json to_json(const ComponentResult& r) { return fields_to_json(r, component_result_fields()); }
ComponentResult component_result_from_json(const nlohmann::json& j) {
  return fields_from_json(j, component_result_fields());
}
nlohmann::json to_json(const TrialRecord& r) { return fields_to_json(r, trial_fields()); }
TrialRecord trial_from_json(const nlohmann::json& j) { return fields_from_json(j, trial_fields()); }

nlohmann::json to_json(const MachineInfo& m) {
  return {{"hostname", m.hostname},
          {"cpu_model", m.cpu_model},
          {"cores", m.cores},
          {"threads", m.threads},
          {"caches", m.caches},
          {"governor", m.governor},
          {"kernel", m.kernel},
          {"compiler", m.compiler},
          {"onednn_version", m.onednn_version},
          {"clear_version", m.clear_version},
          {"clear_commit", m.clear_commit},
          {"gemm_gflops", m.gemm_gflops},
          {"memory_bandwidth_gbs", m.memory_bandwidth_gbs},
          {"ceiling_threads", m.ceiling_threads},
          {"measured_at", m.measured_at},
          {"notes", m.notes}};
}

MachineInfo machine_from_json(const nlohmann::json& j) {
  MachineInfo m;
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key) && !j.at(key).is_null()) j.at(key).get_to(field);
  };
  get("hostname", m.hostname);
  get("cpu_model", m.cpu_model);
  get("cores", m.cores);
  get("threads", m.threads);
  get("caches", m.caches);
  get("governor", m.governor);
  get("kernel", m.kernel);
  get("compiler", m.compiler);
  get("onednn_version", m.onednn_version);
  get("clear_version", m.clear_version);
  get("clear_commit", m.clear_commit);
  get("gemm_gflops", m.gemm_gflops);
  get("memory_bandwidth_gbs", m.memory_bandwidth_gbs);
  get("ceiling_threads", m.ceiling_threads);
  get("measured_at", m.measured_at);
  get("notes", m.notes);
  return m;
}

nlohmann::json to_json(const RunRecord& r) {
  return {{"id", r.id},
          {"status", r.status},
          {"started_at", r.started_at},
          {"ended_at", r.ended_at},
          {"clear_version", r.clear_version},
          {"clear_commit", r.clear_commit},
          {"model", r.model},
          {"model_source", r.model_source},
          {"weights", r.weights},
          {"workload", r.workload},
          {"meter", r.meter},
          {"settings", r.settings},
          {"machine", to_json(r.machine)},
          {"summary", r.summary}};
}

RunRecord run_from_json(const nlohmann::json& j) {
  RunRecord r;
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key) && !j.at(key).is_null()) j.at(key).get_to(field);
  };
  get("id", r.id);
  get("status", r.status);
  get("started_at", r.started_at);
  get("ended_at", r.ended_at);
  get("clear_version", r.clear_version);
  get("clear_commit", r.clear_commit);
  get("model", r.model);
  get("model_source", r.model_source);
  get("weights", r.weights);
  get("workload", r.workload);
  get("meter", r.meter);
  get("settings", r.settings);
  get("summary", r.summary);
  if (j.contains("machine")) r.machine = machine_from_json(j.at("machine"));
  return r;
}

std::string utc_now_iso() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace clear
