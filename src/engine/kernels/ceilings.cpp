// Measured GEMM and memory-bandwidth ceilings; see ceilings.hpp.
#include "clear/engine/ceilings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/parallel.hpp"
#include "engine/kernels/reduce.hpp"

namespace clear::kernels {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Restores the thread setting on scope exit.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : previous_(threads()) { set_threads(n); }
  ~ThreadScope() { set_threads(previous_); }
 private:
  int previous_;
};

// Largest cache size reported under /sys (bytes), 0 when unknown. Sizes look like "266240K".
int64_t largest_cache_bytes() {
  int64_t best = 0;
  std::error_code ec;
  std::filesystem::path dir = "/sys/devices/system/cpu/cpu0/cache";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(entry.path() / "size");
    std::string text;
    if (!(in >> text) || text.empty()) continue;
    int64_t mult = 1;
    char unit = text.back();
    if (unit == 'K') mult = 1024;
    if (unit == 'M') mult = 1024 * 1024;
    try {
      best = std::max<int64_t>(best, static_cast<int64_t>(std::stoll(text)) * mult);
    } catch (...) {
    }
  }
  return best;
}

int64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t value = 0;
  while (in >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024;
  return 0;
}

}  // namespace

double measure_gemm_gflops(DType dtype, int nthreads, double seconds) {
  ThreadScope scope(nthreads);
  const int64_t n = kCeilingGemmSize;
  std::mt19937 gen(12345);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(n * n)), x(static_cast<size_t>(n * n)), y(static_cast<size_t>(n * n));
  for (auto& v : w) v = dist(gen);
  for (auto& v : x) v = dist(gen);
  PackedLinear linear(w.data(), nullptr, n, n, dtype);
  linear.prepare(n);
  linear.forward(x.data(), y.data(), n);  // warm-up
  double best = 1e30;
  auto start = Clock::now();
  for (int rep = 0; rep < 3 || seconds_since(start) < seconds; ++rep) {
    auto t0 = Clock::now();
    linear.forward(x.data(), y.data(), n);
    best = std::min(best, seconds_since(t0));
    if (rep > 1000) break;
  }
  return 2.0 * static_cast<double>(n) * n * n / best / 1e9;
}

int64_t bandwidth_array_bytes() {
  const int64_t mib = 1024 * 1024;
  int64_t bytes = std::max<int64_t>(4 * largest_cache_bytes(), 256 * mib);
  bytes = std::min<int64_t>(bytes, 1024 * mib);
  int64_t avail = available_memory_bytes();
  if (avail > 0) bytes = std::min(bytes, avail / 4);
  return bytes / 4096 * 4096;
}

double measure_memory_bandwidth_gbs(int nthreads, double seconds) {
  ThreadScope scope(nthreads);
  const int64_t bytes = bandwidth_array_bytes();
  if (bytes < 64 * 1024 * 1024) throw Error("machine: not enough free memory to measure memory bandwidth");
  const int64_t n = bytes / static_cast<int64_t>(sizeof(float));
  std::unique_ptr<float[]> data(new float[static_cast<size_t>(n)]);
  const int64_t grain = 1 << 20;
  // First touch from the threads that will read it (page placement), with non-zero data.
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) data[i] = static_cast<float>(i & 1023) * 1e-3f;
  });
  volatile float sink = 0.0f;
  double best = 1e30;
  auto start = Clock::now();
  for (int rep = 0; rep < 3 || seconds_since(start) < seconds; ++rep) {
    auto t0 = Clock::now();
    std::vector<float> partial(static_cast<size_t>(threads()), 0.0f);
    parallel_for(n, grain, [&](int64_t b, int64_t e) {
      float s = sum_span(data.get() + b, e - b);
#ifdef _OPENMP
      partial[static_cast<size_t>(omp_get_thread_num())] += s;
#else
      partial[0] += s;
#endif
    });
    best = std::min(best, seconds_since(t0));
    for (float p : partial) sink = sink + p;
    if (rep > 1000) break;
  }
  return static_cast<double>(bytes) / best / 1e9;
}

}  // namespace clear::kernels
