// Throughput-aware simulation: jobs progress at their steps/s on the GPU type they got,
// keep their steps across preemptions, and bad throughput input is named; the
// --measure-jobs window; finish-time fairness.
#include <gtest/gtest.h>

#include "baton/model/cluster.h"
#include "baton/sched/registry.h"
#include "baton/sim/simulator.h"
#include "baton/sim/throughputs.h"

namespace baton::sim {
namespace {

model::Cluster V100AndK80(int per_type = 1) {
  model::ClusterSpec spec;
  spec.name = "t";
  for (const char* type : {"V100", "K80"}) {
    model::NodePoolSpec p;
    p.name = type;
    p.count = per_type;
    p.gpu_type = type;
    p.gpus_per_node = 1;
    spec.pools.push_back(p);
  }
  auto c = model::Cluster::Build(spec);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

ThroughputTable Table(const char* csv) {
  auto t = ThroughputTable::Parse(csv, "tp.csv");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

TraceJob Typed(std::string id, int64_t submit_s, std::string type, double steps, int gpus = 1) {
  TraceJob j;
  j.id = std::move(id);
  j.line = std::stoi(j.id);
  j.submit = TimeFromSeconds(submit_s);
  j.duration = Seconds(1);
  j.gpus = gpus;
  j.job_type = std::move(type);
  j.steps = steps;
  return j;
}

Result<SimResult> RunSim(const model::Cluster& c, const std::vector<TraceJob>& t,
                      const ThroughputTable* table, const char* policy,
                      int64_t from = -1, int64_t to = -1) {
  SimOptions o;
  o.policy = *sched::ParsePolicyName(policy, "placement/binpack");
  o.throughputs = table;
  o.measure_from = from;
  o.measure_to = to;
  o.record_timeline = true;
  return Simulate(c, t, o);
}

constexpr char kNet[] =
    "job_type,scale_factor,v100_steps_per_s,k80_steps_per_s\nNet,1,10,2\nV100only,1,5,0\n";

TEST(HeteroSimTest, JobsProgressAtTheirGpuTypesSpeed) {
  const auto c = V100AndK80();
  const auto table = Table(kNet);
  // Both arrive at 0 with 100 steps: under FIFO job 1 takes the V100 (10 steps/s, 10 s)
  // and job 2 the K80 (2 steps/s, 50 s).
  auto r = RunSim(c, {Typed("1", 0, "Net", 100), Typed("2", 0, "Net", 100)}, &table, "fifo");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->records[0].finish, TimeFromSeconds(10));
  EXPECT_EQ(r->records[1].finish, TimeFromSeconds(50));
  // Alone, each would run 10 s on the V100: fairness 1 and 5.
  EXPECT_DOUBLE_EQ(r->ftf_mean, 3.0);
  EXPECT_DOUBLE_EQ(r->ftf_worst, 5.0);
  EXPECT_DOUBLE_EQ(r->avg_queue_s, 0.0);  // both ran from their submit on
  EXPECT_TRUE(r->throughput_aware);
}

TEST(HeteroSimTest, PreemptedJobsKeepTheirSteps) {
  const auto c = V100AndK80();
  const auto table = Table(kNet);
  // Three V100-only jobs of 3600 steps (720 s each at 5 steps/s) time-share one V100 in
  // 360 s rounds: the GPU never idles, so the last one ends at exactly 3 x 720 s.
  std::vector<TraceJob> t = {Typed("1", 0, "V100only", 3600), Typed("2", 0, "V100only", 3600),
                             Typed("3", 0, "V100only", 3600)};
  for (const char* policy : {"hetero-las", "agnostic-las"}) {
    auto r = RunSim(c, t, &table, policy);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->completed, 3);
    EXPECT_GT(r->preemptions, 0) << policy;
    EXPECT_DOUBLE_EQ(r->makespan_s, 2160.0) << policy;
    for (const auto& rec : r->records) EXPECT_EQ(rec.ran, Seconds(720)) << policy;
  }
}

TEST(HeteroSimTest, MissingThroughputsAreNamed) {
  const auto c = V100AndK80();
  const auto table = Table(kNet);
  auto r = RunSim(c, {Typed("1", 0, "Other", 10)}, &table, "fifo");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "tp.csv: no throughputs for job type 'Other' at scale factor 1 (job 1, trace line 1)");
  r = RunSim(c, {Typed("1", 0, "Net", 10, 2)}, &table, "fifo");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("scale factor 2"), std::string::npos);
  const auto no_k80 = Table("job_type,scale_factor,v100_steps_per_s\nNet,1,10\n");
  r = RunSim(c, {Typed("1", 0, "Net", 10)}, &no_k80, "fifo");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("on GPU type K80, which the cluster has"),
            std::string::npos)
      << r.status().message();
  r = RunSim(c, {Typed("1", 0, "Net", 10)}, nullptr, "fifo");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--throughputs"), std::string::npos);
  r = RunSim(c, {Typed("1", 0, "Net", 0)}, &table, "fifo");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("steps: must be positive"), std::string::npos);
}

TEST(HeteroSimTest, JobThatRunsNowhereIsInfeasible) {
  const auto c = V100AndK80();
  const auto table = Table("job_type,scale_factor,v100_steps_per_s,k80_steps_per_s\nBig,1,0,0\n");
  auto r = RunSim(c, {Typed("1", 0, "Big", 10)}, &table, "hetero-las");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->infeasible, 1);
  EXPECT_NE(r->infeasible_jobs[0].reason.find("throughput 0 on V100, K80"), std::string::npos)
      << r->infeasible_jobs[0].reason;
}

TEST(HeteroSimTest, MeasureWindowCountsOnlyItsJobsAndStopsWhenTheyAreDone) {
  const auto c = V100AndK80();
  const auto table = Table(kNet);
  // One V100-only job at a time: job i runs [100 i, 100 i + 100).
  std::vector<TraceJob> t;
  for (int i = 0; i < 6; ++i) t.push_back(Typed(std::to_string(i + 1), 100 * i, "V100only", 500));
  auto r = RunSim(c, t, &table, "fifo", 1, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->measured_jobs, 2);
  EXPECT_TRUE(r->windowed);
  EXPECT_DOUBLE_EQ(r->avg_jct_s, 100.0);
  EXPECT_DOUBLE_EQ(r->makespan_s, 300.0);  // stopped when job 3 (index 2) finished
  EXPECT_LT(r->completed, 6);
  EXPECT_FALSE(RunSim(c, t, &table, "fifo", 6, 9).ok());  // a window past the last job
  ASSERT_FALSE(r->timeline.empty());
  EXPECT_EQ(r->timeline.back().t_s, 300.0);
}

}  // namespace
}  // namespace baton::sim
