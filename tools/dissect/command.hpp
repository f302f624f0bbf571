#pragma once
// Each subcommand lives in its own cmd_<name>.cpp and registers itself here, so adding a
// command touches no shared file.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace clear::cli {

struct CommandSpec {
  std::string name;
  int order;  // position in `dissect --help`
  std::function<void(CLI::App& app)> setup;  // adds the subcommand and its callback
};

std::vector<CommandSpec>& command_registry();

struct RegisterCommand {
  RegisterCommand(std::string name, int order, std::function<void(CLI::App&)> setup) {
    command_registry().push_back({std::move(name), order, std::move(setup)});
  }
};

// --format table|json|csv|md, validated up front.
CLI::Option* add_format_option(CLI::App* cmd, std::string& format);

}  // namespace clear::cli
