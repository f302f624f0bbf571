#pragma once
// Carbon and cost: kg CO2e = kWh × grid intensity (gCO2e/kWh) / 1000 × PUE; cost = kWh × PUE × price.
// Grid intensities come from data/carbon/grid_intensity.csv (compiled in), one row per country with
// its source and year.
#include <optional>
#include <string>
#include <vector>

namespace clear {

struct GridIntensity {
  std::string code;   // ISO 3166 alpha-2 ("DE"), or "WORLD"
  std::string code3;  // alpha-3 ("DEU")
  std::string name;
  double g_co2e_per_kwh = 0.0;
  std::string source;
  int year = 0;
};

const std::vector<GridIntensity>& grid_intensities();
// By alpha-2 or alpha-3 code, case-insensitive; throws clear::Error listing valid codes.
const GridIntensity& grid_intensity(const std::string& code);

struct CarbonSettings {
  double g_co2e_per_kwh = 0.0;
  double pue = 1.0;                    // data-centre power usage effectiveness (1.0: none applied)
  std::optional<double> price_per_kwh;  // currency units per kWh
  std::string intensity_source;        // "DE: Germany, 380 gCO2e/kWh (Ember ..., 2023)" or "--carbon-intensity"
};

// --region, --carbon-intensity (overrides the region), --pue, --price-per-kwh; with neither region
// nor intensity the world average is used and intensity_source says so. Throws clear::Error on bad values.
CarbonSettings carbon_settings(const std::optional<std::string>& region,
                               const std::optional<double>& intensity_g_per_kwh,
                               double pue = 1.0,
                               const std::optional<double>& price_per_kwh = std::nullopt);

double joules_to_kwh(double joules);
double kg_co2e(double joules, const CarbonSettings& settings);
std::optional<double> energy_cost(double joules, const CarbonSettings& settings);

}  // namespace clear
