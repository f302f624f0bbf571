// perf_event RAPL: one counter per (event, package), opened with perf_event_open on a CPU of that
// package (cpumask). The kernel accumulates the 32-bit MSR into 64 bits, so no wrap handling is
// needed here; a counter going backwards is an error. Used where powercap is absent or unreadable.
#include "perf_rapl.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "sensors.hpp"

namespace clear::meter {

namespace fs = std::filesystem;

std::vector<int> parse_cpu_list(const std::string& text, const fs::path& file) {
  std::vector<int> cpus;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string piece = text.substr(pos, end - pos);
    size_t dash = piece.find('-');
    try {
      if (dash == std::string::npos) {
        cpus.push_back(int(parse_u64(piece, file)));
      } else {
        int a = int(parse_u64(piece.substr(0, dash), file)), b = int(parse_u64(piece.substr(dash + 1), file));
        for (int c = a; c <= b; ++c) cpus.push_back(c);
      }
    } catch (const MeterError&) {
      throw MeterError(file.string() + ": expected a CPU list such as 0,28 or 0-3, read '" + text + "'");
    }
    pos = end + 1;
  }
  if (cpus.empty()) throw MeterError(file.string() + ": empty CPU list");
  return cpus;
}

PerfRaplPmu parse_perf_rapl_sysfs(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root / "events", ec))
    throw MeterUnavailable("not present", (root / "events").string() + " does not exist (no RAPL perf PMU)");
  PerfRaplPmu pmu;
  pmu.type = int(parse_u64(read_small_file_or_throw(root / "type"), root / "type"));
  pmu.cpus = parse_cpu_list(read_small_file_or_throw(root / "cpumask"), root / "cpumask");
  std::vector<std::string> names;
  for (auto it = fs::directory_iterator(root / "events", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.rfind("energy-", 0) == 0 && n.find('.') == std::string::npos) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    PerfRaplEvent e;
    e.event = n;
    std::string suffix = n.substr(7);
    e.domain_kind = suffix == "pkg" ? "package" : suffix == "cores" ? "core" : suffix == "ram" ? "dram" : suffix;
    fs::path file = root / "events" / n;
    std::string text = read_small_file_or_throw(file);
    auto eq = text.find("event=");
    if (eq == std::string::npos) throw MeterError(file.string() + ": expected 'event=0x..', read '" + text + "'");
    std::string hex = text.substr(eq + 6, text.find(',', eq) == std::string::npos ? std::string::npos : text.find(',', eq) - eq - 6);
    char* end = nullptr;
    e.config = std::strtoull(hex.c_str(), &end, 0);
    if (end == hex.c_str()) throw MeterError(file.string() + ": expected 'event=0x..', read '" + text + "'");
    fs::path scale_file = root / "events" / (n + ".scale");
    std::string scale = read_small_file_or_throw(scale_file);
    e.scale = std::strtod(scale.c_str(), &end);
    if (end == scale.c_str() || !(e.scale > 0)) throw MeterError(scale_file.string() + ": expected a positive number, read '" + scale + "'");
    fs::path unit_file = root / "events" / (n + ".unit");
    std::string unit = read_small_file_or_throw(unit_file);
    if (unit != "Joules") throw MeterError(unit_file.string() + ": expected 'Joules', read '" + unit + "'");
    pmu.events.push_back(e);
  }
  if (pmu.events.empty()) throw MeterUnavailable("not present", (root / "events").string() + " lists no energy-* events");
  return pmu;
}

namespace {

struct Counter {
  int fd = -1;
  double scale = 0;
  WrapCounter counter;
};

class PerfRaplSource : public CounterSource {
 public:
  PerfRaplSource(fs::path root, std::vector<Counter> counters, std::vector<EnergyDomain> domains)
      : root_(std::move(root)), counters_(std::move(counters)) {
    domains_ = std::move(domains);
    traits_.update_period_s = 1e-3;
    traits_.resolution_j = counters_.empty() ? 0 : counters_[0].scale;
  }
  ~PerfRaplSource() override {
    for (auto& c : counters_) ::close(c.fd);
  }
  std::string name() const override { return "perf-rapl"; }
  std::string method() const override {
    std::string m = "perf_event RAPL PMU (" + root_.string() + "):";
    for (const auto& d : domains_) m += " " + d.name;
    return m;
  }
  void read_counters(EnergySample& s) override {
    for (auto& c : counters_) {
      uint64_t raw = 0;
      if (::read(c.fd, &raw, sizeof raw) != ssize_t(sizeof raw))
        throw MeterError(c.counter.what + ": read failed: " + std::strerror(errno));
      s.joules.push_back(c.counter.update(raw, s.time_s));
    }
  }

 private:
  fs::path root_;
  std::vector<Counter> counters_;
};

}  // namespace

std::unique_ptr<EnergySource> open_perf_rapl(const MeterSpec& spec, const MeterOptions& options) {
  spec.allow_only({"root"});
  fs::path root = spec.find("root") ? fs::path(*spec.find("root"))
                                    : root_or(options.perf_power_root, "CLEAR_PERF_POWER_ROOT", "/sys/bus/event_source/devices/power");
  PerfRaplPmu pmu = parse_perf_rapl_sysfs(root);
  bool psys = std::any_of(pmu.events.begin(), pmu.events.end(), [](const auto& e) { return e.domain_kind == "psys"; });
  std::vector<Counter> counters;
  std::vector<EnergyDomain> domains;
  auto close_all = [&] { for (auto& c : counters) ::close(c.fd); };
  for (size_t p = 0; p < pmu.cpus.size(); ++p)
    for (const auto& e : pmu.events) {
      if (e.domain_kind == "psys" && p > 0) continue;  // platform-wide: once
      perf_event_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.type = uint32_t(pmu.type);
      attr.size = sizeof attr;
      attr.config = e.config;
      int fd = int(::syscall(SYS_perf_event_open, &attr, -1, pmu.cpus[p], -1, 0));
      if (fd < 0) {
        int err = errno;
        close_all();
        std::string what = "perf_event_open(" + e.event + ", cpu " + std::to_string(pmu.cpus[p]) + "): " + std::strerror(err);
        if (err == EACCES || err == EPERM)
          throw MeterUnavailable("permission denied", what,
                                 "run as root, grant CAP_PERFMON, or: sudo sysctl kernel.perf_event_paranoid=0");
        throw MeterUnavailable("unusable", what);
      }
      Counter c;
      c.fd = fd;
      c.scale = e.scale;
      c.counter.unit_j = e.scale;
      c.counter.what = "perf " + e.event + " cpu " + std::to_string(pmu.cpus[p]);
      counters.push_back(c);
      std::string name = e.domain_kind == "psys" ? "psys" : e.domain_kind + "-" + std::to_string(p);
      bool in_total = psys ? e.domain_kind == "psys" : (e.domain_kind == "package" || e.domain_kind == "dram");
      domains.push_back({name, e.domain_kind, in_total});
    }
  auto source = std::make_unique<PerfRaplSource>(root, std::move(counters), std::move(domains));
  // A virtual machine may expose the PMU but never advance it: watch it for 50 ms.
  EnergySample a = source->read();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EnergySample b = source->read();
  if (a.joules == b.joules)
    throw MeterUnavailable("unusable", "perf RAPL counters at " + root.string() +
                                           " did not change in 50 ms (a virtual machine exposing the PMU without RAPL?)");
  return source;
}

}  // namespace clear::meter
