#pragma once
// What a profile produces, one record type per concept: the machine it ran on, the run (model,
// workload, meter, settings, times, status, model-level summary), one result per component (or per
// component kind, or the whole model), and the raw trials. JSON field names are stable and listed in
// docs/PROTOCOL.md; the SQLite store uses the same names for its columns.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clear/record/fields.hpp"

namespace clear {

// The machine and software that produced a run (`dissect machine`).
struct MachineInfo {
  std::string hostname;
  std::string cpu_model;
  int64_t cores = 0;            // physical cores
  int64_t threads = 0;          // logical CPUs
  std::string caches;           // e.g. "L1d 32 KiB, L2 1 MiB, L3 32 MiB"
  std::string governor;         // cpufreq scaling governor, "unavailable" when the file is absent
  std::string kernel;           // uname -sr
  std::string compiler;         // compiler that built CLEAR
  std::string onednn_version;
  std::string clear_version;
  std::string clear_commit;
  // Ceilings measured with the engine's own kernels.
  std::map<std::string, double> gemm_gflops;  // per dtype: "fp32", "bf16" (absent where unsupported)
  double memory_bandwidth_gbs = 0.0;
  int64_t ceiling_threads = 0;   // threads used when measuring the ceilings
  std::string measured_at;       // ISO 8601 UTC
  std::string notes;             // e.g. why bf16 is missing
};
nlohmann::json to_json(const MachineInfo&);
MachineInfo machine_from_json(const nlohmann::json&);

// One profile run.
struct RunRecord {
  int64_t id = 0;                 // assigned by the store
  std::string status;             // running | finished | failed: <why> | interrupted
  std::string started_at;         // ISO 8601 UTC
  std::string ended_at;           // empty while running
  std::string clear_version;
  std::string clear_commit;
  std::string model;              // config name
  std::string model_source;       // "zoo:<name>" or the config file
  std::string weights;            // "random weights (seed ...)" or "weights from <dir>"
  nlohmann::json workload = nlohmann::json::object();
  // Meter: name, measured, label ("measured"|"estimate"), method, traits (+ characterised).
  nlohmann::json meter = nlohmann::json::object();
  // Every option that changes the numbers; `--resume` requires these to match.
  nlohmann::json settings = nlohmann::json::object();
  MachineInfo machine;
  // Model-level figures (energy per forward/token, power, CO2e, coverage, resources); filled at the end.
  nlohmann::json summary = nlohmann::json::object();
};
nlohmann::json to_json(const RunRecord&);
RunRecord run_from_json(const nlohmann::json&);

// One measured or derived result. `scope` says what it describes:
//   instance: one component of one layer (e.g. layers.3.attention.q_proj)
//   kind:     every layer's instance of a component together (e.g. layers.*.attention.q_proj)
//   model:    the whole forward pass
// `basis` says how its energy was obtained:
//   measured:        its own trials (the group rotates through instances for scope kind)
//   kind_share:      its kind's measured energy per call × its latency / the kind's mean latency
//   instances_mean:  (per-layer mode, scope kind) mean of the measured instances
struct ComponentResult {
  std::string name;
  std::string kind;               // ComponentKind, or "model"
  std::string block;              // enclosing block kind (attention, mlp, ...)
  int64_t layer = -1;
  std::string scope;              // instance | kind | model
  std::string basis;              // measured | kind_share | instances_mean
  int64_t instances = 1;          // components this row covers
  int64_t calls = 1;              // calls per forward pass (per instance)
  double latency_median_s = 0.0;  // single call
  double latency_p90_s = 0.0;
  double gross_j = 0.0;           // energy per call while the component runs (incl. idle power)
  double gross_ci95_j = 0.0;      // 95% CI half-width
  double net_j = 0.0;             // gross minus idle power × time per call (dynamic energy)
  double net_ci95_j = 0.0;
  double cv = 0.0;                // CV of the net energy per call across trials
  int64_t trials = 0;
  int64_t repetitions = 0;        // calls per trial window
  double window_s = 0.0;          // mean trial window length
  std::string stopped_by;         // target_ci | budget | max_trials | (derived rows: the source's)
  double quantisation_bound = 0.0;  // bound on the relative quantisation error of one window
  double idle_before_w = 0.0;
  double idle_after_w = 0.0;
  bool drift_flagged = false;     // idle power moved more than the tolerance between the baselines
  double flops = 0.0;             // per call, from the analysis (0 when unknown)
  double bytes = 0.0;
  double pj_per_flop_net = 0.0;   // net energy per FLOP in pJ (0 when flops is 0)
  double pj_per_flop_gross = 0.0;
  double gflops = 0.0;            // achieved: flops / median latency
  double gbs = 0.0;               // achieved: bytes / median latency
  double gflops_fraction = 0.0;   // of the machine's GEMM ceiling
  double gbs_fraction = 0.0;      // of the machine's memory bandwidth
  std::string bound;              // compute | memory | overhead | unknown
  double share = 0.0;             // calls × net energy / whole-model net energy
  std::string energy_source;      // sensor name, or "estimate"
  std::string energy_label;       // measured | estimate
  std::string energy_method;      // sensor path or estimate model
  int64_t order = 0;              // graph node index (kind rows: their first instance's) for display order
};
const std::vector<FieldDef<ComponentResult>>& component_result_fields();
nlohmann::json to_json(const ComponentResult&);
ComponentResult component_result_from_json(const nlohmann::json&);

// One trial window of one measurement unit.
struct TrialRecord {
  std::string unit;               // the measured unit's name (instance, kind pattern, or "model")
  int64_t index = 0;              // trial number within the unit, from 0
  int64_t round = 0;              // interleaving round it ran in
  int64_t repetitions = 0;
  double start_s = 0.0;           // steady-clock time of the window start
  double window_s = 0.0;          // between the two energy reads
  double work_s = 0.0;            // from the first call to the synchronised end of the last
  double energy_j = 0.0;          // read difference over the window
  double idle_power_w = 0.0;      // idle power interpolated at the window's midpoint
  double gross_per_call_j = 0.0;
  double net_per_call_j = 0.0;
  bool aligned = false;           // the window started on a counter update
};
const std::vector<FieldDef<TrialRecord>>& trial_fields();
nlohmann::json to_json(const TrialRecord&);
TrialRecord trial_from_json(const nlohmann::json&);

// Current UTC time as ISO 8601 ("2026-12-04T19:50:25Z").
std::string utc_now_iso();

}  // namespace clear
