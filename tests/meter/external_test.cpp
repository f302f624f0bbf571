// External meters through a real shell command written by the test and a sample file it appends to.
#include <chrono>
#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <thread>

#include "clear/meter/source.hpp"
#include "clear/util/error.hpp"
#include "support/fake_sysfs.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One logger line, with full precision (default stream precision would round Unix time to 1e3 s).
std::string line(double ts, double value, const char* unit) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.6f %.9f %s\n", ts, value, unit);
  return buf;
}

// A meter script that prints whatever the file `value` holds.
std::string make_script(const testing::TempDir& dir, const std::string& first_value) {
  testing::write_text(dir / "value", first_value + "\n");
  testing::write_text(dir / "meter.sh", "#!/bin/sh\ncat '" + (dir / "value").string() + "'\n");
  ::chmod((dir / "meter.sh").c_str(), 0755);
  return (dir / "meter.sh").string();
}

TEST(ExternalCommand, CumulativeJoules) {
  SCOPED_TRACE(testing::seed_note());
  testing::TempDir dir;
  auto v = testing::random_doubles(2, 100.0, 1000.0);
  std::string script = make_script(dir, std::to_string(v[0]) + " J");
  auto src = open_meter("external:cmd=" + script);
  EXPECT_EQ(src->name(), "external");
  EXPECT_TRUE(src->measured());
  auto a = src->read();
  testing::write_text(dir / "value", std::to_string(v[0] + v[1]) + " J\n");
  auto b = src->read();
  EXPECT_NEAR(b.joules[0] - a.joules[0], v[1], 1e-3);
  // Backwards is an error, never a negative or zero energy.
  testing::write_text(dir / "value", std::to_string(v[0]) + " J\n");
  EXPECT_THROW(src->read(), MeterError);
}

TEST(ExternalCommand, WattsAreIntegrated) {
  SCOPED_TRACE(testing::seed_note());
  testing::TempDir dir;
  double w = std::round(testing::random_doubles(1, 50.0, 500.0)[0]);
  std::string script = make_script(dir, std::to_string(w) + " W");
  auto src = open_meter("external:poll=20ms,cmd=" + script);
  auto a = src->read();
  sleep_ms(300);
  auto b = src->read();
  ASSERT_GT(b.time_s, a.time_s);
  EXPECT_NEAR((b.joules[0] - a.joules[0]) / (b.time_s - a.time_s), w, 1e-6 * w);
}

TEST(ExternalCommand, MalformedOutputNamesCommandAndLine) {
  testing::TempDir dir;
  std::string script = make_script(dir, "12.5 kWh-ish");
  try {
    open_meter("external:cmd=" + script);
    FAIL();
  } catch (const MeterError& e) {
    EXPECT_NE(std::string(e.what()).find(script), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("12.5 kWh-ish"), std::string::npos);
  }
  EXPECT_THROW(open_meter("external:cmd=exit 3"), MeterError);
}

TEST(ExternalFile, JoulesAndWattsLines) {
  SCOPED_TRACE(testing::seed_note());
  testing::TempDir dir;
  double t = unix_now() - 2.0;
  auto v = testing::random_doubles(3, 10.0, 100.0);
  {
    std::ofstream f(dir / "joules.log");
    f << line(t, v[0], "J") << line(t + 1, v[0] + v[1], "J");
  }
  auto j = open_meter("external:file=" + (dir / "joules.log").string());
  auto a = j->read();
  EXPECT_NEAR(a.joules[0], v[1], 1e-6);
  {
    std::ofstream f(dir / "joules.log", std::ios::app);
    f << line(t + 1.5, v[0] + v[1] + v[2], "J");
  }
  auto b = j->read();
  EXPECT_NEAR(b.joules[0] - a.joules[0], v[2], 1e-6);
  EXPECT_NEAR(b.time_s - a.time_s, 0.5, 1e-3);

  {
    std::ofstream f(dir / "watts.log");
    f << line(t, v[0], "W") << line(t + 1, v[1], "W");
  }
  auto w = open_meter("external:file=" + (dir / "watts.log").string());
  EXPECT_NEAR(w->read().joules[0], 0.5 * (v[0] + v[1]) * 1.0, 1e-6);
}

TEST(ExternalFile, MalformedLineNamesFileAndLine) {
  testing::TempDir dir;
  double t = unix_now();
  {
    std::ofstream f(dir / "bad.log");
    f << line(t, 10, "J") << std::fixed << t + 0.1 << " ten J\n";
  }
  auto src = open_meter("external:file=" + (dir / "bad.log").string());
  try {
    src->read();
    FAIL();
  } catch (const MeterError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.log line 2"), std::string::npos) << e.what();
  }
}

TEST(ExternalFile, StaleOrEmptyIsAnError) {
  testing::TempDir dir;
  testing::write_text(dir / "empty.log", "");
  EXPECT_THROW(open_meter("external:file=" + (dir / "empty.log").string())->read(), MeterError);
  {
    std::ofstream f(dir / "old.log");
    f << line(unix_now() - 100, 10, "J");
  }
  EXPECT_THROW(open_meter("external:stale=5s,file=" + (dir / "old.log").string())->read(), MeterError);
  EXPECT_THROW(open_meter("external:file=" + (dir / "missing.log").string()), MeterUnavailable);
  EXPECT_THROW(open_meter("external"), Error);
}

}  // namespace
}  // namespace clear
