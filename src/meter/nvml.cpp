// NVIDIA GPUs through NVML, loaded at run time with dlopen (lib=PATH, default libnvidia-ml.so.1),
// so CLEAR builds and runs on machines without it. Per device: the total-energy counter
// (nvmlDeviceGetTotalEnergyConsumption, mJ since driver load; Volta and later) where supported,
// else power polling (nvmlDeviceGetPowerUsage, mW) integrated by the trapezoid rule in a background
// thread every `poll` (default 50 ms). Caveat recorded in method(): on recent GPUs (Ampere and
// later) the power reading is itself an average over about 1 s, so short windows are smeared.
// Devices: devices=0,1 / GPU-uuid / 0000:3b:00.0 (index, UUID, PCI bus id); without it,
// CUDA_VISIBLE_DEVICES (indices or UUIDs; parsing stops at the first invalid entry like CUDA's;
// NVML indices follow PCI order, so set CUDA_DEVICE_ORDER=PCI_BUS_ID for indices to agree); else all.
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <thread>

#include "clear/util/error.hpp"
#include "sensors.hpp"

namespace clear::meter {
namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;

struct Nvml {
  void* handle = nullptr;
  std::string path;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*count)(unsigned*) = nullptr;
  nvmlReturn_t (*by_index)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*by_uuid)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*by_pci)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*index)(nvmlDevice_t, unsigned*) = nullptr;

  std::string error(const char* call, nvmlReturn_t r) const {
    return std::string("NVML ") + call + ": " + (error_string ? error_string(r) : "error") + " (" + std::to_string(r) + ")";
  }
  void check(const char* call, nvmlReturn_t r) const {
    if (r != NVML_SUCCESS) throw MeterError(error(call, r));
  }
};

template <class F>
void bind(Nvml& n, F& f, const char* symbol) {
  f = reinterpret_cast<F>(::dlsym(n.handle, symbol));
  if (!f) throw MeterUnavailable("unusable", n.path + " has no symbol " + symbol + " (driver too old?)");
}

struct Device {
  nvmlDevice_t handle = nullptr;
  unsigned index = 0;
  std::string name, uuid;
  bool energy_counter = false;
  WrapCounter counter;
  // power polling
  double last_w = 0, last_time = 0, integrated_j = 0;
};

class NvmlSource : public EnergySource {
 public:
  NvmlSource(Nvml nvml, std::vector<Device> devices, double poll_s, std::string selection)
      : nvml_(std::move(nvml)), devices_(std::move(devices)), poll_s_(poll_s), selection_(std::move(selection)) {
    bool polling = false;
    for (auto& d : devices_) {
      domains_.push_back({"gpu-" + std::to_string(d.index), "gpu", true});
      polling |= !d.energy_counter;
    }
    traits_.update_period_s = polling ? poll_s_ : 0.1;  // nominal; characterise
    traits_.resolution_j = 1e-3;
    read_counters_and_power(steady_now_s());
    if (polling) poller_ = std::thread([this] { poll_loop(); });
  }
  ~NvmlSource() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (poller_.joinable()) poller_.join();
    nvml_.shutdown();
    ::dlclose(nvml_.handle);
  }
  std::string name() const override { return "nvml"; }
  bool measured() const override { return true; }
  std::string method() const override {
    std::string m = "NVML (" + nvml_.path + "), " + selection_ + ":";
    for (const auto& d : devices_)
      m += " gpu-" + std::to_string(d.index) + " " + d.name + " " + d.uuid +
           (d.energy_counter ? " [total-energy counter, mJ]"
                             : " [power polled every " + std::to_string(int(poll_s_ * 1e3)) +
                                   " ms and integrated; on recent GPUs the power reading is a ~1 s average]");
    return m;
  }
  std::vector<EnergyDomain> domains() const override { return domains_; }
  SensorTraits traits() const override { return traits_; }
  void set_traits(const SensorTraits& t) override { traits_ = t; }
  EnergySample read() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_.empty()) throw MeterError(error_);
    EnergySample s;
    s.time_s = steady_now_s();
    for (auto& d : devices_) {
      if (d.energy_counter) {
        unsigned long long mj = 0;
        nvml_.check("nvmlDeviceGetTotalEnergyConsumption", nvml_.energy(d.handle, &mj));
        s.joules.push_back(d.counter.update(mj, s.time_s));
      } else {
        // Up to the last poll, then the last power held to now: a polled device has no reading in between.
        s.joules.push_back(d.integrated_j + d.last_w * (s.time_s - d.last_time));
      }
    }
    mark_totals(s, domains_);
    return s;
  }
  EnergySample read_aligned(double timeout_s) override { return read_after_change(*this, timeout_s, 1e-3); }

 private:
  void read_counters_and_power(double now) {
    for (auto& d : devices_) {
      if (d.energy_counter) {
        unsigned long long mj = 0;
        nvml_.check("nvmlDeviceGetTotalEnergyConsumption", nvml_.energy(d.handle, &mj));
        d.counter.update(mj, now);
      } else {
        unsigned mw = 0;
        nvml_.check("nvmlDeviceGetPowerUsage", nvml_.power(d.handle, &mw));
        d.last_w = mw * 1e-3;
        d.last_time = now;
      }
    }
  }
  void poll_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::duration<double>(poll_s_), [this] { return stop_; });
      if (stop_) break;
      double now = steady_now_s();
      for (auto& d : devices_) {
        if (d.energy_counter) continue;
        unsigned mw = 0;
        nvmlReturn_t r = nvml_.power(d.handle, &mw);
        if (r != NVML_SUCCESS) {
          error_ = nvml_.error("nvmlDeviceGetPowerUsage", r) + " on gpu-" + std::to_string(d.index);
          return;  // every later read() fails
        }
        double w = mw * 1e-3;
        d.integrated_j += 0.5 * (d.last_w + w) * (now - d.last_time);
        d.last_w = w;
        d.last_time = now;
      }
    }
  }

  Nvml nvml_;
  std::vector<Device> devices_;
  double poll_s_;
  std::string selection_;
  std::vector<EnergyDomain> domains_;
  SensorTraits traits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string error_;
  std::thread poller_;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string piece = text.substr(pos, end - pos);
    while (!piece.empty() && piece.front() == ' ') piece.erase(piece.begin());
    while (!piece.empty() && piece.back() == ' ') piece.pop_back();
    out.push_back(piece);
    pos = end + 1;
  }
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::unique_ptr<EnergySource> open_nvml(const MeterSpec& spec, const MeterOptions& options) {
  spec.allow_only({"lib", "devices", "poll"});
  Nvml n;
  n.path = spec.find("lib") ? *spec.find("lib") : !options.nvml_library.empty() ? options.nvml_library
          : std::getenv("CLEAR_NVML_LIB") && *std::getenv("CLEAR_NVML_LIB") ? std::getenv("CLEAR_NVML_LIB") : "libnvidia-ml.so.1";
  double poll_s = spec.find("poll") ? parse_seconds(spec, "poll", *spec.find("poll")) : 0.05;
  n.handle = ::dlopen(n.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!n.handle) {
    const char* e = ::dlerror();
    throw MeterUnavailable("library not found", "cannot load " + n.path + ": " + (e ? e : "dlopen failed"),
                           "install the NVIDIA driver, or give the library with nvml:lib=PATH");
  }
  auto fail = [&](auto&& ex) {
    ::dlclose(n.handle);
    throw ex;
  };
  try {
    bind(n, n.init, "nvmlInit_v2");
    bind(n, n.shutdown, "nvmlShutdown");
    bind(n, n.error_string, "nvmlErrorString");
    bind(n, n.count, "nvmlDeviceGetCount_v2");
    bind(n, n.by_index, "nvmlDeviceGetHandleByIndex_v2");
    bind(n, n.by_uuid, "nvmlDeviceGetHandleByUUID");
    bind(n, n.by_pci, "nvmlDeviceGetHandleByPciBusId_v2");
    bind(n, n.energy, "nvmlDeviceGetTotalEnergyConsumption");
    bind(n, n.power, "nvmlDeviceGetPowerUsage");
    bind(n, n.name, "nvmlDeviceGetName");
    bind(n, n.uuid, "nvmlDeviceGetUUID");
    bind(n, n.index, "nvmlDeviceGetIndex");
  } catch (const MeterUnavailable& e) {
    fail(e);
  }
  if (nvmlReturn_t r = n.init(); r != NVML_SUCCESS) fail(MeterUnavailable("unusable", n.error("nvmlInit_v2", r)));

  std::vector<Device> devices;
  std::string selection;
  try {
    unsigned count = 0;
    n.check("nvmlDeviceGetCount_v2", n.count(&count));
    std::vector<std::string> wanted;
    if (const auto* d = spec.find("devices")) {
      wanted = split_list(*d);
      selection = "devices=" + *d;
    } else if (const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES")) {
      selection = "CUDA_VISIBLE_DEVICES=" + std::string(cvd);
      for (const auto& w : split_list(cvd)) {
        // CUDA stops at the first entry that is neither an index nor a UUID; so do we.
        if (all_digits(w) ? std::stoul(w) >= count : w.rfind("GPU-", 0) != 0) break;
        wanted.push_back(w);
      }
      if (wanted.empty())
        throw MeterUnavailable("no devices", "CUDA_VISIBLE_DEVICES='" + std::string(cvd) + "' makes no GPU visible");
    } else {
      selection = "all " + std::to_string(count) + " GPUs";
      for (unsigned i = 0; i < count; ++i) wanted.push_back(std::to_string(i));
    }
    if (count == 0) throw MeterUnavailable("no devices", "NVML reports no GPU");
    for (const auto& w : wanted) {
      Device d;
      nvmlReturn_t r;
      if (all_digits(w)) r = n.by_index(unsigned(std::stoul(w)), &d.handle);
      else if (w.rfind("GPU-", 0) == 0 || w.rfind("MIG-", 0) == 0) r = n.by_uuid(w.c_str(), &d.handle);
      else if (w.find(':') != std::string::npos) r = n.by_pci(w.c_str(), &d.handle);
      else throw Error("nvml devices: '" + w + "' is neither an index, a UUID (GPU-...) nor a PCI bus id (0000:3b:00.0)");
      if (r != NVML_SUCCESS) throw MeterError(n.error("get handle", r) + " for device '" + w + "'");
      char buf[128] = {};
      n.check("nvmlDeviceGetIndex", n.index(d.handle, &d.index));
      n.check("nvmlDeviceGetName", n.name(d.handle, buf, sizeof buf));
      d.name = buf;
      n.check("nvmlDeviceGetUUID", n.uuid(d.handle, buf, sizeof buf));
      d.uuid = buf;
      unsigned long long mj = 0;
      r = n.energy(d.handle, &mj);
      if (r == NVML_SUCCESS) d.energy_counter = true;
      else if (r != NVML_ERROR_NOT_SUPPORTED) throw MeterError(n.error("nvmlDeviceGetTotalEnergyConsumption", r));
      d.counter.unit_j = 1e-3;
      d.counter.what = "NVML total energy of gpu-" + std::to_string(d.index);
      for (const auto& other : devices)
        if (other.index == d.index) throw Error("nvml devices: GPU " + std::to_string(d.index) + " selected twice");
      devices.push_back(d);
    }
    return std::make_unique<NvmlSource>(std::move(n), std::move(devices), poll_s, selection);
  } catch (...) {
    n.shutdown();
    ::dlclose(n.handle);
    throw;
  }
}

}  // namespace clear::meter
