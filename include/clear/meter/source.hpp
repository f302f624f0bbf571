#pragma once
// An energy source: anything that can say how many joules have been spent so far, per domain.
// Sensors (RAPL, NVML, hwmon, external meters, the emulated sensor) are `measured`; the fallback
// model is an `estimate` and says which model it used. Nothing ever mixes the two.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"

namespace clear {

// A sensor read that failed. Never turned into 0 J.
class MeterError : public std::runtime_error {
 public:
  explicit MeterError(const std::string& message) : std::runtime_error(message) {}
};

struct EnergyDomain {
  std::string name;  // "package-0", "dram-0", "gpu-0", "system", "estimate-cpu"
  std::string kind;  // package | core | uncore | dram | psys | gpu | system | estimate
};

// What is known about a source's sensor: nominal from its documentation, or measured by
// characterisation (characterised = true). The protocol sizes its windows from these.
struct SensorTraits {
  double update_period_s = 0.0;   // how often the counter changes
  double resolution_j = 0.0;      // smallest energy step
  double wrap_range_j = 0.0;      // counter wraps after this many joules (0: never)
  double read_overhead_s = 0.0;   // cost of one read()
  double idle_power_w = 0.0;      // whole-source idle power, and its spread across samples
  double idle_power_sd_w = 0.0;
  bool characterised = false;
};

// Cumulative energy per domain (same order as domains()), monotonic across wraps, at a time on
// the steady clock (seconds since an arbitrary epoch, shared by every source).
struct EnergySample {
  double time_s = 0.0;
  std::vector<double> joules;
  double total() const;
};

class EnergySource {
 public:
  virtual ~EnergySource() = default;
  virtual std::string name() const = 0;        // "rapl", "perf-rapl", "nvml", "hwmon", "external", "emulated", "estimate"
  virtual bool measured() const = 0;           // false for an estimate
  virtual std::string method() const = 0;      // the sensor path, or the estimate's model and its inputs
  virtual std::vector<EnergyDomain> domains() const = 0;
  virtual SensorTraits traits() const = 0;
  // Throws MeterError when the sensor cannot be read; never returns a made-up value.
  virtual EnergySample read() = 0;
  // Blocks until the counter next changes (or timeout) and returns the first sample after the
  // change, so a window can start on an update boundary. Sources that cannot tell return a plain read().
  virtual EnergySample read_aligned(double timeout_s);
  // The emulated sensor needs to know which component is running; real sensors return null.
  virtual ComponentObserver* observer() { return nullptr; }
  // Replace nominal traits by characterised ones (from the per-machine cache).
  virtual void set_traits(const SensorTraits& traits) = 0;
};

const char* energy_label(const EnergySource& source);  // "measured" or "estimate"

// Opens a meter from a spec: "auto" (the best available sensor, else the estimate, saying so),
// "rapl[:root=/sys/class/powercap]", "perf-rapl", "nvml[:devices=0,1][:lib=PATH]", "hwmon[:root=...]",
// "external:cmd=...", "external:file=...", "emulated:update=10ms,resolution=1mJ,idle=40W,attention=120W,...",
// "estimate[:tdp=W]". Throws clear::Error on a malformed spec, MeterError when the sensor is unusable.
struct MeterOptions {
  std::optional<double> tdp_w;  // --tdp override for the estimate
};
std::unique_ptr<EnergySource> open_meter(const std::string& spec, const MeterOptions& options = {});

}  // namespace clear
