#pragma once
// Which energy sources this machine has, and why each missing one is missing. `dissect meters`
// prints this; open_meter("auto") picks from it and records the reason for its choice.
#include <memory>
#include <string>
#include <vector>

#include "clear/meter/source.hpp"

namespace clear {

struct SourceProbe {
  std::string name;     // "rapl", "perf-rapl", "hwmon", "nvml", "estimate"
  std::string spec;     // the spec that opens it
  bool available = false;
  std::string status;   // "available", or MeterUnavailable::status()
  std::string detail;   // what was found or what went wrong (paths, errno text, NVML error)
  std::string fix;      // how to make it usable; empty when nothing can be done
  std::vector<EnergyDomain> domains;  // when available
};

// Tries every sensor (never the estimate) with the roots in `options`; opens and closes each.
std::vector<SourceProbe> probe_sensors(const MeterOptions& options = {});

// The meter "auto" opens: the best CPU sensor (rapl > perf-rapl > hwmon) plus NVML when GPUs are
// visible, combined into one source; else the estimate. The source's selection_note() says why.
std::unique_ptr<EnergySource> open_auto_meter(const MeterOptions& options = {});

// One sentence per missing sensor: "rapl: not present (/sys/class/powercap does not exist)".
std::string describe_missing(const std::vector<SourceProbe>& probes);

}  // namespace clear
