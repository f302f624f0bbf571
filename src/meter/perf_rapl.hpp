#pragma once
// The perf_event RAPL PMU as described in sysfs (<root> = /sys/bus/event_source/devices/power).
#include <filesystem>
#include <string>
#include <vector>

namespace clear::meter {

struct PerfRaplEvent {
  std::string event;   // "energy-pkg"
  std::string domain_kind;  // package | core | gpu | dram | psys
  uint64_t config = 0; // from "event=0x02"
  double scale = 0;    // joules per count (the .scale file, unit checked to be Joules)
};

struct PerfRaplPmu {
  int type = 0;
  std::vector<int> cpus;  // one CPU per package (cpumask)
  std::vector<PerfRaplEvent> events;
};

// Throws MeterUnavailable("not present") when the PMU is absent, MeterError on malformed files.
PerfRaplPmu parse_perf_rapl_sysfs(const std::filesystem::path& root);
// "0,28" or "0-1" -> CPU list.
std::vector<int> parse_cpu_list(const std::string& text, const std::filesystem::path& file);

}  // namespace clear::meter
