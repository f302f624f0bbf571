#include <cmath>

#include "clear/protocol/protocol.hpp"

namespace clear {

std::string roofline_bound(double flops, double bytes, double seconds, const Ceilings& ceilings) {
  if (!(seconds > 0.0) || (flops <= 0.0 && bytes <= 0.0) || ceilings.gemm_gflops <= 0.0 ||
      ceilings.memory_bandwidth_gbs <= 0.0)
    return "unknown";
  const double compute_fraction = flops / seconds / 1e9 / ceilings.gemm_gflops;
  const double memory_fraction = bytes / seconds / 1e9 / ceilings.memory_bandwidth_gbs;
  if (compute_fraction < kOverheadFraction && memory_fraction < kOverheadFraction) return "overhead";
  const double ridge = ceilings.gemm_gflops / ceilings.memory_bandwidth_gbs;  // FLOP per byte
  if (bytes <= 0.0) return "compute";
  return flops / bytes >= ridge ? "compute" : "memory";
}

void fill_roofline(ComponentResult& row, const Ceilings& ceilings) {
  const double t = row.latency_median_s;
  row.gflops = t > 0.0 ? row.flops / t / 1e9 : 0.0;
  row.gbs = t > 0.0 ? row.bytes / t / 1e9 : 0.0;
  row.gflops_fraction = ceilings.gemm_gflops > 0.0 ? row.gflops / ceilings.gemm_gflops : 0.0;
  row.gbs_fraction = ceilings.memory_bandwidth_gbs > 0.0 ? row.gbs / ceilings.memory_bandwidth_gbs : 0.0;
  row.pj_per_flop_net = row.flops > 0.0 ? row.net_j / row.flops * 1e12 : 0.0;
  row.pj_per_flop_gross = row.flops > 0.0 ? row.gross_j / row.flops * 1e12 : 0.0;
  row.bound = roofline_bound(row.flops, row.bytes, t, ceilings);
}

}  // namespace clear
