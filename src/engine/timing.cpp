#include "clear/engine/timing.hpp"

namespace clear {

LatencyObserver::LatencyObserver(const ComponentGraph& graph)
    : started_(graph.nodes.size()), seconds_(graph.nodes.size(), 0.0), calls_(graph.nodes.size(), 0) {}

void LatencyObserver::on_begin(const ComponentGraph&, int node) { started_[node] = std::chrono::steady_clock::now(); }

void LatencyObserver::on_end(const ComponentGraph&, int node) {
  auto now = std::chrono::steady_clock::now();
  seconds_[node] += std::chrono::duration<double>(now - started_[node]).count();
  calls_[node] += 1;
}

void LatencyObserver::reset() {
  std::fill(seconds_.begin(), seconds_.end(), 0.0);
  std::fill(calls_.begin(), calls_.end(), 0);
}

std::vector<double> component_latency(Backend& backend, int forwards) {
  LatencyObserver timer(backend.graph());
  backend.set_observer(&timer);
  try {
    for (int i = 0; i < forwards; ++i) backend.run_model(1);
  } catch (...) {
    backend.set_observer(nullptr);
    throw;
  }
  backend.set_observer(nullptr);
  std::vector<double> mean = timer.all_seconds();
  for (double& s : mean) s /= forwards > 0 ? forwards : 1;
  return mean;
}

}  // namespace clear
