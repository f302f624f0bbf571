// Characterisation recovers the emulated sensor's configured update period and resolution within
// 10%, its idle power, and the per-machine cache round-trips.
#include <cstdlib>
#include <gtest/gtest.h>

#include "clear/meter/characterize.hpp"
#include "clear/meter/emulated.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

void expect_recovered(double update_ms, double resolution_mj, double idle_w) {
  char spec[160];
  std::snprintf(spec, sizeof spec, "emulated:update=%.3fms,resolution=%.4fmJ,idle=%.3fW,default=%.3fW", update_ms,
                resolution_mj, idle_w, idle_w * 2.5);
  SCOPED_TRACE(spec);
  auto src = open_meter(spec);
  CharacterizeOptions o;
  o.seconds = 1.5;
  Characterization c = characterize(*src, o);
  EXPECT_NEAR(c.traits.update_period_s, update_ms * 1e-3, 0.1 * update_ms * 1e-3);
  EXPECT_NEAR(c.traits.resolution_j, resolution_mj * 1e-3, 0.1 * resolution_mj * 1e-3);
  EXPECT_FALSE(c.resolution_upper_bound);
  EXPECT_NEAR(c.traits.idle_power_w, idle_w, 0.05 * idle_w);
  EXPECT_TRUE(c.traits.characterised);
  EXPECT_GT(c.traits.read_overhead_s, 0.0);
}

TEST(Characterize, RecoversEmulatedUpdatePeriodAndResolution) {
  SCOPED_TRACE(testing::seed_note());
  auto r = testing::random_doubles(3, 0.0, 1.0);
  expect_recovered(15.0 + 15.0 * r[0], 0.5 + 2.0 * r[1], 20.0 + 40.0 * r[2]);
}

TEST(Characterize, CacheRoundTrip) {
  testing::TempDir dir;
  ::setenv("CLEAR_CACHE_DIR", dir.path().c_str(), 1);
  auto a = open_meter("emulated:update=20ms,resolution=1mJ,idle=30W");
  auto b = open_meter("emulated:update=20ms,resolution=2mJ,idle=30W");
  EXPECT_FALSE(cached_traits(*a).has_value());
  SensorTraits t;
  auto v = testing::random_doubles(6, 0.001, 1.0);
  t.update_period_s = v[0];
  t.resolution_j = v[1];
  t.wrap_range_j = v[2];
  t.read_overhead_s = v[3];
  t.idle_power_w = v[4];
  t.idle_power_sd_w = v[5];
  store_traits(*a, t);
  auto back = cached_traits(*a);
  ASSERT_TRUE(back.has_value());
  EXPECT_DOUBLE_EQ(back->update_period_s, v[0]);
  EXPECT_DOUBLE_EQ(back->resolution_j, v[1]);
  EXPECT_DOUBLE_EQ(back->idle_power_sd_w, v[5]);
  EXPECT_TRUE(back->characterised);
  EXPECT_FALSE(cached_traits(*b).has_value());  // another spec is another key
  ::unsetenv("CLEAR_CACHE_DIR");
}

TEST(Characterize, ASourceThatNeverChangesIsAnError) {
  auto src = open_meter("emulated:update=10s,resolution=1mJ,idle=30W");
  CharacterizeOptions o;
  o.seconds = 0.3;
  EXPECT_THROW(characterize(*src, o), Error);
}

}  // namespace
}  // namespace clear
