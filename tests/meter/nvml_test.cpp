// NVML through a fake libnvidia-ml built by tests/meter/extra.cmake and loaded with dlopen by path:
// an energy-counter device, a power-only device (polled and integrated), device selection,
// CUDA_VISIBLE_DEVICES, and NVML errors (never 0 J).
#include <chrono>
#include <cstdlib>
#include <gtest/gtest.h>
#include <thread>

#include "clear/meter/discover.hpp"
#include "clear/meter/source.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

#ifndef FAKE_NVML_PATH
#error "FAKE_NVML_PATH is set by tests/meter/extra.cmake"
#endif

namespace clear {
namespace {

void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }

class Nvml : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"FAKE_NVML_DEVICES", "FAKE_NVML_INIT_ERROR", "FAKE_NVML_FAIL_AFTER", "CUDA_VISIBLE_DEVICES"}) ::unsetenv(v);
  }
  void TearDown() override { SetUp(); }
  std::string spec(const std::string& extra = "") { return std::string("nvml:lib=") + FAKE_NVML_PATH + extra; }
};

TEST_F(Nvml, EnergyCounterAndPowerOnlyDevices) {
  SCOPED_TRACE(testing::seed_note());
  auto w = testing::random_doubles(2, 30.0, 300.0);
  int w0 = int(w[0]), w1 = int(w[1]);
  ::setenv("FAKE_NVML_DEVICES", ("energy:" + std::to_string(w0) + ",power:" + std::to_string(w1)).c_str(), 1);
  auto src = open_meter(spec(",poll=10ms"));
  EXPECT_EQ(src->name(), "nvml");
  auto d = src->domains();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "gpu-0");
  EXPECT_EQ(d[1].kind, "gpu");
  EXPECT_NE(src->method().find("total-energy counter"), std::string::npos);
  EXPECT_NE(src->method().find("~1 s average"), std::string::npos);
  auto a = src->read();
  sleep_ms(200);
  auto b = src->read();
  double dt = b.time_s - a.time_s;
  // The counter device grows at its watts (1 mJ counter resolution); the polled one is integrated.
  EXPECT_NEAR((b.joules[0] - a.joules[0]) / dt, w0, 0.02 * w0 + 0.002 / dt);
  EXPECT_NEAR((b.joules[1] - a.joules[1]) / dt, w1, 0.02 * w1);
}

TEST_F(Nvml, SelectsByIndexUuidAndPciBusId) {
  ::setenv("FAKE_NVML_DEVICES", "energy:100,energy:200,power:50", 1);
  auto by_index = open_meter(spec(":devices=2,0"));
  ASSERT_EQ(by_index->domains().size(), 2u);
  EXPECT_EQ(by_index->domains()[0].name, "gpu-2");
  EXPECT_EQ(by_index->domains()[1].name, "gpu-0");
  auto by_uuid = open_meter(spec(":devices=GPU-fake-0001"));
  ASSERT_EQ(by_uuid->domains().size(), 1u);
  EXPECT_EQ(by_uuid->domains()[0].name, "gpu-1");
  auto by_pci = open_meter(spec(":devices=00000000:03:00.0"));
  EXPECT_EQ(by_pci->domains()[0].name, "gpu-2");
  EXPECT_THROW(open_meter(spec(":devices=GPU-nope")), MeterError);
  EXPECT_THROW(open_meter(spec(":devices=7")), MeterError);
  EXPECT_THROW(open_meter(spec(":devices=banana")), Error);
}

TEST_F(Nvml, HonoursCudaVisibleDevices) {
  ::setenv("FAKE_NVML_DEVICES", "energy:100,energy:200,energy:300", 1);
  ::setenv("CUDA_VISIBLE_DEVICES", "1", 1);
  auto one = open_meter(spec());
  ASSERT_EQ(one->domains().size(), 1u);
  EXPECT_EQ(one->domains()[0].name, "gpu-1");
  ::setenv("CUDA_VISIBLE_DEVICES", "GPU-fake-0002,0", 1);
  auto two = open_meter(spec());
  ASSERT_EQ(two->domains().size(), 2u);
  EXPECT_EQ(two->domains()[0].name, "gpu-2");
  ::setenv("CUDA_VISIBLE_DEVICES", "2,9,0", 1);  // CUDA stops at the invalid 9
  EXPECT_EQ(open_meter(spec())->domains().size(), 1u);
  ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
  try {
    open_meter(spec());
    FAIL();
  } catch (const MeterUnavailable& e) {
    EXPECT_EQ(e.status(), "no devices");
  }
}

TEST_F(Nvml, InitErrorCarriesNvmlErrorString) {
  ::setenv("FAKE_NVML_INIT_ERROR", "9", 1);
  try {
    open_meter(spec());
    FAIL();
  } catch (const MeterError& e) {
    EXPECT_NE(std::string(e.what()).find("Driver Not Loaded"), std::string::npos) << e.what();
  }
}

TEST_F(Nvml, ReadFailureMidRunIsAnErrorNeverZero) {
  ::setenv("FAKE_NVML_DEVICES", "energy:100", 1);
  ::setenv("FAKE_NVML_FAIL_AFTER", "4", 1);
  auto src = open_meter(spec());
  bool failed = false;
  for (int i = 0; i < 10 && !failed; ++i) {
    try {
      src->read();
    } catch (const MeterError& e) {
      failed = true;
      EXPECT_NE(std::string(e.what()).find("GPU is lost"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(failed);
}

TEST_F(Nvml, PollingFailureSurfacesAtTheNextRead) {
  ::setenv("FAKE_NVML_DEVICES", "power:100", 1);
  ::setenv("FAKE_NVML_FAIL_AFTER", "3", 1);
  auto src = open_meter(spec(",poll=5ms"));
  sleep_ms(100);
  EXPECT_THROW(src->read(), MeterError);
}

TEST_F(Nvml, MissingLibraryIsReportedWithItsFix) {
  try {
    open_meter("nvml:lib=/nonexistent/libnvidia-ml.so.1");
    FAIL();
  } catch (const MeterUnavailable& e) {
    EXPECT_EQ(e.status(), "library not found");
    EXPECT_FALSE(e.fix().empty());
  }
}

TEST_F(Nvml, AutoAddsVisibleGpusToTheCpuSource) {
  ::setenv("FAKE_NVML_DEVICES", "energy:100", 1);
  testing::TempDir dir;
  MeterOptions o;
  o.powercap_root = dir / "none";
  o.perf_power_root = dir / "none";
  o.hwmon_root = dir / "none";
  o.nvml_library = FAKE_NVML_PATH;
  auto src = open_auto_meter(o);
  EXPECT_EQ(src->name(), "nvml");  // no CPU sensor in this fake machine, but the GPU is measured
  EXPECT_TRUE(src->measured());
}

}  // namespace
}  // namespace clear
