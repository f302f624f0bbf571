#pragma once
// An energy source: anything that can say how many joules have been spent so far, per domain.
// Sensors (RAPL, NVML, hwmon, external meters, the emulated sensor) are `measured`; the fallback
// model is an `estimate` and says which model it used. Nothing ever mixes the two.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "clear/engine/backend.hpp"

namespace clear {

// A sensor read that failed. Never turned into 0 J.
class MeterError : public std::runtime_error {
 public:
  explicit MeterError(const std::string& message) : std::runtime_error(message) {}
};

// A sensor that cannot be used on this machine at all (opening it failed). `status` says why in
// one of a few words, `fix` how to make it usable (empty when nothing can be done).
class MeterUnavailable : public MeterError {
 public:
  MeterUnavailable(std::string status, const std::string& detail, std::string fix = {})
      : MeterError(detail + (fix.empty() ? "" : " (fix: " + fix + ")")),
        status_(std::move(status)), detail_(detail), fix_(std::move(fix)) {}
  // "not present" | "permission denied" | "library not found" | "no devices" | "unusable"
  const std::string& status() const { return status_; }
  const std::string& detail() const { return detail_; }
  const std::string& fix() const { return fix_; }
 private:
  std::string status_, detail_, fix_;
};

struct EnergyDomain {
  std::string name;  // "package-0", "dram-0", "gpu-0", "system", "estimate-cpu"
  std::string kind;  // package | core | uncore | dram | psys | gpu | system | estimate
  // Whether the domain adds to the source's total. False for domains contained in another one
  // (RAPL core/uncore inside their package; package and dram when psys covers the platform).
  bool in_total = true;
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
  // Per domain: counts in total() (copied from EnergyDomain::in_total). Empty: every domain counts.
  std::vector<bool> in_total;
  double total() const;  // sum of the domains that count, without double counting nested domains
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

  // Why this source was chosen (set by open_meter("auto"), e.g. "no energy sensor on this
  // machine: rapl: not present (...); ...; using estimate"); empty for an explicit spec.
  const std::string& selection_note() const { return selection_note_; }
  void set_selection_note(std::string note) { selection_note_ = std::move(note); }

 private:
  std::string selection_note_;
};

const char* energy_label(const EnergySource& source);  // "measured" or "estimate"

// Seconds on the steady clock: the time base of every EnergySample.
double steady_now_s();

// Reads until the total changes (polling every poll_s) and returns the first sample after the
// change, or a plain read once timeout_s has passed. Shared by sources that cannot be told when
// their counter updates.
EnergySample read_after_change(EnergySource& source, double timeout_s, double poll_s);

// Opens a meter from a spec: "auto" (the best available sensor, else the estimate, saying so),
// "rapl[:root=/sys/class/powercap]", "perf-rapl[:root=/sys/bus/event_source/devices/power]",
// "nvml[:devices=0,1][:lib=PATH][:poll=50ms]", "hwmon[:root=/sys/class/hwmon]",
// "external:cmd=...", "external:file=...", "emulated:update=10ms,resolution=1mJ,idle=40W,attention=120W,...",
// "estimate[:tdp=W][:scope=system|process]". docs/METERS.md lists every key.
// Throws clear::Error on a malformed spec, MeterError (MeterUnavailable) when the sensor is unusable.
struct MeterOptions {
  std::optional<double> tdp_w;  // --tdp override for the estimate
  // Where "auto" (and the plain specs) look. Empty: $CLEAR_POWERCAP_ROOT / $CLEAR_PERF_POWER_ROOT /
  // $CLEAR_HWMON_ROOT / $CLEAR_NVML_LIB, else the system defaults. Tests point them at fakes.
  std::filesystem::path powercap_root;
  std::filesystem::path perf_power_root;
  std::filesystem::path hwmon_root;
  std::string nvml_library;
};
std::unique_ptr<EnergySource> open_meter(const std::string& spec, const MeterOptions& options = {});

}  // namespace clear
