#include "clear/meter/carbon.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "clear/util/embedded.hpp"
#include "clear/util/error.hpp"

namespace clear {

namespace {

// One CSV record; quoted fields may contain commas.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) {
      out.push_back(field);
      field.clear();
    } else field += c;
  }
  out.push_back(field);
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return s;
}

std::vector<GridIntensity> load() {
  std::vector<GridIntensity> rows;
  for (const auto& file : embedded_files_carbon()) {
    if (file.name != "grid_intensity.csv") continue;
    std::istringstream in{std::string(file.content)};
    std::string line;
    bool header = true;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.empty() || line[0] == '#') continue;
      if (header) {
        header = false;
        continue;
      }
      auto f = split_csv(line);
      if (f.size() != 6) throw std::logic_error("data/carbon/grid_intensity.csv line " + std::to_string(line_no) + ": expected 6 fields");
      rows.push_back({f[0], f[1], f[2], std::stod(f[3]), f[4], std::stoi(f[5])});
    }
  }
  if (rows.empty()) throw std::logic_error("data/carbon/grid_intensity.csv is not compiled in");
  return rows;
}

}  // namespace

const std::vector<GridIntensity>& grid_intensities() {
  static const std::vector<GridIntensity> rows = load();
  return rows;
}

const GridIntensity& grid_intensity(const std::string& code) {
  std::string c = upper(code);
  for (const auto& row : grid_intensities())
    if (row.code == c || row.code3 == c) return row;
  std::string valid;
  for (const auto& row : grid_intensities()) valid += (valid.empty() ? "" : ", ") + row.code;
  throw Error("--region: unknown region '" + code + "' (valid codes: " + valid + "; or give --carbon-intensity G)");
}

CarbonSettings carbon_settings(const std::optional<std::string>& region, const std::optional<double>& intensity,
                               double pue, const std::optional<double>& price_per_kwh) {
  CarbonSettings s;
  if (!(pue >= 1.0) || !std::isfinite(pue)) throw Error("--pue: expected a power usage effectiveness >= 1, got " + std::to_string(pue));
  if (price_per_kwh && (!(*price_per_kwh >= 0) || !std::isfinite(*price_per_kwh)))
    throw Error("--price-per-kwh: expected a non-negative price, got " + std::to_string(*price_per_kwh));
  s.pue = pue;
  s.price_per_kwh = price_per_kwh;
  char buf[512];
  if (intensity) {
    if (!(*intensity >= 0) || !std::isfinite(*intensity))
      throw Error("--carbon-intensity: expected gCO2e/kWh >= 0, got " + std::to_string(*intensity));
    s.g_co2e_per_kwh = *intensity;
    std::snprintf(buf, sizeof buf, "%.0f gCO2e/kWh (given with --carbon-intensity)", *intensity);
  } else {
    const GridIntensity& g = grid_intensity(region.value_or("WORLD"));
    s.g_co2e_per_kwh = g.g_co2e_per_kwh;
    std::snprintf(buf, sizeof buf, "%s (%s): %.0f gCO2e/kWh, %s, %d%s", g.code.c_str(), g.name.c_str(), g.g_co2e_per_kwh,
                  g.source.c_str(), g.year, region ? "" : "; world average because no --region was given");
  }
  s.intensity_source = buf;
  return s;
}

double joules_to_kwh(double joules) { return joules / 3.6e6; }

double kg_co2e(double joules, const CarbonSettings& s) {
  return joules_to_kwh(joules) * s.pue * s.g_co2e_per_kwh / 1000.0;
}

std::optional<double> energy_cost(double joules, const CarbonSettings& s) {
  if (!s.price_per_kwh) return std::nullopt;
  return joules_to_kwh(joules) * s.pue * *s.price_per_kwh;
}

}  // namespace clear
