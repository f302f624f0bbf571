// Meter specs: keys, lists, greedy cmd=/file=, quantities, and errors that name the key.
#include <gtest/gtest.h>

#include "clear/meter/source.hpp"
#include "clear/meter/spec.hpp"
#include "clear/util/error.hpp"

namespace clear {
namespace {

TEST(Spec, KeysListsAndGreedyCommands) {
  MeterSpec s = parse_meter_spec("nvml:devices=0,1:lib=/opt/x.so");
  EXPECT_EQ(s.kind, "nvml");
  ASSERT_EQ(s.options.size(), 2u);
  EXPECT_EQ(*s.find("devices"), "0,1");
  EXPECT_EQ(*s.find("lib"), "/opt/x.so");
  MeterSpec p = parse_meter_spec("nvml:devices=0000:3b:00.0");
  EXPECT_EQ(*p.find("devices"), "0000:3b:00.0");
  MeterSpec c = parse_meter_spec("external:poll=2s,cmd=ipmitool dcmi power reading | awk '{print $4\" W\"}', x:y");
  EXPECT_EQ(*c.find("poll"), "2s");
  EXPECT_EQ(*c.find("cmd"), "ipmitool dcmi power reading | awk '{print $4\" W\"}', x:y");
  EXPECT_EQ(parse_meter_spec("auto").options.size(), 0u);
}

TEST(Spec, Quantities) {
  MeterSpec s = parse_meter_spec("emulated");
  EXPECT_DOUBLE_EQ(parse_seconds(s, "update", "10ms"), 0.01);
  EXPECT_DOUBLE_EQ(parse_seconds(s, "update", "250us"), 250e-6);
  EXPECT_DOUBLE_EQ(parse_joules(s, "resolution", "61uJ"), 61e-6);
  EXPECT_DOUBLE_EQ(parse_joules(s, "resolution", "1mJ"), 1e-3);
  EXPECT_DOUBLE_EQ(parse_watts(s, "idle", "500mW"), 0.5);
  EXPECT_DOUBLE_EQ(parse_fraction(s, "noise", "0.5%"), 0.005);
  EXPECT_DOUBLE_EQ(parse_fraction(s, "noise", "0.02"), 0.02);
}

TEST(Spec, ErrorsNameTheKeyOrMeter) {
  auto message = [](const std::string& spec) -> std::string {
    try {
      open_meter(spec);
    } catch (const Error& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("wrong exception type: ") + e.what();
    }
    return "accepted";
  };
  EXPECT_NE(message("bogus").find("unknown meter 'bogus'"), std::string::npos);
  EXPECT_NE(message("rapl:rooot=/x").find("rooot"), std::string::npos);
  EXPECT_NE(message("estimate:tdp=lots").find("tdp"), std::string::npos);
  EXPECT_NE(message("estimate:scope=galaxy").find("scope"), std::string::npos);
  EXPECT_NE(message("emulated:update=10ms,update=20ms").find("twice"), std::string::npos);
  EXPECT_NE(message("emulated:,").find("empty option"), std::string::npos);
  EXPECT_NE(message(":x").find("empty meter name"), std::string::npos);
  EXPECT_NE(message("auto:x=1").find("'x'"), std::string::npos);
  EXPECT_NE(message("external:cmd=").find("cmd"), std::string::npos);
}

}  // namespace
}  // namespace clear
