#pragma once
// The emulated energy sensor: a counter whose true power is known, for tests and demonstrations.
// True power is `idle` while no component runs, else the wattage of the innermost running
// component's kind (its own kind, then its block kind, then `default`). The counter integrates true
// power over steady-clock time continuously but publishes only at update boundaries
// (t0 + k·update), quantised down to `resolution`, with optional multiplicative noise per update
// (seeded) and an optional wrap range that read() unwraps like a real sensor.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "clear/meter/source.hpp"
#include "clear/meter/spec.hpp"

namespace clear {

struct EmulatedConfig {
  double update_s = 0.010;
  double resolution_j = 0.001;
  double idle_w = 40.0;
  double default_w = 80.0;
  std::map<std::string, double> kind_w;  // ComponentKind name (to_string) -> watts
  double noise = 0.0;                    // relative sd of each published increment
  double wrap_j = 0.0;                   // 0: never wraps
  uint64_t seed = 1;
};

// Parses "emulated:update=10ms,resolution=1mJ,idle=40W,attention=120W,mlp=90W,default=80W,noise=0.5%,wrap=100J,seed=7".
EmulatedConfig parse_emulated_spec(const MeterSpec& spec);

// What really happened, for tests that must know the truth.
struct EmulatedTruth {
  double inclusive_s = 0.0;  // time the component was running (children included)
  double exclusive_s = 0.0;  // time it was the innermost running component
  double exclusive_j = 0.0;  // true energy while it was innermost
  int64_t calls = 0;
};

class EmulatedSource : public EnergySource {
 public:
  explicit EmulatedSource(const EmulatedConfig& config);
  ~EmulatedSource() override;

  std::string name() const override { return "emulated"; }
  bool measured() const override { return true; }
  std::string method() const override;
  std::vector<EnergyDomain> domains() const override;
  SensorTraits traits() const override;
  EnergySample read() override;
  EnergySample read_aligned(double timeout_s) override;  // sleeps to the next publish boundary
  ComponentObserver* observer() override;
  void set_traits(const SensorTraits& traits) override;

  const EmulatedConfig& config() const;
  // Exact true cumulative energy since construction, now.
  double true_energy_j() const;
  // The true power configured for a component (own kind, block kind, default).
  double power_for(const ComponentGraph& graph, int node) const;
  // Per component name.
  std::map<std::string, EmulatedTruth> truth() const;
  void reset_truth();  // clears the per-component record (not the counter)

 private:
  void begin(const ComponentGraph& graph, int node);
  void end(const ComponentGraph& graph, int node);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace clear
