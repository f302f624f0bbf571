// The estimate: always labelled, never measured, its model stated; linear in busy CPU time.
#include <chrono>
#include <gtest/gtest.h>
#include <thread>

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

TEST(Estimate, UnknownCpuSaysItIsAGuess) {
  auto src = open_meter("estimate");
  // Either the CPU is in the table (its source is cited) or the method says loudly it guessed.
  std::string m = src->method();
  EXPECT_TRUE(m.find("NOT in the TDP table") != std::string::npos || m.find("TDP ") != std::string::npos) << m;
}

}  // namespace
}  // namespace clear
