// dissect analyze: parameters, MACs, FLOPs and bytes per component for a workload (docs/ANALYSIS.md).
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/analysis/analysis.hpp"
#include "clear/analysis/summary.hpp"
#include "clear/model/graph.hpp"
#include "clear/model/workload.hpp"
#include "clear/model/zoo.hpp"
#include "clear/report/table.hpp"
#include "command.hpp"
#include "model_options.hpp"

namespace clear::cli {
namespace {

struct AnalyzeOptions {
  ModelFlags model;
  std::string convention = "full";
  int depth = 1;
  std::string format = "table";
};

std::string workload_text(const Analysis& a) {
  const Workload& w = a.workload;
  std::string text = fmt::format("batch {}, ", w.batch);
  if (a.config.arch_type == ArchType::vision_encoder)
    text += fmt::format("image {} ({} tokens per image), ", w.image_size > 0 ? w.image_size : a.config.image_size,
                        a.vision_tokens / w.batch);
  else if (a.config.arch_type == ArchType::encoder_decoder)
    text += fmt::format("source {}, target {}, ", w.seq, w.phase == Phase::decode ? 1 : (w.target_seq ? w.target_seq : w.seq));
  else
    text += fmt::format("seq {}, ", w.phase == Phase::decode ? 1 : w.seq);
  text += to_string(w.phase);
  if (w.phase == Phase::decode) text += fmt::format(" (kv-len {})", w.kv_len);
  text += fmt::format(", {}{}", to_string(w.dtype), w.training ? ", training step" : "");
  return text;
}

nlohmann::json workload_json(const Analysis& a) {
  const Workload& w = a.workload;
  return {{"batch", w.batch},
          {"seq", w.seq},
          {"target_seq", w.target_seq},
          {"phase", to_string(w.phase)},
          {"kv_len", w.kv_len},
          {"image_size", w.image_size > 0 ? w.image_size : a.config.image_size},
          {"dtype", to_string(w.dtype)},
          {"dtype_bytes", dtype_bytes(w.dtype)},
          {"training", w.training},
          {"tokens", a.tokens},
          {"encoder_tokens", a.encoder_tokens},
          {"decoder_tokens", a.decoder_tokens},
          {"vision_tokens", a.vision_tokens}};
}

nlohmann::json cost_json(const Analysis& a, const ComponentCost& c) {
  nlohmann::json j = {{"name", c.name},
                      {"kind", to_string(c.kind)},
                      {"op", to_string(c.op)},
                      {"parent", c.parent >= 0 ? nlohmann::json(a.components[size_t(c.parent)].name) : nlohmann::json()},
                      {"layer", c.layer >= 0 ? nlohmann::json(c.layer) : nlohmann::json()},
                      {"calls", c.calls},
                      {"rows", c.rows},
                      {"params", c.params},
                      {"macs", c.macs},
                      {"flops", c.flops},
                      {"weight_bytes_read", c.weight_bytes_read},
                      {"activation_bytes_read", c.activation_bytes_read},
                      {"activation_bytes_written", c.activation_bytes_written},
                      {"kv_bytes_read", c.kv_bytes_read},
                      {"kv_bytes_written", c.kv_bytes_written},
                      {"bytes", c.bytes},
                      {"intensity", c.intensity}};
  if (a.workload.training) {
    j["backward_flops"] = c.backward_flops;
    j["training_flops"] = c.training_flops;
  }
  return j;
}

nlohmann::json analysis_json(const Analysis& a) {
  nlohmann::json j = {{"model", a.config.name},
                      {"source", a.config.source},
                      {"family", to_string(a.config.family)},
                      {"arch_type", to_string(a.config.arch_type)},
                      {"architecture", a.config.architecture},
                      {"head", to_string(a.config.head)},
                      {"workload", workload_json(a)},
                      {"convention", to_string(a.convention)},
                      {"params_total", a.params_total},
                      {"macs_total", a.macs_total},
                      {"flops_total", a.flops_total},
                      {"bytes_total", a.bytes_total},
                      {"weight_bytes_read_total", a.weight_bytes_read_total},
                      {"activation_bytes_read_total", a.activation_bytes_read_total},
                      {"activation_bytes_written_total", a.activation_bytes_written_total},
                      {"kv_bytes_read_total", a.kv_bytes_read_total},
                      {"kv_bytes_written_total", a.kv_bytes_written_total},
                      {"intensity", a.intensity},
                      {"kv_cache_bytes", a.kv_cache_bytes},
                      {"weights_bytes", a.weights_bytes}};
  if (a.workload.training) {
    j["backward_flops_total"] = a.backward_flops_total;
    j["training_flops_total"] = a.training_flops_total;
  }
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : a.components) components.push_back(cost_json(a, c));
  j["components"] = std::move(components);
  return j;
}

// Compact columns for a 100-column terminal (table, md); every count, unrounded, for csv.
Table summary_table(const Analysis& a, const std::vector<SummaryRow>& rows, bool wide) {
  const bool training = a.workload.training;
  const bool kv = a.kv_bytes_read_total + a.kv_bytes_written_total > 0;  // training and encoders move none
  Table t;
  t.add_column("component", Table::Align::left);
  if (wide) {
    for (const char* name : {"n", "calls", "params", "macs", "flops", "flops_percent"}) t.add_column(name);
    if (training) for (const char* name : {"backward_flops", "training_flops"}) t.add_column(name);
    for (const char* name : {"bytes", "weight_bytes_read", "activation_bytes_read", "activation_bytes_written",
                             "kv_bytes_read", "kv_bytes_written", "intensity"})
      t.add_column(name);
  } else {
    for (const char* name : {"params", "FLOPs", "%"}) t.add_column(name);
    if (training) t.add_column("bwd FLOPs");
    t.add_column("bytes");
    if (kv) t.add_column("KV bytes");
    t.add_column("FLOP/B");
  }
  auto add = [&](const std::string& label, int64_t count, const ComponentCost& c) {
    const double share = a.flops_total > 0 ? 100.0 * double(c.flops) / double(a.flops_total) : 0.0;
    std::vector<Table::Cell> r{cell(label)};
    if (wide) {
      for (int64_t v : {count, c.calls, c.params, c.macs, c.flops}) r.push_back(cell(v));
      r.push_back(cell(share, 3));
      if (training) for (int64_t v : {c.backward_flops, c.training_flops}) r.push_back(cell(v));
      for (int64_t v : {c.bytes, c.weight_bytes_read, c.activation_bytes_read, c.activation_bytes_written,
                        c.kv_bytes_read, c.kv_bytes_written})
        r.push_back(cell(v));
      r.push_back(cell(c.intensity, 3));
    } else {
      r.push_back(cell_si(double(c.params), "", 1));
      r.push_back(cell_si(double(c.flops), "", 1));
      r.push_back(cell(share, 1));
      if (training) r.push_back(cell_si(double(c.backward_flops), "", 1));
      r.push_back(cell_si(double(c.bytes), "B", 1));
      if (kv) r.push_back(cell_si(double(c.kv_bytes_read + c.kv_bytes_written), "B", 1));
      r.push_back(cell(c.intensity, 1));
    }
    t.add_row(std::move(r));
  };
  for (const auto& row : rows) add(row.label, row.count, row.cost);
  add("total", static_cast<int64_t>(a.components.size()), a.components.front());
  return t;
}

std::string header_text(const Analysis& a) {
  std::string h;
  h += fmt::format("model      {} ({}, {}, {}, head {})\n", a.config.name, to_string(a.config.family),
                   to_string(a.config.arch_type), a.config.architecture, to_string(a.config.head));
  h += fmt::format("workload   {}\n", workload_text(a));
  h += fmt::format("convention {}\n", to_string(a.convention));
  h += fmt::format("params     {} ({} of weights)\n", group_thousands(a.params_total), format_si(double(a.weights_bytes), "B", 2));
  h += fmt::format("compute    {} MACs, {} FLOPs forward", group_thousands(a.macs_total), group_thousands(a.flops_total));
  if (a.workload.training)
    h += fmt::format(", {} FLOPs backward, {} FLOPs per training step", group_thousands(a.backward_flops_total),
                     group_thousands(a.training_flops_total));
  h += "\n";
  h += fmt::format("memory     {} moved ({} weights, {} activations, {} KV cache), {:.1f} FLOP/byte\n",
                   format_si(double(a.bytes_total), "B", 2), format_si(double(a.weight_bytes_read_total), "B", 2),
                   format_si(double(a.activation_bytes_read_total + a.activation_bytes_written_total), "B", 2),
                   format_si(double(a.kv_bytes_read_total + a.kv_bytes_written_total), "B", 2), a.intensity);
  h += fmt::format("KV cache   {} held after the step\n", format_si(double(a.kv_cache_bytes), "B", 2));
  return h;
}

void run_analyze(AnalyzeOptions& o) {
  const ResolvedModel m = resolve_model_flags(o.model);
  const Convention convention = parse_convention(o.convention);
  const Format format = parse_format(o.format);
  const ComponentGraph graph = build_graph(m.config);
  const Analysis a = analyze(graph, m.workload, convention);
  const auto rows = summarize(a, o.depth);

  switch (format) {
    case Format::json:
      std::fputs((analysis_json(a).dump(2) + "\n").c_str(), stdout);
      break;
    case Format::csv:
      std::fputs(summary_table(a, rows, true).render(Format::csv).c_str(), stdout);
      break;
    case Format::md:
      std::fputs(("```\n" + header_text(a) + "```\n\n").c_str(), stdout);
      std::fputs(summary_table(a, rows, false).render(Format::md).c_str(), stdout);
      break;
    case Format::table:
      std::fputs((header_text(a) + "\n").c_str(), stdout);
      std::fputs(summary_table(a, rows, false).render(Format::table).c_str(), stdout);
      break;
  }
}

RegisterCommand reg("analyze", 20, [](CLI::App& app) {
  auto o = std::make_shared<AnalyzeOptions>();
  CLI::App* cmd = app.add_subcommand("analyze", "Parameters, MACs, FLOPs and bytes per component for a workload");
  add_model_flags(cmd, o->model, {.dtype_help = "fp32, fp16, bf16 or int8 (bytes per value)", .training = true});
  cmd->add_option("--convention", o->convention, "full, calflops or kaplan")->default_val("full");
  cmd->add_option("--depth", o->depth, "Table rows: 1 = blocks per layer group, 2 = their parts, ...")
      ->default_val(1);
  add_format_option(cmd, o->format);
  cmd->callback([o] { run_analyze(*o); });
});

}  // namespace
}  // namespace clear::cli
