#include "fake_sysfs.hpp"

#include <fstream>
#include <stdexcept>

namespace clear::testing {

void write_text(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void make_rapl_zone(const std::filesystem::path& dir, const std::string& name, uint64_t energy_uj, uint64_t range_uj) {
  write_text(dir / "name", name + "\n");
  write_text(dir / "energy_uj", std::to_string(energy_uj) + "\n");
  write_text(dir / "max_energy_range_uj", std::to_string(range_uj) + "\n");
}

void set_energy_uj(const std::filesystem::path& zone, uint64_t energy_uj) {
  write_text(zone / "energy_uj", std::to_string(energy_uj) + "\n");
}

}  // namespace clear::testing
