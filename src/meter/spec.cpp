#include "clear/meter/spec.hpp"

#include <cmath>
#include <cstdlib>
#include <map>

#include "clear/util/error.hpp"

namespace clear {

const std::string* MeterSpec::find(const std::string& key) const {
  for (const auto& [k, v] : options)
    if (k == key) return &v;
  return nullptr;
}

void MeterSpec::allow_only(std::initializer_list<const char*> keys) const {
  for (const auto& [k, v] : options) {
    bool ok = false;
    for (const char* allowed : keys) ok |= k == allowed;
    if (!ok) {
      std::string list;
      for (const char* allowed : keys) list += std::string(list.empty() ? "" : ", ") + allowed;
      throw Error("meter spec '" + text + "': unknown key '" + k + "' for " + kind + " (expected one of: " +
                  (list.empty() ? "no keys" : list) + ")");
    }
  }
}

MeterSpec parse_meter_spec(const std::string& text) {
  MeterSpec spec;
  spec.text = text;
  size_t colon = text.find(':');
  spec.kind = text.substr(0, colon);
  if (spec.kind.empty()) throw Error("meter spec '" + text + "': empty meter name (expected e.g. auto, rapl, emulated:...)");
  if (colon == std::string::npos) return spec;
  std::string rest = text.substr(colon + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    // cmd= and file= swallow the remainder: commands contain ',' and ':'.
    for (const char* greedy : {"cmd=", "file="}) {
      if (rest.compare(pos, std::string(greedy).size(), greedy) == 0) {
        std::string key(greedy, std::string(greedy).size() - 1);
        spec.options.emplace_back(key, rest.substr(pos + key.size() + 1));
        if (spec.options.back().second.empty())
          throw Error("meter spec '" + text + "': key '" + key + "' needs a value");
        return spec;
      }
    }
    size_t end = rest.find_first_of(",:", pos);
    if (end == std::string::npos) end = rest.size();
    std::string piece = rest.substr(pos, end - pos);
    char separator = pos > 0 ? rest[pos - 1] : ',';
    pos = end + 1;
    if (piece.empty()) {
      if (end == rest.size()) break;
      throw Error("meter spec '" + text + "': empty option (stray ',' or ':')");
    }
    size_t eq = piece.find('=');
    if (eq == std::string::npos) {
      if (spec.options.empty())
        throw Error("meter spec '" + text + "': option '" + piece + "' is not key=value");
      spec.options.back().second += separator + piece;  // "devices=0,1", "devices=0000:3b:00.0"
      continue;
    }
    std::string key = piece.substr(0, eq), value = piece.substr(eq + 1);
    if (key.empty()) throw Error("meter spec '" + text + "': option '" + piece + "' has no key");
    if (value.empty()) throw Error("meter spec '" + text + "': key '" + key + "' needs a value");
    if (spec.find(key)) throw Error("meter spec '" + text + "': key '" + key + "' given twice");
    spec.options.emplace_back(key, value);
    if (end == rest.size()) break;
  }
  return spec;
}

namespace {

double parse_with_units(const MeterSpec& spec, const std::string& key, const std::string& value,
                        const std::map<std::string, double>& units, const char* expected, bool unit_required) {
  const char* begin = value.c_str();
  char* end = nullptr;
  double number = std::strtod(begin, &end);
  std::string unit = end ? std::string(end) : std::string();
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  auto bad = [&] {
    return Error("meter spec '" + spec.text + "': key '" + key + "' expects " + expected + ", got '" + value + "'");
  };
  if (end == begin || !std::isfinite(number)) throw bad();
  if (unit.empty()) {
    if (unit_required) throw bad();
    return number;
  }
  auto it = units.find(unit);
  if (it == units.end()) throw bad();
  return number * it->second;
}

}  // namespace

double parse_seconds(const MeterSpec& spec, const std::string& key, const std::string& value) {
  double v = parse_with_units(spec, key, value, {{"s", 1.0}, {"ms", 1e-3}, {"us", 1e-6}, {"min", 60.0}},
                              "a positive duration such as 10ms, 1s or 500us", true);
  if (!(v > 0)) throw Error("meter spec '" + spec.text + "': key '" + key + "' must be positive, got '" + value + "'");
  return v;
}

double parse_joules(const MeterSpec& spec, const std::string& key, const std::string& value) {
  double v = parse_with_units(spec, key, value, {{"J", 1.0}, {"mJ", 1e-3}, {"uJ", 1e-6}, {"kJ", 1e3}},
                              "an energy such as 1mJ, 61uJ or 2J", true);
  if (v < 0) throw Error("meter spec '" + spec.text + "': key '" + key + "' must not be negative, got '" + value + "'");
  return v;
}

double parse_watts(const MeterSpec& spec, const std::string& key, const std::string& value) {
  double v = parse_with_units(spec, key, value, {{"W", 1.0}, {"mW", 1e-3}, {"kW", 1e3}},
                              "a power such as 40W or 500mW", true);
  if (v < 0) throw Error("meter spec '" + spec.text + "': key '" + key + "' must not be negative, got '" + value + "'");
  return v;
}

double parse_fraction(const MeterSpec& spec, const std::string& key, const std::string& value) {
  double v = parse_with_units(spec, key, value, {{"%", 0.01}}, "a fraction such as 0.5% or 0.005", false);
  if (v < 0 || v >= 1) throw Error("meter spec '" + spec.text + "': key '" + key + "' must be in [0, 100%), got '" + value + "'");
  return v;
}

double parse_number(const MeterSpec& spec, const std::string& key, const std::string& value) {
  return parse_with_units(spec, key, value, {}, "a number", false);
}

}  // namespace clear
