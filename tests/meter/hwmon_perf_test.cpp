// hwmon energy inputs through a fake tree, and the perf RAPL PMU's sysfs description (the
// perf_event_open part needs a real PMU; a fake type number must fail cleanly, never read 0 J).
#include <gtest/gtest.h>

#include "clear/meter/source.hpp"
#include "meter/perf_rapl.hpp"
#include "support/fake_sysfs.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using testing::write_text;

TEST(Hwmon, AmdEnergySocketsAndCores) {
  SCOPED_TRACE(testing::seed_note());
  testing::TempDir dir;
  auto chip = dir / "hwmon3";
  write_text(chip / "name", "amd_energy\n");
  auto v = testing::random_doubles(3, 1e9, 9e9);
  write_text(chip / "energy1_input", std::to_string(uint64_t(v[0])) + "\n");
  write_text(chip / "energy1_label", "Ecore000\n");
  write_text(chip / "energy2_input", std::to_string(uint64_t(v[1])) + "\n");
  write_text(chip / "energy2_label", "Ecore001\n");
  write_text(chip / "energy3_input", std::to_string(uint64_t(v[2])) + "\n");
  write_text(chip / "energy3_label", "Esocket0\n");
  write_text(dir / "hwmon0" / "name", "acpitz\n");  // a chip without energy inputs
  auto src = open_meter("hwmon:root=" + dir.path().string());
  auto d = src->domains();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[2].name, "amd_energy-Esocket0");
  EXPECT_EQ(d[2].kind, "package");
  EXPECT_FALSE(d[0].in_total);  // cores are inside the socket
  auto a = src->read();
  auto inc = testing::random_doubles(3, 1e3, 1e7);
  for (int i = 0; i < 3; ++i)
    write_text(chip / ("energy" + std::to_string(i + 1) + "_input"), std::to_string(uint64_t(v[i]) + uint64_t(inc[i])) + "\n");
  auto b = src->read();
  EXPECT_NEAR(b.total() - a.total(), double(uint64_t(inc[2])) * 1e-6, 1e-9);
  write_text(chip / "energy3_input", "5\n");  // backwards: an error
  EXPECT_THROW(src->read(), MeterError);
}

TEST(Hwmon, NoEnergyInputsIsNotPresent) {
  testing::TempDir dir;
  write_text(dir / "hwmon0" / "name", "coretemp\n");
  try {
    open_meter("hwmon:root=" + dir.path().string());
    FAIL();
  } catch (const MeterUnavailable& e) {
    EXPECT_EQ(e.status(), "not present");
  }
}

void make_pmu(const testing::TempDir& dir) {
  write_text(dir / "type", "4242\n");
  write_text(dir / "cpumask", "0,28\n");
  write_text(dir / "events" / "energy-pkg", "event=0x02\n");
  write_text(dir / "events" / "energy-pkg.scale", "2.3283064365386962890625e-10\n");
  write_text(dir / "events" / "energy-pkg.unit", "Joules\n");
  write_text(dir / "events" / "energy-ram", "event=0x03\n");
  write_text(dir / "events" / "energy-ram.scale", "2.3283064365386962890625e-10\n");
  write_text(dir / "events" / "energy-ram.unit", "Joules\n");
}

TEST(PerfRapl, ParsesTheSysfsDescription) {
  testing::TempDir dir;
  make_pmu(dir);
  auto pmu = meter::parse_perf_rapl_sysfs(dir.path());
  EXPECT_EQ(pmu.type, 4242);
  EXPECT_EQ(pmu.cpus, (std::vector<int>{0, 28}));
  ASSERT_EQ(pmu.events.size(), 2u);
  EXPECT_EQ(pmu.events[0].event, "energy-pkg");
  EXPECT_EQ(pmu.events[0].domain_kind, "package");
  EXPECT_EQ(pmu.events[0].config, 2u);
  EXPECT_DOUBLE_EQ(pmu.events[0].scale, 2.3283064365386962890625e-10);
  EXPECT_EQ(pmu.events[1].domain_kind, "dram");
  EXPECT_EQ(meter::parse_cpu_list("0-3,8", dir / "x"), (std::vector<int>{0, 1, 2, 3, 8}));
}

TEST(PerfRapl, MalformedOrAbsentDescriptions) {
  testing::TempDir dir;
  EXPECT_THROW(meter::parse_perf_rapl_sysfs(dir / "none"), MeterUnavailable);
  make_pmu(dir);
  write_text(dir / "events" / "energy-pkg.unit", "Watts\n");
  EXPECT_THROW(meter::parse_perf_rapl_sysfs(dir.path()), MeterError);
  make_pmu(dir);
  write_text(dir / "events" / "energy-pkg", "umask=0x02\n");
  EXPECT_THROW(meter::parse_perf_rapl_sysfs(dir.path()), MeterError);
  make_pmu(dir);
  write_text(dir / "cpumask", "zero\n");
  EXPECT_THROW(meter::parse_perf_rapl_sysfs(dir.path()), MeterError);
  // A PMU type the kernel does not know: opening fails with a MeterError, not a zero reading.
  make_pmu(dir);
  EXPECT_THROW(open_meter("perf-rapl:root=" + dir.path().string()), MeterError);
}

}  // namespace
}  // namespace clear
