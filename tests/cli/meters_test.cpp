// `dissect meters` and `dissect measure` end to end. Sensor roots are pointed at empty or fake
// places through the environment so the result does not depend on the machine running the test.
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clear/util/files.hpp"
#include "support/test_support.hpp"

namespace {

using clear::testing::run_dissect;
using clear::testing::TempDir;

// No sensor anywhere: the dev and CI machines' situation, made certain.
std::vector<std::string> no_sensor_env(const TempDir& dir) {
  return {"CLEAR_POWERCAP_ROOT=" + (dir / "no-powercap").string(), "CLEAR_PERF_POWER_ROOT=" + (dir / "no-perf").string(),
          "CLEAR_HWMON_ROOT=" + (dir / "no-hwmon").string(), "CLEAR_NVML_LIB=" + (dir / "no-libnvidia-ml.so.1").string(),
          "CLEAR_CACHE_DIR=" + (dir / "cache").string()};
}

TEST(DissectMeters, SaysThereIsNoSensorAndWhatItUsesInstead) {
  TempDir dir;
  auto r = run_dissect({"meters"}, no_sensor_env(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no energy sensor on this machine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ESTIMATE"), std::string::npos) << r.out;
  for (const char* source : {"rapl", "perf-rapl", "hwmon", "nvml"}) EXPECT_NE(r.out.find(source), std::string::npos) << source;
  EXPECT_NE(r.out.find("not present"), std::string::npos);
  EXPECT_NE(r.out.find("library not found"), std::string::npos);
}

TEST(DissectMeters, FindsAFakeRaplTree) {
  TempDir dir;
  auto env = no_sensor_env(dir);
  auto zone = dir / "powercap" / "intel-rapl:0";
  std::filesystem::create_directories(zone);
  std::ofstream(zone / "name") << "package-0\n";
  std::ofstream(zone / "energy_uj") << "123456789\n";
  std::ofstream(zone / "max_energy_range_uj") << "262143328850\n";
  env[0] = "CLEAR_POWERCAP_ROOT=" + (dir / "powercap").string();
  auto r = run_dissect({"meters", "--format", "json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["selected"]["source"], "rapl");
  EXPECT_EQ(j["selected"]["label"], "measured");
}

TEST(DissectMeters, CharacterizesTheEmulatedSensorWithinTenPercent) {
  TempDir dir;
  auto r = run_dissect({"meters", "--characterize", "--seconds", "2", "--format", "json", "--meter",
                        "emulated:update=20ms,resolution=1mJ,idle=30W"},
                       no_sensor_env(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["characterization"].size(), 1u);
  auto c = j["characterization"][0];
  EXPECT_EQ(c["source"], "emulated");
  EXPECT_EQ(c["label"], "measured");
  EXPECT_NEAR(c["update_period_s"].get<double>(), 0.020, 0.002);
  EXPECT_NEAR(c["resolution_j"].get<double>(), 0.001, 0.0001);
  EXPECT_NEAR(c["idle_power_w"].get<double>(), 30.0, 3.0);
  // Cached for the protocol.
  EXPECT_TRUE(std::filesystem::exists(dir / "cache" / "meter_traits.json"));
  auto table = run_dissect({"meters", "--characterize", "--seconds", "1", "--meter", "emulated:update=20ms,resolution=1mJ,idle=30W"},
                           no_sensor_env(dir));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("update period (ms)"), std::string::npos);
}

TEST(DissectMeasure, SleepOneWorksWithTheLabelledEstimate) {
  TempDir dir;
  auto r = run_dissect({"measure", "--", "sleep", "1"}, no_sensor_env(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("estimate-cpu"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NOT A MEASUREMENT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gCO2e/kWh"), std::string::npos) << r.err;

  auto out = dir / "report.json";
  auto j = run_dissect({"measure", "--idle-baseline", "0.2", "--region", "FR", "--price-per-kwh", "0.25", "--format", "json",
                        "--output", out.string(), "--", "sleep", "0.3"},
                       no_sensor_env(dir));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = nlohmann::json::parse(clear::read_file(out));
  EXPECT_EQ(doc["meter"]["label"], "estimate");
  EXPECT_GE(doc["duration_s"].get<double>(), 0.3);
  ASSERT_EQ(doc["domains"].size(), 1u);
  EXPECT_EQ(doc["domains"][0]["label"], "estimate");
  double gross = doc["domains"][0]["gross (J)"].get<double>();
  EXPECT_GT(gross, 0.0);
  double intensity = doc["carbon"]["g_co2e_per_kwh"].get<double>();
  EXPECT_NEAR(doc["domains"][0]["gross CO2e (g)"].get<double>(), gross / 3.6e6 * intensity, 1e-4);
  EXPECT_TRUE(doc["domains"][0].contains("cost"));
}

TEST(DissectMeasure, ReturnsTheCommandsExitStatus) {
  TempDir dir;
  auto r = run_dissect({"measure", "--idle-baseline", "0", "--", "sh", "-c", "exit 3"}, no_sensor_env(dir));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("command exit status: 3"), std::string::npos) << r.err;
}

TEST(DissectMeasure, MissingCommandFailsClearly) {
  TempDir dir;
  auto r = run_dissect({"measure", "--", "/nonexistent"}, no_sensor_env(dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent"), std::string::npos) << r.err;
  auto none = run_dissect({"measure"}, no_sensor_env(dir));
  EXPECT_EQ(none.exit_code, 2);
}

TEST(DissectMeasure, UnknownRegionListsValidCodes) {
  TempDir dir;
  auto r = run_dissect({"measure", "--region", "Atlantis", "--", "true"}, no_sensor_env(dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Atlantis"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("DE"), std::string::npos) << r.err;
}

TEST(DissectMeasure, EmulatedMeterIsLabelledMeasured) {
  TempDir dir;
  auto r = run_dissect({"measure", "--meter", "emulated:update=5ms,resolution=1mJ,idle=40W", "--idle-baseline", "0.2",
                        "--format", "json", "--", "sleep", "0.2"},
                       no_sensor_env(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.err);
  EXPECT_EQ(doc["meter"]["label"], "measured");
  double gross = doc["domains"][0]["gross (J)"].get<double>();
  double duration = doc["duration_s"].get<double>();
  // 40 W the whole time (nothing runs a component): gross ≈ 40 W × duration within one update, and net ≈ 0.
  EXPECT_NEAR(gross, 40.0 * duration, 40.0 * 0.005 + 0.002);
  // The idle power comes from a 0.2 s baseline read with the same one-update uncertainty at each end.
  double per_read = 40.0 * 0.005 + 0.001;
  EXPECT_NEAR(doc["domains"][0]["net (J)"].get<double>(), 0.0, 2 * per_read * (1.0 + duration / 0.2) + 1e-3);
}

}  // namespace
