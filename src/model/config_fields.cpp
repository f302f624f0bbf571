#include "model/config_fields.hpp"

#include <cmath>

#include <fmt/format.h>

#include "clear/util/error.hpp"

namespace clear::config_fields {

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Fields::Fields(const nlohmann::json& object, std::string source, std::string model_type, std::string prefix)
    : object_(object), source_(std::move(source)), model_type_(std::move(model_type)), prefix_(std::move(prefix)) {}

const nlohmann::json* Fields::find(const char* key) const {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool Fields::has(const char* key) const { return find(key) != nullptr; }

bool Fields::is_null(const char* key) const {
  auto it = object_.find(key);
  return it != object_.end() && it->is_null();
}

void Fields::fail(const std::string& key, const std::string& expected) const {
  throw Error(fmt::format("{}: field '{}{}': {}", source_, prefix_, key, expected));
}

void Fields::fail_value(const std::string& key, const std::string& expected) const {
  const nlohmann::json* value = find(key.c_str());
  fail(key, fmt::format("expected {}, got {}", expected, value ? describe(*value) : "nothing"));
}

int64_t Fields::bounded(const char* key, int64_t lo, int64_t hi) const {
  const nlohmann::json& value = *find(key);
  std::string expected = lo == 1 ? fmt::format("a positive integer (at most {})", hi)
                                 : fmt::format("an integer from {} to {}", lo, hi);
  if (value.is_number_unsigned()) {  // nlohmann parses every non-negative integer, 0 included, as unsigned
    uint64_t v = value.get<uint64_t>();
    if (v > uint64_t(hi) || int64_t(v) < lo) fail_value(key, expected);
    return int64_t(v);
  }
  if (!value.is_number_integer()) fail_value(key, expected);
  int64_t v = value.get<int64_t>();
  if (v < lo || v > hi) fail_value(key, expected);
  return v;
}

int64_t Fields::size(const char* key, int64_t max) const {
  if (!has(key))
    throw Error(fmt::format("{}: missing required field '{}{}' (model_type '{}')", source_, prefix_, key, model_type_));
  return bounded(key, 1, max);
}

int64_t Fields::size_or(const char* key, int64_t fallback, int64_t max) const {
  return has(key) ? bounded(key, 1, max) : fallback;
}

int64_t Fields::count_or(const char* key, int64_t fallback, int64_t max) const {
  return has(key) ? bounded(key, 0, max) : fallback;
}

int64_t Fields::integer_or(const char* key, int64_t fallback) const {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  if (value->is_number_integer() && !value->is_number_unsigned()) return value->get<int64_t>();
  if (value->is_number_unsigned() && value->get<uint64_t>() <= uint64_t(INT64_MAX)) return int64_t(value->get<uint64_t>());
  fail_value(key, "an integer");
}

double Fields::positive_or(const char* key, double fallback) const {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  if (!value->is_number()) fail_value(key, "a positive number");
  double v = value->get<double>();
  if (!std::isfinite(v) || v <= 0) fail_value(key, "a positive number");
  return v;
}

bool Fields::flag_or(const char* key, bool fallback) const {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  if (!value->is_boolean()) fail_value(key, "true or false");
  return value->get<bool>();
}

std::string Fields::text_or(const char* key, const std::string& fallback) const {
  const nlohmann::json* value = find(key);
  if (!value) return fallback;
  if (!value->is_string()) fail_value(key, "a string");
  return value->get<std::string>();
}

void Fields::require_same(const char* key, const char* alias) const {
  const nlohmann::json* a = find(key);
  const nlohmann::json* b = find(alias);
  if (a && b && *a != *b)
    fail(alias, fmt::format("contradicts '{}' ({} vs {}); Hugging Face reads '{}' as '{}'", key, describe(*b),
                            describe(*a), alias, key));
}

const char* Fields::pick(const char* key, const char* alias) const {
  require_same(key, alias);
  return (!has(key) && has(alias)) ? alias : key;
}

}  // namespace clear::config_fields
