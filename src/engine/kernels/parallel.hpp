#pragma once
// Internal helpers shared by the kernel files: the parallel loop every kernel uses (OpenMP, the
// runtime oneDNN also uses, with the thread count of clear::kernels::threads()), and the
// function-multiversioning attribute for loops the compiler vectorises (the build has no -march,
// so each such loop is compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time).
#include <algorithm>
#include <cstdint>

#include "clear/engine/kernels.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && !defined(CLEAR_NO_CLONES)
#define CLEAR_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLEAR_VECTOR_CLONES
#endif

namespace clear::kernels {

// Cores in this process's affinity mask.
int cores_available();

// Makes oneDNN (omp_get_max_threads on the calling thread) agree with threads().
void sync_onednn_threads();

// Calls body(begin, end) over [0, n) split into contiguous chunks of at least `grain` items, on up
// to threads() threads. Work smaller than one grain runs on the calling thread (no fork cost).
template <class Body>
void parallel_for(int64_t n, int64_t grain, Body&& body) {
  if (n <= 0) return;
  int64_t nthreads = std::min<int64_t>(threads(), std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
  if (nthreads <= 1) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(nthreads))
  {
    int64_t t = 0, nt = 1;
#ifdef _OPENMP
    t = omp_get_thread_num();
    nt = omp_get_num_threads();
#endif
    int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) body(begin, end);
  }
}

}  // namespace clear::kernels
