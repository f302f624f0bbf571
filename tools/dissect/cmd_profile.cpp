// dissect profile: the CLEAR protocol for every component of a model and for the whole model,
// stored in SQLite as each unit finishes, reported per component and for the model.
#include <fnmatch.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/analysis/analysis.hpp"
#include "clear/engine/cpu_engine.hpp"
#include "clear/meter/carbon.hpp"
#include "clear/meter/characterize.hpp"
#include "clear/meter/source.hpp"
#include "clear/model/zoo.hpp"
#include "clear/protocol/machine.hpp"
#include "clear/protocol/protocol.hpp"
#include "clear/report/profile_report.hpp"
#include "clear/store/store.hpp"
#include "clear/util/error.hpp"
#include "clear/util/files.hpp"
#include "clear/version.hpp"
#include "command.hpp"

namespace {

struct ProfileArgs {
  std::string model;
  std::string weights;
  clear::Workload workload;
  std::string phase = "prefill";
  std::string dtype = "fp32";
  int threads = 0;
  uint64_t seed = 0x5eed;
  std::string meter = "auto";
  std::optional<double> tdp;
  double target_ci = 0.02;
  double budget = 240.0;  // leaves headroom under the 5-minute promise for a default profile
  int min_trials = 5;
  std::string components;
  bool per_layer = false;
  std::string store;
  std::optional<int64_t> resume;
  std::optional<std::string> region;
  std::optional<double> carbon_intensity;
  double pue = 1.0;
  int64_t stop_after = 0;
  std::string format = "table";
};

// Progress on stderr: a bar with ETA on a terminal, plain lines otherwise.
class ProgressDisplay {
 public:
  ProgressDisplay() : tty_(isatty(fileno(stderr))) {}
  ~ProgressDisplay() { finish(); }
  void show(const clear::ProtocolProgress& p) {
    if (tty_) {
      const int width = 30;
      const double done = p.units_total ? double(p.units_done) / double(p.units_total) : 0.0;
      const int filled = static_cast<int>(done * width);
      std::fprintf(stderr, "\r[%s%s] %lld/%lld units  round %lld  %s  elapsed %.0fs  ETA %.0fs   \x1b[K",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   (long long)p.units_done, (long long)p.units_total, (long long)p.round, p.phase.c_str(),
                   p.elapsed_s, p.eta_s);
      drawn_ = true;
    } else if (p.phase != last_phase_ || p.units_done != last_done_) {
      std::fprintf(stderr, "profile: %s, %lld/%lld units finished, round %lld, elapsed %.0f s, ETA %.0f s\n",
                   p.phase.c_str(), (long long)p.units_done, (long long)p.units_total, (long long)p.round, p.elapsed_s,
                   p.eta_s);
    }
    last_phase_ = p.phase;
    last_done_ = p.units_done;
  }
  void line(const std::string& text) {
    finish();
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  bool tty_;
  bool drawn_ = false;
  std::string last_phase_;
  int64_t last_done_ = -1;
};

std::filesystem::path default_store() {
  if (const char* env = std::getenv("CLEAR_RESULTS_DB")) return env;
  return clear::cache_dir() / "results.db";
}

nlohmann::json settings_json(const ProfileArgs& a) {
  return {{"target_ci", a.target_ci}, {"min_trials", a.min_trials}, {"components", a.components},
          {"per_layer", a.per_layer}, {"seed", a.seed},             {"threads", a.threads},
          {"dtype", a.dtype},         {"weights", a.weights},       {"meter", a.meter}};
}

nlohmann::json meter_json(clear::EnergySource& meter, const clear::SensorTraits& traits) {
  return {{"name", meter.name()},
          {"label", clear::energy_label(meter)},
          {"measured", meter.measured()},
          {"method", meter.method()},
          {"selection_note", meter.selection_note()},
          {"traits_source", traits.characterised ? "characterised" : "nominal"},
          {"traits",
           {{"update_period_s", traits.update_period_s},
            {"resolution_j", traits.resolution_j},
            {"wrap_range_j", traits.wrap_range_j},
            {"read_overhead_s", traits.read_overhead_s},
            {"idle_power_w", traits.idle_power_w},
            {"idle_power_sd_w", traits.idle_power_sd_w},
            {"characterised", traits.characterised}}}};
}

nlohmann::json workload_json(const clear::Workload& w) {
  return {{"batch", w.batch}, {"seq", w.seq}, {"target_seq", w.target_seq}, {"phase", clear::to_string(w.phase)},
          {"kv_len", w.kv_len}, {"image_size", w.image_size}, {"dtype", clear::to_string(w.dtype)}};
}

// The stored settings must match for --resume; names every one that differs.
void check_resume(const clear::RunRecord& run, const std::string& model, const nlohmann::json& workload,
                  const nlohmann::json& settings) {
  std::vector<std::string> differ;
  if (run.model != model) differ.push_back(fmt::format("model (stored {}, now {})", run.model, model));
  if (run.workload != workload) differ.push_back(fmt::format("workload (stored {}, now {})", run.workload.dump(), workload.dump()));
  for (const auto& [key, value] : settings.items())
    if (!run.settings.contains(key) || run.settings.at(key) != value)
      differ.push_back(fmt::format("--{} (stored {}, now {})", key,
                                   run.settings.contains(key) ? run.settings.at(key).dump() : "none", value.dump()));
  if (!differ.empty()) {
    std::string list;
    for (const auto& d : differ) list += (list.empty() ? "" : "; ") + d;
    throw clear::Error(fmt::format("--resume {}: the run was made with other settings: {}", run.id, list));
  }
  if (run.status == "finished") throw clear::Error(fmt::format("--resume {}: the run has already finished", run.id));
}

void run_profile(const ProfileArgs& args) {
  const double command_start = clear::steady_now_s();
  ProgressDisplay display;
  clear::ModelConfig config = clear::resolve_model(args.model);
  clear::Workload workload = args.workload;
  workload.phase = clear::parse_phase(args.phase);
  workload.dtype = clear::parse_dtype(args.dtype);
  clear::validate_workload(config, workload);
  const nlohmann::json workload_record = workload_json(workload);
  const nlohmann::json settings = settings_json(args);

  const std::filesystem::path store_path = args.store.empty() ? default_store() : std::filesystem::path(args.store);
  clear::ResultStore store(store_path);
  clear::RunRecord run;
  std::set<std::string> finished_units;
  if (args.resume) {
    run = store.load_run(*args.resume);
    check_resume(run, config.name, workload_record, settings);
    // A unit is finished when its measured row is stored (kind rows, single instances, the model).
    for (const auto& row : store.load_results(run.id))
      if (row.basis == "measured") finished_units.insert(row.name);
    display.line(fmt::format("profile: resuming run {} ({} units already finished)", run.id, finished_units.size()));
  }

  clear::MeterOptions meter_options;
  meter_options.tdp_w = args.tdp;
  std::unique_ptr<clear::EnergySource> meter = clear::open_meter(args.meter, meter_options);
  if (args.meter == "auto" && !meter->measured()) {
    // No sensor: profile charges the model only this process's CPU time (scope=process), so other
    // work on a shared machine does not read as the model's energy. `dissect measure`, which
    // measures other processes, keeps the system scope.
    std::string note = meter->selection_note();
    meter = clear::open_meter("estimate:scope=process", meter_options);
    meter->set_selection_note(note.substr(0, note.find("; using estimate")) + "; using estimate with scope=process");
  }
  if (auto cached = clear::cached_traits(*meter)) meter->set_traits(*cached);
  if (!meter->selection_note().empty()) display.line("profile: " + meter->selection_note());
  if (!meter->measured())
    display.line("profile: energy figures are ESTIMATES (" + meter->method() + "), not measurements");

  display.line("profile: machine ceilings (measured once, then cached in " + clear::machine_cache_path().string() + ")");
  clear::MachineOptions machine_options;
  machine_options.threads = args.threads;
  const double calibration_start = clear::steady_now_s();
  const clear::MachineInfo machine = clear::machine_info(machine_options);
  // The one-time ceiling measurement (cached afterwards) is not the profile's own work, so it does
  // not count against --budget.
  const double calibration_s = clear::steady_now_s() - calibration_start;

  clear::EngineOptions engine_options;
  engine_options.threads = args.threads;
  engine_options.dtype = workload.dtype;
  engine_options.weights = args.weights;
  engine_options.seed = args.seed;
  // Components run alone with the leaf kernels; the whole model runs the same kernels so that
  // coverage compares like with like (docs/PROTOCOL.md).
  engine_options.fused_attention = false;
  std::unique_ptr<clear::CpuEngine> backend = clear::make_cpu_engine(config, workload, engine_options);
  display.line("profile: capturing activations from one forward pass");
  backend->capture();
  const clear::ComponentGraph& graph = backend->graph();
  const clear::Analysis analysis = clear::analyze(graph, workload);

  clear::ProtocolOptions options;
  options.target_ci = args.target_ci;
  options.min_trials = args.min_trials;
  options.per_layer = args.per_layer;
  options.seed = args.seed;
  options.finished_units = finished_units;
  options.stop_after_units = args.stop_after;
  options.costs.resize(graph.nodes.size());
  for (const auto& c : analysis.components) {
    if (c.node < 0 || c.calls <= 0) continue;
    options.costs[c.node] = {double(c.flops) / double(c.calls), double(c.bytes) / double(c.calls), c.calls};
  }
  const auto dtype_ceiling = machine.gemm_gflops.find(clear::to_string(workload.dtype));
  options.ceilings.gemm_gflops = dtype_ceiling != machine.gemm_gflops.end() ? dtype_ceiling->second : 0.0;
  options.ceilings.memory_bandwidth_gbs = machine.memory_bandwidth_gbs;
  for (int node : backend->runnable_components()) {
    const auto& c = graph.nodes[node];
    if (!c.is_leaf() || (node < int(analysis.components.size()) && analysis.components[node].calls == 0)) continue;
    if (args.components.empty() || fnmatch(args.components.c_str(), c.name.c_str(), 0) == 0)
      options.components.push_back(node);
  }
  if (options.components.empty())
    throw clear::Error("--components '" + args.components + "': matches no component that runs under this workload "
                       "(names as in `dissect analyze`, e.g. 'layers.*.attention.*')");

  if (!args.resume) {
    run.status = "running";
    run.started_at = clear::utc_now_iso();
    run.clear_version = clear::kVersion;
    run.clear_commit = clear::kGitCommit;
    run.model = config.name;
    run.model_source = config.source;
    run.weights = backend->weights_description();
    run.workload = workload_record;
    run.settings = settings;
    run.machine = machine;
    run.meter = meter_json(*meter, meter->traits());
    store.begin_run(run);
    display.line(fmt::format("profile: run {} in {}", run.id, store_path.string()));
  } else {
    run.status = "running";
    store.update_run(run);
  }

  options.budget_s = args.budget - (clear::steady_now_s() - command_start - calibration_s) - 2.0;
  if (options.budget_s <= 1.0)
    throw clear::Error(fmt::format("--budget {}: setup alone took {:.0f} s; give a larger budget", args.budget,
                                   clear::steady_now_s() - command_start - calibration_s));
  options.on_unit_finished = [&](const clear::UnitResult& unit) { store.commit_unit(run.id, unit.rows, unit.trials); };
  options.on_progress = [&](const clear::ProtocolProgress& p) { display.show(p); };

  clear::ProtocolResult result;
  try {
    result = clear::run_protocol(*backend, *meter, options);
  } catch (const std::exception& e) {
    display.finish();
    run.status = std::string("failed: ") + e.what();
    run.ended_at = clear::utc_now_iso();
    store.update_run(run);
    display.line(fmt::format("profile: run {} stopped; finished components are kept in {} (continue with --resume {})",
                             run.id, store_path.string(), run.id));
    throw;
  }
  display.finish();

  std::vector<clear::ComponentResult> rows = store.load_results(run.id);
  nlohmann::json summary = clear::summarize_rows(rows, analysis.tokens);
  store.commit_unit(run.id, rows, {});  // shares, and per-layer kind rows

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const int threads = args.threads > 0 ? args.threads : int(machine.threads);
  summary["cpu_utilisation"] = result.elapsed_s > 0 ? result.cpu_seconds / (result.elapsed_s * threads) : 0.0;
  summary["cpu_seconds"] = result.cpu_seconds;
  summary["threads"] = threads;
  summary["peak_rss_bytes"] = int64_t(usage.ru_maxrss) * 1024;
  summary["window_s"] = result.window_s;
  summary["window_rule"] = fmt::format("max({} update periods, {} s, resolution <= {}% of idle energy)",
                                       options.window_periods, options.min_window_s, 100 * options.resolution_bound);
  summary["quantisation_bound"] = result.quantisation_bound;
  summary["traits_source"] = result.traits_source;
  summary["idle_before_w"] = result.idle.front().power_w;
  summary["idle_before_ci95_w"] = result.idle.front().ci95_w;
  summary["idle_after_w"] = result.idle.back().power_w;
  summary["idle_drift"] = result.idle_drift;
  summary["drift_flagged"] = result.drift_flagged;
  summary["stopped_by"] = result.stopped_by;
  summary["rounds"] = result.rounds;
  summary["elapsed_s"] = result.elapsed_s;
  summary["notes"] = result.notes;
  const clear::CarbonSettings carbon = clear::carbon_settings(args.region, args.carbon_intensity, args.pue);
  summary["carbon_intensity_g_per_kwh"] = carbon.g_co2e_per_kwh;
  summary["carbon_intensity_source"] = carbon.intensity_source;
  if (summary.contains("energy_per_forward_gross_j")) {
    summary["co2e_per_forward_kg"] = clear::kg_co2e(summary["energy_per_forward_gross_j"].get<double>(), carbon);
    summary["co2e_per_forward_net_kg"] = clear::kg_co2e(summary["energy_per_forward_net_j"].get<double>(), carbon);
    summary["co2e_per_token_kg"] = clear::kg_co2e(summary["energy_per_token_gross_j"].get<double>(), carbon);
  }
  run.summary = summary;
  run.status = result.interrupted ? "interrupted" : "finished";
  run.ended_at = clear::utc_now_iso();
  store.update_run(run);
  if (result.interrupted)
    display.line(fmt::format("profile: stopped after {} units (--stop-after); continue with --resume {}",
                             result.units.size(), run.id));
  std::fputs(clear::render_profile(run, rows, clear::parse_format(args.format)).c_str(), stdout);
}

}  // namespace

static clear::cli::RegisterCommand reg("profile", 40, [](CLI::App& app) {
  auto args = std::make_shared<ProfileArgs>();
  auto* cmd = app.add_subcommand("profile", "Measure latency and energy of every component and of the whole model (CLEAR protocol)");
  cmd->add_option("model", args->model, "Zoo name, folder holding config.json, or a config.json path")->required();
  cmd->add_option("--weights", args->weights, "Hugging Face folder with safetensors weights (default: seeded random weights)");
  cmd->add_option("--batch", args->workload.batch, "Sequences (or images) per step")->default_val(1);
  cmd->add_option("--seq", args->workload.seq, "Tokens per sequence (encoder-decoder: source length)")->default_val(128);
  cmd->add_option("--target-seq", args->workload.target_seq, "Encoder-decoder target length (0: same as --seq)")->default_val(0);
  cmd->add_option("--phase", args->phase, "prefill or decode")->default_val("prefill");
  cmd->add_option("--kv-len", args->workload.kv_len, "Decode: tokens already in the KV cache")->default_val(0);
  cmd->add_option("--dtype", args->dtype, "fp32 or bf16")->default_val("fp32");
  cmd->add_option("--threads", args->threads, "Threads (0: every core)")->default_val(0);
  cmd->add_option("--seed", args->seed, "Seed of random weights, inputs and the interleaving order");
  cmd->add_option("--meter", args->meter, "Energy source: auto, rapl, perf-rapl, nvml, hwmon, external:..., emulated:..., estimate")
      ->default_val("auto");
  cmd->add_option("--tdp", args->tdp, "CPU power at full load in W, for the estimate")->check(CLI::PositiveNumber);
  cmd->add_option("--target-ci", args->target_ci, "Stop a component when its 95% CI half-width is within this fraction of the mean")
      ->default_val(0.02)
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--budget", args->budget, "Seconds for the whole profile, setup included (not the one-time machine calibration)")->default_val(240.0)->check(CLI::PositiveNumber);
  cmd->add_option("--min-trials", args->min_trials, "Trials before the CI target may stop a component")->default_val(5)->check(CLI::Range(2, 1000));
  cmd->add_option("--components", args->components, "Glob over component names, e.g. 'layers.*.attention.*' (default: every leaf)");
  cmd->add_flag("--per-layer", args->per_layer, "Measure every layer's instance on its own (slower; default rotates through layers per kind)");
  cmd->add_option("--store", args->store, "SQLite results file (default: $CLEAR_RESULTS_DB or <cache>/results.db)");
  cmd->add_option("--resume", args->resume, "Continue an interrupted run (same settings), skipping finished components");
  cmd->add_option("--region", args->region, "Grid region code for CO2e (e.g. DE, FR, US); default: world average");
  cmd->add_option("--carbon-intensity", args->carbon_intensity, "gCO2e per kWh (overrides --region)");
  cmd->add_option("--pue", args->pue, "Data-centre PUE applied to CO2e")->default_val(1.0)->check(CLI::Range(1.0, 10.0));
  cmd->add_option("--stop-after", args->stop_after, "Testing aid: stop as if interrupted after N units")->group("");
  clear::cli::add_format_option(cmd, args->format);
  cmd->callback([args] { run_profile(*args); });
});
