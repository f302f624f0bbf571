// For every zoo model, convention and phase: totals equal the sum over leaves, every composite
// equals the sum of its children, params_total equals the graph's unique parameter count.
#include <gtest/gtest.h>

#include "analysis/support/models.hpp"
#include "clear/model/zoo.hpp"

namespace clear {
namespace {

void expect_consistent(const ComponentGraph& g, const Analysis& a) {
  const auto sums = testing::sum_leaves(g, a);
  EXPECT_EQ(a.params_total, g.param_count());
  EXPECT_EQ(sums.params, a.params_total);
  EXPECT_EQ(sums.macs, a.macs_total);
  EXPECT_EQ(sums.flops, a.flops_total);
  EXPECT_EQ(sums.bytes, a.bytes_total);
  EXPECT_EQ(sums.backward_flops, a.backward_flops_total);
  EXPECT_EQ(sums.kv_read, a.kv_bytes_read_total);
  EXPECT_EQ(sums.kv_written, a.kv_bytes_written_total);
  EXPECT_EQ(a.components.size(), g.nodes.size());
  EXPECT_EQ(a.components[0].flops, a.flops_total);
  EXPECT_GT(a.flops_total, 0);
  EXPECT_EQ(a.weights_bytes, a.params_total * dtype_bytes(a.workload.dtype));
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& c = a.components[i];
    EXPECT_EQ(c.bytes, c.weight_bytes_read + c.activation_bytes_read + c.activation_bytes_written + c.kv_bytes_read +
                           c.kv_bytes_written)
        << c.name;
    if (g.nodes[i].is_leaf()) continue;
    int64_t macs = 0, flops = 0, bytes = 0, params = 0, calls = 0;
    for (const auto& p : g.nodes[i].params) params += p.numel();  // a composite's own tensors, if any
    for (int child : g.nodes[i].children) {
      macs += a.components[size_t(child)].macs;
      flops += a.components[size_t(child)].flops;
      bytes += a.components[size_t(child)].bytes;
      params += a.components[size_t(child)].params;
      calls = std::max(calls, a.components[size_t(child)].calls);
    }
    EXPECT_EQ(c.macs, macs) << c.name;
    EXPECT_EQ(c.flops, flops) << c.name;
    EXPECT_EQ(c.bytes, bytes) << c.name;
    EXPECT_EQ(c.params, params) << c.name;
    EXPECT_EQ(c.calls, calls) << c.name;
  }
}

TEST(Totals, EveryZooModelConventionAndPhase) {
  const auto entries = zoo_entries();
  ASSERT_EQ(entries.size(), 18u);
  for (const auto& entry : entries) {
    const ModelConfig config = zoo_config(entry.name);
    const ComponentGraph g = build_graph(config);
    const bool has_decoder = config.arch_type == ArchType::decoder_only || config.arch_type == ArchType::moe_decoder ||
                             config.arch_type == ArchType::encoder_decoder;
    for (Convention conv : {Convention::full, Convention::calflops, Convention::kaplan}) {
      SCOPED_TRACE(entry.name + " " + to_string(conv));
      Workload w;
      w.batch = 2;
      w.seq = 96;
      expect_consistent(g, analyze(g, w, conv));
      w.training = true;
      expect_consistent(g, analyze(g, w, conv));
      if (has_decoder) {
        w.training = false;
        w.phase = Phase::decode;
        w.kv_len = 300;
        w.dtype = DType::bf16;
        expect_consistent(g, analyze(g, w, conv));
      }
    }
  }
}

// Published parameter counts (Hugging Face num_parameters()) the analysis reports as params_total.
TEST(Totals, ParamsMatchHuggingFace) {
  Workload w;
  EXPECT_EQ(analyze(build_graph(zoo_config("bert-base-uncased")), w).params_total, 109482240);
  EXPECT_EQ(analyze(build_graph(zoo_config("gpt2")), w).params_total, 124439808);
}

}  // namespace
}  // namespace clear
