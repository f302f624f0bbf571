#pragma once
// An Analysis folded into rows for a table: identical consecutive layers form a group
// ("layers.0-11") and, inside a group, components of the same kind path share one row
// ("layers.0-11 norm" holds every norm1 and norm2). Stacks and layers are transparent; depth counts
// the other levels: depth 1 = embeddings, blocks of each layer group, final_norm, heads; depth 2 =
// their parts; and so on. Every leaf lands in exactly one row, so the rows sum to the totals.
#include <string>
#include <vector>

#include "clear/analysis/analysis.hpp"

namespace clear {

struct SummaryRow {
  std::string label;   // "embeddings", "layers.0-11 attention", "decoder.layers.0-5 mlp.up_proj"
  std::string kind;    // kind of the components in the row
  int64_t count = 0;   // components folded into the row
  ComponentCost cost;  // their summed counts; cost.calls = Σ calls, cost.node = the first of them
};

// Throws clear::Error naming --depth when depth < 1.
std::vector<SummaryRow> summarize(const Analysis& analysis, int depth);

}  // namespace clear
