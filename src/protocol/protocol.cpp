// The measurement loop of the CLEAR protocol; docs/PROTOCOL.md explains each step and its error.
#include "clear/protocol/protocol.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <regex>

#include <fmt/format.h>

#include "clear/util/error.hpp"
#include "idle.hpp"

namespace clear {

std::string unit_name(const std::string& component, bool per_layer) {
  if (per_layer) return component;
  static const std::regex layer_index(R"((^|\.)layers\.[0-9]+(\.|$))");
  return std::regex_replace(component, layer_index, "$1layers.*$2");
}

namespace {

// A measurement unit: the whole model, one component, or every layer's instance of one component
// visited in rotation.
struct Unit {
  std::string name;
  bool model = false;
  std::vector<int> instances;            // graph nodes (empty for the model)
  std::vector<double> latency_median_s;  // per instance (one entry for the model)
  std::vector<double> latency_p90_s;
  double latency_mean_s = 0.0;           // mean of the instances' median single-call latencies
  double call_s = 0.0;                   // per-call time that sizes the next trial (median observed)
  std::vector<double> observed_call_s;   // per trial: work time / calls
  int64_t repetitions = 0;
  std::vector<TrialRecord> trials;
  bool finished = false;
};

// Detaches the meter's observer however the protocol ends (a MeterError included).
class ObserverAttachment {
 public:
  ObserverAttachment(Backend& backend, ComponentObserver* observer) : backend_(backend) { backend_.set_observer(observer); }
  ~ObserverAttachment() { backend_.set_observer(nullptr); }

 private:
  Backend& backend_;
};

double cpu_seconds_now() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

class Session {
 public:
  Session(Backend& backend, EnergySource& meter, const ProtocolOptions& options)
      : backend_(backend), meter_(meter), options_(options), clock_(options.clock ? *options.clock : steady_clock()),
        graph_(backend.graph()) {}

  ProtocolResult run();

 private:
  void build_units();
  void measure_latency(Unit& unit);
  double time_one_call(const Unit& unit, size_t instance);
  void run_trial(Unit& unit, int64_t round);
  int64_t repetitions_for(const Unit& unit) const;
  UnitResult finish(Unit& unit, const std::string& stopped_by);
  ComponentResult base_row(const Unit& unit) const;
  NodeCost cost(int node) const {
    return node >= 0 && static_cast<size_t>(node) < options_.costs.size() ? options_.costs[node] : NodeCost{};
  }
  void progress(const std::string& phase, const std::string& message);

  Backend& backend_;
  EnergySource& meter_;
  const ProtocolOptions& options_;
  Clock& clock_;
  const ComponentGraph& graph_;
  std::vector<Unit> units_;
  ProtocolResult result_;
  double start_s_ = 0.0;
  double deadline_s_ = 0.0;
  double align_timeout_s_ = 0.0;
  double idle_segment_s_ = 0.0;
  int64_t units_done_ = 0;
  int64_t round_ = 0;
};

void Session::progress(const std::string& phase, const std::string& message) {
  if (!options_.on_progress) return;
  ProtocolProgress p;
  p.phase = phase;
  p.units_done = units_done_;
  p.units_total = static_cast<int64_t>(units_.size());
  p.round = round_;
  const double now = clock_.now();
  p.elapsed_s = now - start_s_;
  // Remaining: the trials still owed up to min_trials, plus one idle window per remaining round.
  double owed = 0.0;
  int64_t rounds_left = 0;
  for (const auto& u : units_) {
    if (u.finished) continue;
    const int64_t left = std::max<int64_t>(1, options_.min_trials - static_cast<int64_t>(u.trials.size()));
    owed += static_cast<double>(left) * (static_cast<double>(u.repetitions) * u.call_s + 2 * align_timeout_s_);
    rounds_left = std::max(rounds_left, left);
  }
  owed += static_cast<double>(rounds_left) * idle_segment_s_;
  p.eta_s = std::max(0.0, std::min(owed, deadline_s_ - now));
  p.message = message;
  options_.on_progress(p);
}

void Session::build_units() {
  std::vector<int> leaves = options_.components;
  if (leaves.empty()) {
    for (int node : backend_.runnable_components())
      if (graph_.nodes.at(node).is_leaf()) leaves.push_back(node);
  }
  std::map<std::string, size_t> index;
  for (int node : leaves) {
    if (node < 0 || static_cast<size_t>(node) >= graph_.nodes.size())
      throw Error(fmt::format("protocol: component index {} is outside the graph", node));
    const std::string name = unit_name(graph_.nodes[node].name, options_.per_layer);
    if (options_.finished_units.count(name)) continue;
    auto [it, inserted] = index.emplace(name, units_.size());
    if (inserted) {
      units_.emplace_back();
      units_.back().name = name;
    }
    units_[it->second].instances.push_back(node);
  }
  if (options_.measure_model && !options_.finished_units.count("model")) {
    units_.emplace_back();
    units_.back().name = "model";
    units_.back().model = true;
  }
}

double Session::time_one_call(const Unit& unit, size_t instance) {
  const double t0 = clock_.now();
  if (unit.model) backend_.run_model(1);
  else backend_.run_component(unit.instances[instance], 1);
  backend_.synchronize();
  return clock_.now() - t0;
}

void Session::measure_latency(Unit& unit) {
  const size_t count = unit.model ? 1 : unit.instances.size();
  unit.latency_median_s.assign(count, 0.0);
  unit.latency_p90_s.assign(count, 0.0);
  for (size_t i = 0; i < count; ++i) {
    // Warm-up: caches, page faults and frequency settle; stop when successive batch medians agree.
    // Batches shrink for slow calls and warm-up stops after max_warmup_s (at least two batches), so
    // a whole-model forward of seconds does not eat the budget.
    const double first = time_one_call(unit, i);
    const int batch_size = std::clamp(static_cast<int>(0.05 / std::max(first, 1e-9)), 1, options_.warmup_batch);
    const double warmup_start = clock_.now();
    double previous = -1.0, current = first;
    for (int batch = 0; batch < options_.max_warmup_batches; ++batch) {
      std::vector<double> times;
      for (int c = 0; c < batch_size; ++c) times.push_back(time_one_call(unit, i));
      current = median(times);
      if (previous > 0.0 && std::fabs(current - previous) <= options_.warmup_tolerance * previous) break;
      if (batch >= 1 && clock_.now() - warmup_start > options_.max_warmup_s) break;
      previous = current;
    }
    const int calls = std::clamp(static_cast<int>(options_.latency_seconds / std::max(current, 1e-9)), 3,
                                 std::max(3, options_.latency_calls));
    std::vector<double> times;
    for (int c = 0; c < calls; ++c) times.push_back(time_one_call(unit, i));
    unit.latency_median_s[i] = median(times);
    unit.latency_p90_s[i] = percentile(times, 90.0);
  }
  double sum = 0.0;
  for (double t : unit.latency_median_s) sum += t;
  unit.latency_mean_s = std::max(sum / static_cast<double>(count), 1e-9);
  unit.call_s = unit.latency_mean_s;
}

// Calls that fill one window at the unit's per-call time, a multiple of its instances.
int64_t Session::repetitions_for(const Unit& unit) const {
  const int64_t count = unit.model ? 1 : static_cast<int64_t>(unit.instances.size());
  const int64_t reps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(result_.window_s / unit.call_s)));
  return (reps + count - 1) / count * count;  // every instance equally often
}

void Session::run_trial(Unit& unit, int64_t round) {
  TrialRecord trial;
  trial.unit = unit.name;
  trial.index = static_cast<int64_t>(unit.trials.size());
  trial.round = round;
  trial.repetitions = unit.repetitions;
  trial.aligned = true;
  const EnergySample start = meter_.read_aligned(align_timeout_s_);
  const double work_start = clock_.now();
  // The work runs in chunks so a trial that runs slower than its latency promised (a loaded
  // machine, throttling) ends near its window instead of overrunning the budget: it stops after
  // the chunk that passes 2 windows or the deadline, and counts the calls actually made.
  const int64_t per_round = unit.model ? 1 : static_cast<int64_t>(unit.instances.size());
  const int64_t rounds_wanted = std::max<int64_t>(1, unit.repetitions / per_round);
  const int64_t chunk = std::max<int64_t>(1, rounds_wanted / 8);
  int64_t rounds_done = 0;
  while (rounds_done < rounds_wanted) {
    const int64_t n = std::min(chunk, rounds_wanted - rounds_done);
    if (unit.model) {
      backend_.run_model(n);
    } else if (unit.instances.size() == 1) {
      backend_.run_component(unit.instances[0], n);
    } else {
      // Rotate through every layer's instance, one call each, so no layer's weights stay hot.
      for (int64_t c = 0; c < n; ++c)
        for (int node : unit.instances) backend_.run_component(node, 1);
    }
    rounds_done += n;
    const double now = clock_.now();
    if (rounds_done < rounds_wanted && (now - work_start > 2.0 * result_.window_s || now > deadline_s_)) break;
  }
  trial.repetitions = rounds_done * per_round;
  backend_.synchronize();  // the closing read must come after the work, not after its submission
  const double work_end = clock_.now();
  const EnergySample end = meter_.read_aligned(align_timeout_s_);
  trial.start_s = start.time_s;
  trial.window_s = end.time_s - start.time_s;
  trial.work_s = work_end - work_start;
  trial.energy_j = end.total() - start.total();
  if (!(trial.window_s > 0.0))
    throw MeterError(fmt::format("{}: the reads around a {:.3f} s trial of {} carry the same time stamp", meter_.name(),
                                 trial.work_s, unit.name));
  unit.trials.push_back(trial);
  // Size the next trial from the rates observed (calls under load may be slower than alone): the
  // median of the lone-call latency and every trial's per-call time, so one stalled trial (a
  // descheduled worker thread can make a 7 us call take 8 ms) does not shrink the next window
  // a thousandfold.
  const double observed = trial.work_s / static_cast<double>(trial.repetitions);
  if (observed > 0.0) {
    unit.observed_call_s.push_back(observed);
    std::vector<double> rates = unit.observed_call_s;
    rates.push_back(unit.latency_mean_s);
    unit.call_s = median(rates);
    unit.repetitions = repetitions_for(unit);
  }
}

ComponentResult Session::base_row(const Unit& unit) const {
  ComponentResult row;
  row.energy_source = meter_.name();
  row.energy_label = energy_label(meter_);
  row.energy_method = meter_.method();
  row.quantisation_bound = result_.quantisation_bound;
  double reps = 0.0;
  for (const auto& t : unit.trials) reps += static_cast<double>(t.repetitions);
  row.repetitions = unit.trials.empty() ? unit.repetitions : std::llround(reps / static_cast<double>(unit.trials.size()));
  row.trials = static_cast<int64_t>(unit.trials.size());
  return row;
}

UnitResult Session::finish(Unit& unit, const std::string& stopped_by) {
  unit.finished = true;
  const auto& idle = result_.idle;
  std::vector<double> net, gross;
  double window_sum = 0.0, idle_window_sum = 0.0, idle_outside_sum = 0.0;
  for (auto& t : unit.trials) {
    t.idle_power_w = detail::idle_power_at(idle, t.start_s + 0.5 * t.window_s);
    const double r = static_cast<double>(t.repetitions);
    t.net_per_call_j = (t.energy_j - t.idle_power_w * t.window_s) / r;
    t.gross_per_call_j = t.net_per_call_j + t.idle_power_w * std::min(t.work_s, t.window_s) / r;
    net.push_back(t.net_per_call_j);
    gross.push_back(t.gross_per_call_j);
    window_sum += t.window_s;
    idle_window_sum += t.window_s / r;
    idle_outside_sum += std::max(0.0, t.window_s - t.work_s) / r;
  }
  const double n = static_cast<double>(unit.trials.size());
  const Summary net_s = summarize(net), gross_s = summarize(gross);
  // The idle power's own uncertainty shifts every trial alike, so it adds to the interval in quadrature.
  const double idle_ci = idle.empty() ? 0.0 : idle.front().ci95_w;
  const double net_ci = std::hypot(net_s.ci95_half, idle_ci * idle_window_sum / n);
  const double gross_ci = std::hypot(gross_s.ci95_half, idle_ci * idle_outside_sum / n);
  const double idle_before = idle.empty() ? 0.0 : idle.front().power_w;
  const double idle_after = idle.empty() ? 0.0 : idle.back().power_w;
  const bool drift = idle_before > 0.0 && std::fabs(idle_after - idle_before) > options_.drift_tolerance * idle_before;

  auto fill_energy = [&](ComponentResult& row, double scale) {
    row.gross_j = gross_s.mean * scale;
    row.gross_ci95_j = gross_ci * scale;
    row.net_j = net_s.mean * scale;
    row.net_ci95_j = net_ci * scale;
    row.cv = net_s.cv;
    row.window_s = window_sum / n;
    row.stopped_by = stopped_by;
    row.idle_before_w = idle_before;
    row.idle_after_w = idle_after;
    row.drift_flagged = drift;
  };

  UnitResult out;
  out.unit = unit.name;
  if (unit.model) {
    ComponentResult row = base_row(unit);
    row.name = "model";
    row.kind = "model";
    row.block = "model";
    row.scope = "model";
    row.basis = "measured";
    row.latency_median_s = unit.latency_median_s[0];
    row.latency_p90_s = unit.latency_p90_s[0];
    row.flops = cost(0).flops;
    row.bytes = cost(0).bytes;
    fill_energy(row, 1.0);
    fill_roofline(row, options_.ceilings);
    out.rows.push_back(row);
  } else {
    const bool group = unit.instances.size() > 1;
    double flops_sum = 0.0, bytes_sum = 0.0, p90_sum = 0.0;
    for (size_t i = 0; i < unit.instances.size(); ++i) {
      const int node = unit.instances[i];
      const Component& c = graph_.nodes[node];
      ComponentResult row = base_row(unit);
      row.name = c.name;
      row.kind = to_string(c.kind);
      row.block = to_string(graph_.block_kind(node));
      row.layer = c.layer;
      row.scope = "instance";
      row.order = node;
      row.basis = group ? "kind_share" : "measured";
      row.calls = cost(node).calls;
      row.latency_median_s = unit.latency_median_s[i];
      row.latency_p90_s = unit.latency_p90_s[i];
      row.flops = cost(node).flops;
      row.bytes = cost(node).bytes;
      // In a rotation each instance's share of the measured energy per call follows its own latency.
      fill_energy(row, group ? unit.latency_median_s[i] / unit.latency_mean_s : 1.0);
      fill_roofline(row, options_.ceilings);
      flops_sum += row.flops;
      bytes_sum += row.bytes;
      p90_sum += row.latency_p90_s;
      out.rows.push_back(row);
    }
    if (group) {
      const Component& first = graph_.nodes[unit.instances[0]];
      ComponentResult row = base_row(unit);
      const double count = static_cast<double>(unit.instances.size());
      row.name = unit.name;
      row.kind = to_string(first.kind);
      row.block = to_string(graph_.block_kind(unit.instances[0]));
      row.scope = "kind";
      row.order = unit.instances[0];
      row.basis = "measured";
      row.instances = static_cast<int64_t>(unit.instances.size());
      row.calls = cost(unit.instances[0]).calls;
      row.latency_median_s = unit.latency_mean_s;
      row.latency_p90_s = p90_sum / count;
      row.flops = flops_sum / count;
      row.bytes = bytes_sum / count;
      fill_energy(row, 1.0);
      fill_roofline(row, options_.ceilings);
      out.rows.insert(out.rows.begin(), row);
    }
  }
  out.trials = unit.trials;
  ++units_done_;
  if (options_.on_unit_finished) options_.on_unit_finished(out);
  return out;
}

ProtocolResult Session::run() {
  start_s_ = clock_.now();
  deadline_s_ = start_s_ + options_.budget_s;
  const double cpu_start = cpu_seconds_now();
  ObserverAttachment attach(backend_, meter_.observer());

  result_.traits = meter_.traits();
  result_.traits_source = result_.traits.characterised ? "characterised" : "nominal";
  const SensorTraits& traits = result_.traits;
  align_timeout_s_ = 2.0 * traits.update_period_s + 0.05;
  build_units();

  // Opening idle baseline. Its segments are as long as the shortest window the sensor allows.
  idle_segment_s_ = std::max(options_.window_periods * traits.update_period_s, options_.min_window_s);
  progress("idle baseline", "measuring idle power");
  result_.idle.push_back(detail::measure_idle(meter_, clock_, idle_segment_s_, std::max(2, options_.idle_segments),
                                              align_timeout_s_));
  const double idle_w = result_.idle.front().power_w;

  // Window: >= window_periods updates, and one resolution step <= resolution_bound of its idle energy.
  double window = idle_segment_s_;
  if (idle_w > 0.0 && traits.resolution_j > 0.0)
    window = std::max(window, traits.resolution_j / (options_.resolution_bound * idle_w));
  result_.window_s = window;
  // Worst case for one window when the source cannot align: a resolution step and an update period
  // of lag at each end. Random across trials, so the mean's share shrinks with more trials.
  result_.quantisation_bound = 2.0 * traits.update_period_s / window +
                               (idle_w > 0.0 ? 2.0 * traits.resolution_j / (idle_w * window) : 0.0);
  if (idle_w <= 0.0 && traits.resolution_j > 0.0)
    result_.notes.push_back("idle power read as 0 W: the resolution term of the quantisation bound is unknown");

  for (auto& unit : units_) {
    progress("warm-up", unit.name);
    measure_latency(unit);
    unit.repetitions = repetitions_for(unit);
  }

  std::mt19937_64 rng(options_.seed);
  bool budget_hit = false;
  std::vector<std::string> stops;
  while (true) {
    std::vector<Unit*> active;
    for (auto& u : units_)
      if (!u.finished) active.push_back(&u);
    if (active.empty()) break;
    std::shuffle(active.begin(), active.end(), rng);
    ++round_;
    for (Unit* u : active) {
      const double trial_s = static_cast<double>(u->repetitions) * u->call_s + 2 * align_timeout_s_;
      if (clock_.now() + trial_s + idle_segment_s_ > deadline_s_) {
        budget_hit = true;
        break;
      }
      run_trial(*u, round_);
      progress("trials", u->name);
    }
    // Idle after the round: every trial is bracketed by idle measurements, and drift is tracked.
    result_.idle.push_back(detail::measure_idle(meter_, clock_, idle_segment_s_, 1, align_timeout_s_));
    for (Unit* u : active) {
      const int trials = static_cast<int>(u->trials.size());
      std::string stop;
      if (budget_hit) stop = "budget";
      else if (trials >= options_.max_trials) stop = "max_trials";
      else if (trials >= options_.min_trials) {
        std::vector<double> net;
        for (const auto& t : u->trials) {
          const double p = detail::idle_power_at(result_.idle, t.start_s + 0.5 * t.window_s);
          net.push_back((t.energy_j - p * t.window_s) / static_cast<double>(t.repetitions));
        }
        const Summary s = summarize(net);
        if (s.mean > 0.0 && s.ci95_half <= options_.target_ci * s.mean) stop = "target_ci";
      }
      if (stop.empty()) continue;
      if (u->trials.empty()) {
        u->finished = true;
        result_.notes.push_back(u->name + ": no trial fitted in the budget; not measured");
        continue;
      }
      stops.push_back(stop);
      result_.units.push_back(finish(*u, stop));
      if (options_.stop_after_units > 0 && static_cast<int64_t>(result_.units.size()) >= options_.stop_after_units) {
        result_.interrupted = true;
        break;
      }
    }
    if (result_.interrupted || budget_hit) break;
  }
  progress("done", "");

  result_.rounds = round_;
  result_.elapsed_s = clock_.now() - start_s_;
  result_.cpu_seconds = cpu_seconds_now() - cpu_start;
  const double first = result_.idle.front().power_w, last = result_.idle.back().power_w;
  result_.idle_drift = first > 0.0 ? (last - first) / first : 0.0;
  result_.drift_flagged = std::fabs(result_.idle_drift) > options_.drift_tolerance;
  if (result_.drift_flagged)
    result_.notes.push_back(fmt::format("idle power drifted from {:.3f} W to {:.3f} W ({:+.1f}%, tolerance {:.1f}%)",
                                        first, last, 100 * result_.idle_drift, 100 * options_.drift_tolerance));
  auto has = [&](const char* s) { return std::find(stops.begin(), stops.end(), s) != stops.end(); };
  result_.stopped_by = result_.interrupted ? "interrupted"
                       : has("budget")     ? "budget"
                       : has("max_trials") ? "max_trials"
                                           : "target_ci";
  if (has("budget") && options_.min_trials > 0) {
    for (const auto& u : result_.units)
      for (const auto& row : u.rows)
        if (row.trials < options_.min_trials && row.scope != "instance") {
          result_.notes.push_back(fmt::format("{}: the budget allowed only {} trial(s); its interval is wide or absent",
                                              row.name, row.trials));
          break;
        }
  }
  return result_;
}

}  // namespace

ProtocolResult run_protocol(Backend& backend, EnergySource& meter, const ProtocolOptions& options) {
  if (!(options.target_ci > 0.0)) throw Error("--target-ci: expected a positive fraction such as 0.02");
  if (!(options.budget_s > 0.0)) throw Error("--budget: expected a positive number of seconds");
  if (options.min_trials < 2) throw Error("protocol: min_trials must be at least 2 (an interval needs two trials)");
  Session session(backend, meter, options);
  return session.run();
}

}  // namespace clear
