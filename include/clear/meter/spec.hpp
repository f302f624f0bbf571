#pragma once
// Meter specs: "kind[:key=value,key=value...]". Keys are separated by ',' or ':'; a piece with no
// '=' continues the previous value with its separator (so "devices=0,1" and
// "devices=0000:3b:00.0" are one key each); `cmd=` and `file=` take the rest
// of the spec verbatim, so a command may contain ',' and ':'. Quantities carry units.
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace clear {

struct MeterSpec {
  std::string text;  // the whole spec, for error messages
  std::string kind;  // "rapl", "emulated", ...
  std::vector<std::pair<std::string, std::string>> options;  // in the order given

  const std::string* find(const std::string& key) const;  // null when absent
  // Throws clear::Error naming the first key that is not one of `keys`.
  void allow_only(std::initializer_list<const char*> keys) const;
};

MeterSpec parse_meter_spec(const std::string& text);  // throws clear::Error

// Quantities with units; each throws clear::Error naming the spec, the key and what was expected.
double parse_seconds(const MeterSpec& spec, const std::string& key, const std::string& value);  // 10ms, 1s, 500us
double parse_joules(const MeterSpec& spec, const std::string& key, const std::string& value);   // 1mJ, 2J, 61uJ, 1kJ
double parse_watts(const MeterSpec& spec, const std::string& key, const std::string& value);    // 40W, 500mW, 1kW
double parse_fraction(const MeterSpec& spec, const std::string& key, const std::string& value); // 0.5% or 0.005
double parse_number(const MeterSpec& spec, const std::string& key, const std::string& value);

}  // namespace clear
