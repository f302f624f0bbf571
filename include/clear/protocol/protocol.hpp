#pragma once
// The CLEAR protocol (docs/PROTOCOL.md): measure each component alone, on the inputs it really sees,
// many times between two energy reads, and divide — with the window sized from the sensor, trials
// until a confidence target or a budget, idle power subtracted, components interleaved in random
// order, every layer's instance visited, and every sensor error propagated.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"
#include "clear/meter/source.hpp"
#include "clear/protocol/clock.hpp"
#include "clear/protocol/statistics.hpp"
#include "clear/record/records.hpp"

namespace clear {

// Analysis figures of one node for one call (not per forward).
struct NodeCost {
  double flops = 0.0;
  double bytes = 0.0;
  int64_t calls = 1;  // calls per forward pass
};

// The machine's measured ceilings (MachineInfo), for the roofline label.
struct Ceilings {
  double gemm_gflops = 0.0;           // of the profiled dtype
  double memory_bandwidth_gbs = 0.0;
};

struct ProtocolProgress {
  std::string phase;        // "idle baseline", "warm-up", "trials", "done"
  int64_t units_done = 0;
  int64_t units_total = 0;
  int64_t round = 0;
  double elapsed_s = 0.0;
  double eta_s = 0.0;       // estimate; never beyond the budget
  std::string message;
};

// One finished measurement unit: its result rows (kind row + instance rows, or one instance, or
// the model) and its raw trials. Delivered as soon as the unit finishes, so it can be committed.
struct UnitResult {
  std::string unit;
  std::vector<ComponentResult> rows;
  std::vector<TrialRecord> trials;
};

struct ProtocolOptions {
  double target_ci = 0.02;        // stop a unit when the 95% CI half-width of net energy/call <= this × mean
  double budget_s = 300.0;        // wall-clock limit of the whole protocol (idle baselines included)
  int min_trials = 5;
  int max_trials = 200;
  bool per_layer = false;         // measure every layer's instance on its own (see docs/PROTOCOL.md)
  bool measure_model = true;      // also the whole forward pass (needed for shares and coverage)
  uint64_t seed = 0x5eed;         // order of the interleaving
  // Window sizing: at least window_periods update periods, at least min_window_s, and long enough
  // that one resolution step is below resolution_bound of the window's idle energy.
  double window_periods = 50.0;
  double resolution_bound = 0.005;
  double min_window_s = 0.05;
  int idle_segments = 5;          // segments of the opening idle baseline (its spread gives the idle CI)
  double drift_tolerance = 0.05;  // relative idle change between baselines that flags a result
  // Warm-up: batches of warmup_batch calls until successive batch medians agree within
  // warmup_tolerance (at most max_warmup_batches); then latency_calls single calls, timed.
  int warmup_batch = 5;
  double warmup_tolerance = 0.02;
  int max_warmup_batches = 10;
  double max_warmup_s = 1.0;      // per instance, after at least two batches
  int latency_calls = 31;
  double latency_seconds = 0.05;  // per instance; fewer calls when one call is slow (at least 3)
  // Leaves to measure (graph node indices); empty = every runnable leaf.
  std::vector<int> components;
  // Per node (graph order); empty = unknown (FLOP-based figures become 0, bound "unknown").
  std::vector<NodeCost> costs;
  Ceilings ceilings;
  // Units already finished in an earlier session (resume): skipped.
  std::set<std::string> finished_units;
  // Testing aid for interrupted runs: stop (as if killed) after this many units finished; 0 = never.
  int64_t stop_after_units = 0;
  Clock* clock = nullptr;         // null: the steady clock
  std::function<void(const UnitResult&)> on_unit_finished;
  std::function<void(const ProtocolProgress&)> on_progress;
};

// Idle power from one or more windows with nothing running.
struct IdleMeasurement {
  double time_s = 0.0;        // midpoint
  double power_w = 0.0;
  double sd_w = 0.0;          // across segments (0 for one segment)
  double ci95_w = 0.0;        // t-interval half-width of the mean (0 for one segment)
  int segments = 0;
  double duration_s = 0.0;
};

struct ProtocolResult {
  std::vector<UnitResult> units;      // every unit finished in this session, in finishing order
  std::vector<IdleMeasurement> idle;  // opening baseline, then one per round
  double window_s = 0.0;              // target window per trial
  double quantisation_bound = 0.0;    // worst-case relative quantisation error of one window
  std::string traits_source;          // "characterised" or "nominal"
  SensorTraits traits;
  double idle_drift = 0.0;            // (last - first) / first idle power
  bool drift_flagged = false;
  std::string stopped_by;             // target_ci | budget | max_trials | interrupted (worst over units)
  bool interrupted = false;           // stop_after_units reached
  int64_t rounds = 0;
  double elapsed_s = 0.0;
  double cpu_seconds = 0.0;           // user + system CPU time of this process during the protocol
  std::vector<std::string> notes;     // anything the reader must know (budget too short, ...)
};

// Runs the protocol. The backend must have captured its inputs (Backend::capture). The meter's
// observer (the emulated sensor) is attached to the backend for the duration. A MeterError
// propagates; units finished before it were already delivered through on_unit_finished.
ProtocolResult run_protocol(Backend& backend, EnergySource& meter, const ProtocolOptions& options);

// The measurement unit a leaf belongs to: its name with every "layers.<i>" turned into "layers.*"
// (the per-kind rotation group), or the name itself with per_layer.
std::string unit_name(const std::string& component, bool per_layer);

// Roofline label (docs/PROTOCOL.md): "overhead" when both achieved rates are below
// kOverheadFraction of their ceilings, else "compute" when flops/bytes >= the ridge point
// (gemm_gflops / memory_bandwidth_gbs), else "memory"; "unknown" without costs or ceilings.
inline constexpr double kOverheadFraction = 0.10;
std::string roofline_bound(double flops, double bytes, double seconds, const Ceilings& ceilings);
// Fills flops-derived figures (pJ/FLOP, GFLOP/s, GB/s, fractions, bound) of a row from its flops,
// bytes, latency and energy.
void fill_roofline(ComponentResult& row, const Ceilings& ceilings);

// Model-level figures from every row of a run (new and resumed): sets each row's share and
// returns the summary object (coverage, energy per forward/token, power, pJ/FLOP by kind, ...).
// `tokens` = tokens per forward pass. Coverage = Σ over instance rows (leaves only) of
// calls × energy per call / whole-model energy per forward, net and gross.
nlohmann::json summarize_rows(std::vector<ComponentResult>& rows, int64_t tokens);

}  // namespace clear
