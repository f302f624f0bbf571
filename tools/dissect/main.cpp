// dissect: the CLEAR command-line tool. Every subcommand is a thin layer over the libraries.
// Exit status: 0 success, 2 bad input (a clear::Error names the file, field, tensor or flag),
// 1 a measurement or internal failure.
#include <algorithm>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "clear/meter/source.hpp"
#include "clear/util/error.hpp"
#include "clear/version.hpp"
#include "command.hpp"

namespace clear::cli {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

CLI::Option* add_format_option(CLI::App* cmd, std::string& format) {
  return cmd->add_option("--format", format, "Output format")
      ->check(CLI::IsMember({"table", "json", "csv", "md"}))
      ->default_val("table");
}

}  // namespace clear::cli

int main(int argc, char** argv) {
  CLI::App app{"dissect: Component-Level Energy Assessment of transformer models (CLEAR)", "dissect"};
  app.set_version_flag("--version", std::string(clear::kVersion) + " (" + clear::kGitCommit + ")");
  app.require_subcommand(1);
  auto& registry = clear::cli::command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& spec : registry) spec.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const clear::Error& e) {
    std::fprintf(stderr, "dissect: error: %s\n", e.what());
    return 2;
  } catch (const clear::MeterError& e) {
    std::fprintf(stderr, "dissect: energy sensor failed: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dissect: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
