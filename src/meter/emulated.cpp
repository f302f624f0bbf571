// The emulated sensor. True energy is integrated exactly (power is piecewise constant between
// component begin/end events); the published counter only moves at update boundaries, by the true
// increment of that period times (1 + noise·N(0,1)), floored to whole resolution quanta, and wraps
// like a hardware register, so the protocol meets the same artefacts as with RAPL or NVML.
#include "clear/meter/emulated.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "clear/util/error.hpp"
#include "sensors.hpp"

namespace clear {

namespace {

std::string format_quantity(double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g%s", v, unit);
  return buf;
}

bool is_kind_name(const std::string& key) {
  for (int k = 0; k <= int(ComponentKind::classifier); ++k)
    if (key == to_string(ComponentKind(k))) return true;
  return false;
}

}  // namespace

EmulatedConfig parse_emulated_spec(const MeterSpec& spec) {
  EmulatedConfig c;
  for (const auto& [key, value] : spec.options) {
    if (key == "update") c.update_s = parse_seconds(spec, key, value);
    else if (key == "resolution") c.resolution_j = parse_joules(spec, key, value);
    else if (key == "idle") c.idle_w = parse_watts(spec, key, value);
    else if (key == "default") c.default_w = parse_watts(spec, key, value);
    else if (key == "noise") c.noise = parse_fraction(spec, key, value);
    else if (key == "wrap") c.wrap_j = parse_joules(spec, key, value);
    else if (key == "seed") c.seed = uint64_t(parse_number(spec, key, value));
    else if (is_kind_name(key)) c.kind_w[key] = parse_watts(spec, key, value);
    else
      throw Error("meter spec '" + spec.text + "': unknown key '" + key +
                  "' for emulated (expected update, resolution, idle, default, noise, wrap, seed, or a component kind such as attention, mlp, softmax)");
  }
  if (!(c.resolution_j > 0)) throw Error("meter spec '" + spec.text + "': key 'resolution' must be positive");
  if (c.wrap_j != 0 && c.wrap_j < 2 * c.resolution_j)
    throw Error("meter spec '" + spec.text + "': key 'wrap' must be at least two resolution steps");
  return c;
}

struct EmulatedSource::State {
  struct Running {
    const ComponentGraph* graph;
    int node;
    double begin_s;
    double power_w;
  };
  class Observer : public ComponentObserver {
   public:
    explicit Observer(EmulatedSource* s) : source(s) {}
    void on_begin(const ComponentGraph& graph, int node) override { source->begin(graph, node); }
    void on_end(const ComponentGraph& graph, int node) override { source->end(graph, node); }
    EmulatedSource* source;
  };

  EmulatedConfig config;
  SensorTraits traits;
  mutable std::mutex mutex;
  double t0 = 0;
  int64_t published_k = 0;       // last boundary published
  double boundary_true_j = 0;    // true energy at that boundary
  double published_j = 0;        // noisy energy at that boundary, before quantisation
  double true_j = 0;             // true energy at t_last
  double t_last = 0;
  double power_w = 0;
  std::vector<Running> running;
  std::map<std::string, EmulatedTruth> truth;
  std::mt19937_64 rng;
  std::normal_distribution<double> normal{0.0, 1.0};
  meter::WrapCounter unwrap;
  uint64_t wrap_quanta = 0;
  Observer observer{nullptr};

  // Moves time to `now`: publishes every boundary passed, integrates true energy. Power has been
  // constant since t_last (every change calls this first), so each boundary's true energy is exact.
  void advance(double now) {
    int64_t k_now = int64_t(std::floor((now - t0) / config.update_s));
    for (; published_k < k_now; ++published_k) {
      double tb = t0 + double(published_k + 1) * config.update_s;
      double e_tb = true_j + power_w * (tb - t_last);
      double increment = e_tb - boundary_true_j;
      if (config.noise > 0) increment *= 1.0 + config.noise * normal(rng);
      published_j += std::max(0.0, increment);
      boundary_true_j = e_tb;
    }
    double dt = now - t_last;
    true_j += power_w * dt;
    if (!running.empty()) {
      auto& t = truth[running.back().graph->nodes[size_t(running.back().node)].name];
      t.exclusive_s += dt;
      t.exclusive_j += power_w * dt;
    }
    t_last = now;
  }
  uint64_t raw_counter() const {
    auto quanta = uint64_t(std::floor(published_j / config.resolution_j));
    return wrap_quanta ? quanta % wrap_quanta : quanta;
  }
};

EmulatedSource::EmulatedSource(const EmulatedConfig& config) : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.config = config;
  s.rng.seed(config.seed);
  s.observer.source = this;
  s.traits.update_period_s = config.update_s;
  s.traits.resolution_j = config.resolution_j;
  s.traits.wrap_range_j = config.wrap_j;
  s.traits.idle_power_w = config.idle_w;
  s.t0 = s.t_last = steady_now_s();
  s.power_w = config.idle_w;
  s.wrap_quanta = config.wrap_j > 0 ? uint64_t(std::llround(config.wrap_j / config.resolution_j)) : 0;
  double max_w = std::max(config.idle_w, config.default_w);
  for (const auto& [k, w] : config.kind_w) max_w = std::max(max_w, w);
  s.unwrap.unit_j = config.resolution_j;
  s.unwrap.range = s.wrap_quanta;
  s.unwrap.max_rate_per_s = max_w * (1.0 + 6.0 * config.noise) / config.resolution_j;
  s.unwrap.what = "emulated sensor";
  s.unwrap.update(s.raw_counter(), s.t0);
}

EmulatedSource::~EmulatedSource() = default;

std::string EmulatedSource::method() const {
  const auto& c = state_->config;
  std::string m = "emulated sensor (true power known, no hardware): update=" + format_quantity(c.update_s * 1e3, "ms") +
                  " resolution=" + format_quantity(c.resolution_j * 1e3, "mJ") + " idle=" + format_quantity(c.idle_w, "W") +
                  " default=" + format_quantity(c.default_w, "W");
  for (const auto& [k, w] : c.kind_w) m += " " + k + "=" + format_quantity(w, "W");
  m += " noise=" + format_quantity(c.noise * 100, "%") + " wrap=" + (c.wrap_j > 0 ? format_quantity(c.wrap_j, "J") : "none") +
       " seed=" + std::to_string(c.seed);
  return m;
}

std::vector<EnergyDomain> EmulatedSource::domains() const { return {{"emulated", "system", true}}; }

SensorTraits EmulatedSource::traits() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->traits;
}

void EmulatedSource::set_traits(const SensorTraits& traits) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->traits = traits;
}

EnergySample EmulatedSource::read() {
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  EnergySample sample;
  sample.time_s = steady_now_s();
  s.advance(sample.time_s);
  sample.joules = {s.unwrap.update(s.raw_counter(), sample.time_s)};
  sample.in_total = {true};
  return sample;
}

EnergySample EmulatedSource::read_aligned(double timeout_s) {
  double now = steady_now_s();
  const auto& c = state_->config;
  double next = state_->t0 + (std::floor((now - state_->t0) / c.update_s) + 1.0) * c.update_s;
  if (next - now <= timeout_s)
    std::this_thread::sleep_for(std::chrono::duration<double>(next - now + 20e-6));
  return read();
}

ComponentObserver* EmulatedSource::observer() { return &state_->observer; }

const EmulatedConfig& EmulatedSource::config() const { return state_->config; }

double EmulatedSource::true_energy_j() const {
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.true_j + s.power_w * (steady_now_s() - s.t_last);
}

double EmulatedSource::power_for(const ComponentGraph& graph, int node) const {
  const auto& c = state_->config;
  const auto& kinds = c.kind_w;
  if (auto it = kinds.find(to_string(graph.nodes[size_t(node)].kind)); it != kinds.end()) return it->second;
  if (auto it = kinds.find(to_string(graph.block_kind(node))); it != kinds.end()) return it->second;
  return c.default_w;
}

std::map<std::string, EmulatedTruth> EmulatedSource::truth() const {
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.advance(steady_now_s());
  auto t = s.truth;
  return t;
}

void EmulatedSource::reset_truth() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->truth.clear();
}

void EmulatedSource::begin(const ComponentGraph& graph, int node) {
  auto& s = *state_;
  double power = power_for(graph, node);
  std::lock_guard<std::mutex> lock(s.mutex);
  double now = steady_now_s();
  s.advance(now);
  s.running.push_back({&graph, node, now, power});
  s.truth[graph.nodes[size_t(node)].name].calls += 1;
  s.power_w = power;
}

void EmulatedSource::end(const ComponentGraph& graph, int node) {
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  double now = steady_now_s();
  s.advance(now);
  // Normally the innermost; a mismatched end removes the matching entry wherever it is.
  for (size_t i = s.running.size(); i-- > 0;) {
    if (s.running[i].graph == &graph && s.running[i].node == node) {
      s.truth[graph.nodes[size_t(node)].name].inclusive_s += now - s.running[i].begin_s;
      s.running.erase(s.running.begin() + long(i));
      break;
    }
  }
  s.power_w = s.running.empty() ? s.config.idle_w : s.running.back().power_w;
}

namespace meter {
std::unique_ptr<EnergySource> open_emulated(const MeterSpec& spec) {
  return std::make_unique<EmulatedSource>(parse_emulated_spec(spec));
}
}  // namespace meter

}  // namespace clear
