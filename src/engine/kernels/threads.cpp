// Thread count for every kernel, and whether this CPU runs bf16 matrix products natively.
// oneDNN in Debian is built on the GNU OpenMP runtime (libgomp), the same runtime as our own
// `#pragma omp` loops, so one number governs both: our loops pass it as num_threads, and oneDNN
// reads omp_get_max_threads(), which sync_onednn_threads() sets on the calling thread.
#include <atomic>

#include <cpuid.h>
#include <omp.h>
#include <sched.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/parallel.hpp"

namespace clear::kernels {
namespace {

std::atomic<int> g_threads{0};  // 0 = every core this process may use

}  // namespace

int cores_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return omp_get_num_procs();
}

void set_threads(int threads) {
  if (threads < 0) throw Error("--threads: expected a thread count >= 0 (0 = all cores), got " + std::to_string(threads));
  g_threads.store(threads);
  sync_onednn_threads();
}

int threads() {
  int n = g_threads.load();
  return n > 0 ? n : cores_available();
}

void sync_onednn_threads() {
  // The ICV is per thread: set it on whichever thread is about to call into oneDNN.
  int n = threads();
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

bool bf16_supported(std::string* why_not) {
  // CPUID leaf 7: subleaf 1 EAX bit 5 = AVX512_BF16; subleaf 0 EDX bit 22 = AMX-BF16.
  unsigned a = 0, b = 0, c = 0, d = 0;
  bool avx512_bf16 = false, amx_bf16 = false;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) avx512_bf16 = (a >> 5) & 1u;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) amx_bf16 = (d >> 22) & 1u;
  // oneDNN must also have enabled the matching code path (it checks OS support for the state).
  dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  bool onednn_bf16 = isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  if (onednn_bf16 && (avx512_bf16 || amx_bf16)) return true;
  if (why_not) {
    if (!avx512_bf16 && !amx_bf16)
      *why_not = "this CPU has neither AVX512-BF16 nor AMX-BF16 (CPUID leaf 7), so oneDNN would only emulate bf16";
    else
      *why_not = "the CPU reports bf16 instructions but oneDNN's effective ISA is below avx512_core_bf16 "
                 "(ONEDNN_MAX_CPU_ISA or the OS may disable it)";
  }
  return false;
}

std::string onednn_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "unknown";
  }
}

}  // namespace clear::kernels
