// Table rows: layer groups, one row per kind path, every leaf in exactly one row.
#include <gtest/gtest.h>

#include "clear/analysis/summary.hpp"
#include "clear/model/zoo.hpp"
#include "clear/util/error.hpp"

namespace clear {
namespace {

std::vector<std::string> labels(const std::vector<SummaryRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.label);
  return out;
}

TEST(Summary, BertDepthOne) {
  const Analysis a = analyze(build_graph(zoo_config("bert-base-uncased")), Workload{});
  const auto rows = summarize(a, 1);
  EXPECT_EQ(labels(rows), (std::vector<std::string>{"embeddings", "layers.0-11 attention", "layers.0-11 residual",
                                                    "layers.0-11 norm", "layers.0-11 mlp", "pooler"}));
  EXPECT_EQ(rows[3].count, 24);  // norm1 and norm2 of 12 layers
  EXPECT_EQ(rows[1].cost.flops, 12 * a.at("layers.0.attention").flops);
}

TEST(Summary, EncoderDecoderDepthTwo) {
  const Analysis a = analyze(build_graph(zoo_config("t5-small")), Workload{});
  const auto rows = summarize(a, 2);
  const auto l = labels(rows);
  EXPECT_NE(std::find(l.begin(), l.end(), "encoder.layers.0-5 attention.q_proj"), l.end());
  EXPECT_NE(std::find(l.begin(), l.end(), "decoder.layers.0-5 cross_attention.scores"), l.end());
  EXPECT_NE(std::find(l.begin(), l.end(), "encoder.position_bias"), l.end());
  EXPECT_NE(std::find(l.begin(), l.end(), "lm_head"), l.end());
}

TEST(Summary, RowsSumToTotalsAtEveryDepth) {
  for (const char* name : {"bert-base-uncased", "albert-base-v2", "t5-small", "mixtral-8x7b-v0.1", "vit-base-patch16-224"}) {
    const Analysis a = analyze(build_graph(zoo_config(name)), Workload{});
    for (int depth = 1; depth <= 5; ++depth) {
      SCOPED_TRACE(std::string(name) + " depth " + std::to_string(depth));
      int64_t flops = 0, bytes = 0, params = 0;
      for (const auto& r : summarize(a, depth)) {
        flops += r.cost.flops;
        bytes += r.cost.bytes;
        params += r.cost.params;
      }
      EXPECT_EQ(flops, a.flops_total);
      EXPECT_EQ(bytes, a.bytes_total);
      EXPECT_EQ(params, a.params_total);
    }
  }
  const Analysis a = analyze(build_graph(zoo_config("gpt2")), Workload{});
  EXPECT_THROW(summarize(a, 0), Error);
}

}  // namespace
}  // namespace clear
