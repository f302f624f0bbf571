#include "idle.hpp"

#include <cmath>

namespace clear::detail {

IdleMeasurement measure_idle(EnergySource& meter, Clock& clock, double segment_s, int segments, double align_timeout_s) {
  std::vector<double> powers;
  EnergySample start = meter.read_aligned(align_timeout_s);
  const double first_time = start.time_s;
  for (int s = 0; s < segments; ++s) {
    clock.sleep(segment_s);
    EnergySample end = meter.read_aligned(align_timeout_s);
    const double dt = end.time_s - start.time_s;
    if (!(dt > 0.0))
      throw MeterError(meter.name() + ": two reads " + std::to_string(segment_s) + " s apart carry the same time stamp");
    powers.push_back((end.total() - start.total()) / dt);
    start = end;
  }
  const Summary s = summarize(powers);
  IdleMeasurement idle;
  idle.power_w = s.mean;
  idle.sd_w = s.sd;
  idle.ci95_w = segments > 1 ? s.ci95_half : 0.0;
  idle.segments = segments;
  idle.duration_s = start.time_s - first_time;
  idle.time_s = 0.5 * (first_time + start.time_s);
  return idle;
}

double idle_power_at(const std::vector<IdleMeasurement>& history, double t) {
  if (history.empty()) return 0.0;
  if (t <= history.front().time_s) return history.front().power_w;
  for (size_t i = 1; i < history.size(); ++i) {
    const auto& a = history[i - 1];
    const auto& b = history[i];
    if (t <= b.time_s) {
      const double span = b.time_s - a.time_s;
      return span > 0.0 ? a.power_w + (b.power_w - a.power_w) * (t - a.time_s) / span : b.power_w;
    }
  }
  return history.back().power_w;
}

}  // namespace clear::detail
