#pragma once
// Thermal design power of common CPUs, matched on the /proc/cpuinfo model name. Used only by the
// estimate; every row names where its figure comes from.
#include <string>

namespace clear::meter {

struct CpuTdp {
  const char* pattern;  // substring of the model name
  double tdp_w;         // per socket
  int threads;          // hardware threads per socket
  const char* source;
};

// /proc/cpuinfo's first "model name", or "unknown CPU".
std::string cpu_model_name();

// Null when the model name matches no row.
const CpuTdp* find_cpu_tdp(const std::string& model_name);

// A guess for CPUs not in the table: watts per logical CPU at full load.
constexpr double kFallbackWattsPerLogicalCpu = 4.0;
// Package idle power as a fraction of full-load power (assumed; typical server packages idle at
// 25–35% of TDP).
constexpr double kIdleFractionOfTdp = 0.3;

}  // namespace clear::meter
