#pragma once
// Fake sysfs trees for the meter tests: files written with their directories.
#include <cstdint>
#include <filesystem>
#include <string>

namespace clear::testing {

void write_text(const std::filesystem::path& file, const std::string& text);
// <dir>/name, energy_uj, max_energy_range_uj.
void make_rapl_zone(const std::filesystem::path& dir, const std::string& name, uint64_t energy_uj, uint64_t range_uj);
void set_energy_uj(const std::filesystem::path& zone, uint64_t energy_uj);

}  // namespace clear::testing
