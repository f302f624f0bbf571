// Analysis speed: every zoo model at S = 4096 prefill (graph build + analysis, full convention),
// per model (best of 5 runs, so a scheduler hiccup on a shared machine does not count) and in
// total, as a ratio against the goal of one second for the whole zoo.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "clear/analysis/analysis.hpp"
#include "clear/model/graph.hpp"
#include "clear/model/zoo.hpp"

int main() {
  using clock = std::chrono::steady_clock;
  constexpr int kRuns = 5;
  constexpr double kGoalMs = 1000.0;
  clear::Workload w;
  w.seq = 4096;
  double total_ms = 0.0, first_pass_ms = 0.0;
  long long checksum = 0;  // keeps the work observable
  std::printf("%-26s %10s %12s %20s\n", "model", "graph ms", "analyze ms", "FLOPs");
  for (const auto& entry : clear::zoo_entries()) {
    double best_graph = 1e30, best_analyze = 1e30;
    for (int run = 0; run < kRuns; ++run) {
      const auto t0 = clock::now();
      const clear::ComponentGraph graph = clear::build_graph(clear::zoo_config(entry.name));
      const auto t1 = clock::now();
      const clear::Analysis a = clear::analyze(graph, w);
      const auto t2 = clock::now();
      const double g = std::chrono::duration<double, std::milli>(t1 - t0).count();
      const double r = std::chrono::duration<double, std::milli>(t2 - t1).count();
      if (run == 0) first_pass_ms += g + r;
      best_graph = std::min(best_graph, g);
      best_analyze = std::min(best_analyze, r);
      checksum += a.flops_total % 1000;
      if (run == kRuns - 1)
        std::printf("%-26s %10.3f %12.3f %20lld\n", entry.name.c_str(), best_graph, best_analyze,
                    (long long)a.flops_total);
    }
    total_ms += best_graph + best_analyze;
  }
  std::printf("zoo at S=4096: %.2f ms best-of-%d (first pass %.2f ms) = %.4f of the %.0f ms goal (checksum %lld)\n",
              total_ms, kRuns, first_pass_ms, total_ms / kGoalMs, kGoalMs, checksum);
  return 0;
}
