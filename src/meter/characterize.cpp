#include "clear/meter/characterize.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clear/util/error.hpp"
#include "clear/util/files.hpp"
#include "cpu_tdp.hpp"

namespace clear {

namespace {

struct Change {
  double time_s;
  double joules;
};

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Polls until `until`, appending a Change at every counter change (the first sample after it).
void watch(EnergySource& source, double until, double poll_s, std::vector<Change>& changes, double& last_j,
           const std::function<void(double)>& tick = {}) {
  for (;;) {
    EnergySample s = source.read();
    double j = s.total();
    if (j != last_j) {
      changes.push_back({s.time_s, j});
      last_j = j;
    }
    if (tick) tick(s.time_s);
    if (s.time_s >= until) return;
    sleep_s(poll_s);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Every counter step is a whole number of quanta, so the quantum is the largest q that divides
// every step. The smallest gap between two step sizes is only a multiple of it: a short sample
// can hold steps of 517 and 519 quanta and never 518. So that gap is divided by 1, 2, 3, ... until
// every step is a whole multiple (Euclid's algorithm on reals would be exact in theory but
// amplifies rounding error with every remainder). Returns 0 when no divisor up to 64 fits: the
// steps are not quantised.
double common_quantum(const std::vector<double>& steps, double smallest_gap) {
  for (int k = 1; k <= 64; ++k) {
    double q = smallest_gap / k;
    bool fits = true;
    for (double s : steps) {
      double n = s / q;
      if (std::fabs(n - std::round(n)) > 1e-3) {
        fits = false;
        break;
      }
    }
    if (fits) return q;
  }
  return 0.0;
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

}  // namespace

Characterization characterize(EnergySource& source, const CharacterizeOptions& options) {
  if (!(options.seconds > 0)) throw Error("--seconds: expected a positive duration");
  Characterization out;
  const double idle_s = 0.6 * options.seconds, load_s = 0.3 * options.seconds, reads_s = 0.1 * options.seconds;

  // Idle phase: update period and idle power.
  std::vector<Change> idle;
  double last_j = source.read().total();
  double start = steady_now_s();
  watch(source, start + idle_s, options.poll_s, idle, last_j);
  if (idle.size() < 3)
    throw Error(source.name() + ": the counter changed " + std::to_string(idle.size()) + " times in " +
                std::to_string(idle_s) + " s; characterise for longer (--seconds)");
  std::vector<double> intervals, steps;
  for (size_t i = 1; i < idle.size(); ++i) {
    intervals.push_back(idle[i].time_s - idle[i - 1].time_s);
    steps.push_back(idle[i].joules - idle[i - 1].joules);
  }
  out.changes_seen = int(idle.size());
  out.traits.update_period_s = median(intervals);

  int windows = std::max(1, std::min(options.idle_windows, int(idle.size()) - 1));
  std::vector<double> powers;
  double span = idle.back().time_s - idle.front().time_s;
  size_t from = 0;
  for (int w = 1; w <= windows; ++w) {
    double t_end = idle.front().time_s + span * w / windows;
    size_t to = from;
    while (to + 1 < idle.size() && idle[to + 1].time_s <= t_end + 1e-12) ++to;
    if (to > from) powers.push_back((idle[to].joules - idle[from].joules) / (idle[to].time_s - idle[from].time_s));
    from = to;
  }
  double mean = 0, var = 0;
  for (double p : powers) mean += p / double(powers.size());
  for (double p : powers) var += (p - mean) * (p - mean);
  out.traits.idle_power_w = mean;
  out.traits.idle_power_sd_w = powers.size() > 1 ? std::sqrt(var / double(powers.size() - 1)) : 0.0;

  // Varying-load phase: steps that differ expose the quantum. The emulated sensor is loaded
  // through its observer (a synthetic component switched on and off at random moments); real
  // sensors rely on the machine's natural power fluctuation.
  std::vector<Change> loaded;
  if (ComponentObserver* observer = source.observer()) {
    ComponentGraph graph;
    Component load;
    load.name = "characterisation-load";
    load.kind = ComponentKind::model;
    graph.nodes.push_back(load);
    std::mt19937_64 rng(0xC1EA5);
    std::uniform_real_distribution<double> jitter(0.3, 1.7);
    bool running = false;
    double next = steady_now_s();
    watch(source, steady_now_s() + load_s, options.poll_s, loaded, last_j, [&](double now) {
      if (now < next) return;
      running ? observer->on_end(graph, 0) : observer->on_begin(graph, 0);
      running = !running;
      next = now + jitter(rng) * out.traits.update_period_s;
    });
    if (running) observer->on_end(graph, 0);
  } else {
    watch(source, steady_now_s() + load_s, options.poll_s, loaded, last_j);
  }
  for (size_t i = 1; i < loaded.size(); ++i) steps.push_back(loaded[i].joules - loaded[i - 1].joules);

  double scale = std::max(std::fabs(last_j), 1.0);
  const double tol = 1e-9 + 1e-12 * scale;  // below this two steps are the same step
  std::vector<double> positive;
  for (double s : steps)
    if (s > tol) positive.push_back(s);
  std::sort(positive.begin(), positive.end());
  std::vector<double> distinct;
  for (double s : positive)
    if (distinct.empty() || s - distinct.back() > tol) distinct.push_back(s);
  double smallest_gap = distinct.empty() ? 0.0 : distinct.front();
  for (size_t i = 1; i < distinct.size(); ++i) smallest_gap = std::min(smallest_gap, distinct[i] - distinct[i - 1]);
  double resolution = distinct.size() < 2 ? smallest_gap : common_quantum(distinct, smallest_gap);
  bool unquantised = distinct.size() >= 2 && resolution == 0.0;
  if (unquantised) resolution = smallest_gap;
  out.distinct_steps = int(distinct.size());
  out.resolution_upper_bound = distinct.size() < 2;
  out.traits.resolution_j = resolution;
  if (out.resolution_upper_bound)
    out.note = "every counter step had the same size: the resolution is only an upper bound";
  if (unquantised)
    out.note = "counter steps are not whole multiples of one quantum: the resolution is the smallest gap between two steps";

  // Read overhead.
  int reads = 0;
  double t0 = steady_now_s(), t1 = t0;
  while (reads < 200 && (reads < 3 || t1 - t0 < reads_s)) {
    source.read();
    ++reads;
    t1 = steady_now_s();
  }
  out.traits.read_overhead_s = (t1 - t0) / reads;
  out.traits.wrap_range_j = source.traits().wrap_range_j;
  out.traits.characterised = true;
  if (out.changes_seen < 10) out.note += (out.note.empty() ? "" : "; ") + std::string("few counter changes: characterise for longer");
  return out;
}

std::string traits_cache_key(const EnergySource& source) {
  return hostname() + "|" + meter::cpu_model_name() + "|" + source.name() + "|" + source.method();
}

namespace {
std::filesystem::path cache_file() { return cache_dir() / "meter_traits.json"; }

nlohmann::json load_cache() {
  std::error_code ec;
  if (!std::filesystem::exists(cache_file(), ec)) return nlohmann::json::object();
  try {
    auto j = nlohmann::json::parse(read_file(cache_file()));
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json::object();  // a corrupt cache is rebuilt, never trusted
  }
}
}  // namespace

std::optional<SensorTraits> cached_traits(const EnergySource& source) {
  auto cache = load_cache();
  auto it = cache.find(traits_cache_key(source));
  if (it == cache.end() || !it->is_object()) return std::nullopt;
  try {
    SensorTraits t;
    t.update_period_s = it->at("update_period_s").get<double>();
    t.resolution_j = it->at("resolution_j").get<double>();
    t.wrap_range_j = it->at("wrap_range_j").get<double>();
    t.read_overhead_s = it->at("read_overhead_s").get<double>();
    t.idle_power_w = it->at("idle_power_w").get<double>();
    t.idle_power_sd_w = it->at("idle_power_sd_w").get<double>();
    t.characterised = true;
    return t;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void store_traits(const EnergySource& source, const SensorTraits& t) {
  auto cache = load_cache();
  cache[traits_cache_key(source)] = {
      {"update_period_s", t.update_period_s}, {"resolution_j", t.resolution_j}, {"wrap_range_j", t.wrap_range_j},
      {"read_overhead_s", t.read_overhead_s}, {"idle_power_w", t.idle_power_w}, {"idle_power_sd_w", t.idle_power_sd_w},
      {"source", source.name()},              {"label", energy_label(source)},   {"measured_at_unix", double(std::time(nullptr))}};
  write_file_atomic(cache_file(), cache.dump(2) + "\n");
}

}  // namespace clear
