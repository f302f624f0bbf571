// The emulated sensor: its power follows the running component's kind, its counter equals the true
// integral up to the last update boundary within one resolution step, it moves only in whole
// quanta at update boundaries, and it wraps and unwraps like a hardware counter.
#include <chrono>
#include <cmath>
#include <gtest/gtest.h>
#include <thread>

#include "clear/meter/emulated.hpp"
#include "clear/util/error.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }

// model > layers.0 > {attention > {scores, softmax}, mlp > {up_proj}}
ComponentGraph tiny_graph() {
  ComponentGraph g;
  auto add = [&](const std::string& name, ComponentKind kind, int parent) {
    Component c;
    c.name = name;
    c.kind = kind;
    c.parent = parent;
    g.nodes.push_back(c);
    int id = int(g.nodes.size()) - 1;
    if (parent >= 0) g.nodes[size_t(parent)].children.push_back(id);
    return id;
  };
  int model = add("model", ComponentKind::model, -1);
  int layer = add("layers.0", ComponentKind::layer, model);
  int attn = add("layers.0.attention", ComponentKind::attention, layer);
  add("layers.0.attention.scores", ComponentKind::scores, attn);
  add("layers.0.attention.softmax", ComponentKind::softmax, attn);
  int mlp = add("layers.0.mlp", ComponentKind::mlp, layer);
  add("layers.0.mlp.up_proj", ComponentKind::up_proj, mlp);
  return g;
}

struct Powers {
  double idle, attention, mlp, softmax, fallback;
};

Powers random_powers() {
  auto w = testing::random_doubles(5, 20.0, 200.0);
  for (auto& x : w) x = std::round(x * 1000.0) / 1000.0;  // exactly what the spec text carries
  return {w[0], w[1], w[2], w[3], w[4]};
}

std::string spec_for(const Powers& p, const std::string& extra) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "emulated:update=5ms,resolution=1mJ,idle=%.3fW,attention=%.3fW,mlp=%.3fW,softmax=%.3fW,default=%.3fW%s",
                p.idle, p.attention, p.mlp, p.softmax, p.fallback, extra.c_str());
  return buf;
}

std::unique_ptr<EmulatedSource> open_emulated(const std::string& spec) {
  auto source = open_meter(spec);
  auto* e = dynamic_cast<EmulatedSource*>(source.get());
  EXPECT_NE(e, nullptr);
  source.release();
  return std::unique_ptr<EmulatedSource>(e);
}

TEST(Emulated, PowerFollowsOwnKindThenBlockKindThenDefault) {
  SCOPED_TRACE(testing::seed_note());
  Powers p = random_powers();
  auto src = open_emulated(spec_for(p, ""));
  ComponentGraph g = tiny_graph();
  EXPECT_DOUBLE_EQ(src->power_for(g, g.find("layers.0.attention.softmax")), p.softmax);  // own kind
  EXPECT_DOUBLE_EQ(src->power_for(g, g.find("layers.0.attention.scores")), p.attention);  // block kind
  EXPECT_DOUBLE_EQ(src->power_for(g, g.find("layers.0.mlp.up_proj")), p.mlp);
  EXPECT_DOUBLE_EQ(src->power_for(g, g.find("layers.0")), p.fallback);  // neither: default
  EXPECT_DOUBLE_EQ(src->power_for(g, g.find("model")), p.fallback);
}

TEST(Emulated, CounterMatchesTrueIntegralWithinOneStep) {
  SCOPED_TRACE(testing::seed_note());
  Powers p = random_powers();
  auto src = open_emulated(spec_for(p, ""));
  ComponentGraph g = tiny_graph();
  ComponentObserver* obs = src->observer();
  ASSERT_NE(obs, nullptr);
  const double max_w = std::max({p.idle, p.attention, p.mlp, p.softmax, p.fallback});
  const double step = src->config().resolution_j, update = src->config().update_s;
  auto check = [&] {
    EnergySample s = src->read();
    double truth = src->true_energy_j();  // taken after the read: truth can only have grown
    // Published = truth at the last boundary, floored to whole quanta: behind by at most one
    // quantum plus one update period's energy, never ahead.
    EXPECT_LE(s.joules[0], truth + 1e-9);
    EXPECT_GE(s.joules[0], truth - step - max_w * update - 1e-9);
  };
  int model = g.find("model"), layer = g.find("layers.0"), attn = g.find("layers.0.attention"),
      softmax = g.find("layers.0.attention.softmax"), scores = g.find("layers.0.attention.scores"),
      mlp = g.find("layers.0.mlp"), up = g.find("layers.0.mlp.up_proj");
  auto ms = testing::random_doubles(4, 5.0, 25.0);
  obs->on_begin(g, model);
  obs->on_begin(g, layer);
  obs->on_begin(g, attn);
  obs->on_begin(g, scores);
  sleep_ms(ms[0]);
  obs->on_end(g, scores);
  check();
  obs->on_begin(g, softmax);
  sleep_ms(ms[1]);
  obs->on_end(g, softmax);
  obs->on_end(g, attn);
  obs->on_begin(g, mlp);
  obs->on_begin(g, up);
  sleep_ms(ms[2]);
  check();
  obs->on_end(g, up);
  obs->on_end(g, mlp);
  obs->on_end(g, layer);
  obs->on_end(g, model);
  sleep_ms(ms[3]);
  check();

  // The truth adds up: every component's exclusive energy is its configured power times its time,
  // and idle time fills the rest.
  auto truth = src->truth();
  EXPECT_NEAR(truth.at("layers.0.attention.softmax").exclusive_j, p.softmax * truth.at("layers.0.attention.softmax").exclusive_s, 1e-9);
  EXPECT_NEAR(truth.at("layers.0.attention.scores").exclusive_j, p.attention * truth.at("layers.0.attention.scores").exclusive_s, 1e-9);
  EXPECT_NEAR(truth.at("layers.0.mlp.up_proj").exclusive_j, p.mlp * truth.at("layers.0.mlp.up_proj").exclusive_s, 1e-9);
  EXPECT_EQ(truth.at("layers.0.attention.softmax").calls, 1);
  EXPECT_GE(truth.at("layers.0.attention.softmax").exclusive_s, ms[1] * 1e-3);
  EXPECT_GE(truth.at("layers.0").inclusive_s, truth.at("layers.0.attention.softmax").inclusive_s +
                                                 truth.at("layers.0.mlp.up_proj").inclusive_s);
}

TEST(Emulated, MovesOnlyInWholeQuantaAtUpdateBoundaries) {
  SCOPED_TRACE(testing::seed_note());
  double idle = testing::random_doubles(1, 20.0, 60.0)[0];
  char spec[128];
  std::snprintf(spec, sizeof spec, "emulated:update=10ms,resolution=2mJ,idle=%.4fW", idle);
  auto src = open_meter(spec);
  double last = src->read().joules[0];
  int changes = 0;
  for (int i = 0; i < 400 && changes < 8; ++i) {
    double now = src->read().joules[0];
    if (now != last) {
      double quanta = (now - last) / 2e-3;
      EXPECT_NEAR(quanta, std::round(quanta), 1e-6);
      // One period's idle energy, give or take the quantum (or several periods after a slow wake-up).
      double periods = std::round((now - last) / (idle * 0.010));
      EXPECT_GE(periods, 1.0);
      EXPECT_NEAR(now - last, periods * idle * 0.010, 2e-3 + 1e-9);
      ++changes;
      last = now;
    }
    sleep_ms(1.0);
  }
  EXPECT_GE(changes, 3);
}

TEST(Emulated, WrapsAndUnwrapsMonotonically) {
  SCOPED_TRACE(testing::seed_note());
  // 20 J range at 40 W wraps every 0.5 s; reads every 50 ms stay well inside one wrap.
  auto src = open_emulated("emulated:update=5ms,resolution=1mJ,idle=40W,wrap=20J");
  double last = src->read().joules[0];
  for (int i = 0; i < 30; ++i) {
    sleep_ms(50);
    double now = src->read().joules[0];
    EXPECT_GE(now, last);
    last = now;
  }
  double truth = src->true_energy_j();
  EXPECT_GT(last, 40.0);  // more than two wraps passed
  EXPECT_LE(last, truth + 1e-9);
  EXPECT_GE(last, truth - 1e-3 - 40.0 * 0.005 - 1e-9);
}

TEST(Emulated, NoiseIsSeededAndUnbiased) {
  auto a = open_meter("emulated:update=1ms,resolution=1uJ,idle=50W,noise=2%,seed=11");
  sleep_ms(300);
  auto* e = dynamic_cast<EmulatedSource*>(a.get());
  double published = a->read().joules[0], truth = e->true_energy_j();
  // ~300 independent 2% draws: the sum is within 0.5% of the truth (sd ≈ 0.12%).
  EXPECT_NEAR(published / truth, 1.0, 0.005 + (50.0 * 0.001) / truth);
}

TEST(Emulated, ObserverFromAnotherThreadWhileReading) {
  auto src = open_emulated("emulated:update=2ms,resolution=1mJ,idle=30W,mlp=90W");
  ComponentGraph g = tiny_graph();
  std::thread engine([&] {
    for (int i = 0; i < 200; ++i) {
      src->observer()->on_begin(g, g.find("layers.0.mlp"));
      src->observer()->on_end(g, g.find("layers.0.mlp"));
    }
  });
  double last = 0;
  for (int i = 0; i < 200; ++i) {
    double now = src->read().joules[0];
    EXPECT_GE(now, last);
    last = now;
  }
  engine.join();
  EXPECT_EQ(src->truth().at("layers.0.mlp").calls, 200);
}

TEST(Emulated, AlignedReadLandsJustAfterABoundary) {
  auto src = open_emulated("emulated:update=20ms,resolution=1mJ,idle=30W");
  double before = src->read().joules[0];
  EnergySample s = src->read_aligned(1.0);
  EXPECT_GT(s.joules[0], before);  // a boundary passed, so the counter moved
}

TEST(Emulated, WorksWithNoEngineAndLabelsItself) {
  auto src = open_meter("emulated:idle=30W");
  EXPECT_EQ(src->name(), "emulated");
  EXPECT_TRUE(src->measured());
  EXPECT_NE(src->method().find("idle=30W"), std::string::npos);
  sleep_ms(30);
  EXPECT_GT(src->read().joules[0], 0.0);
}

TEST(Emulated, BadSpecsNameTheKey) {
  for (const char* bad : {"emulated:idle=abc", "emulated:bogus=1W", "emulated:resolution=0mJ", "emulated:update=-1ms",
                          "emulated:update=10", "emulated:attention=5J", "emulated:noise=200%", "emulated:idle"}) {
    try {
      open_meter(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      std::string key = std::string(bad).substr(9, std::string(bad).find('=') - 9);
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace clear
