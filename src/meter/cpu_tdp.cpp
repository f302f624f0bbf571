#include "cpu_tdp.hpp"

#include <fstream>

namespace clear::meter {

namespace {
// TDP (Intel: "Processor Base Power"/TDP on ark.intel.com; AMD: "Default TDP" on amd.com product pages).
const CpuTdp kTable[] = {
    {"Xeon(R) Platinum 8480+", 350, 112, "Intel ARK, Xeon Platinum 8480+ (56 cores, 112 threads)"},
    {"Xeon(R) Platinum 8380", 270, 80, "Intel ARK, Xeon Platinum 8380 (40 cores, 80 threads)"},
    {"Xeon(R) Gold 6338", 205, 64, "Intel ARK, Xeon Gold 6338 (32 cores, 64 threads)"},
    {"Xeon(R) Gold 6248", 150, 40, "Intel ARK, Xeon Gold 6248 (20 cores, 40 threads)"},
    {"Xeon(R) Gold 6130", 125, 32, "Intel ARK, Xeon Gold 6130 (16 cores, 32 threads)"},
    {"Xeon(R) Silver 4214", 85, 24, "Intel ARK, Xeon Silver 4214 (12 cores, 24 threads)"},
    {"Xeon(R) CPU E5-2680 v4", 120, 28, "Intel ARK, Xeon E5-2680 v4 (14 cores, 28 threads)"},
    {"Core(TM) i9-13900K", 125, 32, "Intel ARK, Core i9-13900K base power (24 cores, 32 threads)"},
    {"Core(TM) i7-12700K", 125, 20, "Intel ARK, Core i7-12700K base power (12 cores, 20 threads)"},
    {"Core(TM) i7-1165G7", 28, 8, "Intel ARK, Core i7-1165G7 (4 cores, 8 threads, 28 W configurable TDP-up)"},
    {"EPYC 9654", 360, 192, "AMD, EPYC 9654 default TDP (96 cores, 192 threads)"},
    {"EPYC 7763", 280, 128, "AMD, EPYC 7763 default TDP (64 cores, 128 threads)"},
    {"EPYC 7742", 225, 128, "AMD, EPYC 7742 default TDP (64 cores, 128 threads)"},
    {"Ryzen 9 7950X", 170, 32, "AMD, Ryzen 9 7950X default TDP (16 cores, 32 threads)"},
    {"Ryzen 9 5950X", 105, 32, "AMD, Ryzen 9 5950X default TDP (16 cores, 32 threads)"},
    {"Ryzen 7 5800X", 105, 16, "AMD, Ryzen 7 5800X default TDP (8 cores, 16 threads)"},
};
}  // namespace

const CpuTdp* find_cpu_tdp(const std::string& model_name) {
  for (const auto& row : kTable)
    if (model_name.find(row.pattern) != std::string::npos) return &row;
  return nullptr;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      std::string v = colon == std::string::npos ? "" : line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      return v;
    }
  return "unknown CPU";
}

}  // namespace clear::meter
