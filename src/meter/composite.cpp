// Several measured sources read as one (a CPU sensor and the visible GPUs). Reads go part by part;
// the sample's time is the midpoint of the first and last part's reads.
#include <algorithm>

#include "sensors.hpp"

namespace clear::meter {
namespace {

class CompositeSource : public EnergySource {
 public:
  explicit CompositeSource(std::vector<std::unique_ptr<EnergySource>> parts) : parts_(std::move(parts)) {
    for (const auto& p : parts_) {
      auto t = p->traits();
      traits_.update_period_s = std::max(traits_.update_period_s, t.update_period_s);
      traits_.resolution_j = std::max(traits_.resolution_j, t.resolution_j);
      traits_.read_overhead_s += t.read_overhead_s;
      traits_.idle_power_w += t.idle_power_w;
      if (t.wrap_range_j > 0 && (traits_.wrap_range_j == 0 || t.wrap_range_j < traits_.wrap_range_j))
        traits_.wrap_range_j = t.wrap_range_j;
    }
  }
  std::string name() const override {
    std::string n;
    for (const auto& p : parts_) {
      if (!n.empty()) n += '+';
      n += p->name();
    }
    return n;
  }
  bool measured() const override { return true; }
  std::string method() const override {
    std::string m;
    for (const auto& p : parts_) {
      if (!m.empty()) m += " | ";
      m += p->method();
    }
    return m;
  }
  std::vector<EnergyDomain> domains() const override {
    std::vector<EnergyDomain> d;
    for (const auto& p : parts_) {
      auto pd = p->domains();
      d.insert(d.end(), pd.begin(), pd.end());
    }
    return d;
  }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& t) override { traits_ = t; }
  EnergySample read() override {
    EnergySample s;
    double first = 0, last = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
      EnergySample p = parts_[i]->read();
      if (i == 0) first = p.time_s;
      last = p.time_s;
      s.joules.insert(s.joules.end(), p.joules.begin(), p.joules.end());
    }
    s.time_s = 0.5 * (first + last);
    mark_totals(s, domains());
    return s;
  }
  // Aligns on the coarsest part (the one whose update period is longest).
  EnergySample read_aligned(double timeout_s) override {
    size_t coarse = 0;
    for (size_t i = 1; i < parts_.size(); ++i)
      if (parts_[i]->traits().update_period_s > parts_[coarse]->traits().update_period_s) coarse = i;
    parts_[coarse]->read_aligned(timeout_s);
    return read();
  }

 private:
  std::vector<std::unique_ptr<EnergySource>> parts_;
  SensorTraits traits_;
};

}  // namespace

std::unique_ptr<EnergySource> combine_sources(std::vector<std::unique_ptr<EnergySource>> parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  return std::make_unique<CompositeSource>(std::move(parts));
}

}  // namespace clear::meter
