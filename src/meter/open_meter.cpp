#include "clear/meter/discover.hpp"
#include "clear/meter/spec.hpp"
#include "clear/util/error.hpp"
#include "sensors.hpp"

namespace clear {

std::unique_ptr<EnergySource> open_meter(const std::string& text, const MeterOptions& options) {
  MeterSpec spec = parse_meter_spec(text);
  if (spec.kind == "auto") {
    spec.allow_only({});
    return open_auto_meter(options);
  }
  if (spec.kind == "rapl") return meter::open_rapl(spec, options);
  if (spec.kind == "perf-rapl") return meter::open_perf_rapl(spec, options);
  if (spec.kind == "nvml") return meter::open_nvml(spec, options);
  if (spec.kind == "hwmon") return meter::open_hwmon(spec, options);
  if (spec.kind == "external") return meter::open_external(spec);
  if (spec.kind == "emulated") return meter::open_emulated(spec);
  if (spec.kind == "estimate") return meter::open_estimate(spec, options);
  throw Error("meter spec '" + text + "': unknown meter '" + spec.kind +
              "' (expected auto, rapl, perf-rapl, nvml, hwmon, external, emulated or estimate)");
}

}  // namespace clear
