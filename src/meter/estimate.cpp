// The estimate used when no sensor exists. Model (linear in utilisation):
//   P(u) = P_idle + (P_max − P_idle) · u,   P_idle = 0.3 · P_max (assumed)
// u is the busy fraction of the CPUs this process can see, over the interval:
//   scope=system (default): busy jiffies (user+nice+system+irq+softirq; idle, iowait and steal
//     excluded) across all CPUs in /proc/stat, divided by (CPUs × USER_HZ × seconds);
//   scope=process: this process's own CPU time (clock_gettime(CLOCK_PROCESS_CPUTIME_ID): every
//     thread, user + system, nanosecond accounting) divided by (CPUs × seconds) — what `dissect
//     profile` uses, so other processes' load on a shared machine is not charged to the model.
//     Its counter changes continuously, so its update period is the clock's, not a tick.
// Because P is linear in u, integrating per interval equals using the busy CPU-seconds directly:
//   E(t) = P_idle · t + (P_max − P_idle) · busy_cpu_seconds / CPUs.
// P_max: --tdp (estimate:tdp=W) when given; else TDP × visible CPUs / threads per socket for a CPU
// in the table (cpu_tdp.cpp); else 4 W per logical CPU, a guess that method() says is a guess.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "clear/util/error.hpp"
#include "cpu_tdp.hpp"
#include "sensors.hpp"

namespace clear::meter {
namespace {

struct StatTotals {
  double busy_cpu_s = 0;
  int cpus = 0;
};

StatTotals read_proc_stat() {
  std::ifstream in("/proc/stat");
  if (!in) throw MeterError("estimate: cannot read /proc/stat");
  StatTotals t;
  std::string line;
  double hz = double(::sysconf(_SC_CLK_TCK));
  bool have_total = false;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) != 0) break;
    std::istringstream ss(line);
    std::string label;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    ss >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
    if (!ss) throw MeterError("estimate: /proc/stat line '" + line + "' is not 'cpu user nice system idle iowait irq softirq ...'");
    if (label == "cpu") {
      t.busy_cpu_s = (user + nice + system + irq + softirq) / hz;
      have_total = true;
    } else {
      t.cpus += 1;
    }
  }
  if (!have_total || t.cpus == 0) throw MeterError("estimate: /proc/stat has no cpu lines");
  return t;
}

// CPU seconds of every thread of this process (user + system), from the scheduler's own accounting.
double process_cpu_seconds() {
  timespec ts{};
  if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    throw MeterError("estimate: clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Counter granularity of the process scope: the CPU-time clock's resolution, at least 1 us (its
// real accounting granularity on Linux is the scheduler's nanosecond clock).
double process_clock_period_s() {
  timespec res{};
  if (::clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) != 0) return 1e-6;
  return std::max(1e-6, double(res.tv_sec) + 1e-9 * double(res.tv_nsec));
}

class EstimateSource : public EnergySource {
 public:
  EstimateSource(double p_max, std::string p_max_reason, bool process_scope, int cpus)
      : p_max_(p_max), p_idle_(kIdleFractionOfTdp * p_max), p_max_reason_(std::move(p_max_reason)),
        process_scope_(process_scope), cpus_(cpus) {
    traits_.update_period_s = process_scope_ ? process_clock_period_s() : 1.0 / double(::sysconf(_SC_CLK_TCK));
    traits_.resolution_j = (p_max_ - p_idle_) / cpus_ * traits_.update_period_s;
    traits_.idle_power_w = p_idle_;
    start_time_ = steady_now_s();
    start_busy_ = busy_cpu_seconds();
  }
  std::string name() const override { return "estimate"; }
  bool measured() const override { return false; }
  std::string method() const override {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "ESTIMATE, not a measurement: P = P_idle + (P_max - P_idle) * u, %s; "
                  "P_max = %.1f W (%s); P_idle = %.0f%% of P_max = %.1f W (assumed)",
                  process_scope_ ? "scope=process: this process's CPU time (CLOCK_PROCESS_CPUTIME_ID) / (wall x CPUs)"
                                 : "scope=system: busy time of every process (/proc/stat) / (wall x CPUs)",
                  p_max_,
                  p_max_reason_.c_str(), kIdleFractionOfTdp * 100, p_idle_);
    return buf;
  }
  std::vector<EnergyDomain> domains() const override { return {{"estimate-cpu", "estimate", true}}; }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& t) override { traits_ = t; }
  EnergySample read() override {
    EnergySample s;
    double busy = busy_cpu_seconds();
    s.time_s = steady_now_s();
    // Busy CPU-seconds per CPU, never more than the time passed (tick rounding can overshoot).
    double busy_fraction_s = std::min(std::max(0.0, busy - start_busy_) / cpus_, s.time_s - start_time_);
    s.joules = {p_idle_ * (s.time_s - start_time_) + (p_max_ - p_idle_) * busy_fraction_s};
    s.in_total = {true};
    return s;
  }

 private:
  double busy_cpu_seconds() const { return process_scope_ ? process_cpu_seconds() : read_proc_stat().busy_cpu_s; }
  double p_max_, p_idle_;
  std::string p_max_reason_;
  bool process_scope_;
  int cpus_;
  double start_time_ = 0, start_busy_ = 0;
  SensorTraits traits_;
};

}  // namespace

std::unique_ptr<EnergySource> open_estimate(const MeterSpec& spec, const MeterOptions& options) {
  spec.allow_only({"tdp", "scope"});
  bool process_scope = false;
  if (const auto* scope = spec.find("scope")) {
    if (*scope == "process") process_scope = true;
    else if (*scope != "system")
      throw Error("meter spec '" + spec.text + "': key 'scope' expects system or process, got '" + *scope + "'");
  }
  int cpus = read_proc_stat().cpus;
  std::string model = cpu_model_name();
  char buf[512];
  double p_max = 0;
  std::optional<double> tdp = options.tdp_w;
  if (const auto* t = spec.find("tdp")) tdp = parse_watts(spec, "tdp", *t + (t->back() == 'W' ? "" : "W"));
  if (tdp) {
    if (!(*tdp > 0)) throw Error("--tdp: expected a positive power in watts");
    p_max = *tdp;
    std::snprintf(buf, sizeof buf, "given with --tdp/tdp= for CPU '%s'", model.c_str());
  } else if (const CpuTdp* row = find_cpu_tdp(model)) {
    p_max = row->tdp_w * double(cpus) / row->threads;  // a VM slice gets its share of the socket
    std::snprintf(buf, sizeof buf, "TDP %.0f W x %d visible of %d threads per socket, %s", row->tdp_w, cpus,
                  row->threads, row->source);
  } else {
    p_max = kFallbackWattsPerLogicalCpu * cpus;
    std::snprintf(buf, sizeof buf,
                  "CPU '%s' is NOT in the TDP table: GUESSED %.0f W per logical CPU x %d CPUs; "
                  "pass --tdp W (or estimate:tdp=W) to set it",
                  model.c_str(), kFallbackWattsPerLogicalCpu, cpus);
  }
  return std::make_unique<EstimateSource>(p_max, buf, process_scope, cpus);
}

}  // namespace clear::meter
