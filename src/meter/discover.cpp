#include "clear/meter/discover.hpp"

#include "sensors.hpp"

namespace clear {

namespace {

SourceProbe probe(const char* name, const MeterOptions& options) {
  SourceProbe p;
  p.name = name;
  p.spec = name;
  try {
    auto source = open_meter(name, options);
    p.available = true;
    p.status = "available";
    p.detail = source->method();
    p.domains = source->domains();
  } catch (const MeterUnavailable& e) {
    p.status = e.status();
    p.detail = e.detail();
    p.fix = e.fix();
  } catch (const MeterError& e) {
    p.status = "unusable";
    p.detail = e.what();
  }
  return p;
}

}  // namespace

std::vector<SourceProbe> probe_sensors(const MeterOptions& options) {
  std::vector<SourceProbe> probes;
  for (const char* name : {"rapl", "perf-rapl", "hwmon", "nvml"}) probes.push_back(probe(name, options));
  return probes;
}

std::string describe_missing(const std::vector<SourceProbe>& probes) {
  std::string text;
  for (const auto& p : probes) {
    if (p.available) continue;
    text += (text.empty() ? "" : "; ") + p.name + ": " + p.status + " (" + p.detail + ")";
    if (!p.fix.empty()) text += ", fix: " + p.fix;
  }
  return text;
}

std::unique_ptr<EnergySource> open_auto_meter(const MeterOptions& options) {
  auto probes = probe_sensors(options);
  std::vector<std::unique_ptr<EnergySource>> parts;
  std::string chosen;
  for (const char* cpu : {"rapl", "perf-rapl", "hwmon"}) {
    for (const auto& p : probes)
      if (p.name == cpu && p.available && chosen.empty()) {
        parts.push_back(open_meter(cpu, options));
        chosen = cpu;
      }
  }
  for (const auto& p : probes)
    if (p.name == "nvml" && p.available) parts.push_back(open_meter("nvml", options));
  std::string missing = describe_missing(probes);
  if (parts.empty()) {
    auto estimate = open_meter("estimate", options);
    estimate->set_selection_note("no energy sensor on this machine: " + missing + "; using estimate (" +
                                 estimate->method() + ")");
    return estimate;
  }
  auto source = meter::combine_sources(std::move(parts));
  source->set_selection_note("auto chose " + source->name() + (missing.empty() ? "" : "; not used: " + missing));
  return source;
}

}  // namespace clear
