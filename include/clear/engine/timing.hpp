#pragma once
// Per-component latency of a forward pass: an observer that stamps a steady clock at every
// component's start and end. Used by `dissect run` for its breakdown and by the protocol.
#include <chrono>
#include <cstdint>
#include <vector>

#include "clear/engine/backend.hpp"

namespace clear {

class LatencyObserver : public ComponentObserver {
 public:
  // Sized for `graph`; no allocation happens inside on_begin/on_end.
  explicit LatencyObserver(const ComponentGraph& graph);
  void on_begin(const ComponentGraph& graph, int node) override;
  void on_end(const ComponentGraph& graph, int node) override;
  void reset();
  // Summed seconds and number of begin/end pairs per node since the last reset.
  double seconds(int node) const { return seconds_[node]; }
  int64_t calls(int node) const { return calls_[node]; }
  const std::vector<double>& all_seconds() const { return seconds_; }

 private:
  std::vector<std::chrono::steady_clock::time_point> started_;
  std::vector<double> seconds_;
  std::vector<int64_t> calls_;
};

// Runs `forwards` whole-model passes with a LatencyObserver attached (the backend's observer is
// cleared afterwards) and returns seconds per node per forward (mean over passes). Components that
// did not run have 0; with the fused attention kernel, so do the attention core leaves.
std::vector<double> component_latency(Backend& backend, int forwards);

}  // namespace clear
