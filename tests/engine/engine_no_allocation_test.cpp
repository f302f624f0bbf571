// Nothing allocates while a component repeats or the model runs: every operator new in this
// program is counted. The engine's own code must not allocate at all; oneDNN's execute path builds
// a small argument map per matrix product (freed at once), so components holding linears may show
// exactly that many allocations per product call, calibrated on a bare PackedLinear, and nothing
// may stay allocated.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "clear/engine/cpu_engine.hpp"
#include "clear/engine/kernels.hpp"
#include "clear/engine/weights.hpp"
#include "engine/engine_tiny_configs.hpp"
#include "engine/support/reference_harness.hpp"
#include "support/test_support.hpp"

namespace {
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_frees{0};
void* counted(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* counted_aligned(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted(size); }
void* operator new[](std::size_t size) { return counted(size); }
void* operator new(std::size_t size, std::align_val_t a) { return counted_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted_aligned(size, a); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return std::malloc(size ? size : 1); }
namespace {
void release(void* p) {
  if (p) g_frees.fetch_add(1, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }

namespace clear {
namespace {

// Allocations (all freed again) of one PackedLinear::forward call: oneDNN's per-execute argument map.
int64_t allocations_per_product() {
  static const int64_t per_call = [] {
    std::vector<float> w = testing::random_floats(8 * 16), x = testing::random_floats(4 * 16), y(4 * 8);
    std::vector<float> b = testing::random_floats(8);
    kernels::PackedLinear lin(w.data(), b.data(), 8, 16, DType::fp32);
    lin.prepare(4);
    lin.forward(x.data(), y.data(), 4);
    int64_t before = g_allocations.load();
    int64_t live = g_allocations.load() - g_frees.load();
    for (int i = 0; i < 10; ++i) lin.forward(x.data(), y.data(), 4);
    std::printf("oneDNN: %lld allocations per product, %lld kept after 10\n",
                static_cast<long long>((g_allocations.load() - before) / 10),
                static_cast<long long>(g_allocations.load() - g_frees.load() - live));
    return (g_allocations.load() - before + 9) / 10;
  }();
  return per_call;
}

int64_t linear_leaves_under(const ComponentGraph& g, int node) {
  int64_t n = 0;
  for (int leaf : g.leaves_under(node)) {
    OpKind op = g.nodes[leaf].op;
    n += op == OpKind::linear || op == OpKind::router || op == OpKind::patch_embedding;
  }
  return n;
}

class NoAllocation : public ::testing::TestWithParam<engine_test::TinyConfig> {};

TEST_P(NoAllocation, InsideRunComponentAndRunModel) {
  SCOPED_TRACE(testing::seed_note());
  reference::TinyModel m = reference::make_tiny_model(GetParam().json, GetParam().name);
  bool decoder = m.config.arch_type != ArchType::encoder_only && m.config.arch_type != ArchType::vision_encoder;
  for (Phase phase : {Phase::prefill, Phase::decode}) {
    if (phase == Phase::decode && !decoder) continue;
    Workload w;
    w.batch = 2;
    w.seq = 6;
    w.phase = phase;
    w.kv_len = phase == Phase::decode ? 5 : 0;
    EngineOptions options;
    options.threads = 1;
    auto engine = make_cpu_engine(m.config, w, options, weights_from_tensors(m.graph, m.fp32));
    // Warm-up: capture and one run of everything (first calls may build what they need).
    engine->capture();
    auto runnable = engine->runnable_components();
    for (int node : runnable) engine->run_component(node, 1);
    engine->run_model(1);
    const ComponentGraph& g = engine->graph();
    for (int node : runnable) {
      int64_t allowed = 4 * linear_leaves_under(g, node) * allocations_per_product();
      int64_t before = g_allocations.load(), live = g_allocations.load() - g_frees.load();
      engine->run_component(node, 4);
      EXPECT_LE(g_allocations.load() - before, allowed)
          << "allocation inside run_component(" << g.nodes[node].name << ") in phase " << to_string(phase);
      EXPECT_EQ(g_allocations.load() - g_frees.load(), live) << "memory kept by run_component(" << g.nodes[node].name << ")";
    }
    int64_t allowed = 3 * linear_leaves_under(g, 0) * allocations_per_product();
    int64_t before = g_allocations.load(), live = g_allocations.load() - g_frees.load();
    engine->run_model(3);
    engine->synchronize();
    EXPECT_LE(g_allocations.load() - before, allowed)
        << "allocation inside run_model in phase " << to_string(phase);
    EXPECT_EQ(g_allocations.load() - g_frees.load(), live) << "memory kept by run_model";
  }
}

TEST(NoAllocationCounter, CountsAllocations) {
  int64_t before = g_allocations.load();
  auto* p = new std::vector<int>(100);
  delete p;
  EXPECT_GE(g_allocations.load(), before + 2);  // the counter itself works
  EXPECT_LE(allocations_per_product(), 8) << "oneDNN's execute allocates more than its argument map";
}

INSTANTIATE_TEST_SUITE_P(Tiny, NoAllocation, ::testing::ValuesIn(engine_test::kAll),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace clear
