#include "baton/sched/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Scheduler MakeScheduler(const model::Cluster& c, std::string_view order = "fifo",
                        std::string_view placement = "binpack", SchedulerOptions opts = {}) {
  return Scheduler(c, OrderNamed(order), PlacementNamed(placement), opts);
}

Admission MustSubmit(Scheduler& s, const JobRequest& r, Time now = At(0)) {
  auto a = s.Submit(r, now);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? *a : Admission{};
}

std::vector<uint64_t> PlacedIds(const RoundResult& r) {
  std::vector<uint64_t> ids;
  for (const auto& p : r.placed) ids.push_back(p.job.value());
  return ids;
}

TEST(SchedulerTest, PolicyName) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  EXPECT_EQ(MakeScheduler(c, "las", "topology").policy_name(), "order/las+placement/topology");
  EXPECT_EQ(MakeScheduler(c).order().name(), "order/fifo");
}

TEST(SchedulerTest, RefusesGangsLargerThanTheCluster) {
  const model::Cluster c = HomogeneousCluster(8, 8);
  Scheduler s = MakeScheduler(c);
  Admission a = MustSubmit(s, TestJob(1, 16, 8));
  EXPECT_FALSE(a.queued);
  EXPECT_THAT(a.reason, HasSubstr("16 tasks x 8 GPUs (128 GPUs)"));
  EXPECT_THAT(a.reason, HasSubstr("only 8 such tasks on H100"));
  EXPECT_EQ(s.Find(JobId(1)), nullptr);
  EXPECT_EQ(s.pending_count(), 0u);
  // The same gang with 8 tasks fits an empty cluster; the id is free to reuse.
  EXPECT_TRUE(MustSubmit(s, TestJob(1, 8, 8)).queued);
  EXPECT_EQ(s.pending_count(), 1u);
}

TEST(SchedulerTest, RefusesTasksLargerThanANode) {
  const model::Cluster c = HomogeneousCluster(8, 8);
  Scheduler s = MakeScheduler(c);
  Admission a = MustSubmit(s, TestJob(1, 1, 12));
  EXPECT_FALSE(a.queued);
  EXPECT_EQ(a.reason, "needs 12 GPUs per task on one node; the largest H100 node has 8");
  EXPECT_EQ(s.Find(JobId(1)), nullptr);
}

TEST(SchedulerTest, RefusesGpuTypesTheClusterLacks) {
  const model::Cluster c = MixedTestCluster();
  Scheduler s = MakeScheduler(c);
  JobRequest r = TestJob(1, 1, 1);
  r.allowed = model::GpuTypeMask{1} << 5;  // a type id the cluster does not have
  Admission a = MustSubmit(s, r);
  EXPECT_FALSE(a.queued);
  EXPECT_EQ(a.reason,
            "none of the job's GPU types exist in this cluster (it has A100, GB200, H100)");
  r.allowed = 0;
  EXPECT_FALSE(MustSubmit(s, r).queued);
  EXPECT_EQ(s.pending_count(), 0u);
}

TEST(SchedulerTest, RefusalNamesTheRoomiestAllowedType) {
  const model::Cluster c = MixedTestCluster();  // A100: 4 x 8, GB200: 6 x 4, H100: 3 x 8
  Scheduler s = MakeScheduler(c);
  JobRequest r = TestJob(1, 7, 4);
  r.allowed = 0b110;  // GB200 (room for 6) or H100 (room for 6): GB200 is tried first
  Admission a = MustSubmit(s, r);
  EXPECT_FALSE(a.queued);
  EXPECT_THAT(a.reason, HasSubstr("only 6 such tasks on GB200"));
  r.allowed = model::kAllGpuTypes;  // A100 holds 8 such tasks
  EXPECT_TRUE(MustSubmit(s, r).queued);
}

TEST(SchedulerTest, SubmitErrors) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = MakeScheduler(c);
  EXPECT_TRUE(MustSubmit(s, TestJob(1, 1, 8)).queued);
  Rng rng(1);
  s.RunRound(At(0), rng);
  EXPECT_TRUE(MustSubmit(s, TestJob(2, 1, 8)).queued);
  for (const JobRequest& bad :
       {TestJob(1, 1, 1), TestJob(2, 1, 1), TestJob(3, 0, 1), TestJob(3, -1, 1), TestJob(3, 1, 0),
        TestJob(3, 1, 65), JobRequest{}}) {
    auto a = s.Submit(bad, At(0));
    ASSERT_FALSE(a.ok()) << bad.id << " " << bad.tasks << "x" << bad.gpus_per_task;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  }
  auto dup = s.Submit(TestJob(1, 1, 1), At(0));
  EXPECT_THAT(dup.status().message(), HasSubstr("job 1 is already known"));
  EXPECT_THAT(s.Submit(TestJob(3, 0, 1), At(0)).status().message(), HasSubstr("tasks"));
  // The failed submits changed nothing.
  EXPECT_EQ(s.pending_count(), 1u);
  EXPECT_EQ(s.running_count(), 1u);
  EXPECT_EQ(s.Find(JobId(1))->req.gpus_per_task, 8);
  EXPECT_EQ(s.Find(JobId(3)), nullptr);
}

TEST(SchedulerTest, GangIsAllOrNothing) {
  const model::Cluster c = HomogeneousCluster(3, 4);
  for (const auto& placement : PlacementPolicyNames()) {
    SCOPED_TRACE(placement);
    Scheduler s = MakeScheduler(c, "fifo", placement);
    Rng rng(1);
    MustSubmit(s, TestJob(1, 1, 4));
    ASSERT_EQ(s.RunRound(At(0), rng).placed.size(), 1u);
    EXPECT_TRUE(MustSubmit(s, TestJob(2, 3, 4)).queued);  // fits an empty cluster
    RoundResult r = s.RunRound(At(10), rng);
    EXPECT_TRUE(r.placed.empty());
    EXPECT_EQ(s.state().FreeGpus(), 8);
    EXPECT_EQ(s.state().AllocatedGpus(), 4);
    for (const auto& node : c.nodes()) {
      for (int g = 0; g < 4; ++g) {
        const JobId owner = s.state().owner(node.id, g);
        EXPECT_TRUE(!owner.valid() || owner == JobId(1));
      }
    }
    EXPECT_EQ(s.Find(JobId(2))->phase, JobPhase::kPending);
    EXPECT_TRUE(s.Find(JobId(2))->alloc.tasks.empty());
    EXPECT_THAT(s.Explain(JobId(2), At(100)),
                HasSubstr("needs 3 task(s) x 4 H100 GPUs started together; room now for 2 such "
                          "task(s), 8 H100 GPUs free"));
    // Once the first job ends, the whole gang starts.
    ASSERT_TRUE(s.Remove(JobId(1)).ok());
    r = s.RunRound(At(200), rng);
    ASSERT_THAT(PlacedIds(r), ElementsAre(2));
    EXPECT_EQ(r.placed[0].alloc.tasks.size(), 3u);
    EXPECT_EQ(s.state().FreeGpus(), 0);
    EXPECT_TRUE(StateIsConsistent(s.state()));
  }
}

TEST(SchedulerTest, GpuTypePreference) {
  const model::Cluster c = MixedTestCluster();  // types: A100 = 0, GB200 = 1, H100 = 2
  const GpuTypeId a100(0), gb200(1), h100(2);
  Scheduler s = MakeScheduler(c, "fifo", "binpack");
  Rng rng(1);
  JobRequest any = TestJob(1, 1, 4);  // no preference: lowest type id
  JobRequest pref_h100 = TestJob(2, 1, 4);
  pref_h100.preference = {h100};
  JobRequest not_a100 = TestJob(3, 1, 4);
  not_a100.allowed = 0b110;
  JobRequest pref_unallowed = TestJob(4, 1, 4);
  pref_unallowed.allowed = 0b001;
  pref_unallowed.preference = {h100, gb200, a100};
  JobRequest pref_order = TestJob(5, 1, 4);
  pref_order.preference = {gb200, h100, gb200};
  for (const auto& r : {any, pref_h100, not_a100, pref_unallowed, pref_order}) MustSubmit(s, r);
  RoundResult round = s.RunRound(At(0), rng);
  ASSERT_EQ(round.placed.size(), 5u);
  EXPECT_EQ(s.Find(JobId(1))->alloc.type, a100);
  EXPECT_EQ(s.Find(JobId(1))->alloc.tasks[0].node, NodeId(0));
  EXPECT_EQ(s.Find(JobId(2))->alloc.type, h100);
  EXPECT_EQ(s.Find(JobId(2))->alloc.tasks[0].node, NodeId(10));
  EXPECT_EQ(s.Find(JobId(3))->alloc.type, gb200);
  EXPECT_EQ(s.Find(JobId(3))->alloc.tasks[0].node, NodeId(4));
  EXPECT_EQ(s.Find(JobId(4))->alloc.type, a100);
  EXPECT_EQ(s.Find(JobId(5))->alloc.type, gb200);
  EXPECT_EQ(s.Find(JobId(5))->alloc.tasks[0].node, NodeId(5));
  EXPECT_THAT(round.placed[1].reason, HasSubstr("of H100 by placement/binpack"));
}

TEST(SchedulerTest, PreferredTypeFullFallsBackToTheNext) {
  const model::Cluster c = MixedTestCluster();
  Scheduler s = MakeScheduler(c, "fifo", "topology");
  Rng rng(1);
  JobRequest fill = TestJob(1, 3, 8);
  fill.allowed = 0b100;  // all of H100
  MustSubmit(s, fill);
  JobRequest r = TestJob(2, 2, 4);
  r.preference = {GpuTypeId(2), GpuTypeId(1)};
  MustSubmit(s, r);
  RoundResult round = s.RunRound(At(0), rng);
  ASSERT_THAT(PlacedIds(round), ElementsAre(1, 2));
  EXPECT_EQ(s.Find(JobId(2))->alloc.type, GpuTypeId(1));  // GB200, the next preference
  // Topology: two whole GB200 nodes of one NVLink domain.
  EXPECT_THAT(s.Find(JobId(2))->alloc.tasks,
              ElementsAre(TaskPlacement{NodeId(4), 0xF}, TaskPlacement{NodeId(5), 0xF}));
  EXPECT_THAT(round.placed[1].reason,
              HasSubstr("2 task(s) on 2 node(s), 1 NVLink domain(s), 1 rack(s) of GB200"));
}

TEST(SchedulerTest, PreferenceIgnoresTypeIdsOutOfRange) {
  const model::Cluster c = MixedTestCluster();
  Scheduler s = MakeScheduler(c);
  Rng rng(1);
  JobRequest r = TestJob(1, 1, 1);
  r.preference = {GpuTypeId::Invalid(), GpuTypeId(64), GpuTypeId(7), GpuTypeId(2)};
  EXPECT_TRUE(MustSubmit(s, r).queued);
  s.RunRound(At(0), rng);
  EXPECT_EQ(s.Find(JobId(1))->alloc.type, GpuTypeId(2));
}

TEST(SchedulerTest, RemoveFreesAndForgets) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = MakeScheduler(c);
  Rng rng(1);
  MustSubmit(s, TestJob(1, 2, 6));
  MustSubmit(s, TestJob(2, 1, 8));
  s.RunRound(At(0), rng);
  ASSERT_EQ(s.running_count(), 1u);
  ASSERT_EQ(s.pending_count(), 1u);
  EXPECT_EQ(s.state().FreeGpus(), 4);
  ASSERT_TRUE(s.Remove(JobId(2)).ok());  // pending
  EXPECT_EQ(s.pending_count(), 0u);
  EXPECT_TRUE(s.PendingInOrder().empty());
  ASSERT_TRUE(s.Remove(JobId(1)).ok());  // running
  EXPECT_EQ(s.running_count(), 0u);
  EXPECT_EQ(s.state().FreeGpus(), 16);
  EXPECT_EQ(s.state().AllocatedGpus(), 0);
  EXPECT_EQ(s.Find(JobId(1)), nullptr);
  EXPECT_EQ(s.Explain(JobId(1), At(0)), "job 1 is not known to the scheduler");
  Status again = s.Remove(JobId(1));
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_TRUE(StateIsConsistent(s.state()));
  // The id may be submitted again and runs.
  MustSubmit(s, TestJob(1, 1, 8));
  EXPECT_THAT(PlacedIds(s.RunRound(At(5), rng)), ElementsAre(1));
}

TEST(SchedulerTest, ExplainStatesTheNumbers) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = MakeScheduler(c);
  Rng rng(1);
  MustSubmit(s, TestJob(1, 1, 4));
  MustSubmit(s, TestJob(2, 1, 4));
  s.RunRound(At(0), rng);  // binpack: both on node 0
  MustSubmit(s, TestJob(3, 1, 8), At(0));
  EXPECT_THAT(s.Explain(JobId(3), At(100)),
              HasSubstr("fits now on H100 (room for 1 such tasks); it starts at the next round"));
  EXPECT_THAT(s.Explain(JobId(3), At(100)), HasSubstr("pending for 1m40s"));
  EXPECT_THAT(s.Explain(JobId(1), At(100)),
              HasSubstr("1 task(s) on 1 node(s), 1 NVLink domain(s), 1 rack(s) of H100 by "
                        "placement/binpack"));
  EXPECT_THAT(s.Explain(JobId(1), At(100)), HasSubstr("running since 1970-01-01 00:00:00"));
  // 8 GPUs free, but split 4 + 4 across the nodes.
  Scheduler split = MakeScheduler(c, "fifo", "spread");
  MustSubmit(split, TestJob(1, 1, 4));
  MustSubmit(split, TestJob(2, 1, 4));
  split.RunRound(At(0), rng);  // spread: one on each node
  MustSubmit(split, TestJob(3, 1, 8), At(0));
  const std::string why = split.Explain(JobId(3), At(65));
  EXPECT_THAT(why, HasSubstr("waiting for GPUs: needs 1 task(s) x 8 H100 GPUs; room now for 0 "
                             "such task(s), 8 H100 GPUs free but split across nodes"));
  EXPECT_THAT(why, HasSubstr("pending for 1m05s"));
  EXPECT_THAT(why, ::testing::Not(HasSubstr("started together")));
}

TEST(SchedulerTest, MaxJobsPerRound) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  SchedulerOptions opts;
  opts.max_jobs_per_round = 2;
  Scheduler s = MakeScheduler(c, "fifo", "binpack", opts);
  Rng rng(1);
  for (uint64_t id = 1; id <= 5; ++id) MustSubmit(s, TestJob(id, 1, 1, At(int64_t(id))));
  RoundResult r = s.RunRound(At(10), rng);
  EXPECT_EQ(r.examined, 2);
  EXPECT_THAT(PlacedIds(r), ElementsAre(1, 2));
  r = s.RunRound(At(11), rng);
  EXPECT_THAT(PlacedIds(r), ElementsAre(3, 4));
  r = s.RunRound(At(12), rng);
  EXPECT_EQ(r.examined, 1);
  EXPECT_THAT(PlacedIds(r), ElementsAre(5));
  r = s.RunRound(At(13), rng);
  EXPECT_EQ(r.examined, 0);
  EXPECT_TRUE(r.placed.empty());
}

TEST(SchedulerTest, EarlyStopDoesNotSkipJobsThatFit) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = MakeScheduler(c);
  Rng rng(1);
  MustSubmit(s, TestJob(1, 1, 1, At(0)));
  s.RunRound(At(0), rng);
  // Three big gangs that cannot fit while job 1 runs, then small jobs that do.
  for (uint64_t id = 2; id <= 4; ++id) MustSubmit(s, TestJob(id, 2, 8, At(int64_t(id))));
  MustSubmit(s, TestJob(5, 1, 4, At(5)));
  MustSubmit(s, TestJob(6, 1, 4, At(6)));
  MustSubmit(s, TestJob(7, 1, 8, At(7)));
  MustSubmit(s, TestJob(8, 1, 3, At(8)));
  MustSubmit(s, TestJob(9, 1, 3, At(9)));
  RoundResult r = s.RunRound(At(10), rng);
  // Binpack: 5 takes node 0 (7 free is the best fit), 6 node 1, 8 the rest of node 0,
  // 9 node 1; the 8-GPU job 7 no longer fits and waits with the gangs.
  EXPECT_THAT(PlacedIds(r), ElementsAre(5, 6, 8, 9));
  EXPECT_EQ(r.examined, 8);
  EXPECT_THAT(s.PendingInOrder(), ElementsAre(JobId(2), JobId(3), JobId(4), JobId(7)));
  EXPECT_EQ(s.state().FreeGpus(), 1);
  // Nothing fits any more: the next round does not even look.
  EXPECT_EQ(s.RunRound(At(11), rng).examined, 0);
}

TEST(SchedulerTest, LaterJobFitsAfterAnEarlierOneOfTheSameShapeIsPlaced) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  Scheduler s = MakeScheduler(c);
  Rng rng(1);
  MustSubmit(s, TestJob(1, 1, 6, At(1)));
  MustSubmit(s, TestJob(2, 1, 4, At(2)));
  MustSubmit(s, TestJob(3, 1, 2, At(3)));
  MustSubmit(s, TestJob(4, 1, 4, At(4)));
  RoundResult r = s.RunRound(At(5), rng);
  EXPECT_THAT(PlacedIds(r), ElementsAre(1, 3));
  EXPECT_EQ(r.examined, 3);  // job 4 has job 2's shape and is known not to fit
}

TEST(SchedulerTest, DrainedNodesGetNoNewWork) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = MakeScheduler(c, "fifo", "spread");
  Rng rng(1);
  MustSubmit(s, TestJob(1, 1, 2));
  s.RunRound(At(0), rng);
  ASSERT_EQ(s.Find(JobId(1))->alloc.tasks[0].node, NodeId(0));
  s.mutable_state().SetSchedulable(NodeId(0), false);
  s.mutable_state().SetSchedulable(NodeId(1), false);
  EXPECT_TRUE(MustSubmit(s, TestJob(2, 1, 8)).queued);  // can fit once nodes return
  EXPECT_TRUE(s.RunRound(At(1), rng).placed.empty());
  EXPECT_THAT(s.Explain(JobId(2), At(1)), HasSubstr("room now for 0 such task(s), 0 H100"));
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kRunning);  // its node drained, it runs on
  s.mutable_state().SetSchedulable(NodeId(0), true);
  EXPECT_TRUE(s.RunRound(At(2), rng).placed.empty());  // node 0 has only 6 free
  s.mutable_state().SetSchedulable(NodeId(1), true);
  RoundResult r = s.RunRound(At(3), rng);
  ASSERT_THAT(PlacedIds(r), ElementsAre(2));
  EXPECT_EQ(r.placed[0].alloc.tasks[0].node, NodeId(1));
  ASSERT_TRUE(s.Remove(JobId(1)).ok());
  EXPECT_TRUE(StateIsConsistent(s.state()));
}

TEST(SchedulerTest, EmptyRound) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  Scheduler s = MakeScheduler(c, "las", "topology");
  Rng rng(1);
  RoundResult r = s.RunRound(At(0), rng);
  EXPECT_EQ(r.examined, 0);
  EXPECT_TRUE(r.placed.empty());
  EXPECT_EQ(s.NextKeyChange(JobId(1), At(0)), std::nullopt);
}

}  // namespace
}  // namespace baton::sched
