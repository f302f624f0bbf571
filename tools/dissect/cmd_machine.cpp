// dissect machine: the machine and software a profile runs on, and its measured ceilings (GEMM
// peak per dtype, memory bandwidth) from the engine's own kernels, measured once and cached.
#include <cstdio>

#include <fmt/format.h>

#include "clear/protocol/machine.hpp"
#include "clear/report/table.hpp"
#include "command.hpp"

namespace {

struct MachineArgs {
  bool refresh = false;
  int threads = 0;
  std::string format = "table";
};

void run_machine(const MachineArgs& args) {
  clear::MachineOptions options;
  options.refresh = args.refresh;
  options.threads = args.threads;
  const clear::MachineInfo m = clear::machine_info(options);
  const clear::Format format = clear::parse_format(args.format);
  if (format == clear::Format::json) {
    nlohmann::json out = clear::to_json(m);
    out["cache"] = clear::machine_cache_path().string();
    std::fputs((out.dump(2) + "\n").c_str(), stdout);
    return;
  }
  clear::Table t;
  t.add_column("field", clear::Table::Align::left);
  t.add_column("value", clear::Table::Align::left);
  auto row = [&](const std::string& k, const std::string& v) { t.add_row({clear::cell(k), clear::cell(v)}); };
  row("hostname", m.hostname);
  row("cpu_model", m.cpu_model);
  row("cores", std::to_string(m.cores));
  row("threads", std::to_string(m.threads));
  row("caches", m.caches);
  row("governor", m.governor);
  row("kernel", m.kernel);
  row("compiler", m.compiler);
  row("onednn_version", m.onednn_version);
  row("clear_version", m.clear_version + " (" + m.clear_commit + ")");
  for (const auto& [dtype, gflops] : m.gemm_gflops)
    row("gemm_gflops." + dtype, fmt::format("{:.1f} GFLOP/s ({} threads)", gflops, m.ceiling_threads));
  row("memory_bandwidth_gbs", fmt::format("{:.1f} GB/s ({} threads)", m.memory_bandwidth_gbs, m.ceiling_threads));
  row("measured_at", m.measured_at + " (--refresh measures again)");
  if (!m.notes.empty()) row("notes", m.notes);
  row("cache", clear::machine_cache_path().string());
  std::fputs(t.render(format).c_str(), stdout);
}

}  // namespace

static clear::cli::RegisterCommand reg("machine", 45, [](CLI::App& app) {
  auto args = std::make_shared<MachineArgs>();
  auto* cmd = app.add_subcommand("machine", "Machine, software versions and measured GEMM/bandwidth ceilings (cached)");
  cmd->add_flag("--refresh", args->refresh, "Measure the ceilings again instead of using the cache");
  cmd->add_option("--threads", args->threads, "Threads for the ceilings (0: every core)")->default_val(0);
  clear::cli::add_format_option(cmd, args->format);
  cmd->callback([args] { run_machine(*args); });
});
