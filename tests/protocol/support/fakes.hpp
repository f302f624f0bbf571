#pragma once
// Test doubles for the protocol, on a virtual clock so a whole profile runs in milliseconds:
//   VirtualClock  time advances only when the fakes say so (sleep = idle time);
//   FakeSensor    an energy counter with a known true power history, publishing at update
//                 boundaries, quantised to a resolution, with per-update noise, optional idle
//                 drift, and optional failure after N reads (MeterError);
//   FakeBackend   runs a real component graph where each leaf takes a known latency (with jitter)
//                 at a known power, and records the true dynamic energy per component.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"
#include "clear/meter/source.hpp"
#include "clear/protocol/clock.hpp"

namespace clear::testing {

class FakeSensor;

class VirtualClock : public Clock {
 public:
  double now() override { return t_; }
  void sleep(double seconds) override;  // idle time: the sensor integrates idle power
  void advance(double seconds, double power_w);  // busy time at a power
  void attach(FakeSensor* sensor) { sensor_ = sensor; }

 private:
  double t_ = 1000.0;
  FakeSensor* sensor_ = nullptr;
};

struct FakeSensorConfig {
  double update_s = 0.010;
  double resolution_j = 0.001;
  double idle_w = 40.0;
  double idle_drift_w_per_s = 0.0;  // idle power grows linearly with time
  double noise = 0.002;             // relative sd of each published increment
  int64_t fail_after_reads = -1;    // -1: never
  bool characterised = true;
  uint64_t seed = 7;
};

class FakeSensor : public EnergySource {
 public:
  FakeSensor(VirtualClock& clock, const FakeSensorConfig& config);
  std::string name() const override { return "fake"; }
  bool measured() const override { return true; }
  std::string method() const override { return "virtual counter (tests)"; }
  std::vector<EnergyDomain> domains() const override { return {{"fake-0", "package"}}; }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& traits) override { traits_ = traits; }
  EnergySample read() override;
  EnergySample read_aligned(double timeout_s) override;

  // Called by the clock: `seconds` elapse at `power_w` (negative: idle power).
  void integrate(double start_s, double seconds, double power_w);
  double idle_power(double t) const;
  int64_t reads() const { return reads_; }

 private:
  VirtualClock& clock_;
  FakeSensorConfig config_;
  SensorTraits traits_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> noise_{0.0, 1.0};
  double next_boundary_ = 0.0;
  double pending_true_j_ = 0.0;    // true energy since the last publish
  double published_raw_j_ = 0.0;   // noisy cumulative at the last publish (before quantisation)
  int64_t reads_ = 0;
};

struct FakeLeaf {
  double latency_s = 0.0;
  double power_w = 0.0;
};

class FakeBackend : public Backend {
 public:
  // Each leaf: latency from its kind (`kind_latency_s`, else default) × (1 + 0.05·layer) so layers
  // differ; power from its block kind (`block_power_w`, else default_power_w).
  FakeBackend(ComponentGraph graph, VirtualClock& clock, FakeSensor& sensor, double jitter = 0.02,
              uint64_t seed = 11);
  std::string name() const override { return "fake"; }
  const ComponentGraph& graph() const override { return graph_; }
  const Workload& workload() const override { return workload_; }
  std::string weights_description() const override { return "no weights (fake backend)"; }
  bool random_weights() const override { return true; }
  void capture() override { captured_ = true; }
  std::vector<int> runnable_components() const override;
  void run_component(int node, int64_t repetitions) override;
  void run_model(int64_t repetitions) override;
  void synchronize() override { ++synchronized_; }
  void set_observer(ComponentObserver*) override {}
  void set_inputs(const ModelInputs&) override {}
  std::vector<OutputTensor> outputs() const override { return {}; }

  // True dynamic (above idle) energy per call of a leaf, averaged over every call made so far.
  double true_net_per_call(int node) const;
  double true_model_net_per_forward() const;
  std::vector<FakeLeaf> leaves;  // per graph node
  int64_t synchronized_ = 0;
  int64_t component_calls = 0;   // run_component calls made (for resume tests)

 private:
  void run_leaf(int node);
  ComponentGraph graph_;
  Workload workload_;
  VirtualClock& clock_;
  FakeSensor& sensor_;
  double jitter_;
  std::mt19937_64 rng_;
  bool captured_ = false;
  std::vector<double> net_j_;
  std::vector<int64_t> calls_;
  double model_net_j_ = 0.0;
  int64_t model_calls_ = 0;
  bool in_model_ = false;
};

// A small BERT-shaped graph (real names from the model stage) with `layers` layers.
ComponentGraph small_bert_graph(int layers);

}  // namespace clear::testing
