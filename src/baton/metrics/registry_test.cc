#include "baton/metrics/registry.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace baton::metrics {
namespace {

TEST(RegistryTest, CounterExposition) {
  Registry r;
  Counter& c = r.AddCounter("baton_sched_rounds_total", "Scheduling rounds run.");
  c.Inc();
  c.Inc(2);
  c.Inc(-5);  // ignored: counters only go up
  EXPECT_EQ(r.Render(),
            "# HELP baton_sched_rounds_total Scheduling rounds run.\n"
            "# TYPE baton_sched_rounds_total counter\n"
            "baton_sched_rounds_total 3\n");
}

TEST(RegistryTest, GaugeExpositionWithConstLabels) {
  Registry r;
  Gauge& g = r.AddGauge("baton_agent_gpus_free", "Free GPUs.", {{"node", "n1"}});
  g.Set(8);
  g.Dec();
  g.Add(0.5);
  EXPECT_EQ(r.Render(),
            "# HELP baton_agent_gpus_free Free GPUs.\n"
            "# TYPE baton_agent_gpus_free gauge\n"
            "baton_agent_gpus_free{node=\"n1\"} 7.5\n");
}

TEST(RegistryTest, HistogramExposition) {
  Registry r;
  Histogram& h = r.AddHistogram("baton_sched_round_seconds", "Round latency.", {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // upper bounds are inclusive
  h.Observe(0.5);
  h.Observe(3);
  EXPECT_EQ(r.Render(),
            "# HELP baton_sched_round_seconds Round latency.\n"
            "# TYPE baton_sched_round_seconds histogram\n"
            "baton_sched_round_seconds_bucket{le=\"0.1\"} 2\n"
            "baton_sched_round_seconds_bucket{le=\"1\"} 3\n"
            "baton_sched_round_seconds_bucket{le=\"+Inf\"} 4\n"
            "baton_sched_round_seconds_sum 3.65\n"
            "baton_sched_round_seconds_count 4\n");
}

TEST(RegistryTest, HistogramFamilyPutsLeLast) {
  Registry r;
  auto& f = r.AddHistogramFamily("baton_api_request_seconds", "RPC latency.", {"method"}, {1},
                                 {{"server", "a"}});
  f.WithLabels({"Submit"}).Observe(2);
  EXPECT_EQ(r.Render(),
            "# HELP baton_api_request_seconds RPC latency.\n"
            "# TYPE baton_api_request_seconds histogram\n"
            "baton_api_request_seconds_bucket{server=\"a\",method=\"Submit\",le=\"1\"} 0\n"
            "baton_api_request_seconds_bucket{server=\"a\",method=\"Submit\",le=\"+Inf\"} 1\n"
            "baton_api_request_seconds_sum{server=\"a\",method=\"Submit\"} 2\n"
            "baton_api_request_seconds_count{server=\"a\",method=\"Submit\"} 1\n");
}

TEST(RegistryTest, FamiliesSortByNameAndChildrenByLabels) {
  Registry r;
  auto& jobs = r.AddGaugeFamily("baton_jobs", "Jobs by state.", {"state"});
  jobs.WithLabels({"running"}).Set(2);
  jobs.WithLabels({"pending"}).Set(5);
  r.AddCounter("baton_agent_heartbeats_total", "Heartbeats.").Inc();
  EXPECT_EQ(r.Render(),
            "# HELP baton_agent_heartbeats_total Heartbeats.\n"
            "# TYPE baton_agent_heartbeats_total counter\n"
            "baton_agent_heartbeats_total 1\n"
            "# HELP baton_jobs Jobs by state.\n"
            "# TYPE baton_jobs gauge\n"
            "baton_jobs{state=\"pending\"} 5\n"
            "baton_jobs{state=\"running\"} 2\n");
}

TEST(RegistryTest, EscapesHelpAndLabelValues) {
  Registry r;
  auto& f = r.AddCounterFamily("baton_x_total", "a \\ b\nc \"q\"", {"path"});
  f.WithLabels({"C:\\dir\n\"x\""}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP baton_x_total a \\\\ b\\nc \"q\"\n"
            "# TYPE baton_x_total counter\n"
            "baton_x_total{path=\"C:\\\\dir\\n\\\"x\\\"\"} 1\n");
}

TEST(RegistryTest, CallbackGauges) {
  Registry r;
  double free_gpus = 3;
  r.AddGaugeCallback("baton_gpus_free", "Free GPUs.", [&] { return free_gpus; });
  r.AddGaugeFamilyCallback("baton_queue_jobs", "Jobs per queue.", {"queue"}, [] {
    return std::vector<GaugeSample>{{{"research"}, 4}, {{"prod"}, 1}};
  });
  free_gpus = 6;  // read at scrape time
  EXPECT_EQ(r.Render(),
            "# HELP baton_gpus_free Free GPUs.\n"
            "# TYPE baton_gpus_free gauge\n"
            "baton_gpus_free 6\n"
            "# HELP baton_queue_jobs Jobs per queue.\n"
            "# TYPE baton_queue_jobs gauge\n"
            "baton_queue_jobs{queue=\"prod\"} 1\n"
            "baton_queue_jobs{queue=\"research\"} 4\n");
}

TEST(RegistryTest, CallbackCounters) {
  Registry r;
  int64_t rounds = 2;
  r.AddCounterCallback("baton_sched_rounds_total", "Rounds.", [&] { return double(rounds); });
  r.AddCounterFamilyCallback("baton_sched_decisions_total", "Decisions.", {"decision"}, [] {
    return std::vector<GaugeSample>{{{"wait"}, 7}, {{"place"}, 3}};
  });
  rounds = 5;
  EXPECT_EQ(r.Render(),
            "# HELP baton_sched_decisions_total Decisions.\n"
            "# TYPE baton_sched_decisions_total counter\n"
            "baton_sched_decisions_total{decision=\"place\"} 3\n"
            "baton_sched_decisions_total{decision=\"wait\"} 7\n"
            "# HELP baton_sched_rounds_total Rounds.\n"
            "# TYPE baton_sched_rounds_total counter\n"
            "baton_sched_rounds_total 5\n");
}

TEST(RegistryTest, SameShapeRegistersOnce) {
  Registry r;
  Counter& a = r.AddCounter("baton_a_total", "A.");
  Counter& b = r.AddCounter("baton_a_total", "A.");
  EXPECT_EQ(&a, &b);
}

TEST(RegistryDeathTest, ConflictingShapesAbort) {
  Registry r;
  r.AddCounter("baton_a_total", "A.");
  EXPECT_DEATH(r.AddGauge("baton_a_total", "A."), "registered twice");
  EXPECT_DEATH(r.AddCounter("baton-bad", "B."), "invalid metric name");
  auto& f = r.AddCounterFamily("baton_b_total", "B.", {"x"});
  EXPECT_DEATH(f.WithLabels({"1", "2"}), "expected 1 label values");
}

TEST(RegistryTest, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-1.5), "-1.5");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(RegistryTest, NameValidation) {
  EXPECT_TRUE(IsValidMetricName("baton_jobs"));
  EXPECT_TRUE(IsValidMetricName("a:b_c1"));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("state"));
  EXPECT_FALSE(IsValidLabelName("__name"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST(RegistryTest, ConcurrentUpdatesSumExactly) {
  Registry r;
  Counter& c = r.AddCounter("baton_c_total", "C.");
  Gauge& g = r.AddGauge("baton_g", "G.");
  Histogram& h = r.AddHistogram("baton_h_seconds", "H.", {0.5});
  auto& fam = r.AddCounterFamily("baton_f_total", "F.", {"k"});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = fam.WithLabels({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kPerThread; ++i) {
        c.Inc();
        g.Add(t % 2 == 0 ? 1 : -1);
        h.Observe(i % 2 == 0 ? 0.25 : 1.0);
        mine.Inc();
        if (i % 1000 == 0) (void)r.Render();  // scrapes race with updates
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.Value(), kThreads * kPerThread);
  EXPECT_EQ(g.Value(), 0);
  const Histogram::Snapshot s = h.Snap();
  EXPECT_EQ(s.count, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(s.cumulative[0], uint64_t{kThreads * kPerThread / 2});
  EXPECT_EQ(s.sum, kThreads * kPerThread / 2 * 1.25);
  EXPECT_EQ(fam.WithLabels({"even"}).Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(fam.WithLabels({"odd"}).Value(), kThreads / 2 * kPerThread);
}

}  // namespace
}  // namespace baton::metrics
