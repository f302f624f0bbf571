// The protocol on a virtual clock: a fake backend with known per-component power and latency and a
// fake sensor with update period, resolution, noise, drift and failures.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <set>

#include "clear/util/error.hpp"

#include "clear/protocol/protocol.hpp"
#include "clear/store/store.hpp"
#include "protocol/support/fakes.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

using testing::FakeBackend;
using testing::FakeSensor;
using testing::FakeSensorConfig;
using testing::VirtualClock;

struct Rig {
  VirtualClock clock;
  FakeSensor sensor;
  FakeBackend backend;
  Rig(const FakeSensorConfig& config, int layers = 3)
      : sensor(clock, config), backend(testing::small_bert_graph(layers), clock, sensor) {
    backend.capture();
  }
  ProtocolOptions options() {
    ProtocolOptions o;
    o.clock = &clock;
    o.seed = testing::test_seed();
    o.budget_s = 3600;
    return o;
  }
};

std::map<std::string, ComponentResult> rows_by_name(const ProtocolResult& result) {
  std::map<std::string, ComponentResult> out;
  for (const auto& u : result.units)
    for (const auto& r : u.rows) out[r.name] = r;
  return out;
}

TEST(Protocol, RecoversEveryComponentsNetEnergy) {
  SCOPED_TRACE(testing::seed_note());
  FakeSensorConfig config;
  config.seed = testing::test_seed();
  Rig rig(config);
  ProtocolResult result = run_protocol(rig.backend, rig.sensor, rig.options());
  EXPECT_EQ(result.stopped_by, "target_ci");
  EXPECT_FALSE(result.drift_flagged);
  EXPECT_EQ(result.traits_source, "characterised");
  auto rows = rows_by_name(result);
  const auto& graph = rig.backend.graph();
  int checked = 0;
  for (int leaf : graph.leaves()) {
    const auto& name = graph.nodes[leaf].name;
    ASSERT_TRUE(rows.count(name)) << name;
    const auto& row = rows[name];
    const double truth = rig.backend.true_net_per_call(leaf);
    EXPECT_NEAR(row.net_j, truth, 0.02 * truth) << name;
    EXPECT_LT(row.cv, 0.03) << name;
    EXPECT_GE(row.trials, 5);
    EXPECT_EQ(row.energy_label, "measured");
    EXPECT_EQ(row.scope, "instance");
    EXPECT_GT(row.gross_j, row.net_j);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(graph.leaves().size()));
  // Layers were rotated, not measured one by one: kind rows are the measured ones.
  ASSERT_TRUE(rows.count("layers.*.attention.q_proj"));
  EXPECT_EQ(rows["layers.*.attention.q_proj"].basis, "measured");
  EXPECT_EQ(rows["layers.*.attention.q_proj"].instances, 3);
  EXPECT_EQ(rows["layers.1.attention.q_proj"].basis, "kind_share");

  std::vector<ComponentResult> all;
  for (const auto& u : result.units) all.insert(all.end(), u.rows.begin(), u.rows.end());
  const auto summary = summarize_rows(all, 128);
  const double coverage = summary["coverage_net"].get<double>();
  EXPECT_GT(coverage, 0.95);
  EXPECT_LT(coverage, 1.05);
  const double model_truth = rig.backend.true_model_net_per_forward();
  EXPECT_NEAR(summary["energy_per_forward_net_j"].get<double>(), model_truth, 0.02 * model_truth);
  double shares = 0;
  for (const auto& r : all)
    if (r.scope == "instance") shares += r.share;
  EXPECT_NEAR(shares, coverage, 1e-9);
}

TEST(Protocol, PerLayerMeasuresEachInstance) {
  SCOPED_TRACE(testing::seed_note());
  FakeSensorConfig config;
  config.seed = testing::test_seed();
  Rig rig(config, 2);
  auto options = rig.options();
  options.per_layer = true;
  const auto& graph = rig.backend.graph();
  options.components = {graph.find("layers.0.mlp.up_proj"), graph.find("layers.1.mlp.up_proj"),
                        graph.find("embeddings.word")};
  options.measure_model = false;
  ProtocolResult result = run_protocol(rig.backend, rig.sensor, options);
  ASSERT_EQ(result.units.size(), 3u);
  for (const auto& u : result.units) {
    ASSERT_EQ(u.rows.size(), 1u);
    const auto& row = u.rows[0];
    EXPECT_EQ(row.basis, "measured");
    const double truth = rig.backend.true_net_per_call(graph.find(row.name));
    EXPECT_NEAR(row.net_j, truth, 0.02 * truth) << row.name;
  }
  std::vector<ComponentResult> all;
  for (const auto& u : result.units) all.insert(all.end(), u.rows.begin(), u.rows.end());
  const auto summary = summarize_rows(all, 128);
  EXPECT_TRUE(summary["coverage_net"].is_null());  // no model measured: no coverage claimed
  bool kind_row = false;
  for (const auto& r : all)
    if (r.name == "layers.*.mlp.up_proj") {
      kind_row = true;
      EXPECT_EQ(r.basis, "instances_mean");
      EXPECT_EQ(r.instances, 2);
    }
  EXPECT_TRUE(kind_row);
}

TEST(Protocol, RepetitionsFollowTheUpdatePeriod) {
  SCOPED_TRACE(testing::seed_note());
  std::map<std::string, int64_t> reps[2];
  double windows[2];
  for (int i = 0; i < 2; ++i) {
    FakeSensorConfig config;
    config.seed = testing::test_seed();
    config.update_s = i == 0 ? 0.010 : 0.020;
    Rig rig(config, 2);
    auto options = rig.options();
    options.components = {rig.backend.graph().find("layers.0.mlp.up_proj"), rig.backend.graph().find("embeddings.word")};
    options.measure_model = false;
    auto result = run_protocol(rig.backend, rig.sensor, options);
    windows[i] = result.window_s;
    for (const auto& u : result.units) reps[i][u.unit] = u.rows[0].repetitions;
    EXPECT_NEAR(result.window_s, 50 * config.update_s, 1e-12);
    EXPECT_NEAR(result.quantisation_bound, 2 * config.update_s / result.window_s + 2 * config.resolution_j / (40 * result.window_s), 1e-3);
  }
  EXPECT_NEAR(windows[1] / windows[0], 2.0, 1e-9);
  for (const auto& [unit, r] : reps[0]) {
    const double ratio = double(reps[1][unit]) / double(r);
    EXPECT_GT(ratio, 1.8) << unit;
    EXPECT_LT(ratio, 2.2) << unit;
  }
}

TEST(Protocol, CoarseResolutionLengthensTheWindow) {
  FakeSensorConfig config;
  config.resolution_j = 2.0;  // 2 J steps at 40 W idle: 0.5% of the window needs 10 s
  config.noise = 0.0;
  Rig rig(config, 1);
  auto options = rig.options();
  options.components = {rig.backend.graph().find("embeddings.word")};
  options.measure_model = false;
  options.min_trials = 2;
  options.target_ci = 0.5;
  auto result = run_protocol(rig.backend, rig.sensor, options);
  EXPECT_NEAR(result.window_s, 2.0 / (0.005 * 40.0), 0.05 * 10.0);
}

TEST(Protocol, IdleDriftIsFlaggedAndFollowed) {
  SCOPED_TRACE(testing::seed_note());
  FakeSensorConfig config;
  config.seed = testing::test_seed();
  config.idle_drift_w_per_s = 0.4;  // +0.4 W every second: about +10% over the run
  Rig rig(config, 2);
  auto options = rig.options();
  options.components = {rig.backend.graph().find("layers.0.mlp.down_proj"), rig.backend.graph().find("layers.1.mlp.down_proj")};
  options.measure_model = false;
  options.min_trials = 8;
  auto result = run_protocol(rig.backend, rig.sensor, options);
  EXPECT_TRUE(result.drift_flagged);
  EXPECT_GT(result.idle_drift, 0.05);
  ASSERT_FALSE(result.notes.empty());
  EXPECT_NE(result.notes.back().find("idle power drifted"), std::string::npos);
  for (const auto& u : result.units)
    for (const auto& r : u.rows) {
      EXPECT_TRUE(r.drift_flagged);
      EXPECT_GT(r.idle_after_w, r.idle_before_w);
      if (r.scope != "instance") continue;
      // The interpolated idle keeps the net energy honest despite the drift.
      const double truth = rig.backend.true_net_per_call(rig.backend.graph().find(r.name));
      EXPECT_NEAR(r.net_j, truth, 0.03 * truth) << r.name;
    }
}

TEST(Protocol, SensorFailureMidTrialPropagatesAfterDeliveringFinishedUnits) {
  FakeSensorConfig config;
  // Reads: 6 for the opening idle, then per round 2 per unit and 2 for the idle after it. Units
  // finish after round 2, except embeddings.word, whose power equals idle (net ~ 0, never within
  // target), so round 3 runs and the sensor fails inside it.
  config.fail_after_reads = 6 + 2 * (3 * 2 + 2) + 3;
  Rig rig(config, 2);
  rig.backend.leaves[rig.backend.graph().find("embeddings.word")].power_w = config.idle_w;
  auto options = rig.options();
  std::vector<std::string> delivered;
  options.on_unit_finished = [&](const UnitResult& u) { delivered.push_back(u.unit); };
  options.min_trials = 2;
  options.target_ci = 0.5;
  options.components = {rig.backend.graph().find("embeddings.word"), rig.backend.graph().find("final_norm")};
  for (auto name : {"layers.0.attention.q_proj", "layers.1.attention.q_proj"})
    options.components.push_back(rig.backend.graph().find(name));
  options.components.erase(std::remove(options.components.begin(), options.components.end(), -1), options.components.end());
  try {
    run_protocol(rig.backend, rig.sensor, options);
    FAIL() << "expected the injected sensor failure";
  } catch (const MeterError& e) {
    EXPECT_NE(std::string(e.what()).find("injected"), std::string::npos);
  }
  // Units finished before the failure were handed over; the unfinishable one was not.
  EXPECT_EQ(delivered.size(), 2u);
  EXPECT_EQ(std::count(delivered.begin(), delivered.end(), "embeddings.word"), 0);
}

// The same failure with the results database in the loop, as `dissect profile` uses it: every
// finished unit is committed as it finishes, the failure is recorded on the run, and a fresh
// connection finds the finished units (rows and raw trials) and nothing of the failed one.
TEST(Protocol, SensorFailureMidTrialKeepsFinishedUnitsInTheStore) {
  FakeSensorConfig config;
  config.fail_after_reads = 6 + 2 * (3 * 2 + 2) + 3;  // inside round 3, as above
  Rig rig(config, 2);
  rig.backend.leaves[rig.backend.graph().find("embeddings.word")].power_w = config.idle_w;
  auto options = rig.options();
  options.min_trials = 2;
  options.target_ci = 0.5;
  for (auto name : {"embeddings.word", "final_norm", "layers.0.attention.q_proj", "layers.1.attention.q_proj"})
    if (rig.backend.graph().find(name) >= 0) options.components.push_back(rig.backend.graph().find(name));
  testing::TempDir dir;
  const auto db = dir / "results.db";
  RunRecord run;
  size_t trials_committed = 0;
  std::set<std::string> committed;
  {
    ResultStore store(db);
    run.status = "running";
    run.model = "small-bert";
    store.begin_run(run);
    options.on_unit_finished = [&](const UnitResult& u) {
      store.commit_unit(run.id, u.rows, u.trials);
      committed.insert(u.unit);
      trials_committed += u.trials.size();
    };
    try {
      run_protocol(rig.backend, rig.sensor, options);
      FAIL() << "expected the injected sensor failure";
    } catch (const MeterError& e) {
      run.status = std::string("failed: ") + e.what();
      store.update_run(run);
    }
  }
  ASSERT_EQ(committed.size(), 2u);
  ResultStore reopened(db);
  const RunRecord loaded = reopened.load_run(run.id);
  EXPECT_EQ(loaded.status.rfind("failed: ", 0), 0u) << loaded.status;
  EXPECT_NE(loaded.status.find("injected"), std::string::npos) << loaded.status;
  std::set<std::string> stored_units;
  for (const auto& row : reopened.load_results(run.id)) {
    EXPECT_NE(row.name, "embeddings.word");
    EXPECT_GT(row.net_j, 0.0) << row.name;
    if (row.basis == "measured") stored_units.insert(row.name);
  }
  EXPECT_EQ(stored_units, committed);
  const auto trials = reopened.load_trials(run.id);
  EXPECT_EQ(trials.size(), trials_committed);
  for (const auto& t : trials) EXPECT_NE(t.unit, "embeddings.word");
}

TEST(Protocol, BudgetStopsAndSaysSo) {
  FakeSensorConfig config;
  Rig rig(config, 2);
  auto options = rig.options();
  options.budget_s = 6.0;
  options.target_ci = 1e-6;  // unreachable
  auto result = run_protocol(rig.backend, rig.sensor, options);
  EXPECT_EQ(result.stopped_by, "budget");
  EXPECT_LE(result.elapsed_s, 6.0 + 1.0);
  for (const auto& u : result.units) EXPECT_EQ(u.rows[0].stopped_by, "budget");
}

TEST(Protocol, StopAfterUnitsInterruptsAndResumeSkipsFinished) {
  FakeSensorConfig config;
  Rig rig(config, 2);
  auto options = rig.options();
  options.stop_after_units = 3;
  auto first = run_protocol(rig.backend, rig.sensor, options);
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.stopped_by, "interrupted");
  ASSERT_EQ(first.units.size(), 3u);
  auto resumed_options = rig.options();
  for (const auto& u : first.units) resumed_options.finished_units.insert(u.unit);
  auto second = run_protocol(rig.backend, rig.sensor, resumed_options);
  EXPECT_FALSE(second.interrupted);
  for (const auto& u : second.units) EXPECT_FALSE(resumed_options.finished_units.count(u.unit)) << u.unit;
  size_t total_units = 0;
  std::set<std::string> names;
  for (int leaf : rig.backend.graph().leaves()) names.insert(unit_name(rig.backend.graph().nodes[leaf].name, false));
  total_units = names.size() + 1;
  EXPECT_EQ(first.units.size() + second.units.size(), total_units);
}

TEST(Protocol, UnitNames) {
  EXPECT_EQ(unit_name("layers.11.attention.q_proj", false), "layers.*.attention.q_proj");
  EXPECT_EQ(unit_name("encoder.layers.3.mlp.up_proj", false), "encoder.layers.*.mlp.up_proj");
  EXPECT_EQ(unit_name("layers.2.moe.experts.5.up_proj", false), "layers.*.moe.experts.5.up_proj");
  EXPECT_EQ(unit_name("embeddings.word", false), "embeddings.word");
  EXPECT_EQ(unit_name("layers.11.attention.q_proj", true), "layers.11.attention.q_proj");
}

TEST(Protocol, RooflineLabels) {
  Ceilings c{100.0, 10.0};  // ridge: 10 FLOP/byte
  EXPECT_EQ(roofline_bound(1e9 * 50, 1e9 * 1, 1.0, c), "compute");  // 50 GFLOP/s, intensity 50
  EXPECT_EQ(roofline_bound(1e9 * 20, 1e9 * 8, 1.0, c), "memory");   // 8 GB/s, intensity 2.5
  EXPECT_EQ(roofline_bound(1e9 * 1, 1e9 * 0.5, 1.0, c), "overhead");
  EXPECT_EQ(roofline_bound(1e9, 1e9, 1.0, Ceilings{}), "unknown");
  EXPECT_EQ(roofline_bound(0, 0, 1.0, c), "unknown");
}

TEST(Protocol, RejectsBadOptions) {
  FakeSensorConfig config;
  Rig rig(config, 1);
  auto options = rig.options();
  options.target_ci = 0;
  EXPECT_THROW(run_protocol(rig.backend, rig.sensor, options), Error);
  options = rig.options();
  options.budget_s = -1;
  EXPECT_THROW(run_protocol(rig.backend, rig.sensor, options), Error);
}

}  // namespace
}  // namespace clear
