// Linux powercap RAPL (Intel "intel-rapl", AMD "amd-rapl"/"intel-rapl" on Zen, "intel-rapl-mmio").
// Zones are found by walking <root> and every zone's sub-zones. The same counter can appear more
// than once; the rule (counted once, first in path order kept):
//   1. the same zone directory reached twice (real sysfs lists sub-zones both flat, as symlinks in
//      /sys/class/powercap, and nested under their parent): equal canonical paths;
//   2. two zones reporting one counter (mmio and msr interfaces of a package; dies of one package):
//      equal max_energy_range_uj and equal non-zero energy_uj in the same read round (two rounds
//      are taken; genuinely different counters agreeing to the microjoule is not a real event).
// Totals: psys alone when present (it covers the platform); else every package and dram zone;
// core and uncore are inside their package and never added.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "sensors.hpp"

namespace clear::meter {
namespace {

namespace fs = std::filesystem;

struct Zone {
  fs::path dir;        // as found
  fs::path canonical;
  std::string zone_id; // "intel-rapl:0:1"
  std::string label;   // contents of `name`
  std::string domain;  // "package-0", "dram-0"
  std::string kind;
  uint64_t range_uj = 0;
  double max_power_w = 0;
  WrapCounter counter;
};

bool is_zone_name(const std::string& n) {
  for (const char* prefix : {"intel-rapl:", "amd-rapl:", "intel-rapl-mmio:"})
    if (n.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string kind_of(const std::string& label) {
  for (const char* k : {"package", "psys", "dram", "uncore", "core"})
    if (label.rfind(k, 0) == 0) return k;
  return "other";
}

void walk(const fs::path& dir, std::vector<fs::path>& found, int depth) {
  std::error_code ec;
  std::vector<fs::path> here;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (is_zone_name(it->path().filename().string())) here.push_back(it->path());
  // MSR zones before their mmio twins, so the duplicate rule keeps the MSR one.
  std::sort(here.begin(), here.end(), [](const fs::path& a, const fs::path& b) {
    bool ma = a.filename().string().rfind("intel-rapl-mmio:", 0) == 0, mb = b.filename().string().rfind("intel-rapl-mmio:", 0) == 0;
    return ma != mb ? mb : a < b;
  });
  for (const auto& p : here) {
    found.push_back(p);
    if (depth < 4) walk(p, found, depth + 1);
  }
}

class RaplSource : public CounterSource {
 public:
  RaplSource(fs::path root, std::vector<Zone> zones, std::vector<std::string> duplicates)
      : root_(std::move(root)), zones_(std::move(zones)), duplicates_(std::move(duplicates)) {
    bool psys = std::any_of(zones_.begin(), zones_.end(), [](const Zone& z) { return z.kind == "psys"; });
    for (const auto& z : zones_) {
      bool in_total = psys ? z.kind == "psys" : (z.kind == "package" || z.kind == "dram");
      domains_.push_back({z.domain, z.kind, in_total});
      double range_j = double(z.range_uj) * 1e-6;
      if (range_j > 0 && (traits_.wrap_range_j == 0 || range_j < traits_.wrap_range_j)) traits_.wrap_range_j = range_j;
    }
    // Nominal: Intel SDM, RAPL counters update about every 1 ms in units of 2^-14 J (61 µJ).
    traits_.update_period_s = 1e-3;
    traits_.resolution_j = 61e-6;
    read();  // primes every counter; fails now rather than mid-measurement
  }
  std::string name() const override { return "rapl"; }
  std::string method() const override {
    std::string m = "powercap RAPL at " + root_.string() + ": ";
    for (size_t i = 0; i < zones_.size(); ++i) {
      if (i) m += ", ";
      m += zones_[i].domain + "=" + zones_[i].zone_id;
    }
    for (const auto& d : duplicates_) m += "; " + d;
    return m;
  }
  void read_counters(EnergySample& s) override {
    for (auto& z : zones_) {
      fs::path file = z.dir / "energy_uj";
      std::string text;
      SysfsError error;
      if (!read_small_file(file, text, error))
        throw MeterError(error.message + (error.err == EACCES || error.err == EPERM ? " (fix: " + energy_permission_fix(file) + ")" : ""));
      s.joules.push_back(z.counter.update(parse_u64(text, file), s.time_s));
    }
  }

 private:
  fs::path root_;
  std::vector<Zone> zones_;
  std::vector<std::string> duplicates_;
};

}  // namespace

std::unique_ptr<EnergySource> open_rapl(const MeterSpec& spec, const MeterOptions& options) {
  spec.allow_only({"root"});
  fs::path root = spec.find("root") ? fs::path(*spec.find("root"))
                                    : root_or(options.powercap_root, "CLEAR_POWERCAP_ROOT", "/sys/class/powercap");
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw MeterUnavailable("not present", root.string() + " does not exist (no powercap driver: a VM, or intel_rapl_msr / intel_rapl_common not loaded)",
                           "on bare metal: sudo modprobe intel_rapl_msr");
  std::vector<fs::path> paths;
  walk(root, paths, 0);
  if (paths.empty())
    throw MeterUnavailable("not present", root.string() + " has no intel-rapl:* or amd-rapl:* zones");

  std::vector<Zone> zones;
  std::vector<std::string> duplicates;
  std::set<fs::path> seen;
  for (const auto& p : paths) {
    Zone z;
    z.dir = p;
    z.canonical = fs::weakly_canonical(p, ec);
    if (ec) z.canonical = p;
    z.zone_id = p.filename().string();
    if (!seen.insert(z.canonical).second) continue;  // rule 1: same directory twice
    z.label = read_small_file_or_throw(p / "name");
    z.kind = kind_of(z.label);
    std::string text;
    SysfsError error;
    if (read_small_file(p / "max_energy_range_uj", text, error)) z.range_uj = parse_u64(text, p / "max_energy_range_uj");
    for (const char* c : {"constraint_0_max_power_uw", "constraint_1_max_power_uw"})
      if (read_small_file(p / c, text, error)) {
        try { z.max_power_w = std::max(z.max_power_w, double(parse_u64(text, p / c)) * 1e-6); } catch (const MeterError&) {}
      }
    zones.push_back(std::move(z));
  }
  // Every energy_uj must be readable now: a permission problem is reported with its fix.
  for (const auto& z : zones) {
    fs::path file = z.dir / "energy_uj";
    std::string text;
    SysfsError error;
    if (!read_small_file(file, text, error)) {
      if (error.err == EACCES || error.err == EPERM)
        throw MeterUnavailable("permission denied", error.message, energy_permission_fix(file));
      throw MeterUnavailable("unusable", error.message);
    }
  }
  // Rule 2: one counter behind two zones.
  std::vector<std::vector<uint64_t>> rounds(2, std::vector<uint64_t>(zones.size()));
  for (auto& round : rounds)
    for (size_t i = 0; i < zones.size(); ++i)
      round[i] = parse_u64(read_small_file_or_throw(zones[i].dir / "energy_uj"), zones[i].dir / "energy_uj");
  std::vector<bool> drop(zones.size(), false);
  for (size_t i = 0; i < zones.size(); ++i)
    for (size_t j = i + 1; j < zones.size(); ++j) {
      if (drop[j] || drop[i] || zones[i].range_uj != zones[j].range_uj) continue;
      for (const auto& round : rounds)
        if (round[i] != 0 && round[i] == round[j]) {
          drop[j] = true;
          duplicates.push_back(zones[j].zone_id + " (" + zones[j].label + ") reports the same counter as " +
                               zones[i].zone_id + " (" + zones[i].label + "): counted once");
          break;
        }
    }
  std::vector<Zone> kept;
  for (size_t i = 0; i < zones.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(zones[i]));

  // Domain names: top-level labels as they are ("package-0", "psys"); sub-zones get their
  // package's index ("dram-0", "core-1"), found from the zone id "intel-rapl:<pkg>:<sub>".
  std::map<std::string, int> used;
  for (auto& z : kept) {
    std::string domain = z.label;
    size_t first = z.zone_id.find(':');
    size_t second = z.zone_id.find(':', first + 1);
    if (second != std::string::npos && z.label.find('-') == std::string::npos)
      domain = z.label + "-" + z.zone_id.substr(first + 1, second - first - 1);
    if (z.zone_id.rfind("intel-rapl-mmio:", 0) == 0) domain += "-mmio";
    if (int repeat = used[domain]++; repeat > 0) {
      domain += '#';
      domain += std::to_string(repeat);
    }
    z.domain = domain;
    z.counter.unit_j = 1e-6;
    z.counter.range = z.range_uj;
    z.counter.max_rate_per_s = z.max_power_w * 1e6;
    z.counter.what = (z.dir / "energy_uj").string();
  }
  return std::make_unique<RaplSource>(root, std::move(kept), std::move(duplicates));
}

}  // namespace clear::meter
