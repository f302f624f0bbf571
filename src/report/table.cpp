#include "clear/report/table.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "clear/util/error.hpp"

namespace clear {

Format parse_format(const std::string& text) {
  if (text == "table") return Format::table;
  if (text == "json") return Format::json;
  if (text == "csv") return Format::csv;
  if (text == "md") return Format::md;
  throw Error("--format: unknown format '" + text + "'; expected one of table, json, csv, md");
}

const char* to_string(Format f) {
  switch (f) {
    case Format::table: return "table";
    case Format::json: return "json";
    case Format::csv: return "csv";
    case Format::md: return "md";
  }
  return "?";
}

void Table::add_column(std::string name, Align align) { columns.push_back({std::move(name), align}); }

void Table::add_row(std::vector<Cell> cells) {
  if (cells.size() != columns.size())
    throw std::logic_error(fmt::format("table row has {} cells for {} columns", cells.size(), columns.size()));
  rows.push_back(std::move(cells));
}

nlohmann::json Table::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : rows) {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t i = 0; i < columns.size(); ++i) obj[columns[i].name] = row[i].value;
    out.push_back(std::move(obj));
  }
  return out;
}

namespace {

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// Display width in terminal columns: UTF-8 continuation bytes take no column.
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string pad(const std::string& s, size_t width, Table::Align align) {
  size_t w = display_width(s);
  if (w >= width) return s;
  std::string fill(width - w, ' ');
  return align == Table::Align::left ? s + fill : fill + s;
}

}  // namespace

std::string Table::render(Format format) const {
  std::ostringstream out;
  switch (format) {
    case Format::json:
      return to_json().dump(2) + "\n";
    case Format::csv: {
      for (size_t i = 0; i < columns.size(); ++i) out << (i ? "," : "") << csv_quote(columns[i].name);
      out << "\n";
      for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) {
          // CSV carries the machine-readable value where it is a number, so spreadsheets need no parsing.
          const auto& v = row[i].value;
          std::string text = v.is_number() ? v.dump() : v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
          out << (i ? "," : "") << csv_quote(text);
        }
        out << "\n";
      }
      return out.str();
    }
    case Format::md: {
      out << "|";
      for (const auto& c : columns) out << " " << md_escape(c.name) << " |";
      out << "\n|";
      for (const auto& c : columns) out << (c.align == Align::right ? " ---: |" : " :--- |");
      out << "\n";
      for (const auto& row : rows) {
        out << "|";
        for (const auto& c : row) out << " " << md_escape(c.text) << " |";
        out << "\n";
      }
      return out.str();
    }
    case Format::table: {
      std::vector<size_t> widths(columns.size());
      for (size_t i = 0; i < columns.size(); ++i) widths[i] = display_width(columns[i].name);
      for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i].text));
      for (size_t i = 0; i < columns.size(); ++i)
        out << (i ? "  " : "") << pad(columns[i].name, widths[i], columns[i].align);
      out << "\n";
      for (size_t i = 0; i < columns.size(); ++i) out << (i ? "  " : "") << std::string(widths[i], '-');
      out << "\n";
      for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) out << (i ? "  " : "") << pad(row[i].text, widths[i], columns[i].align);
        out << "\n";
      }
      return out.str();
    }
  }
  return out.str();
}

std::string group_thousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n && n % 3 == 0) out += ',';
    out += *it;
    ++n;
  }
  if (value < 0) out += '-';
  std::reverse(out.begin(), out.end());
  return out;
}

std::string format_si(double value, const std::string& unit, int precision) {
  if (!std::isfinite(value)) return fmt::format("{} {}", value, unit);
  static const char* prefixes[] = {"p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E"};
  double a = std::fabs(value);
  int idx = 4;
  if (a != 0.0) {
    int e = static_cast<int>(std::floor(std::log10(a) / 3.0));
    idx = std::clamp(e + 4, 0, 10);
  }
  double scaled = value / std::pow(1000.0, idx - 4);
  return fmt::format("{:.{}f} {}{}", scaled, precision, prefixes[idx], unit);
}

Table::Cell cell(const std::string& text) { return {text, text}; }
Table::Cell cell(const char* text) { return {text, std::string(text)}; }
Table::Cell cell(int64_t value) { return {group_thousands(value), value}; }
Table::Cell cell(double value, int precision) {
  if (!std::isfinite(value)) return {"-", nullptr};
  return {fmt::format("{:.{}f}", value, precision), value};
}
Table::Cell cell_si(double value, const std::string& unit, int precision) {
  if (!std::isfinite(value)) return {"-", nullptr};
  return {format_si(value, unit, precision), value};
}
Table::Cell cell_null(const std::string& text) { return {text, nullptr}; }

}  // namespace clear
