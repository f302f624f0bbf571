#pragma once
// The results database: one SQLite file, no server. Tables (schema version in `schema_version`):
//   runs               one row per profile run (model, workload, meter, settings, times, status, summary)
//   machine            the machine and software of each run (one row per run)
//   component_results  every ComponentResult (columns = its stable JSON field names)
//   trials             every raw TrialRecord
// Each finished measurement unit is written in its own transaction, so an interrupted profile keeps
// everything that finished and `--resume` can continue it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "clear/record/records.hpp"

struct sqlite3;

namespace clear {

inline constexpr int kStoreSchemaVersion = 1;

class ResultStore {
 public:
  // Opens (creating when absent) the database; throws clear::Error naming the file when it cannot,
  // or when its schema version is newer than this program's.
  explicit ResultStore(const std::filesystem::path& path);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  // Inserts the run (and its machine row); returns and sets run.id.
  int64_t begin_run(RunRecord& run);
  // Status, end time, summary and settings of an existing run.
  void update_run(const RunRecord& run);
  // One finished unit: its result rows and raw trials, in one transaction (replacing rows of the same
  // run/scope/name and run/unit/trial, so a re-measured unit never duplicates).
  void commit_unit(int64_t run_id, const std::vector<ComponentResult>& results,
                   const std::vector<TrialRecord>& trials);

  std::vector<RunRecord> list_runs();
  RunRecord load_run(int64_t run_id);  // throws clear::Error when there is no such run
  std::vector<ComponentResult> load_results(int64_t run_id);
  std::vector<TrialRecord> load_trials(int64_t run_id);
  // INSERT statements (preceded by the schema, IF NOT EXISTS) that recreate the run in another database.
  std::string export_sql(int64_t run_id);

  const std::filesystem::path& path() const { return path_; }

 private:
  void exec(const std::string& sql);
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

// The schema as SQL (CREATE TABLE IF NOT EXISTS ...).
std::string store_schema_sql();

}  // namespace clear
