#pragma once
// Typed, checked reads of one config.json object. Every error names the file and the field, and
// says what was expected and what was found; a null value counts as absent (Hugging Face writes
// `null` for "use the default").
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace clear::config_fields {

// Upper bounds that keep every later product (params, FLOPs, bytes) inside int64.
inline constexpr int64_t kMaxDim = int64_t(1) << 20;      // hidden, ffn, heads, head_dim, positions
inline constexpr int64_t kMaxVocab = int64_t(1) << 24;    // vocabulary rows
inline constexpr int64_t kMaxLayers = int64_t(1) << 12;
inline constexpr int64_t kMaxExperts = int64_t(1) << 10;

class Fields {
 public:
  // `prefix` names a nested object in messages (e.g. "rope_scaling.").
  Fields(const nlohmann::json& object, std::string source, std::string model_type, std::string prefix = "");

  bool has(const char* key) const;  // present and not null
  bool is_null(const char* key) const;  // present with the value null
  const nlohmann::json* find(const char* key) const;

  // Required integer in [1, max]; missing -> error naming the field and the file.
  int64_t size(const char* key, int64_t max = kMaxDim) const;
  // Optional integer in [1, max]; absent or null -> `fallback` (the Hugging Face class default).
  int64_t size_or(const char* key, int64_t fallback, int64_t max = kMaxDim) const;
  // Optional integer in [0, max].
  int64_t count_or(const char* key, int64_t fallback, int64_t max = kMaxDim) const;
  // Optional integer of any sign (token ids).
  int64_t integer_or(const char* key, int64_t fallback) const;
  // Optional positive finite number.
  double positive_or(const char* key, double fallback) const;
  bool flag_or(const char* key, bool fallback) const;
  std::string text_or(const char* key, const std::string& fallback) const;

  // Hugging Face's attribute_map lets `alias` stand for `key`: when both are given they must agree.
  void require_same(const char* key, const char* alias) const;
  // The value under `key`, falling back to `alias` when only the alias is given.
  const char* pick(const char* key, const char* alias) const;

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
  [[noreturn]] void fail_value(const std::string& key, const std::string& expected) const;
  const std::string& source() const { return source_; }
  const std::string& model_type() const { return model_type_; }

 private:
  int64_t bounded(const char* key, int64_t lo, int64_t hi) const;

  const nlohmann::json& object_;
  std::string source_;
  std::string model_type_;
  std::string prefix_;
};

// Short rendering of a JSON value for error messages (long values cut).
std::string describe(const nlohmann::json& value);

}  // namespace clear::config_fields
