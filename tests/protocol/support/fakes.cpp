#include "protocol/support/fakes.hpp"

#include <cmath>
#include <stdexcept>

#include "clear/model/zoo.hpp"

namespace clear::testing {

void VirtualClock::sleep(double seconds) { advance(seconds, -1.0); }

void VirtualClock::advance(double seconds, double power_w) {
  if (seconds <= 0) return;
  if (sensor_) sensor_->integrate(t_, seconds, power_w);
  t_ += seconds;
}

FakeSensor::FakeSensor(VirtualClock& clock, const FakeSensorConfig& config)
    : clock_(clock), config_(config), rng_(config.seed) {
  traits_.update_period_s = config.update_s;
  traits_.resolution_j = config.resolution_j;
  traits_.idle_power_w = config.idle_w;
  traits_.characterised = config.characterised;
  next_boundary_ = std::ceil(clock.now() / config.update_s) * config.update_s;
  clock.attach(this);
}

double FakeSensor::idle_power(double t) const { return config_.idle_w + config_.idle_drift_w_per_s * (t - 1000.0); }

void FakeSensor::integrate(double start_s, double seconds, double power_w) {
  double t = start_s;
  const double end = start_s + seconds;
  while (t < end) {
    const double step_end = std::min(end, next_boundary_);
    const double p = power_w < 0 ? idle_power(0.5 * (t + step_end)) : power_w;
    pending_true_j_ += p * (step_end - t);
    t = step_end;
    if (t >= next_boundary_) {  // publish: the increment carries noise, the reading is quantised
      published_raw_j_ += pending_true_j_ * (1.0 + config_.noise * noise_(rng_));
      pending_true_j_ = 0.0;
      next_boundary_ += config_.update_s;
    }
  }
}

EnergySample FakeSensor::read() {
  if (config_.fail_after_reads >= 0 && reads_ >= config_.fail_after_reads)
    throw MeterError("fake sensor: read failed (injected after " + std::to_string(reads_) + " reads)");
  ++reads_;
  EnergySample s;
  s.time_s = clock_.now();
  s.joules = {std::floor(published_raw_j_ / config_.resolution_j) * config_.resolution_j};
  return s;
}

EnergySample FakeSensor::read_aligned(double) {
  // Idle until the next publish, then read right on it.
  clock_.sleep(next_boundary_ - clock_.now() + 1e-9);
  EnergySample s = read();
  return s;
}

ComponentGraph small_bert_graph(int layers) {
  ModelConfig config = zoo_config("bert-base-uncased");
  config.encoder.num_layers = layers;
  return build_graph(config);
}

FakeBackend::FakeBackend(ComponentGraph graph, VirtualClock& clock, FakeSensor& sensor, double jitter, uint64_t seed)
    : graph_(std::move(graph)), clock_(clock), sensor_(sensor), jitter_(jitter), rng_(seed) {
  const std::map<std::string, double> kind_latency = {
      {"q_proj", 400e-6}, {"k_proj", 400e-6}, {"v_proj", 400e-6}, {"out_proj", 400e-6}, {"up_proj", 1.6e-3},
      {"down_proj", 1.6e-3}, {"scores", 150e-6}, {"context", 150e-6}, {"softmax", 80e-6}, {"mask", 30e-6},
      {"norm", 40e-6}, {"residual", 20e-6}, {"activation", 120e-6}, {"word_embedding", 25e-6}};
  const std::map<std::string, double> block_power = {{"attention", 120.0}, {"mlp", 90.0}, {"embeddings", 70.0}};
  leaves.resize(graph_.nodes.size());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const auto& c = graph_.nodes[i];
    if (!c.is_leaf()) continue;
    auto k = kind_latency.find(to_string(c.kind));
    const double base = k == kind_latency.end() ? 60e-6 : k->second;
    leaves[i].latency_s = base * (1.0 + 0.05 * std::max(0, c.layer));
    auto p = block_power.find(to_string(graph_.block_kind(static_cast<int>(i))));
    leaves[i].power_w = p == block_power.end() ? 80.0 : p->second;
  }
  net_j_.assign(graph_.nodes.size(), 0.0);
  calls_.assign(graph_.nodes.size(), 0);
}

std::vector<int> FakeBackend::runnable_components() const {
  std::vector<int> all;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) all.push_back(static_cast<int>(i));
  return all;
}

void FakeBackend::run_leaf(int node) {
  const FakeLeaf& leaf = leaves.at(node);
  std::uniform_real_distribution<double> u(-jitter_, jitter_);
  const double t = leaf.latency_s * (1.0 + u(rng_));
  const double start = clock_.now();
  clock_.advance(t, leaf.power_w);
  const double net = (leaf.power_w - sensor_.idle_power(start + 0.5 * t)) * t;
  if (in_model_) {
    model_net_j_ += net;
  } else {
    net_j_[node] += net;
    ++calls_[node];
  }
}

void FakeBackend::run_component(int node, int64_t repetitions) {
  if (!captured_) throw std::logic_error("run_component before capture");
  ++component_calls;
  for (int64_t r = 0; r < repetitions; ++r)
    for (int leaf : graph_.leaves_under(node)) run_leaf(leaf);
}

void FakeBackend::run_model(int64_t repetitions) {
  if (!captured_) throw std::logic_error("run_model before capture");
  in_model_ = true;
  for (int64_t r = 0; r < repetitions; ++r) {
    for (int leaf : graph_.leaves()) run_leaf(leaf);
    ++model_calls_;
  }
  in_model_ = false;
}

double FakeBackend::true_net_per_call(int node) const { return calls_[node] ? net_j_[node] / calls_[node] : 0.0; }
double FakeBackend::true_model_net_per_forward() const { return model_calls_ ? model_net_j_ / model_calls_ : 0.0; }

}  // namespace clear::testing
