// The estimate: always labelled, never measured, its model stated; linear in busy CPU time.
#include <sys/resource.h>

#include <chrono>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

#include "clear/meter/source.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

TEST(Estimate, LabelledAndStatesItsModel) {
  SCOPED_TRACE(testing::seed_note());
  double tdp = std::round(testing::random_doubles(1, 20.0, 400.0)[0]);
  auto src = open_meter("estimate:tdp=" + std::to_string(int(tdp)));
  EXPECT_EQ(src->name(), "estimate");
  EXPECT_FALSE(src->measured());
  EXPECT_STREQ(energy_label(*src), "estimate");
  EXPECT_NE(src->method().find("ESTIMATE"), std::string::npos);
  EXPECT_NE(src->method().find("--tdp"), std::string::npos);
  ASSERT_EQ(src->domains().size(), 1u);
  EXPECT_EQ(src->domains()[0].kind, "estimate");
}

TEST(Estimate, PowerStaysBetweenIdleAndTdp) {
  SCOPED_TRACE(testing::seed_note());
  double tdp = std::round(testing::random_doubles(1, 20.0, 400.0)[0]);
  MeterOptions o;
  o.tdp_w = tdp;
  for (const char* scope : {"estimate", "estimate:scope=process"}) {
    auto src = open_meter(scope, o);
    auto a = src->read();
    // Some work of our own, so process scope has busy time too.
    volatile double x = 0;
    for (int i = 0; i < 20000000; ++i) x = x + 1e-9 * i;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto b = src->read();
    double dt = b.time_s - a.time_s;
    double p = (b.joules[0] - a.joules[0]) / dt;
    // CPU time is counted in 10 ms ticks: allow two ticks of full dynamic power over the window.
    double slack = 0.7 * tdp * 0.02 / dt;
    EXPECT_GE(p, 0.3 * tdp - slack) << scope;
    EXPECT_LE(p, tdp + slack) << scope;
  }
}

// CPU seconds of this process from getrusage: an independent reference for the process scope.
double rusage_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// scope=process charges only this process's CPU time: while it sleeps the estimate reads exactly
// P_idle whatever the rest of the machine does, and while it computes it follows the process's own
// CPU seconds (getrusage, independent of the meter's clock_gettime) / CPUs.
TEST(Estimate, ProcessScopeFollowsOwnCpuTimeOnly) {
  SCOPED_TRACE(testing::seed_note());
  const double tdp = std::round(testing::random_doubles(1, 20.0, 400.0)[0]);
  MeterOptions o;
  o.tdp_w = tdp;
  auto src = open_meter("estimate:scope=process", o);
  EXPECT_NE(src->method().find("scope=process"), std::string::npos) << src->method();
  EXPECT_NE(open_meter("estimate", o)->method().find("scope=system"), std::string::npos);
  const int cpus = int(std::thread::hardware_concurrency());
  ASSERT_GT(cpus, 0);
  const double idle = 0.3 * tdp;

  // Sleeping: only the reads themselves cost CPU time.
  auto a = src->read();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto b = src->read();
  const double sleep_s = b.time_s - a.time_s;
  const double sleep_power = (b.joules[0] - a.joules[0]) / sleep_s;
  EXPECT_GE(sleep_power, idle * (1 - 1e-9));
  EXPECT_LE(sleep_power, idle + 0.01 * (tdp - idle));

  // Computing with random data: energy = P_idle x wall + (P_max - P_idle) x CPU seconds / CPUs.
  const std::vector<float> data = testing::random_floats(1 << 16);
  const double cpu0 = rusage_cpu_s();
  auto c = src->read();
  volatile double sink = 0;
  while (rusage_cpu_s() - cpu0 < 0.15)
    for (float v : data) sink = sink + double(v) * double(v);
  auto d = src->read();
  const double cpu_s = rusage_cpu_s() - cpu0;
  const double wall_s = d.time_s - c.time_s;
  const double expected = idle * wall_s + (tdp - idle) * cpu_s / cpus;
  // getrusage counts in microseconds around slightly different instants than the meter's reads.
  EXPECT_NEAR(d.joules[0] - c.joules[0], expected, (tdp - idle) * 2e-3 / cpus + 1e-3 * expected);
  EXPECT_GT(d.joules[0] - c.joules[0], idle * wall_s);
  // The counter is fine grained: its stated update period is no tick.
  EXPECT_LT(src->traits().update_period_s, 1e-3);
}

TEST(Estimate, UnknownCpuSaysItIsAGuess) {
  auto src = open_meter("estimate");
  // Either the CPU is in the table (its source is cited) or the method says loudly it guessed.
  std::string m = src->method();
  EXPECT_TRUE(m.find("NOT in the TDP table") != std::string::npos || m.find("TDP ") != std::string::npos) << m;
}

}  // namespace
}  // namespace clear
