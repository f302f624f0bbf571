// dissect results: the stored profile runs — list them, show one, or export one as CSV, JSON,
// Markdown or SQL INSERT statements that recreate it in another database.
#include <cstdio>

#include <fmt/format.h>

#include "clear/report/profile_report.hpp"
#include "clear/store/store.hpp"
#include "clear/util/error.hpp"
#include "clear/util/files.hpp"
#include "command.hpp"

namespace {

struct ResultsArgs {
  std::string store;
  int64_t run = 0;
  std::string format = "table";
};

std::filesystem::path store_path(const ResultsArgs& a) {
  if (!a.store.empty()) return a.store;
  if (const char* env = std::getenv("CLEAR_RESULTS_DB")) return env;
  return clear::cache_dir() / "results.db";
}

void open_existing(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw clear::Error("--store " + path.string() + ": no results database there (run `dissect profile` first)");
}

void list_runs(const ResultsArgs& a) {
  const auto path = store_path(a);
  open_existing(path);
  clear::ResultStore store(path);
  clear::Table t;
  t.add_column("run");
  t.add_column("status", clear::Table::Align::left);
  t.add_column("model", clear::Table::Align::left);
  t.add_column("workload", clear::Table::Align::left);
  t.add_column("energy", clear::Table::Align::left);
  t.add_column("started_at", clear::Table::Align::left);
  t.add_column("ended_at", clear::Table::Align::left);
  t.add_column("components");
  t.add_column("energy_per_forward_net");
  for (const auto& run : store.list_runs()) {
    const auto rows = store.load_results(run.id);
    const auto& s = run.summary;
    t.add_row({clear::cell(run.id), clear::cell(run.status), clear::cell(run.model),
               clear::cell(fmt::format("batch {} seq {} {}", run.workload.value("batch", 0), run.workload.value("seq", 0),
                                       run.workload.value("phase", std::string("")))),
               clear::cell(run.meter.value("name", std::string("?")) + " (" + run.meter.value("label", std::string("?")) + ")"),
               clear::cell(run.started_at), clear::cell(run.ended_at), clear::cell(int64_t(rows.size())),
               s.contains("energy_per_forward_net_j") && s["energy_per_forward_net_j"].is_number()
                   ? clear::cell_si(s["energy_per_forward_net_j"].get<double>(), "J")
                   : clear::cell_null()});
  }
  std::fputs(t.render(clear::parse_format(a.format)).c_str(), stdout);
}

void show_run(const ResultsArgs& a, bool with_trials) {
  const auto path = store_path(a);
  open_existing(path);
  clear::ResultStore store(path);
  const clear::RunRecord run = store.load_run(a.run);
  const auto rows = store.load_results(a.run);
  if (a.format == "sql") {
    std::fputs(store.export_sql(a.run).c_str(), stdout);
    return;
  }
  const clear::Format format = clear::parse_format(a.format);
  if (format == clear::Format::json && with_trials) {
    const auto trials = store.load_trials(a.run);
    std::fputs((clear::profile_json(run, rows, &trials).dump(2) + "\n").c_str(), stdout);
    return;
  }
  std::fputs(clear::render_profile(run, rows, format).c_str(), stdout);
}

}  // namespace

static clear::cli::RegisterCommand reg("results", 46, [](CLI::App& app) {
  auto args = std::make_shared<ResultsArgs>();
  auto* cmd = app.add_subcommand("results", "Stored profile runs: list, show RUN, export RUN");
  cmd->add_option("--store", args->store, "SQLite results file (default: $CLEAR_RESULTS_DB or <cache>/results.db)");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "Every stored run");
  clear::cli::add_format_option(list, args->format);
  list->callback([args] { list_runs(*args); });
  auto* show = cmd->add_subcommand("show", "One run: components and model figures");
  show->add_option("run", args->run, "Run id (see `dissect results list`)")->required();
  clear::cli::add_format_option(show, args->format);
  show->callback([args] { show_run(*args, false); });
  auto* exp = cmd->add_subcommand("export", "One run as csv, json (with raw trials), md or sql");
  exp->add_option("run", args->run, "Run id")->required();
  exp->add_option("--format", args->format, "csv, json, md or sql")
      ->check(CLI::IsMember({"csv", "json", "md", "sql"}))
      ->default_val("csv");
  exp->callback([args] { show_run(*args, true); });
  // `--store` may also come after the subcommand.
  for (auto* sub : {list, show, exp}) sub->add_option("--store", args->store, "SQLite results file");
});
