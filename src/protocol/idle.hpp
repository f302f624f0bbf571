#pragma once
// Idle power: windows with nothing running, read on counter updates where the sensor allows.
#include <vector>

#include "clear/meter/source.hpp"
#include "clear/protocol/clock.hpp"
#include "clear/protocol/protocol.hpp"

namespace clear::detail {

// `segments` consecutive windows of `segment_s` each (consecutive reads share their boundary).
IdleMeasurement measure_idle(EnergySource& meter, Clock& clock, double segment_s, int segments, double align_timeout_s);

// Idle power at time t, linear between the measurements that bracket it (held flat outside them):
// a drifting idle is followed instead of being assumed constant.
double idle_power_at(const std::vector<IdleMeasurement>& history, double t);

}  // namespace clear::detail
