#include "sensors.hpp"

#include <cstdio>

namespace clear::meter {

double WrapCounter::update(uint64_t raw, double time_s) {
  if (!started) {
    started = true;
    first = last = raw;
    last_time_s = time_s;
    return 0.0;
  }
  if (raw < last) {
    if (range == 0)
      throw MeterError(what + ": counter went backwards (" + std::to_string(last) + " -> " +
                       std::to_string(raw) + ") and has no wrap range");
    wraps += 1.0;
  }
  // A gap long enough for a full range at the largest rate could hide a second wrap.
  if (range != 0 && max_rate_per_s > 0 && time_s - last_time_s > double(range) / max_rate_per_s) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  ": %.1f s since the previous read, longer than the %.1f s the counter needs to wrap "
                  "at its maximum power; it may have wrapped more than once (read it more often)",
                  time_s - last_time_s, double(range) / max_rate_per_s);
    throw MeterError(what + buf);
  }
  last = raw;
  last_time_s = time_s;
  return (wraps * double(range) + double(raw) - double(first)) * unit_j;
}

}  // namespace clear::meter
