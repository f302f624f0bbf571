// Carbon and cost arithmetic against a hand computation, and the region table.
#include <gtest/gtest.h>

#include "clear/meter/carbon.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

TEST(Carbon, KilogramsFromJoulesIntensityAndPue) {
  SCOPED_TRACE(testing::seed_note());
  auto v = testing::random_doubles(4, 0.0, 1.0);
  double joules = 1e3 + 1e7 * v[0], intensity = 10 + 800 * v[1], pue = 1.0 + v[2], price = 0.5 * v[3];
  CarbonSettings s = carbon_settings(std::nullopt, intensity, pue, price);
  double kwh = joules / 3.6e6;
  EXPECT_NEAR(kg_co2e(joules, s), kwh * pue * intensity / 1000.0, 1e-12);
  EXPECT_NEAR(*energy_cost(joules, s), kwh * pue * price, 1e-12);
  EXPECT_NE(s.intensity_source.find("--carbon-intensity"), std::string::npos);
}

TEST(Carbon, RegionsHaveSourceAndYear) {
  const auto& rows = grid_intensities();
  EXPECT_GE(rows.size(), 30u);
  for (const auto& r : rows) {
    EXPECT_FALSE(r.source.empty()) << r.code;
    EXPECT_GE(r.year, 2015) << r.code;
    EXPECT_GT(r.g_co2e_per_kwh, 0.0) << r.code;
  }
  EXPECT_EQ(grid_intensity("de").code, "DE");
  EXPECT_EQ(grid_intensity("FRA").code, "FR");
  EXPECT_LT(grid_intensity("FR").g_co2e_per_kwh, grid_intensity("PL").g_co2e_per_kwh);
  CarbonSettings world = carbon_settings(std::nullopt, std::nullopt);
  EXPECT_EQ(world.g_co2e_per_kwh, grid_intensity("WORLD").g_co2e_per_kwh);
  EXPECT_NE(world.intensity_source.find("world average"), std::string::npos);
  EXPECT_FALSE(energy_cost(1.0, world).has_value());
}

TEST(Carbon, BadInputsAreErrors) {
  try {
    grid_intensity("XX");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("XX"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("DE"), std::string::npos);  // lists valid codes
  }
  EXPECT_THROW(carbon_settings(std::nullopt, -5.0), Error);
  EXPECT_THROW(carbon_settings(std::nullopt, std::nullopt, 0.5), Error);
  EXPECT_THROW(carbon_settings(std::nullopt, std::nullopt, 1.2, -1.0), Error);
}

}  // namespace
}  // namespace clear
