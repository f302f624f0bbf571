// GEMM and memory-bandwidth ceilings of this machine through our kernels: PackedLinear (oneDNN) in
// fp32 and bf16 at 1 and 2 threads for BERT-base's shapes (M = 128 tokens) and a large square one,
// plus the streaming-read bandwidth. Short runs (best of repeats within --seconds per point): on a
// shared machine the figures are noisy; rerun on a quiet one for docs/PERFORMANCE.md.
// Also attention_fused's rate for three shapes (own kernels, for comparison with the GEMM rate).
// "gemm-cold" runs one BERT shape over many distinct weight matrices, as a forward pass does.
//   bench_gemm [--seconds S] [--threads 1,2] [--only gemm|gemm-cold|attention|bandwidth|model-ceiling]
// "model-ceiling" (only when asked) prints BERT-base's GEMM ceiling: its matmul shapes hot,
// FLOP-weighted, per path (panel GEMM, oneDNN fp32, oneDNN bf16).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "clear/engine/ceilings.hpp"
#include "clear/engine/kernels.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  const char* name;
  int64_t m, k, n;
};

// Random W, b, x and room for y of one shape.
struct Operands {
  std::vector<float> w, b, x, y;
  explicit Operands(const Shape& s)
      : w(static_cast<size_t>(s.n * s.k)), b(static_cast<size_t>(s.n)), x(static_cast<size_t>(s.m * s.k)),
        y(static_cast<size_t>(s.m * s.n)) {
    std::mt19937 gen(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto* v : {&w, &b, &x})
      for (auto& e : *v) e = dist(gen);
  }
};

// Best GFLOP/s of y = x·Wᵀ + b for one shape.
double linear_gflops(const Shape& s, clear::DType dtype, double seconds) {
  Operands o(s);
  auto &w = o.w, &b = o.b, &x = o.x, &y = o.y;
  clear::kernels::PackedLinear lin(w.data(), b.data(), s.n, s.k, dtype);
  lin.prepare(s.m);
  lin.forward(x.data(), y.data(), s.m);
  double best = 1e30;
  auto start = Clock::now();
  for (int rep = 0; rep < 5 || std::chrono::duration<double>(Clock::now() - start).count() < seconds; ++rep) {
    auto t0 = Clock::now();
    lin.forward(x.data(), y.data(), s.m);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return 2.0 * s.m * s.k * s.n / best / 1e9;
}

// GFLOP/s of one shape with cold weights, as inside a forward pass: `copies` distinct PackedLinears
// (more bytes than the last-level cache) run in turn, so each one's weights come from memory; best
// of rounds over all copies within `seconds`.
double linear_cold_gflops(const Shape& s, int copies, double seconds) {
  Operands o(s);
  auto &w = o.w, &b = o.b, &x = o.x, &y = o.y;
  std::vector<clear::kernels::PackedLinear> lins;
  for (int i = 0; i < copies; ++i) {
    lins.emplace_back(w.data(), b.data(), s.n, s.k, clear::DType::fp32);
    lins.back().prepare(s.m);
  }
  double best = 1e30;
  auto start = Clock::now();
  for (int rep = 0; rep < 3 || std::chrono::duration<double>(Clock::now() - start).count() < seconds; ++rep) {
    auto t0 = Clock::now();
    for (const auto& lin : lins) lin.forward(x.data(), y.data(), s.m);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return 2.0 * s.m * s.k * s.n * copies / best / 1e9;
}

// Best GFLOP/s (4·B·H·S·K·D, scores + context) of attention_fused for one shape.
double attention_gflops(const clear::kernels::AttentionDims& d, double seconds) {
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(d.batch * d.q_len * d.heads * d.head_dim)),
      kv(static_cast<size_t>(d.batch * d.kv_len * d.kv_heads * d.head_dim)), out(q.size()),
      scratch(static_cast<size_t>(clear::kernels::attention_scratch_floats(d)));
  for (auto* v : {&q, &kv})
    for (auto& e : *v) e = dist(gen);
  auto run = [&] { clear::kernels::attention_fused(d, q.data(), kv.data(), kv.data(), nullptr, nullptr, out.data(), scratch.data()); };
  run();
  double best = 1e30;
  auto start = Clock::now();
  for (int rep = 0; rep < 5 || std::chrono::duration<double>(Clock::now() - start).count() < seconds; ++rep) {
    auto t0 = Clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return 4.0 * d.batch * d.heads * d.q_len * d.kv_len * d.head_dim / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  std::vector<int> thread_counts = {1, 2};
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      thread_counts.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ",")) thread_counts.push_back(std::atoi(p));
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_gemm [--seconds S] [--threads 1,2] [--only gemm|gemm-cold|attention|bandwidth|model-ceiling]\n");
      return 2;
    }
  }
  std::string why;
  bool bf16 = clear::kernels::bf16_supported(&why);
  std::printf("oneDNN ISA: %s; bf16 native: %s%s\n", clear::kernels::onednn_isa_name().c_str(), bf16 ? "yes" : "no, ",
              bf16 ? "" : why.c_str());
  const int64_t sq = clear::kernels::kCeilingGemmSize;
  const Shape shapes[] = {{"qkv  M128 K768 N2304", 128, 768, 2304},  {"out  M128 K768 N768", 128, 768, 768},
                          {"ffn1 M128 K768 N3072", 128, 768, 3072},  {"ffn2 M128 K3072 N768", 128, 3072, 768},
                          {"square", sq, sq, sq}};
  // fp32 twice where the panel GEMM applies: through it (what the engine runs) and through oneDNN
  // (the "oneDNN GEMM ceiling").
  struct Path {
    clear::DType dtype;
    bool onednn;
    const char* label;
  };
  std::vector<Path> paths = {{clear::DType::fp32, false, "fp32"}};
  {
    std::vector<float> w(64, 0.5f);
    if (clear::kernels::PackedLinear(w.data(), nullptr, 8, 8, clear::DType::fp32).implementation().rfind("clear:", 0) == 0)
      paths.push_back({clear::DType::fp32, true, "fp32 oneDNN"});
  }
  if (bf16) paths.push_back({clear::DType::bf16, false, "bf16"});
  auto wanted = [&](const char* section) { return only.empty() || only == section; };
  if (wanted("gemm")) {
  std::printf("%-22s %-11s", "shape", "path");
  for (int t : thread_counts) std::printf("  %2d thr GFLOP/s", t);
  std::printf("\n");
  for (const Path& path : paths)
    for (const Shape& s : shapes) {
      clear::kernels::force_onednn_fp32(path.onednn);
      std::printf("%-22s %-11s", s.name, path.label);
      for (int t : thread_counts) {
        clear::kernels::set_threads(t);
        std::printf("  %15.1f", linear_gflops(s, path.dtype, seconds));
        std::fflush(stdout);
      }
      std::printf("\n");
    }
  clear::kernels::force_onednn_fp32(false);
  {
    clear::DType dt = clear::DType::fp32;
    std::vector<float> w(768 * 768, 0.5f);
    clear::kernels::PackedLinear probe(w.data(), nullptr, 768, 768, dt);
    std::printf("implementation (fp32, M128 K768 N768): %s\n", probe.implementation().c_str());
    if (bf16) {
      clear::kernels::PackedLinear probe16(w.data(), nullptr, 768, 768, clear::DType::bf16);
      std::printf("oneDNN implementation (bf16, M128 K768 N768): %s\n", probe16.implementation().c_str());
    }
  }
  }
  if (wanted("gemm-cold")) {
    // 48 × 9.4 MB of fp32 weights: more than the L3 this VM reports (260 MiB), like BERT-base's 340 MB.
    const Shape cold = {"ffn1 M128 K768 N3072", 128, 768, 3072};
    for (const Path& path : paths) {
      if (path.dtype != clear::DType::fp32) continue;
      clear::kernels::force_onednn_fp32(path.onednn);
      std::printf("%-22s %-11s, 48 distinct weight matrices in turn (weights from memory):", cold.name, path.label);
      for (int t : thread_counts) {
        clear::kernels::set_threads(t);
        std::printf("  %d thr %.1f GFLOP/s", t, linear_cold_gflops(cold, 48, seconds));
        std::fflush(stdout);
      }
      std::printf("\n");
    }
    clear::kernels::force_onednn_fp32(false);
  }
  if (only == "model-ceiling") {
    // BERT-base's matmuls at seq 128: q, k, v, out (768→768), up (768→3072), down (3072→768);
    // per layer 4·768² = 768·3072 = 3072·768 multiply-adds each group, so equal FLOP weights, and
    // the ceiling is the harmonic mean of the three shapes' hot GFLOP/s (the GEMM-bound time).
    const Shape group[] = {{"out", 128, 768, 768}, {"up", 128, 768, 3072}, {"down", 128, 3072, 768}};
    for (const Path& path : paths) {
      clear::kernels::force_onednn_fp32(path.onednn);
      for (int t : thread_counts) {
        clear::kernels::set_threads(t);
        double inverse = 0;
        std::printf("model-ceiling bert-base %s %d thr:", path.label, t);
        for (const Shape& s : group) {
          double g = linear_gflops(s, path.dtype, seconds);
          inverse += 1.0 / g / 3.0;
          std::printf(" %s %.1f", s.name, g);
        }
        std::printf(" => %.1f GFLOP/s\n", 1.0 / inverse);
        std::fflush(stdout);
      }
    }
    clear::kernels::force_onednn_fp32(false);
  }
  if (wanted("attention")) {
    struct AttnShape {
      const char* name;
      int64_t s, k, h, hkv, dim;
    };
    const AttnShape attn[] = {{"bert   S128 K128 H12 D64", 128, 128, 12, 12, 64},
                              {"llama  S512 K512 H32/8 D128", 512, 512, 32, 8, 128},
                              {"decode S1 K1024 H32/8 D128", 1, 1024, 32, 8, 128},
                              {"gpt2 decode S1 K129 H12 D64", 1, 129, 12, 12, 64}};
    for (const AttnShape& a : attn) {
      clear::kernels::AttentionDims d;
      d.q_len = a.s, d.kv_len = a.k, d.heads = a.h, d.kv_heads = a.hkv, d.head_dim = a.dim;
      d.scale = 0.125f;
      std::printf("%-28s fp32 attention_fused", a.name);
      for (int t : thread_counts) {
        clear::kernels::set_threads(t);
        std::printf("  %d thr %6.1f GFLOP/s", t, attention_gflops(d, seconds));
        std::fflush(stdout);
      }
      std::printf("\n");
    }
  }
  if (wanted("bandwidth")) {
    std::printf("memory bandwidth (streaming read of %.0f MiB):", clear::kernels::bandwidth_array_bytes() / 1048576.0);
    for (int t : thread_counts) std::printf("  %d thr %.1f GB/s", t, clear::kernels::measure_memory_bandwidth_gbs(t, seconds));
    std::printf("\n");
  }
  return 0;
}
