// dissect meters: every energy source this machine has, why each missing one is missing (with the
// fix), and what would be used instead; --characterize measures each usable source's update
// period, resolution, read overhead and idle power, and caches them for the protocol.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clear/meter/characterize.hpp"
#include "clear/meter/discover.hpp"
#include "clear/report/table.hpp"
#include "command.hpp"

namespace {

struct MetersArgs {
  std::string format = "table";
  bool characterize = false;
  double seconds = 5.0;
  std::string meter;
  std::optional<double> tdp;
};

std::string domain_list(const std::vector<clear::EnergyDomain>& domains) {
  std::string s;
  for (const auto& d : domains) s += (s.empty() ? "" : ",") + d.name;
  return s;
}

void run_meters(const MetersArgs& args) {
  clear::Format format = clear::parse_format(args.format);
  clear::MeterOptions options;
  options.tdp_w = args.tdp;
  nlohmann::json doc = nlohmann::json::object();
  std::vector<std::unique_ptr<clear::EnergySource>> to_characterize;
  std::string summary;

  if (args.meter.empty()) {
    auto probes = clear::probe_sensors(options);
    auto chosen = clear::open_auto_meter(options);
    clear::Table table;
    table.add_column("source", clear::Table::Align::left);
    table.add_column("status", clear::Table::Align::left);
    table.add_column("domains", clear::Table::Align::left);
    table.add_column("detail", clear::Table::Align::left);
    table.add_column("fix", clear::Table::Align::left);
    bool any = false;
    for (const auto& p : probes) {
      any |= p.available;
      table.add_row({clear::cell(p.name), clear::cell(p.status), clear::cell(domain_list(p.domains)), clear::cell(p.detail),
                     p.fix.empty() ? clear::cell_null() : clear::cell(p.fix)});
    }
    table.add_row({clear::cell("estimate"), clear::cell(any ? "fallback (not used)" : "USED INSTEAD (not a measurement)"),
                   clear::cell("estimate-cpu"), clear::cell(any ? "used only when no sensor is available" : chosen->method()),
                   clear::cell_null()});
    summary = any ? "energy sensor(s) found; dissect uses: " + chosen->name() + " (measured): " + chosen->method()
                  : "no energy sensor on this machine (reasons above); dissect would use the ESTIMATE instead, "
                    "labelled 'estimate' wherever it is printed or stored (model above; --tdp W sets the CPU power)";
    doc["sources"] = table.to_json();
    doc["selected"] = {{"source", chosen->name()}, {"label", clear::energy_label(*chosen)}, {"method", chosen->method()},
                       {"note", chosen->selection_note()}};
    doc["summary"] = summary;
    if (format == clear::Format::table) {
      // Narrow table, then one paragraph per source: details and fixes are long.
      clear::Table narrow;
      for (const char* c : {"source", "status", "domains"}) narrow.add_column(c, clear::Table::Align::left);
      for (const auto& row : table.rows) narrow.add_row({row[0], row[1], row[2]});
      std::string text = narrow.render(format) + "\n";
      for (const auto& row : table.rows) {
        text += row[0].text + ": " + row[3].text + "\n";
        if (!row[4].value.is_null()) text += "  fix: " + row[4].text + "\n";
      }
      std::fputs(text.c_str(), stdout);
    } else if (format != clear::Format::json) {
      std::fputs(table.render(format).c_str(), stdout);
    }
    if (args.characterize) {
      for (const auto& p : probes)
        if (p.available) to_characterize.push_back(clear::open_meter(p.spec, options));
      if (to_characterize.empty()) to_characterize.push_back(std::move(chosen));
    }
  } else {
    auto source = clear::open_meter(args.meter, options);
    summary = "meter " + source->name() + " (" + clear::energy_label(*source) + "): " + source->method();
    if (!source->selection_note().empty()) summary += "\n" + source->selection_note();
    doc["selected"] = {{"source", source->name()}, {"label", clear::energy_label(*source)}, {"method", source->method()},
                       {"domains", domain_list(source->domains())}, {"note", source->selection_note()}};
    doc["summary"] = summary;
    if (!args.characterize && format != clear::Format::json) {
      clear::Table table;
      table.add_column("source", clear::Table::Align::left);
      table.add_column("label", clear::Table::Align::left);
      table.add_column("domains", clear::Table::Align::left);
      table.add_row({clear::cell(source->name()), clear::cell(clear::energy_label(*source)), clear::cell(domain_list(source->domains()))});
      std::fputs(table.render(format).c_str(), stdout);
    }
    if (args.characterize) to_characterize.push_back(std::move(source));
  }

  if (!to_characterize.empty()) {
    clear::Table table;
    table.add_column("source", clear::Table::Align::left);
    table.add_column("label", clear::Table::Align::left);
    table.add_column("update period (ms)");
    table.add_column("resolution (mJ)");
    table.add_column("read overhead (us)");
    table.add_column("idle power (W)");
    table.add_column("idle sd (W)");
    table.add_column("changes");
    table.add_column("note", clear::Table::Align::left);
    nlohmann::json list = nlohmann::json::array();
    clear::CharacterizeOptions copts;
    copts.seconds = args.seconds;
    for (auto& source : to_characterize) {
      clear::Characterization c = clear::characterize(*source, copts);
      clear::store_traits(*source, c.traits);
      const auto& t = c.traits;
      table.add_row({clear::cell(source->name()), clear::cell(clear::energy_label(*source)),
                     clear::cell(t.update_period_s * 1e3, 3), clear::cell(t.resolution_j * 1e3, 4),
                     clear::cell(t.read_overhead_s * 1e6, 1), clear::cell(t.idle_power_w, 2), clear::cell(t.idle_power_sd_w, 2),
                     clear::cell(int64_t(c.changes_seen)), c.note.empty() ? clear::cell_null() : clear::cell(c.note)});
      list.push_back({{"source", source->name()}, {"label", clear::energy_label(*source)}, {"method", source->method()},
                      {"update_period_s", t.update_period_s}, {"resolution_j", t.resolution_j},
                      {"resolution_upper_bound", c.resolution_upper_bound}, {"read_overhead_s", t.read_overhead_s},
                      {"idle_power_w", t.idle_power_w}, {"idle_power_sd_w", t.idle_power_sd_w},
                      {"wrap_range_j", t.wrap_range_j}, {"changes_seen", c.changes_seen}, {"note", c.note},
                      {"cache_key", clear::traits_cache_key(*source)}});
    }
    doc["characterization"] = list;
    if (format != clear::Format::json) {
      if (format == clear::Format::table) std::fputs("\ncharacterisation (cached for the protocol):\n", stdout);
      std::fputs(table.render(format).c_str(), stdout);
    }
  }
  if (format == clear::Format::json) std::fputs((doc.dump(2) + "\n").c_str(), stdout);
  else if (format == clear::Format::table) std::fputs(("\n" + summary + "\n").c_str(), stdout);
}

clear::cli::RegisterCommand reg("meters", 60, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("meters", "List energy sources (and why missing ones are missing); --characterize measures them");
  auto args = std::make_shared<MetersArgs>();
  cmd->add_flag("--characterize", args->characterize, "Measure update period, resolution, read overhead and idle power (cached)");
  cmd->add_option("--seconds", args->seconds, "Time spent characterising each source")->check(CLI::PositiveNumber);
  cmd->add_option("--meter", args->meter, "Only this meter spec (e.g. rapl, emulated:update=20ms,resolution=1mJ,idle=30W)");
  cmd->add_option("--tdp", args->tdp, "CPU power at full load in W, for the estimate")->check(CLI::PositiveNumber);
  clear::cli::add_format_option(cmd, args->format);
  cmd->callback([args] { run_meters(*args); });
});

}  // namespace
