// dissect models: the built-in zoo, one line per model (name, family, architecture type, the
// Hugging Face class whose parameters are counted, and that count).
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "clear/model/graph.hpp"
#include "clear/model/zoo.hpp"
#include "clear/report/table.hpp"
#include "command.hpp"

namespace {

// 124439808 -> "124.4 M", 6738415616 -> "6.74 B": short enough for a 100-column terminal.
std::string short_count(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f} B", double(n) / 1e9);
  if (n >= 1000000) return fmt::format("{:.1f} M", double(n) / 1e6);
  return clear::group_thousands(n);
}

void print_models(const std::string& format_name) {
  clear::Format format = clear::parse_format(format_name);
  clear::Table table;
  table.add_column("name", clear::Table::Align::left);
  table.add_column("family", clear::Table::Align::left);
  table.add_column("type", clear::Table::Align::left);
  table.add_column("class", clear::Table::Align::left);
  table.add_column("params");
  for (const auto& entry : clear::zoo_entries()) {
    clear::ModelConfig config = clear::zoo_config(entry.name);
    int64_t params = clear::build_graph(config).param_count();
    table.add_row({clear::cell(entry.name), clear::cell(clear::to_string(config.family)),
                   clear::cell(clear::to_string(config.arch_type)), clear::cell(config.architecture),
                   clear::Table::Cell{format == clear::Format::table ? short_count(params) : std::to_string(params),
                                      params}});
  }
  std::fputs(table.render(format).c_str(), stdout);
}

clear::cli::RegisterCommand reg("models", 10, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "List the built-in model zoo (name, family, type, class, parameters)");
  auto format = std::make_shared<std::string>("table");
  clear::cli::add_format_option(cmd, *format);
  cmd->callback([format] { print_models(*format); });
});

}  // namespace
