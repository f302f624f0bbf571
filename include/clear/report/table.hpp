#pragma once
// One tabular record type rendered four ways (aligned text, CSV, Markdown, JSON), so every command
// prints the same columns whatever --format says.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace clear {

enum class Format { table, json, csv, md };
Format parse_format(const std::string& text);  // throws clear::Error listing table|json|csv|md
const char* to_string(Format);

struct Table {
  enum class Align { left, right };
  struct Column {
    std::string name;
    Align align = Align::right;
  };
  std::vector<Column> columns;
  // Each cell holds the text shown in table/csv/md and the value stored in JSON (number, string, null).
  struct Cell {
    std::string text;
    nlohmann::json value;
  };
  std::vector<std::vector<Cell>> rows;

  void add_column(std::string name, Align align = Align::right);
  void add_row(std::vector<Cell> cells);  // throws std::logic_error on a column-count mismatch
  std::string render(Format format) const;
  nlohmann::json to_json() const;  // array of objects keyed by column name
};

Table::Cell cell(const std::string& text);
Table::Cell cell(const char* text);
Table::Cell cell(int64_t value);                         // thousands separators in text
Table::Cell cell(double value, int precision = 3);       // fixed precision in text
Table::Cell cell_si(double value, const std::string& unit, int precision = 3);  // 1.23 G{unit}
Table::Cell cell_null(const std::string& text = "-");

// 1234567 -> "1,234,567"
std::string group_thousands(int64_t value);
// 1.5e9, "FLOP" -> "1.50 GFLOP"
std::string format_si(double value, const std::string& unit, int precision = 3);

}  // namespace clear
