// The SQLite results store: round trips, per-unit transactions, exports that recreate a run.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <cmath>

#include "clear/store/store.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

RunRecord sample_run() {
  RunRecord run;
  run.status = "running";
  run.started_at = utc_now_iso();
  run.clear_version = "0.1.0";
  run.clear_commit = "abc";
  run.model = "bert-tiny";
  run.model_source = "zoo:bert-tiny";
  run.weights = "random weights (seed 1)";
  run.workload = {{"batch", 1}, {"seq", 16}};
  run.meter = {{"name", "emulated"}, {"label", "measured"}};
  run.settings = {{"target_ci", 0.02}, {"components", "it's quoted"}};
  run.machine.cpu_model = "Test CPU";
  run.machine.threads = 2;
  run.machine.gemm_gflops["fp32"] = 123.5;
  run.machine.memory_bandwidth_gbs = 10.25;
  return run;
}

ComponentResult sample_result(const std::string& name, double net) {
  ComponentResult r;
  r.name = name;
  r.kind = "q_proj";
  r.scope = "instance";
  r.basis = "measured";
  r.layer = 2;
  r.net_j = net;
  r.gross_j = net * 1.5;
  r.net_ci95_j = std::numeric_limits<double>::infinity();  // stored as NULL, read back as NaN
  r.drift_flagged = true;
  r.energy_label = "measured";
  return r;
}

TEST(Store, RoundTripsRunsResultsAndTrials) {
  SCOPED_TRACE(testing::seed_note());
  testing::TempDir dir;
  const auto values = testing::random_doubles(3, 0.001, 0.01);
  int64_t id = 0;
  {
    ResultStore store(dir / "r.db");
    RunRecord run = sample_run();
    id = store.begin_run(run);
    EXPECT_GT(id, 0);
    TrialRecord t;
    t.unit = "layers.2.attention.q_proj";
    t.repetitions = 500;
    t.energy_j = values[0] * 500;
    t.aligned = true;
    store.commit_unit(id, {sample_result("layers.2.attention.q_proj", values[0])}, {t});
    store.commit_unit(id, {sample_result("layers.3.attention.q_proj", values[1])}, {});
    // Re-committing a unit replaces its rows.
    store.commit_unit(id, {sample_result("layers.3.attention.q_proj", values[2])}, {});
    run.status = "finished";
    run.summary = {{"coverage_net", 0.99}};
    store.update_run(run);
  }
  ResultStore store(dir / "r.db");  // reopened: nothing lost
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "finished");
  EXPECT_EQ(runs[0].summary["coverage_net"], 0.99);
  EXPECT_EQ(runs[0].settings["components"], "it's quoted");
  EXPECT_EQ(runs[0].machine.cpu_model, "Test CPU");
  EXPECT_DOUBLE_EQ(runs[0].machine.gemm_gflops.at("fp32"), 123.5);
  const auto results = store.load_results(id);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_DOUBLE_EQ(results[0].net_j, values[0]);
  EXPECT_DOUBLE_EQ(results[1].net_j, values[2]);
  EXPECT_EQ(results[0].layer, 2);
  EXPECT_TRUE(results[0].drift_flagged);
  EXPECT_TRUE(std::isnan(results[0].net_ci95_j));
  const auto trials = store.load_trials(id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].repetitions, 500);
  EXPECT_TRUE(trials[0].aligned);
  EXPECT_THROW(store.load_run(id + 7), Error);
}

TEST(Store, SqlExportRecreatesTheRun) {
  testing::TempDir dir;
  int64_t id = 0;
  std::string sql;
  {
    ResultStore store(dir / "a.db");
    RunRecord other = sample_run();
    store.begin_run(other);  // a second run the export must not carry
    RunRecord run = sample_run();
    id = store.begin_run(run);
    store.commit_unit(id, {sample_result("embeddings.word", 0.5)}, {});
    sql = store.export_sql(id);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "b.db").c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_close(db);
  ResultStore copy(dir / "b.db");
  const auto runs = copy.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].id, id);
  EXPECT_EQ(runs[0].model, "bert-tiny");
  const auto results = copy.load_results(id);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].name, "embeddings.word");
  EXPECT_DOUBLE_EQ(results[0].net_j, 0.5);
}

TEST(Store, RefusesUnusableFiles) {
  testing::TempDir dir;
  EXPECT_THROW(ResultStore(dir / "missing-folder" / "x.db"), Error);
  {
    ResultStore store(dir / "v.db");
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "v.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    ResultStore newer(dir / "v.db");
    FAIL() << "expected a schema version error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos);
  }
}

}  // namespace
}  // namespace clear
