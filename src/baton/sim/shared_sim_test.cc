// Shared-cluster mechanisms end to end in the simulator: backfill keeps a large gang from
// starving, preempted jobs resume from their last checkpoint and the lost work is counted,
// reclaim hands a queue its guarantee back, and bad queue input is refused.
#include <gtest/gtest.h>

#include "baton/sim/simulator.h"

namespace baton::sim {
namespace {

TraceJob Job(std::string id, int64_t submit_s, int64_t duration_s, int32_t gpus,
             std::string queue = "") {
  TraceJob j;
  j.id = std::move(id);
  j.submit = TimeFromSeconds(submit_s);
  j.duration = Seconds(duration_s);
  j.gpus = gpus;
  j.queue = std::move(queue);
  return j;
}

model::Cluster Cluster(int nodes, std::vector<model::QueueSpec> queues = {}) {
  model::ClusterSpec spec;
  model::NodePoolSpec pool;
  pool.name = "h";
  pool.count = nodes;
  pool.gpu_type = "H100";
  pool.gpus_per_node = 8;
  spec.pools = {pool};
  spec.queues = std::move(queues);
  auto c = model::Cluster::Build(spec);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

SimResult SimRun(const model::Cluster& c, const std::vector<TraceJob>& t, const SimOptions& o) {
  auto r = Simulate(c, t, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : SimResult{};
}

// 64 GPUs busy with 1-GPU jobs that end one every 100 s; a 64-GPU gang arrives, and a
// 1-GPU job arrives every 50 s for a long time after.
std::vector<TraceJob> GangBehindAStream() {
  std::vector<TraceJob> t;
  for (int i = 0; i < 64; ++i) t.push_back(Job("warm" + std::to_string(i), 0, 100 * (i + 1), 1));
  t.push_back(Job("gang", 10, 1000, 64));
  for (int i = 0; i < 400; ++i) t.push_back(Job("s" + std::to_string(i), 20 + 50 * i, 3000, 1));
  return t;
}

TEST(SharedSimTest, LargeGangStartsWithinItsReservation) {
  const model::Cluster c = Cluster(8);
  const auto trace = GangBehindAStream();
  SimOptions o;
  o.sched.backfill = sched::BackfillMode::kEasy;
  SimResult easy = SimRun(c, trace, o);
  // The reservation: every warm job ends by 6,400 s (estimates are the true run times).
  EXPECT_LE(easy.records[64].first_start, TimeFromSeconds(6400));
  EXPECT_GT(easy.backfilled, 0);
  EXPECT_EQ(easy.large_gang_jobs, 1);
  // Greedy skipping lets the stream take every GPU that frees up: the gang starves until
  // the stream dries up.
  o.sched.backfill = sched::BackfillMode::kNone;
  SimResult greedy = SimRun(c, trace, o);
  EXPECT_GT(greedy.records[64].first_start, TimeFromSeconds(20000));
  o.sched.backfill = sched::BackfillMode::kConservative;
  SimResult conservative = SimRun(c, trace, o);
  EXPECT_LE(conservative.records[64].first_start, TimeFromSeconds(6400));
}

TEST(SharedSimTest, PreemptedJobsResumeFromTheirLastCheckpoint) {
  const model::Cluster c = Cluster(1);
  TraceJob low = Job("low", 0, 3600, 8);
  low.checkpoint_interval = Seconds(600);
  TraceJob high = Job("high", 1000, 100, 8);
  high.priority = 5;
  SimOptions o;
  o.sched.preempt_lower_priority = true;
  SimResult r = SimRun(c, {low, high}, o);
  ASSERT_EQ(r.preemptions, 1);
  // Preempted at 1,000 s with a checkpoint at 600 s: 400 s x 8 GPUs lost, and 3,000 s of
  // work left when it resumes at 1,100 s.
  EXPECT_DOUBLE_EQ(r.lost_gpu_hours, 400.0 * 8 / 3600);
  EXPECT_DOUBLE_EQ(r.records[0].lost_gpu_s, 400.0 * 8);
  EXPECT_EQ(r.records[0].finish, TimeFromSeconds(1100 + 3000));
  EXPECT_EQ(r.records[1].finish, TimeFromSeconds(1100));
}

TEST(SharedSimTest, MinimumRunTimeDelaysPreemptionToTheMinute) {
  const model::Cluster c = Cluster(1);
  TraceJob high = Job("high", 100, 100, 8);
  high.priority = 5;
  SimOptions o;
  o.sched.preempt_lower_priority = true;
  o.sched.min_run_time = Seconds(900);
  SimResult r = SimRun(c, {Job("low", 0, 3600, 8), high}, o);
  EXPECT_EQ(r.records[1].first_start, TimeFromSeconds(900));
}

model::QueueSpec Q(std::string name, int quota) {
  model::QueueSpec q;
  q.name = std::move(name);
  q.quota_gpus = Quantity::Whole(quota);
  return q;
}

TEST(SharedSimTest, ReclaimGivesTheOwnerItsGuaranteeAtOnce) {
  const model::Cluster c = Cluster(2, {Q("a", 8), Q("b", 8)});
  std::vector<TraceJob> t;
  for (int i = 0; i < 16; ++i) t.push_back(Job("b" + std::to_string(i), 0, 10000, 1, "b"));
  t.push_back(Job("a0", 500, 100, 8, "a"));
  SimResult r = SimRun(c, t, SimOptions{});
  EXPECT_EQ(r.records[16].first_start, TimeFromSeconds(500));
  EXPECT_EQ(r.preemptions, 8);
  ASSERT_EQ(r.queues.size(), 2u);
  EXPECT_EQ(r.queues[1].preempted, 8);
  EXPECT_DOUBLE_EQ(r.queues[0].guarantee_gpus, 8);
  ASSERT_FALSE(r.usage.empty());
  EXPECT_EQ(r.usage.front().queue_gpus.size(), 2u);
}

TEST(SharedSimTest, BadQueuesAreRefused) {
  std::vector<TraceJob> t = {Job("x", 0, 10, 1, "nope")};
  auto r = Simulate(Cluster(1, {Q("a", 8)}), t, SimOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "trace line 0: queue: 'nope' is not a queue of the cluster (it has a)");
  auto over = Simulate(Cluster(1, {Q("a", 8), Q("b", 8)}), {Job("x", 0, 10, 1, "a")}, SimOptions{});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(),
            "cluster: queues[1].quota_gpus: top-level queues guarantee 16 GPUs but the cluster has 8");
}

}  // namespace
}  // namespace baton::sim
