#include "clear/analysis/summary.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "clear/util/error.hpp"

namespace clear {

namespace {

bool transparent(ComponentKind k) { return k == ComponentKind::model || k == ComponentKind::stack || k == ComponentKind::layer; }

// "decoder.layers.3" -> ("decoder.layers.", "3").
std::string name_prefix(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot + 1);
}
std::string name_index(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

struct Tree {
  std::vector<int> subtree_end;  // pre-order: node i's descendants are (i, subtree_end[i])
  std::vector<int> level;        // non-transparent nodes from the root down to i, inclusive
  std::vector<int> layer;        // nearest enclosing layer node, -1 when none
  std::vector<bool> leaf;
};

Tree make_tree(const std::vector<ComponentCost>& c) {
  const int n = static_cast<int>(c.size());
  Tree t{std::vector<int>(n), std::vector<int>(n, 0), std::vector<int>(n, -1), std::vector<bool>(n, true)};
  for (int i = 0; i < n; ++i) t.subtree_end[i] = i + 1;
  for (int i = n - 1; i > 0; --i) {
    const int p = c[i].parent;
    t.subtree_end[p] = std::max(t.subtree_end[p], t.subtree_end[i]);
    t.leaf[p] = false;
  }
  for (int i = 0; i < n; ++i) {
    const int p = c[i].parent;
    const int base = p >= 0 ? t.level[p] : 0;
    t.level[i] = base + (transparent(c[i].kind) ? 0 : 1);
    t.layer[i] = c[i].kind == ComponentKind::layer ? i : (p >= 0 ? t.layer[p] : -1);
  }
  return t;
}

// A layer's structure: names (relative to the layer) and kinds of everything inside it.
std::string layer_signature(const std::vector<ComponentCost>& c, const Tree& t, int layer) {
  std::string sig;
  const size_t strip = c[layer].name.size();
  for (int j = layer + 1; j < t.subtree_end[layer]; ++j)
    sig += c[j].name.substr(std::min(strip, c[j].name.size())) + '|' + to_string(c[j].kind) + ';';
  return sig;
}

// Label of each layer's group: consecutive sibling layers with the same structure share one.
std::unordered_map<int, std::string> layer_group_labels(const std::vector<ComponentCost>& c, const Tree& t) {
  std::unordered_map<int, std::string> labels;
  std::vector<int> run;
  std::string run_sig;
  auto close_run = [&] {
    if (run.empty()) return;
    const std::string& first = c[run.front()].name;
    std::string label = run.size() == 1 ? first
                                        : name_prefix(first) + name_index(first) + "-" + name_index(c[run.back()].name);
    for (int l : run) labels[l] = label;
    run.clear();
  };
  for (int i = 0; i < static_cast<int>(c.size()); ++i) {
    if (c[i].kind != ComponentKind::layer) continue;
    std::string sig = layer_signature(c, t, i);
    if (!run.empty() && (c[run.back()].parent != c[i].parent || sig != run_sig)) close_run();
    run_sig = std::move(sig);
    run.push_back(i);
  }
  close_run();
  return labels;
}

}  // namespace

std::vector<SummaryRow> summarize(const Analysis& analysis, int depth) {
  if (depth < 1) throw Error(fmt::format("--depth: expected 1 or more, got {}", depth));
  const auto& c = analysis.components;
  const Tree t = make_tree(c);
  const auto groups = layer_group_labels(c, t);

  std::vector<SummaryRow> rows;
  std::unordered_map<std::string, size_t> row_of;
  for (int i = 0; i < static_cast<int>(c.size()); ++i) {
    if (transparent(c[i].kind)) continue;
    const bool selected = t.level[i] == depth || (t.level[i] < depth && t.leaf[i]);
    if (!selected) continue;
    std::string label = c[i].name;
    if (const int layer = t.layer[i]; layer >= 0) {
      // The kind path from below the layer down to this node: "attention.q_proj", "norm".
      std::string path;
      for (int j = i; j != layer; j = c[j].parent)
        if (!transparent(c[j].kind)) path = std::string(to_string(c[j].kind)) + (path.empty() ? "" : ".") + path;
      label = groups.at(layer) + " " + path;
    }
    auto [it, inserted] = row_of.try_emplace(label, rows.size());
    if (inserted) {
      SummaryRow row;
      row.label = label;
      row.kind = to_string(c[i].kind);
      row.cost.node = i;
      row.cost.name = label;
      row.cost.kind = c[i].kind;
      row.cost.op = c[i].op;
      rows.push_back(std::move(row));
    }
    SummaryRow& row = rows[it->second];
    row.count += 1;
    row.cost.calls += c[i].calls;
    row.cost.rows += c[i].rows;
    add_counts(row.cost, c[i]);
  }
  return rows;
}

}  // namespace clear
