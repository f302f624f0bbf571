// hwmon energy inputs: <root>/hwmon*/energy*_input in microjoules (amd_energy: Esocket*, Ecore*).
// Domain "<chip name>-<label>" (label from energy*_label, else "energyN"). Counters are accumulated
// by the driver (64 bit); a value going backwards is an error. Cores inside a socket reported by
// the same chip are not added to the total.
#include <algorithm>

#include "sensors.hpp"

namespace clear::meter {
namespace {

namespace fs = std::filesystem;

struct Input {
  fs::path file;
  WrapCounter counter;
};

class HwmonSource : public CounterSource {
 public:
  HwmonSource(fs::path root, std::vector<Input> inputs, std::vector<EnergyDomain> domains)
      : root_(std::move(root)), inputs_(std::move(inputs)) {
    domains_ = std::move(domains);
    traits_.update_period_s = 1e-3;  // nominal; characterise for the real value
    traits_.resolution_j = 1e-6;     // file granularity
    read();
  }
  std::string name() const override { return "hwmon"; }
  std::string method() const override {
    std::string m = "hwmon energy inputs:";
    for (size_t i = 0; i < inputs_.size(); ++i) m += " " + domains_[i].name + "=" + inputs_[i].file.string();
    return m;
  }
  void read_counters(EnergySample& s) override {
    for (auto& in : inputs_) s.joules.push_back(in.counter.update(parse_u64(read_small_file_or_throw(in.file), in.file), s.time_s));
  }

 private:
  fs::path root_;
  std::vector<Input> inputs_;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace

std::unique_ptr<EnergySource> open_hwmon(const MeterSpec& spec, const MeterOptions& options) {
  spec.allow_only({"root"});
  fs::path root = spec.find("root") ? fs::path(*spec.find("root")) : root_or(options.hwmon_root, "CLEAR_HWMON_ROOT", "/sys/class/hwmon");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw MeterUnavailable("not present", root.string() + " does not exist");
  std::vector<fs::path> chips;
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().filename().string().rfind("hwmon", 0) == 0) chips.push_back(it->path());
  std::sort(chips.begin(), chips.end());
  std::vector<Input> inputs;
  std::vector<EnergyDomain> domains;
  for (const auto& chip : chips) {
    std::string text;
    SysfsError error;
    std::string chip_name = read_small_file(chip / "name", text, error) ? text : chip.filename().string();
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(chip, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string n = it->path().filename().string();
      if (n.rfind("energy", 0) == 0 && n.size() > 6 && n.find("_input") != std::string::npos) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    size_t chip_first = domains.size();
    bool has_socket = false;
    for (const auto& f : files) {
      std::string base = f.filename().string();
      base = base.substr(0, base.find("_input"));
      std::string label = read_small_file(chip / (base + "_label"), text, error) ? text : base;
      if (!read_small_file(f, text, error)) {
        if (error.err == EACCES || error.err == EPERM)
          throw MeterUnavailable("permission denied", error.message, "run as root, or: sudo chmod o+r " + f.string());
        throw MeterUnavailable("unusable", error.message);
      }
      std::string l = lower(label);
      std::string kind = l.find("socket") != std::string::npos || l.find("package") != std::string::npos ? "package"
                         : l.find("core") != std::string::npos ? "core" : "system";
      has_socket |= kind == "package";
      Input in;
      in.file = f;
      in.counter.unit_j = 1e-6;
      in.counter.what = f.string();
      inputs.push_back(in);
      domains.push_back({chip_name + "-" + label, kind, true});
    }
    if (has_socket)
      for (size_t i = chip_first; i < domains.size(); ++i) domains[i].in_total = domains[i].kind != "core";
  }
  if (inputs.empty()) throw MeterUnavailable("not present", "no energy*_input under " + root.string() + "/hwmon*");
  return std::make_unique<HwmonSource>(root, std::move(inputs), std::move(domains));
}

}  // namespace clear::meter
