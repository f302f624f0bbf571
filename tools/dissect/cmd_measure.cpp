// dissect measure: run any command and report its energy per domain, like `perf stat` — duration,
// gross energy, energy net of the idle baseline measured just before, average power, CO2e and
// cost. The report goes to stderr (or --output FILE) so the command's own stdout stays clean; the
// command's exit status is returned.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <spawn.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/meter/carbon.hpp"
#include "clear/meter/source.hpp"
#include "clear/report/table.hpp"
#include "clear/util/error.hpp"
#include "clear/util/files.hpp"
#include "command.hpp"

extern char** environ;

namespace {

struct MeasureArgs {
  std::string meter = "auto";
  double idle_baseline_s = 2.0;
  std::optional<std::string> region;
  std::optional<double> carbon_intensity;
  double pue = 1.0;
  std::optional<double> price_per_kwh;
  std::optional<double> tdp;
  std::string format = "table";
  std::string output;
  std::vector<std::string> command;
};

// The program execvp would run, or a clear::Error saying why it cannot be run.
std::string resolve_program(const std::string& name) {
  auto runnable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (runnable(name)) return name;
    throw clear::Error("measure: cannot run '" + name + "': " +
                       (::access(name.c_str(), F_OK) != 0 ? std::strerror(ENOENT) : "not an executable file"));
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(pos, end - pos);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (runnable(candidate)) return candidate;
    pos = end + 1;
  }
  throw clear::Error("measure: command '" + name + "' not found in PATH");
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Sleeps `seconds`, reading the meter every half second so wrapping counters are tracked.
clear::EnergySample wait_reading(clear::EnergySource& source, double seconds) {
  double end = clear::steady_now_s() + seconds;
  for (;;) {
    double left = end - clear::steady_now_s();
    if (left <= 0) return source.read();
    sleep_s(std::min(left, 0.5));
    source.read();
  }
}

void run_measure(const MeasureArgs& args) {
  clear::Format format = clear::parse_format(args.format);
  if (args.command.empty()) throw clear::Error("measure: give the command to run after --, e.g. dissect measure -- sleep 1");
  if (!(args.idle_baseline_s >= 0)) throw clear::Error("--idle-baseline: expected seconds >= 0");
  clear::CarbonSettings carbon = clear::carbon_settings(args.region, args.carbon_intensity, args.pue, args.price_per_kwh);
  std::string program = resolve_program(args.command[0]);
  clear::MeterOptions options;
  options.tdp_w = args.tdp;
  auto source = clear::open_meter(args.meter, options);
  auto domains = source->domains();
  const char* label = clear::energy_label(*source);

  std::vector<double> idle_w(domains.size(), 0.0);
  if (args.idle_baseline_s > 0) {
    clear::EnergySample a = source->read();
    clear::EnergySample b = wait_reading(*source, args.idle_baseline_s);
    for (size_t i = 0; i < domains.size(); ++i) idle_w[i] = (b.joules[i] - a.joules[i]) / (b.time_s - a.time_s);
  }

  std::vector<char*> argv;
  for (const auto& a : args.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  clear::EnergySample start = source->read();
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) throw clear::Error("measure: cannot run '" + args.command[0] + "': " + std::strerror(rc));
  int status = 0;
  std::string meter_failure;
  double next_read = clear::steady_now_s() + 0.5;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    if (meter_failure.empty() && clear::steady_now_s() >= next_read) {
      try {
        source->read();
      } catch (const clear::MeterError& e) {
        meter_failure = e.what();  // the command keeps running; the failure is reported when it ends
      }
      next_read += 0.5;
    }
    sleep_s(0.002);
  }
  if (!meter_failure.empty()) throw clear::MeterError(meter_failure);
  clear::EnergySample end = source->read();
  int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  double duration = end.time_s - start.time_s;

  clear::Table table;
  for (const char* c : {"domain", "kind", "source", "label"}) table.add_column(c, clear::Table::Align::left);
  for (const char* c : {"duration (s)", "gross (J)", "idle (W)", "net (J)", "avg power (W)", "gross CO2e (g)", "net CO2e (g)"})
    table.add_column(c);
  if (carbon.price_per_kwh) table.add_column("cost");
  auto add = [&](const std::string& name, const std::string& kind, double gross, double idle) {
    double net = gross - idle * duration;
    std::vector<clear::Table::Cell> row = {
        clear::cell(name), clear::cell(kind), clear::cell(source->name()), clear::cell(label),
        clear::cell(duration, 3), clear::cell(gross, 3), clear::cell(idle, 3), clear::cell(net, 3),
        clear::cell(duration > 0 ? gross / duration : 0.0, 3), clear::cell(clear::kg_co2e(gross, carbon) * 1e3, 4),
        clear::cell(clear::kg_co2e(net, carbon) * 1e3, 4)};
    if (carbon.price_per_kwh) row.push_back(clear::cell(*clear::energy_cost(gross, carbon), 6));
    table.add_row(row);
  };
  double total_gross = 0, total_idle = 0;
  for (size_t i = 0; i < domains.size(); ++i) {
    double gross = end.joules[i] - start.joules[i];
    add(domains[i].name + (domains[i].in_total ? "" : " (in another)"), domains[i].kind, gross, idle_w[i]);
    if (domains[i].in_total) {
      total_gross += gross;
      total_idle += idle_w[i];
    }
  }
  if (domains.size() > 1) add("total", "total", total_gross, total_idle);

  std::string text;
  if (format == clear::Format::json) {
    nlohmann::json doc = {{"command", args.command},
                          {"exit_status", exit_code},
                          {"meter", {{"source", source->name()}, {"label", label}, {"method", source->method()},
                                     {"note", source->selection_note()}}},
                          {"idle_baseline_s", args.idle_baseline_s},
                          {"duration_s", duration},
                          {"domains", table.to_json()},
                          {"carbon", {{"g_co2e_per_kwh", carbon.g_co2e_per_kwh}, {"pue", carbon.pue},
                                      {"intensity_source", carbon.intensity_source}}}};
    if (carbon.price_per_kwh) doc["carbon"]["price_per_kwh"] = *carbon.price_per_kwh;
    text = doc.dump(2) + "\n";
  } else {
    text = table.render(format);
    if (format == clear::Format::table) {
      text += "\nenergy source: " + source->name() + " (" + label + "): " + source->method() + "\n";
      if (!source->selection_note().empty()) text += source->selection_note() + "\n";
      if (!source->measured()) text += "THESE ENERGY FIGURES ARE AN ESTIMATE, NOT A MEASUREMENT.\n";
      text += args.idle_baseline_s > 0 ? fmt::format("idle baseline: {:g} s before the command\n", args.idle_baseline_s)
                                       : std::string("idle baseline: disabled (net = gross)\n");
      text += fmt::format("carbon: {}; PUE {:g}\n", carbon.intensity_source, carbon.pue);
      text += "command exit status: " + std::to_string(exit_code) + "\n";
    }
  }
  if (!args.output.empty()) clear::write_file_atomic(args.output, text);
  else std::fputs(text.c_str(), stderr);
  std::fflush(stdout);
  std::fflush(stderr);
  if (exit_code != 0) std::exit(exit_code);
}

clear::cli::RegisterCommand reg("measure", 61, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("measure", "Run a command and report its energy, net of idle, CO2e and cost (like perf stat)");
  auto args = std::make_shared<MeasureArgs>();
  cmd->add_option("--meter", args->meter, "Meter spec: auto, rapl, nvml, estimate, emulated:..., external:cmd=...");
  cmd->add_option("--idle-baseline", args->idle_baseline_s, "Seconds of idle measured before the command (0: none)");
  cmd->add_option("--region", args->region, "Grid region code for CO2e (e.g. DE, FR, US); default: world average");
  cmd->add_option("--carbon-intensity", args->carbon_intensity, "gCO2e per kWh (overrides --region)");
  cmd->add_option("--pue", args->pue, "Data-centre power usage effectiveness (>= 1)");
  cmd->add_option("--price-per-kwh", args->price_per_kwh, "Electricity price per kWh, for a cost column");
  cmd->add_option("--tdp", args->tdp, "CPU power at full load in W, for the estimate")->check(CLI::PositiveNumber);
  cmd->add_option("--output", args->output, "Write the report to this file instead of stderr");
  clear::cli::add_format_option(cmd, args->format);
  cmd->add_option("command", args->command, "The command and its arguments (after --)");
  cmd->callback([args] { run_measure(*args); });
});

}  // namespace
