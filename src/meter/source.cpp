#include "clear/meter/source.hpp"

#include <chrono>
#include <thread>

namespace clear {

double EnergySample::total() const {
  double sum = 0.0;
  for (size_t i = 0; i < joules.size(); ++i)
    if (in_total.empty() || (i < in_total.size() && in_total[i])) sum += joules[i];
  return sum;
}

EnergySample EnergySource::read_aligned(double) { return read(); }

const char* energy_label(const EnergySource& source) { return source.measured() ? "measured" : "estimate"; }

double steady_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

EnergySample read_after_change(EnergySource& source, double timeout_s, double poll_s) {
  EnergySample first = source.read();
  const double deadline = first.time_s + timeout_s;
  for (;;) {
    EnergySample s = source.read();
    if (s.joules != first.joules || s.time_s >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::duration<double>(poll_s));
  }
}

namespace meter {

void mark_totals(EnergySample& sample, const std::vector<EnergyDomain>& domains) {
  sample.in_total.resize(domains.size());
  for (size_t i = 0; i < domains.size(); ++i) sample.in_total[i] = domains[i].in_total;
}

}  // namespace meter
}  // namespace clear
