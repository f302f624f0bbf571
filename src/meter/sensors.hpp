#pragma once
// Internal to the meter stage: one factory per sensor (each in its own file), the shared counter
// unwrapping, and sysfs reads with an injectable open() so tests can simulate EACCES as root.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clear/meter/source.hpp"
#include "clear/meter/spec.hpp"

namespace clear::meter {

// Cumulative joules from a raw counter that wraps after `range` raw units (0: never wraps, and
// going backwards is an error). One wrap between two reads is detected (raw < last); more than one
// cannot be told from the values, so callers that know the counter's largest rate pass
// max_rate_per_s and a gap longer than range / max_rate is refused as ambiguous.
struct WrapCounter {
  double unit_j = 1.0;        // joules per raw unit
  uint64_t range = 0;         // raw units until wrap; 0: no wrap
  double max_rate_per_s = 0;  // raw units per second at most; 0: unknown (no multi-wrap check)
  std::string what;           // named in errors

  bool started = false;
  uint64_t first = 0;
  uint64_t last = 0;
  double last_time_s = 0;
  double wraps = 0;

  double update(uint64_t raw, double time_s);  // cumulative joules since the first update
};

// sysfs: whole small file; throws MeterError naming the path (errno text kept).
struct SysfsError {
  int err = 0;
  std::string message;
};
// Returns the file's text or fills `error`. Uses the open hook.
bool read_small_file(const std::filesystem::path& path, std::string& text, SysfsError& error);
std::string read_small_file_or_throw(const std::filesystem::path& path);
uint64_t parse_u64(const std::string& text, const std::filesystem::path& path);  // throws MeterError
// Tests replace open() to return EACCES (root can read mode-000 files, so chmod cannot simulate it).
using OpenHook = std::function<int(const char* path, int flags)>;
void set_open_hook_for_tests(OpenHook hook);  // empty: ::open
int hooked_open(const char* path, int flags);
// The fix printed for unreadable RAPL energy files.
std::string energy_permission_fix(const std::filesystem::path& file);

std::filesystem::path root_or(const std::filesystem::path& given, const char* env, const char* fallback);

std::unique_ptr<EnergySource> open_rapl(const MeterSpec& spec, const MeterOptions& options);
std::unique_ptr<EnergySource> open_perf_rapl(const MeterSpec& spec, const MeterOptions& options);
std::unique_ptr<EnergySource> open_nvml(const MeterSpec& spec, const MeterOptions& options);
std::unique_ptr<EnergySource> open_hwmon(const MeterSpec& spec, const MeterOptions& options);
std::unique_ptr<EnergySource> open_external(const MeterSpec& spec);
std::unique_ptr<EnergySource> open_emulated(const MeterSpec& spec);
std::unique_ptr<EnergySource> open_estimate(const MeterSpec& spec, const MeterOptions& options);
// Several sources as one (CPU sensor + GPUs); domains concatenated in order. All must be measured.
std::unique_ptr<EnergySource> combine_sources(std::vector<std::unique_ptr<EnergySource>> parts);

// Fills sample.in_total from domains.
void mark_totals(EnergySample& sample, const std::vector<EnergyDomain>& domains);

// A sensor made of cumulative counters, one per domain (RAPL powercap, perf RAPL, hwmon): the
// subclass reads its counters; sampling, totals, traits and update alignment live here once.
class CounterSource : public EnergySource {
 public:
  bool measured() const override { return true; }
  std::vector<EnergyDomain> domains() const override { return domains_; }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& t) override { traits_ = t; }
  EnergySample read() final {
    EnergySample s;
    s.time_s = steady_now_s();
    s.joules.reserve(domains_.size());
    read_counters(s);
    mark_totals(s, domains_);
    return s;
  }
  EnergySample read_aligned(double timeout_s) override { return read_after_change(*this, timeout_s, 100e-6); }

 protected:
  // Appends each domain's cumulative joules (monotonic across wraps) to s.joules, in domain order;
  // throws MeterError on any failed read.
  virtual void read_counters(EnergySample& s) = 0;
  std::vector<EnergyDomain> domains_;
  SensorTraits traits_;
};

}  // namespace clear::meter
