#include "clear/store/store.hpp"

#include <sqlite3.h>

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "clear/util/error.hpp"

namespace clear {

namespace {

// A prepared statement that finalises itself; every error names the database file.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::filesystem::path& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(fmt::format("results database {}: {} (in: {})", path.string(), sqlite3_errmsg(db), sql));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, const nlohmann::json& value) {
    int rc = SQLITE_OK;
    if (value.is_null()) rc = sqlite3_bind_null(stmt_, index);
    else if (value.is_boolean()) rc = sqlite3_bind_int64(stmt_, index, value.get<bool>() ? 1 : 0);
    else if (value.is_number_integer()) rc = sqlite3_bind_int64(stmt_, index, value.get<int64_t>());
    else if (value.is_number()) rc = sqlite3_bind_double(stmt_, index, value.get<double>());
    else if (value.is_string()) rc = sqlite3_bind_text(stmt_, index, value.get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
    else rc = sqlite3_bind_text(stmt_, index, value.dump().c_str(), -1, SQLITE_TRANSIENT);
    check(rc);
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    check(rc);
    return false;
  }
  int columns() const { return sqlite3_column_count(stmt_); }
  std::string column_name(int i) const { return sqlite3_column_name(stmt_, i); }
  nlohmann::json column(int i) const {
    switch (sqlite3_column_type(stmt_, i)) {
      case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(stmt_, i));
      case SQLITE_FLOAT: return sqlite3_column_double(stmt_, i);
      case SQLITE_TEXT: return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i)));
      default: return nullptr;
    }
  }
  // A row as a JSON object keyed by column name.
  nlohmann::json row() const {
    nlohmann::json out = nlohmann::json::object();
    for (int i = 0; i < columns(); ++i) out[column_name(i)] = column(i);
    return out;
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
      throw Error(fmt::format("results database {}: {}", path_.string(), sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::filesystem::path path_;
};

template <class Record>
std::string field_columns_sql(const std::vector<FieldDef<Record>>& fields) {
  std::string out;
  for (const auto& f : fields) out += fmt::format(",\n  {} {}", f.name, sql_type(f));
  return out;
}

const char* kRunJsonColumns[] = {"workload", "meter", "settings", "summary"};

// SQL literal for export_sql.
std::string sql_literal(const nlohmann::json& v) {
  if (v.is_null()) return "NULL";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return fmt::format("{:.17g}", v.get<double>());
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string store_schema_sql() {
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);\n"
      "CREATE TABLE IF NOT EXISTS runs (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  status TEXT NOT NULL,\n"
      "  started_at TEXT, ended_at TEXT, clear_version TEXT, clear_commit TEXT,\n"
      "  model TEXT, model_source TEXT, weights TEXT,\n"
      "  workload TEXT, meter TEXT, settings TEXT, summary TEXT);\n"
      "CREATE TABLE IF NOT EXISTS machine (\n  run_id INTEGER PRIMARY KEY REFERENCES runs(id),\n"
      "  hostname TEXT, cpu_model TEXT, cores INTEGER, threads INTEGER, governor TEXT,\n"
      "  memory_bandwidth_gbs REAL, gemm_fp32_gflops REAL, info TEXT);\n"
      "CREATE TABLE IF NOT EXISTS component_results (\n  run_id INTEGER NOT NULL REFERENCES runs(id){},\n"
      "  PRIMARY KEY (run_id, scope, name));\n"
      "CREATE TABLE IF NOT EXISTS trials (\n  run_id INTEGER NOT NULL REFERENCES runs(id){},\n"
      "  PRIMARY KEY (run_id, unit, trial));\n",
      field_columns_sql(component_result_fields()), field_columns_sql(trial_fields()));
}

ResultStore::ResultStore(const std::filesystem::path& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("--store {}: cannot open the results database: {}", path.string(), why));
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("BEGIN");
    exec(store_schema_sql());
    Statement version(db_, "SELECT version FROM schema_version", path_);
    if (version.step()) {
      const int64_t v = version.column(0).get<int64_t>();
      if (v > kStoreSchemaVersion)
        throw Error(fmt::format("--store {}: schema version {} is newer than this program's {}; use a newer dissect",
                                path.string(), v, kStoreSchemaVersion));
    } else {
      exec(fmt::format("INSERT INTO schema_version VALUES ({})", kStoreSchemaVersion));
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

ResultStore::~ResultStore() { sqlite3_close(db_); }

void ResultStore::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(fmt::format("results database {}: {}", path_.string(), why));
  }
}

int64_t ResultStore::begin_run(RunRecord& run) {
  exec("BEGIN");
  try {
    Statement insert(db_,
                     "INSERT INTO runs (status, started_at, ended_at, clear_version, clear_commit, model, model_source, "
                     "weights, workload, meter, settings, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     path_);
    const nlohmann::json values[] = {run.status, run.started_at, run.ended_at, run.clear_version, run.clear_commit,
                                     run.model, run.model_source, run.weights, run.workload.dump(), run.meter.dump(),
                                     run.settings.dump(), run.summary.dump()};
    for (int i = 0; i < 12; ++i) insert.bind(i + 1, values[i]);
    insert.step();
    run.id = sqlite3_last_insert_rowid(db_);
    Statement machine(db_,
                      "INSERT INTO machine (run_id, hostname, cpu_model, cores, threads, governor, memory_bandwidth_gbs, "
                      "gemm_fp32_gflops, info) VALUES (?,?,?,?,?,?,?,?,?)",
                      path_);
    const auto& m = run.machine;
    const auto fp32 = m.gemm_gflops.find("fp32");
    const nlohmann::json mvalues[] = {run.id, m.hostname, m.cpu_model, m.cores, m.threads, m.governor,
                                      m.memory_bandwidth_gbs,
                                      fp32 == m.gemm_gflops.end() ? nlohmann::json(nullptr) : nlohmann::json(fp32->second),
                                      to_json(m).dump()};
    for (int i = 0; i < 9; ++i) machine.bind(i + 1, mvalues[i]);
    machine.step();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return run.id;
}

void ResultStore::update_run(const RunRecord& run) {
  Statement update(db_, "UPDATE runs SET status = ?, ended_at = ?, summary = ?, settings = ? WHERE id = ?", path_);
  update.bind(1, run.status);
  update.bind(2, run.ended_at);
  update.bind(3, run.summary.dump());
  update.bind(4, run.settings.dump());
  update.bind(5, run.id);
  update.step();
  if (sqlite3_changes(db_) != 1) throw Error(fmt::format("results database {}: no run {}", path_.string(), run.id));
}

namespace {
template <class Record>
void insert_records(sqlite3* db, const std::filesystem::path& path, const char* table, int64_t run_id,
                    const std::vector<Record>& records, const std::vector<FieldDef<Record>>& fields) {
  std::string columns = "run_id", marks = "?";
  for (const auto& f : fields) {
    columns += std::string(", ") + f.name;
    marks += ",?";
  }
  for (const auto& r : records) {
    Statement insert(db, fmt::format("INSERT OR REPLACE INTO {} ({}) VALUES ({})", table, columns, marks), path);
    insert.bind(1, run_id);
    for (size_t i = 0; i < fields.size(); ++i) insert.bind(static_cast<int>(i) + 2, field_value(r, fields[i]));
    insert.step();
  }
}

template <class Record>
std::vector<Record> select_records(sqlite3* db, const std::filesystem::path& path, const char* table,
                                   const char* order, int64_t run_id, const std::vector<FieldDef<Record>>& fields) {
  Statement select(db, fmt::format("SELECT * FROM {} WHERE run_id = ? ORDER BY {}", table, order), path);
  select.bind(1, run_id);
  std::vector<Record> out;
  while (select.step()) out.push_back(fields_from_json(select.row(), fields));
  return out;
}
}  // namespace

void ResultStore::commit_unit(int64_t run_id, const std::vector<ComponentResult>& results,
                              const std::vector<TrialRecord>& trials) {
  exec("BEGIN");
  try {
    insert_records(db_, path_, "component_results", run_id, results, component_result_fields());
    insert_records(db_, path_, "trials", run_id, trials, trial_fields());
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

namespace {
RunRecord run_from_row(nlohmann::json row) {
  for (const char* key : kRunJsonColumns) {
    const auto& text = row[key];
    row[key] = text.is_string() && !text.get<std::string>().empty() ? nlohmann::json::parse(text.get<std::string>())
                                                                    : nlohmann::json::object();
  }
  if (row.contains("info") && row["info"].is_string()) row["machine"] = nlohmann::json::parse(row["info"].get<std::string>());
  return run_from_json(row);
}
}  // namespace

std::vector<RunRecord> ResultStore::list_runs() {
  Statement select(db_, "SELECT runs.*, machine.info FROM runs LEFT JOIN machine ON machine.run_id = runs.id ORDER BY runs.id", path_);
  std::vector<RunRecord> out;
  while (select.step()) out.push_back(run_from_row(select.row()));
  return out;
}

RunRecord ResultStore::load_run(int64_t run_id) {
  Statement select(db_, "SELECT runs.*, machine.info FROM runs LEFT JOIN machine ON machine.run_id = runs.id WHERE runs.id = ?", path_);
  select.bind(1, run_id);
  if (!select.step()) throw Error(fmt::format("results database {}: no run {} (see `dissect results list`)", path_.string(), run_id));
  return run_from_row(select.row());
}

std::vector<ComponentResult> ResultStore::load_results(int64_t run_id) {
  return select_records(db_, path_, "component_results", "rowid", run_id, component_result_fields());
}

std::vector<TrialRecord> ResultStore::load_trials(int64_t run_id) {
  return select_records(db_, path_, "trials", "rowid", run_id, trial_fields());
}

std::string ResultStore::export_sql(int64_t run_id) {
  load_run(run_id);  // names a missing run
  std::string out = "-- CLEAR results: run " + std::to_string(run_id) + " from " + path_.string() + "\nBEGIN;\n" + store_schema_sql();
  const std::pair<const char*, const char*> tables[] = {
      {"runs", "id"}, {"machine", "run_id"}, {"component_results", "run_id"}, {"trials", "run_id"}};
  for (const auto& [table, key] : tables) {
    Statement select(db_, fmt::format("SELECT * FROM {} WHERE {} = ? ORDER BY rowid", table, key), path_);
    select.bind(1, run_id);
    while (select.step()) {
      std::string columns, values;
      for (int i = 0; i < select.columns(); ++i) {
        if (i > 0) {
          columns += ", ";
          values += ", ";
        }
        columns += select.column_name(i);
        values += sql_literal(select.column(i));
      }
      out += fmt::format("INSERT INTO {} ({}) VALUES ({});\n", table, columns, values);
    }
  }
  return out + "COMMIT;\n";
}

}  // namespace clear
