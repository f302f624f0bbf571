// powercap RAPL through fake trees: nested zones, wraparound mid-window, duplicates, unreadable
// counters (simulated with the open hook and with a directory in place of the file, since tests run
// as root and root reads mode-000 files), and a read failure mid-run (an error, never 0 J).
#include <cerrno>
#include <fcntl.h>
#include <gtest/gtest.h>

#include "clear/meter/discover.hpp"
#include "clear/meter/source.hpp"
#include "meter/sensors.hpp"
#include "support/fake_sysfs.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using testing::make_rapl_zone;
using testing::set_energy_uj;
namespace fs = std::filesystem;

constexpr uint64_t kRange = 262143328850ULL;  // a real package's max_energy_range_uj

struct Tree {
  testing::TempDir dir;
  fs::path root() const { return dir.path(); }
  fs::path pkg0() const { return dir / "intel-rapl:0"; }
  fs::path dram0() const { return dir / "intel-rapl:0" / "intel-rapl:0:0"; }
  fs::path core0() const { return dir / "intel-rapl:0" / "intel-rapl:0:1"; }
  fs::path pkg1() const { return dir / "intel-rapl:1"; }
};

// Random start values (never equal by accident: distinct ranges of the random draw).
uint64_t start_value(int slot) {
  auto r = testing::random_doubles(1, 0.0, 1.0)[0];
  return uint64_t(1e9 * (slot + 1) + r * 1e8);
}

// What a non-root user sees since CVE-2020-8694: energy_uj fails with EACCES.
void deny_energy_files() {
  meter::set_open_hook_for_tests([](const char* path, int flags) -> int {
    if (std::string(path).find("energy_uj") != std::string::npos) {
      errno = EACCES;
      return -1;
    }
    return ::open(path, flags);
  });
}

std::unique_ptr<EnergySource> open(const Tree& t) { return open_meter("rapl:root=" + t.root().string()); }

TEST(Rapl, NestedZonesNamedCountedAndTotalled) {
  SCOPED_TRACE(testing::seed_note());
  Tree t;
  uint64_t p0 = start_value(0), d0 = start_value(1), c0 = start_value(2), p1 = start_value(3);
  make_rapl_zone(t.pkg0(), "package-0", p0, kRange);
  make_rapl_zone(t.dram0(), "dram", d0, kRange);
  make_rapl_zone(t.core0(), "core", c0, kRange);
  make_rapl_zone(t.pkg1(), "package-1", p1, kRange);
  auto src = open(t);
  EXPECT_EQ(src->name(), "rapl");
  EXPECT_TRUE(src->measured());
  auto d = src->domains();
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].name, "package-0");
  EXPECT_EQ(d[1].name, "dram-0");
  EXPECT_EQ(d[2].name, "core-0");
  EXPECT_EQ(d[3].name, "package-1");
  EXPECT_TRUE(d[0].in_total);
  EXPECT_TRUE(d[1].in_total);
  EXPECT_FALSE(d[2].in_total);  // core is inside package-0

  auto a = src->read();
  auto inc = testing::random_doubles(4, 1e3, 5e6);
  set_energy_uj(t.pkg0(), p0 + uint64_t(inc[0]));
  set_energy_uj(t.dram0(), d0 + uint64_t(inc[1]));
  set_energy_uj(t.core0(), c0 + uint64_t(inc[2]));
  set_energy_uj(t.pkg1(), p1 + uint64_t(inc[3]));
  auto b = src->read();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b.joules[i] - a.joules[i], double(uint64_t(inc[i])) * 1e-6, 1e-9);
  double expected_total = (double(uint64_t(inc[0])) + double(uint64_t(inc[1])) + double(uint64_t(inc[3]))) * 1e-6;
  EXPECT_NEAR(b.total() - a.total(), expected_total, 1e-9);
}

TEST(Rapl, WraparoundMidWindowStaysMonotonic) {
  SCOPED_TRACE(testing::seed_note());
  Tree t;
  uint64_t range = 1000000000;  // 1 kJ
  uint64_t before_wrap = range - uint64_t(testing::random_doubles(1, 1e3, 1e6)[0]);
  make_rapl_zone(t.pkg0(), "package-0", before_wrap, range);
  auto src = open(t);
  auto a = src->read();
  uint64_t after_wrap = uint64_t(testing::random_doubles(1, 1e3, 1e6)[0]);
  set_energy_uj(t.pkg0(), after_wrap);
  auto b = src->read();
  double expected = double(range - before_wrap + after_wrap) * 1e-6;
  EXPECT_NEAR(b.joules[0] - a.joules[0], expected, 1e-9);
  EXPECT_GT(b.joules[0], a.joules[0]);
  EXPECT_NEAR(src->traits().wrap_range_j, 1000.0, 1e-9);
}

TEST(Rapl, GapLongerThanOneWrapAtMaxPowerIsRefused) {
  // A 1 J range at 1 MW max power wraps every microsecond: any two reads are ambiguous.
  Tree t;
  make_rapl_zone(t.pkg0(), "package-0", start_value(0) % 1000000, 1000000);
  testing::write_text(t.pkg0() / "constraint_0_max_power_uw", "1000000000000\n");
  EXPECT_THROW(
      {
        auto src = open(t);
        src->read();
      },
      MeterError);
}

TEST(Rapl, SameDirectoryThroughSymlinkCountedOnce) {
  Tree t;
  make_rapl_zone(t.pkg0(), "package-0", start_value(0), kRange);
  make_rapl_zone(t.dram0(), "dram", start_value(1), kRange);
  // Real sysfs lists sub-zones flat too: /sys/class/powercap/intel-rapl:0:0 -> .../intel-rapl:0/intel-rapl:0:0
  fs::create_directory_symlink(t.dram0(), t.root() / "intel-rapl:0:0");
  auto src = open(t);
  ASSERT_EQ(src->domains().size(), 2u);
}

TEST(Rapl, TwoZonesReportingOneCounterCountedOnce) {
  Tree t;
  uint64_t v = start_value(0);
  make_rapl_zone(t.pkg0(), "package-0", v, kRange);
  make_rapl_zone(t.root() / "intel-rapl-mmio:0", "package-0", v, kRange);  // mmio view of the same counter
  make_rapl_zone(t.pkg1(), "package-1", start_value(3), kRange);
  auto src = open(t);
  auto d = src->domains();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "package-0");
  EXPECT_EQ(d[1].name, "package-1");
  EXPECT_NE(src->method().find("counted once"), std::string::npos);
}

TEST(Rapl, PsysAloneMakesTheTotal) {
  Tree t;
  make_rapl_zone(t.pkg0(), "package-0", start_value(0), kRange);
  make_rapl_zone(t.root() / "intel-rapl:1", "psys", start_value(1), kRange);
  auto d = open(t)->domains();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_FALSE(d[0].in_total);
  EXPECT_TRUE(d[1].in_total);
}

TEST(Rapl, PermissionDeniedNamesTheFix) {
  Tree t;
  make_rapl_zone(t.pkg0(), "package-0", start_value(0), kRange);
  deny_energy_files();
  try {
    open(t);
    meter::set_open_hook_for_tests({});
    FAIL() << "expected MeterUnavailable";
  } catch (const MeterUnavailable& e) {
    meter::set_open_hook_for_tests({});
    EXPECT_EQ(e.status(), "permission denied");
    EXPECT_NE(e.fix().find("chmod o+r"), std::string::npos);
    EXPECT_NE(e.fix().find("CVE-2020-8694"), std::string::npos);
    EXPECT_NE(e.fix().find((t.pkg0() / "energy_uj").string()), std::string::npos);
  }
  // And auto falls back to the estimate, saying why.
  MeterOptions o;
  o.powercap_root = t.root();
  o.perf_power_root = t.root() / "none";
  o.hwmon_root = t.root() / "none";
  o.nvml_library = (t.root() / "none.so").string();
  deny_energy_files();
  auto chosen = open_auto_meter(o);
  meter::set_open_hook_for_tests({});
  EXPECT_EQ(chosen->name(), "estimate");
  EXPECT_NE(chosen->selection_note().find("permission denied"), std::string::npos);
  EXPECT_NE(chosen->selection_note().find("no energy sensor on this machine"), std::string::npos);
}

TEST(Rapl, DirectoryInPlaceOfCounterIsUnusable) {
  Tree t;
  make_rapl_zone(t.pkg0(), "package-0", start_value(0), kRange);
  fs::remove(t.pkg0() / "energy_uj");
  fs::create_directory(t.pkg0() / "energy_uj");
  try {
    open(t);
    FAIL() << "expected MeterUnavailable";
  } catch (const MeterUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("energy_uj"), std::string::npos);
  }
}

TEST(Rapl, ReadFailureMidRunIsAnErrorNeverZero) {
  Tree t;
  make_rapl_zone(t.pkg0(), "package-0", start_value(0), kRange);
  auto src = open(t);
  src->read();
  fs::remove(t.pkg0() / "energy_uj");
  EXPECT_THROW(src->read(), MeterError);
  testing::write_text(t.pkg0() / "energy_uj", "garbage\n");
  EXPECT_THROW(src->read(), MeterError);
}

TEST(Rapl, AbsentTreeIsNotPresent) {
  testing::TempDir d;
  try {
    open_meter("rapl:root=" + (d / "nothing").string());
    FAIL();
  } catch (const MeterUnavailable& e) {
    EXPECT_EQ(e.status(), "not present");
  }
  try {
    open_meter("rapl:root=" + d.path().string());
    FAIL();
  } catch (const MeterUnavailable& e) {
    EXPECT_EQ(e.status(), "not present");
  }
}

TEST(Rapl, AmdNamingFound) {
  Tree t;
  make_rapl_zone(t.root() / "amd-rapl:0", "package-0", start_value(0), kRange);
  auto d = open(t)->domains();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, "package");
}

}  // namespace
}  // namespace clear
