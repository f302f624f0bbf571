#include "clear/protocol/machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <dnnl.h>
#include <fmt/format.h>

#include "clear/engine/ceilings.hpp"
#include "clear/engine/kernels.hpp"
#include "clear/util/files.hpp"
#include "clear/version.hpp"

namespace clear {

namespace {

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

std::string human_bytes(int64_t bytes) {
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= 1024) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

// "32K" / "1024K" / "32M" as in sysfs cache size files.
int64_t parse_cache_size(const std::string& text) {
  if (text.empty()) return 0;
  int64_t value = std::atoll(text.c_str());
  const char unit = text.back();
  if (unit == 'K') value <<= 10;
  if (unit == 'M') value <<= 20;
  return value;
}

std::string cache_summary() {
  std::string out;
  for (int i = 0; i < 8; ++i) {
    const std::filesystem::path dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}", i);
    if (!std::filesystem::exists(dir)) break;
    const std::string level = first_line(dir / "level");
    std::string type = first_line(dir / "type");
    const std::string suffix = type == "Data" ? "d" : type == "Instruction" ? "i" : "";
    out += fmt::format("{}L{}{} {}", out.empty() ? "" : ", ", level, suffix, human_bytes(parse_cache_size(first_line(dir / "size"))));
  }
  return out.empty() ? "unavailable" : out;
}

}  // namespace

MachineInfo probe_machine() {
  MachineInfo m;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  m.hostname = host;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::set<std::pair<std::string, std::string>> cores;
  std::string physical;
  while (std::getline(cpuinfo, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && m.cpu_model.empty()) m.cpu_model = value;
    if (key == "physical id") physical = value;
    if (key == "core id") cores.insert({physical, value});
  }
  if (m.cpu_model.empty()) m.cpu_model = "unknown";
  m.threads = sysconf(_SC_NPROCESSORS_ONLN);
  m.cores = cores.empty() ? m.threads : static_cast<int64_t>(cores.size());
  m.caches = cache_summary();
  m.governor = first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (m.governor.empty()) m.governor = "unavailable (no cpufreq)";
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
#if defined(__clang__)
  m.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  m.compiler = std::string("gcc ") + __VERSION__;
#endif
  const dnnl_version_t* v = dnnl_version();
  m.onednn_version = fmt::format("{}.{}.{} ({})", v->major, v->minor, v->patch, v->hash);
  m.clear_version = kVersion;
  m.clear_commit = kGitCommit;
  return m;
}

std::filesystem::path machine_cache_path() { return cache_dir() / "machine.json"; }

MachineInfo machine_info(const MachineOptions& options) {
  MachineInfo m = probe_machine();
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(m.threads);
  const auto path = machine_cache_path();
  if (!options.refresh && std::filesystem::exists(path)) {
    try {
      const MachineInfo cached = machine_from_json(nlohmann::json::parse(read_file(path)));
      // The ceilings are the engine's own kernels on this machine: another build (commit) may
      // run other kernels, so it measures again.
      if (cached.hostname == m.hostname && cached.cpu_model == m.cpu_model && cached.ceiling_threads == threads &&
          cached.clear_version == m.clear_version && cached.clear_commit == m.clear_commit &&
          cached.gemm_gflops.count("fp32")) {
        m.gemm_gflops = cached.gemm_gflops;
        m.memory_bandwidth_gbs = cached.memory_bandwidth_gbs;
        m.ceiling_threads = cached.ceiling_threads;
        m.measured_at = cached.measured_at;
        m.notes = cached.notes;
        return m;
      }
    } catch (const nlohmann::json::exception&) {
      // A corrupt cache is measured again and overwritten.
    }
  }
  m.ceiling_threads = threads;
  m.gemm_gflops["fp32"] = kernels::measure_gemm_gflops(DType::fp32, threads, options.seconds_per_ceiling);
  std::string why_not;
  if (kernels::bf16_supported(&why_not))
    m.gemm_gflops["bf16"] = kernels::measure_gemm_gflops(DType::bf16, threads, options.seconds_per_ceiling);
  else
    m.notes = "bf16 GEMM not measured: " + why_not;
  m.memory_bandwidth_gbs = kernels::measure_memory_bandwidth_gbs(threads, options.seconds_per_ceiling);
  m.measured_at = utc_now_iso();
  write_file_atomic(path, to_json(m).dump(2) + "\n");
  return m;
}

}  // namespace clear
