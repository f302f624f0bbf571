// dissect run: run a model on the CPU engine and report its latency, throughput and a
// per-component latency breakdown (docs/ENGINE.md); optionally save its outputs as .npy files.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/analysis/analysis.hpp"
#include "clear/analysis/summary.hpp"
#include "clear/engine/cpu_engine.hpp"
#include "clear/engine/kernels.hpp"
#include "clear/engine/npy.hpp"
#include "clear/engine/timing.hpp"
#include "clear/model/zoo.hpp"
#include "clear/protocol/statistics.hpp"
#include "clear/report/table.hpp"
#include "clear/util/error.hpp"
#include "command.hpp"
#include "model_options.hpp"

namespace clear::cli {
namespace {

struct RunOptions {
  ModelFlags model;
  Workload workload;  // resolved from `model`
  std::string weights;
  int64_t new_tokens = 0;
  int threads = 0;
  int iters = 10;
  int warmup = 2;
  uint64_t seed = 0x5eed;
  std::string input_ids;
  std::string save_outputs;
  int depth = 1;
  std::string format = "table";
};

std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size())
      throw Error("--input-ids: '" + item + "' is not a token id (expected a comma-separated list of integers)");
    ids.push_back(value);
    start = end + 1;
  }
  return ids;
}

// The flags the engine cannot check itself, named as the user typed them.
void check_flags(const RunOptions& o, const ModelConfig& config, const std::vector<int64_t>& ids) {
  if (o.iters < 1) throw Error(fmt::format("--iters: expected 1 or more, got {}", o.iters));
  if (o.warmup < 0) throw Error(fmt::format("--warmup: expected 0 or more, got {}", o.warmup));
  if (o.threads < 0) throw Error(fmt::format("--threads: expected 0 (all cores) or more, got {}", o.threads));
  if (o.new_tokens < 0) throw Error(fmt::format("--new-tokens: expected 0 or more, got {}", o.new_tokens));
  if (o.new_tokens > 0 && o.workload.phase != Phase::decode)
    throw Error("--new-tokens: token-by-token generation needs --phase decode");
  if (o.workload.dtype != DType::fp32 && o.workload.dtype != DType::bf16)
    throw Error(fmt::format("--dtype: the CPU engine runs fp32 or bf16, not {}", to_string(o.workload.dtype)));
  if (!ids.empty()) {
    if (config.arch_type == ArchType::vision_encoder) throw Error("--input-ids: " + config.name + " takes images, not token ids");
    const Workload& w = o.workload;
    bool decode_ids = w.phase == Phase::decode && config.arch_type != ArchType::encoder_decoder;
    int64_t per_seq = decode_ids ? w.kv_len + 1 : w.seq;
    int64_t n = static_cast<int64_t>(ids.size());
    if (n != per_seq && n != w.batch * per_seq)
      throw Error(fmt::format("--input-ids: {} ids given, expected {} per sequence ({}) or {} for the batch", n, per_seq,
                              decode_ids ? "--kv-len + 1" : "--seq", w.batch * per_seq));
    for (int64_t id : ids)
      if (id < 0 || id >= config.vocab_size)
        throw Error(fmt::format("--input-ids: id {} is outside the vocabulary [0, {})", id, config.vocab_size));
  }
}

std::string workload_text(const ModelConfig& config, const Workload& w, int64_t new_tokens) {
  std::string text = fmt::format("batch {}, ", w.batch);
  if (config.arch_type == ArchType::vision_encoder)
    text += fmt::format("image {}", w.image_size > 0 ? w.image_size : config.image_size);
  else if (config.arch_type == ArchType::encoder_decoder)
    text += fmt::format("source {}, target {}", w.seq, w.phase == Phase::decode ? 1 : (w.target_seq ? w.target_seq : w.seq));
  else
    text += fmt::format("seq {}", w.phase == Phase::decode ? 1 : w.seq);
  text += fmt::format(", {}", to_string(w.phase));
  if (w.phase == Phase::decode) text += fmt::format(" (kv-len {})", w.kv_len);
  if (new_tokens > 0) text += fmt::format(", {} new tokens", new_tokens);
  return text + ", " + to_string(w.dtype);
}

// Tokens one measured forward produces outputs for (decode: one per sequence).
int64_t tokens_per_forward(const ModelConfig& config, const Workload& w) {
  if (w.phase == Phase::decode) return w.batch;
  if (config.arch_type == ArchType::encoder_decoder) return w.batch * (w.target_seq ? w.target_seq : w.seq);
  if (config.arch_type == ArchType::vision_encoder) return w.batch;  // images
  return w.batch * w.seq;
}

struct Latency {
  std::vector<double> seconds;  // per forward (or per generated token)
  double median = 0, p10 = 0, p90 = 0;
};

Latency summarize_latency(std::vector<double> seconds) {
  Latency l;
  l.median = median(seconds);
  l.p10 = percentile(seconds, 10);
  l.p90 = percentile(seconds, 90);
  l.seconds = std::move(seconds);
  return l;
}

void run_run(RunOptions& o) {
  ResolvedModel m = resolve_model_flags(o.model, /*validate=*/false);
  const ModelConfig& config = m.config;
  o.workload = m.workload;
  const Format format = parse_format(o.format);
  if (o.depth < 1) throw Error(fmt::format("--depth: expected 1 or more, got {}", o.depth));
  std::vector<int64_t> ids = o.input_ids.empty() ? std::vector<int64_t>{} : parse_ids(o.input_ids);
  check_flags(o, config, ids);
  validate_workload(config, o.workload);

  EngineOptions options;
  options.threads = o.threads;
  options.dtype = o.workload.dtype;
  options.seed = o.seed;
  options.max_new_tokens = std::max<int64_t>(o.new_tokens, 1);
  if (!o.weights.empty()) {
    options.weights = o.weights;
  } else if (std::filesystem::is_directory(o.model.model) &&
             (std::filesystem::exists(std::filesystem::path(o.model.model) / "model.safetensors") ||
              std::filesystem::exists(std::filesystem::path(o.model.model) / "model.safetensors.index.json"))) {
    options.weights = o.model.model;
  }
  auto engine = make_cpu_engine(config, o.workload, options);
  if (!ids.empty()) {
    ModelInputs inputs;
    inputs.input_ids = ids;
    engine->set_inputs(inputs);
  }

  // Whole-model latency.
  Latency latency;
  double tokens_per_second = 0;
  if (o.new_tokens > 0) {
    for (int i = 0; i < o.warmup; ++i) engine->generate(o.new_tokens);
    std::vector<double> per_token;
    for (int i = 0; i < o.iters; ++i) {
      auto steps = engine->generate(o.new_tokens);
      per_token.insert(per_token.end(), steps.begin(), steps.end());
    }
    latency = summarize_latency(per_token);
    tokens_per_second = double(o.workload.batch) / latency.median;
  } else {
    engine->run_model(o.warmup);
    std::vector<double> seconds;
    for (int i = 0; i < o.iters; ++i) {
      auto start = std::chrono::steady_clock::now();
      engine->run_model(1);
      engine->synchronize();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    latency = summarize_latency(seconds);
    tokens_per_second = double(tokens_per_forward(config, o.workload)) / latency.median;
  }
  std::vector<OutputTensor> outputs = engine->outputs();

  // Per-component breakdown of normal forward passes: depth 1 times the fused attention block as a
  // whole; deeper rows need the attention leaves timed one by one, so those passes use the leaf kernels.
  bool leaf_kernels = o.depth > 1;
  engine->set_fused_attention(!leaf_kernels);
  std::vector<double> node_seconds = component_latency(*engine, std::max(1, std::min(o.iters, 5)));
  engine->set_fused_attention(true);
  Analysis costs = analyze(engine->graph(), o.workload);
  Analysis times = costs;
  for (auto& c : times.components) {
    c = ComponentCost{c.node, c.name, c.kind, c.op, c.parent, c.layer, c.calls};
    c.flops = static_cast<int64_t>(node_seconds[static_cast<size_t>(c.node)] * 1e9);  // nanoseconds
  }
  auto cost_rows = summarize(costs, o.depth);
  auto time_rows = summarize(times, o.depth);
  double forward_ns = node_seconds[0] * 1e9;

  Table table;
  table.add_column("component", Table::Align::left);
  table.add_column("n");
  table.add_column("ms");
  table.add_column("%");
  table.add_column("GFLOP/s");
  for (size_t i = 0; i < time_rows.size(); ++i) {
    double ns = static_cast<double>(time_rows[i].cost.flops);
    double flops = i < cost_rows.size() ? static_cast<double>(cost_rows[i].cost.flops) : 0.0;
    table.add_row({cell(time_rows[i].label), cell(time_rows[i].count), cell(ns * 1e-6, 3),
                   cell(forward_ns > 0 ? 100.0 * ns / forward_ns : 0.0, 1),
                   ns > 0 && flops > 0 ? cell(flops / ns, 1) : cell_null()});
  }
  table.add_row({cell("total (one forward)"), cell(static_cast<int64_t>(costs.components.size())),
                 cell(forward_ns * 1e-6, 3), cell(100.0, 1),
                 forward_ns > 0 ? cell(double(costs.components.front().flops) / forward_ns, 1) : cell_null()});

  if (!o.save_outputs.empty()) {
    std::filesystem::path dir = o.save_outputs;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("--save-outputs: cannot create folder " + dir.string() + ": " + ec.message());
    for (const auto& out : outputs) write_npy(dir / (out.name + ".npy"), out.shape, out.data.data());
  }

  const char* unit = o.new_tokens > 0 ? "per token" : "per forward";
  std::string breakdown_note = leaf_kernels ? "leaf kernels (attention scores/mask/softmax/context timed one by one)"
                                            : "fused attention, as in the latency above";
  if (format == Format::json) {
    nlohmann::json j;
    j["model"] = config.name;
    j["source"] = config.source;
    j["family"] = to_string(config.family);
    j["weights"] = engine->weights_description();
    j["random_weights"] = engine->random_weights();
    j["workload"] = {{"batch", o.workload.batch}, {"seq", o.workload.seq}, {"target_seq", o.workload.target_seq},
                     {"phase", to_string(o.workload.phase)}, {"kv_len", o.workload.kv_len},
                     {"image_size", o.workload.image_size}, {"dtype", to_string(o.workload.dtype)},
                     {"new_tokens", o.new_tokens}};
    j["threads"] = kernels::threads();
    j["iters"] = o.iters;
    j["warmup"] = o.warmup;
    j["latency"] = {{"unit", unit}, {"median_ms", latency.median * 1e3}, {"p10_ms", latency.p10 * 1e3},
                    {"p90_ms", latency.p90 * 1e3}, {"samples", latency.seconds.size()}};
    j["tokens_per_second"] = tokens_per_second;
    j["flops_per_forward"] = costs.components.front().flops;
    j["packed_weight_bytes"] = engine->packed_weight_bytes();
    j["activation_bytes"] = engine->activation_bytes();
    j["breakdown_kernels"] = breakdown_note;
    j["breakdown"] = table.to_json();
    if (o.new_tokens > 0) j["generated_tokens"] = engine->generated_tokens();
    nlohmann::json outs = nlohmann::json::array();
    for (const auto& out : outputs) outs.push_back({{"name", out.name}, {"shape", out.shape}});
    j["outputs"] = outs;
    if (!o.save_outputs.empty()) j["saved_to"] = o.save_outputs;
    std::fputs((j.dump(2) + "\n").c_str(), stdout);
    return;
  }
  if (format == Format::csv) {
    std::fputs(table.render(Format::csv).c_str(), stdout);
    return;
  }
  std::string h;
  h += fmt::format("model      {} ({}, {})\n", config.name, to_string(config.family), config.architecture);
  h += fmt::format("weights    {}\n", engine->weights_description());
  h += fmt::format("workload   {}\n", workload_text(config, o.workload, o.new_tokens));
  h += fmt::format("engine     cpu, {} threads, {} packed weights, {} activation buffers\n", kernels::threads(),
                   format_si(double(engine->packed_weight_bytes()), "B", 2),
                   format_si(double(engine->activation_bytes()), "B", 2));
  h += fmt::format("latency    median {:.3f} ms, p10 {:.3f} ms, p90 {:.3f} ms {} ({} iters after {} warm-up)\n",
                   latency.median * 1e3, latency.p10 * 1e3, latency.p90 * 1e3, unit, o.iters, o.warmup);
  if (o.new_tokens > 0)
    h += fmt::format("throughput {:.1f} tokens/s (no GFLOP/s: each generated token attends to one more position)\n",
                     tokens_per_second);
  else
    h += fmt::format("throughput {:.1f} tokens/s, {:.1f} GFLOP/s\n", tokens_per_second,
                     double(costs.components.front().flops) / latency.median * 1e-9);
  h += fmt::format("breakdown  {}\n", breakdown_note);
  if (!o.save_outputs.empty()) {
    std::string names;
    for (const auto& out : outputs) names += (names.empty() ? "" : ", ") + out.name + ".npy";
    h += fmt::format("saved      {} in {}\n", names, o.save_outputs);
  }
  if (format == Format::md) {
    std::fputs(("```\n" + h + "```\n\n").c_str(), stdout);
    std::fputs(table.render(Format::md).c_str(), stdout);
  } else {
    std::fputs((h + "\n").c_str(), stdout);
    std::fputs(table.render(Format::table).c_str(), stdout);
  }
}

RegisterCommand reg("run", 30, [](CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model on the CPU engine: latency, tokens/s, per-component breakdown");
  add_model_flags(cmd, o->model, {.model_help = "Zoo name, folder holding config.json (and weights), or a config.json path"});
  cmd->add_option("--weights", o->weights, "Hugging Face folder with model.safetensors (default: seeded random weights)");
  cmd->add_option("--new-tokens", o->new_tokens, "Decode: generate N tokens one by one, report per-token latency")
      ->default_val(0);
  cmd->add_option("--threads", o->threads, "Threads for every kernel (0: all cores)")->default_val(0);
  cmd->add_option("--iters", o->iters, "Timed runs")->default_val(10);
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->default_val(2);
  cmd->add_option("--seed", o->seed, "Seed of the random weights and inputs")->default_val(0x5eed);
  cmd->add_option("--input-ids", o->input_ids, "Comma-separated token ids (per sequence, or for the whole batch)");
  cmd->add_option("--save-outputs", o->save_outputs, "Folder to write every output as <name>.npy");
  cmd->add_option("--depth", o->depth, "Breakdown rows: 1 = blocks per layer group, 2 = their parts, ...")
      ->default_val(1);
  add_format_option(cmd, o->format);
  cmd->callback([o] { run_run(*o); });
});

}  // namespace
}  // namespace clear::cli
