#pragma once
// A record's flat fields described once (name, type, member), so JSON, the SQLite columns and the
// exports all use the same stable names. Adding a field here adds it everywhere; never rename one
// (stored results and scripts read these names).
#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace clear {

template <class Record>
struct FieldDef {
  const char* name;
  std::variant<std::string Record::*, int64_t Record::*, double Record::*, bool Record::*> member;
  const char* doc;
};

// SQL column type of a field: TEXT, INTEGER or REAL.
template <class Record>
const char* sql_type(const FieldDef<Record>& f) {
  if (std::holds_alternative<std::string Record::*>(f.member)) return "TEXT";
  if (std::holds_alternative<double Record::*>(f.member)) return "REAL";
  return "INTEGER";
}

// Non-finite reals (an interval from one trial) become null: JSON has no infinity.
template <class Record>
nlohmann::json field_value(const Record& r, const FieldDef<Record>& f) {
  return std::visit(
      [&](auto member) -> nlohmann::json {
        const auto& v = r.*member;
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          if (!std::isfinite(v)) return nullptr;
        }
        return v;
      },
      f.member);
}

template <class Record>
void set_field(Record& r, const FieldDef<Record>& f, const nlohmann::json& value) {
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(r.*member)>;
        if (value.is_null()) {
          if constexpr (std::is_same_v<T, double>) r.*member = std::nan("");
          return;
        }
        if constexpr (std::is_same_v<T, bool>) {
          r.*member = value.is_boolean() ? value.get<bool>() : value.get<int64_t>() != 0;
        } else {
          r.*member = value.get<T>();
        }
      },
      f.member);
}

template <class Record>
nlohmann::json fields_to_json(const Record& r, const std::vector<FieldDef<Record>>& fields) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : fields) out[f.name] = field_value(r, f);
  return out;
}

// Missing keys keep the default (older stored records); present keys of the wrong type throw.
template <class Record>
Record fields_from_json(const nlohmann::json& j, const std::vector<FieldDef<Record>>& fields) {
  Record r;
  for (const auto& f : fields)
    if (j.contains(f.name)) set_field(r, f, j.at(f.name));
  return r;
}

}  // namespace clear
