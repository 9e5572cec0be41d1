// Shared-cluster mechanisms of the scheduler: quotas and lending, reclaim, priority
// preemption, victim choice by lost work, fair share (order/drf), backfill and the
// reasons pending jobs carry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "baton/sched/scheduler.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

model::QueueSpec Q(std::string name, std::string parent = "", std::optional<int> quota = {},
                   std::optional<int> limit = {}, int weight = 1) {
  model::QueueSpec s;
  s.name = std::move(name);
  s.parent = std::move(parent);
  if (quota) s.quota_gpus = Quantity::Whole(*quota);
  if (limit) s.limit_gpus = Quantity::Whole(*limit);
  s.weight = weight;
  return s;
}

Scheduler Make(const model::Cluster& c, std::string_view order, SchedulerOptions opts,
               const std::vector<model::QueueSpec>& queues = {}) {
  Scheduler s(c, OrderNamed(order), PlacementNamed("topology"), opts);
  Status st = s.SetQueues(queues);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

JobRequest Job(uint64_t id, uint32_t queue, int32_t tasks, int32_t gpus, int64_t submit_s = 0) {
  JobRequest r = TestJob(id, tasks, gpus, At(submit_s));
  r.queue = QueueId(queue);
  return r;
}

void Submit(Scheduler& s, const JobRequest& r, Time now) {
  auto a = s.Submit(r, now);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->queued) << a->reason;
}

std::vector<uint64_t> Placed(const RoundResult& r) {
  std::vector<uint64_t> ids;
  for (const auto& p : r.placed) ids.push_back(p.job.value());
  return ids;
}

std::vector<uint64_t> Victims(const RoundResult& r) {
  std::vector<uint64_t> ids;
  for (const auto& p : r.preempted) ids.push_back(p.job.value());
  return ids;
}

TEST(QueueBookTest, BadTreesAreRefusedNamingTheField) {
  const model::Cluster c = HomogeneousCluster(8, 8);  // 64 GPUs
  auto err = [&](std::vector<model::QueueSpec> q) {
    auto b = QueueBook::Build(q, c, Duration::zero());
    return b.ok() ? std::string("ok") : std::string(b.status().message());
  };
  EXPECT_EQ(err({Q("a", "b"), Q("b", "a")}), "queues: cycle a -> b -> a");
  EXPECT_EQ(err({Q("a", "zz")}), "queues[0].parent: no queue named 'zz'");
  EXPECT_EQ(err({Q("org", "", 16), Q("x", "org", 10), Q("y", "org", 10)}),
            "queues[2].quota_gpus: children of org guarantee 20 GPUs but org has 16");
  EXPECT_EQ(err({Q("a", "", 40), Q("b", "", 30)}),
            "queues[1].quota_gpus: top-level queues guarantee 70 GPUs but the cluster has 64");
  EXPECT_EQ(err({Q("a"), Q("a")}), "queues[1].name: duplicate queue name 'a'");
  EXPECT_EQ(err({Q("a", "", 8, 4)}), "queues[0].limit_gpus: must be >= quota_gpus (8), got 4");
  auto bad_weight = Q("a");
  bad_weight.weight = 0;
  EXPECT_EQ(err({bad_weight}), "queues[0].weight: must be >= 1, got 0");
  auto bad_prio = Q("a");
  bad_prio.priority = 5000;
  EXPECT_EQ(err({bad_prio}), "queues[0].priority: must be between -1000 and 1000, got 5000");
  EXPECT_EQ(err({Q("org", "", 32), Q("a", "org", 16), Q("b", "org", 16)}), "ok");
}

TEST(SharedPoliciesTest, PrioritiesOutOfRangeAreRefused) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  Scheduler s = Make(c, "fifo", {});
  JobRequest r = Job(1, 0, 1, 1);
  r.priority = 1001;
  auto a = s.Submit(r, At(0));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()),
              HasSubstr("priority: must be between -1000 and 1000, got 1001"));
  // Queues cannot change under known jobs.
  r.priority = 0;
  Submit(s, r, At(0));
  EXPECT_FALSE(s.SetQueues({Q("a")}).ok());
}

TEST(SharedPoliciesTest, LimitHoldsJobsAndSaysWhich) {
  const model::Cluster c = HomogeneousCluster(4, 8);  // 32 GPUs
  Scheduler s = Make(c, "fifo", {}, {Q("org", "", 16, 16), Q("team-a", "org", 8, 12),
                                     Q("team-b", "org", 8)});
  Rng rng(1);
  Submit(s, Job(1, 1, 1, 8), At(0));
  Submit(s, Job(2, 1, 1, 8), At(1));  // team-a would hold 16 > 12
  Submit(s, Job(3, 2, 1, 4), At(2));  // team-b: fine
  Submit(s, Job(4, 2, 1, 8), At(3));  // org would hold 20 > 16
  RoundResult r = s.RunRound(At(10), rng);
  EXPECT_THAT(Placed(r), ElementsAre(1, 3));
  EXPECT_THAT(s.Explain(JobId(2), At(10)),
              HasSubstr("queue team-a is at its limit of 12 GPUs (8 in use, guarantee 8); the "
                        "job needs 8 more"));
  EXPECT_THAT(s.Explain(JobId(4), At(10)),
              HasSubstr("queue org is at its limit of 16 GPUs (12 in use, guarantee 16); the "
                        "job needs 8 more (it is in team-b, under org)"));
  EXPECT_EQ(s.queues().used_milli(QueueId(0)), 12000);
  // The free GPUs are there: only quota holds them back.
  EXPECT_EQ(s.state().FreeGpus(), 20);
}

TEST(SharedPoliciesTest, QuotaIsNotTakenByJobsThatCannotBePlaced) {
  // Admission is quota AND placeability: a gang that fits its quota but no placement
  // waits on capacity and holds no quota; a smaller job of the same queue runs.
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = Make(c, "fifo", {}, {Q("a", "", 16, 32)});
  Rng rng(1);
  Submit(s, Job(1, 0, 1, 4), At(0));
  s.RunRound(At(0), rng);
  Submit(s, Job(2, 0, 2, 8), At(1));  // needs both nodes whole
  Submit(s, Job(3, 0, 1, 4), At(2));
  RoundResult r = s.RunRound(At(5), rng);
  EXPECT_THAT(Placed(r), ElementsAre(3));
  EXPECT_EQ(s.queues().used_milli(QueueId(0)), 8000);
  EXPECT_THAT(s.Explain(JobId(2), At(5)),
              HasSubstr("waiting for GPUs: needs 2 task(s) x 8 H100 GPUs started together; room "
                        "now for 1 such task(s)"));
}

TEST(SharedPoliciesTest, IdleQuotaIsLentAndReclaimedWithinOneRound) {
  const model::Cluster c = HomogeneousCluster(2, 8, 1);  // 16 GPUs, a rack a node
  Scheduler s = Make(c, "fifo", {}, {Q("a", "", 8), Q("b", "", 8)});
  Rng rng(1);
  // b borrows a's idle guarantee: 16 one-GPU jobs, all running.
  for (uint64_t id = 1; id <= 16; ++id) Submit(s, Job(id, 1, 1, 1, 0), At(0));
  EXPECT_EQ(s.RunRound(At(0), rng).placed.size(), 16u);
  EXPECT_EQ(s.queues().used_milli(QueueId(1)), 16000);
  // a wants its 8 GPUs back as one 8-GPU task: the next round reclaims a whole node.
  Submit(s, Job(100, 0, 1, 8, 60), At(60));
  RoundResult r = s.RunRound(At(60), rng);
  EXPECT_THAT(Placed(r), ElementsAre(100));
  ASSERT_EQ(r.preempted.size(), 8u);
  const NodeId node = s.Find(JobId(100))->alloc.tasks[0].node;
  for (const auto& v : r.preempted) {
    EXPECT_EQ(v.by, JobId(100));
    EXPECT_THAT(v.reason, HasSubstr("reclaimed for job 100: queue a is within its guarantee of "
                                    "8 GPUs and queue b is borrowing"));
  }
  EXPECT_EQ(s.queues().used_milli(QueueId(0)), 8000);
  EXPECT_EQ(s.queues().used_milli(QueueId(1)), 8000);
  // b's victims wait and never reclaim back: b holds its guarantee, a no more than its own.
  for (int round = 0; round < 3; ++round) {
    RoundResult again = s.RunRound(At(61 + round), rng);
    EXPECT_TRUE(again.preempted.empty());
    EXPECT_TRUE(again.placed.empty());
  }
  const JobId victim = r.preempted[0].job;
  EXPECT_THAT(s.Explain(victim, At(70)), HasSubstr("preempted 1 time(s), last by job 100"));
  (void)node;
}

TEST(SharedPoliciesTest, PriorityPreemptionWaitsForTheMinimumRunTime) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  SchedulerOptions opts;
  opts.preempt_lower_priority = true;
  opts.min_run_time = Seconds(600);
  Scheduler s = Make(c, "fifo", opts);
  Rng rng(1);
  Submit(s, Job(1, 0, 1, 8), At(0));
  s.RunRound(At(0), rng);
  JobRequest hi = Job(2, 0, 1, 8, 100);
  hi.priority = 10;
  Submit(s, hi, At(100));
  RoundResult r = s.RunRound(At(100), rng);
  EXPECT_TRUE(r.placed.empty());
  ASSERT_TRUE(r.wake_at.has_value());
  EXPECT_EQ(*r.wake_at, At(600));
  EXPECT_THAT(s.Explain(JobId(2), At(100)), HasSubstr("minimum run time of 10m"));
  r = s.RunRound(At(600), rng);
  EXPECT_THAT(Placed(r), ElementsAre(2));
  ASSERT_THAT(Victims(r), ElementsAre(1));
  EXPECT_THAT(r.preempted[0].reason, HasSubstr("higher priority (10 > 0)"));
  // The victim ranks below and never preempts back.
  EXPECT_TRUE(s.RunRound(At(2000), rng).preempted.empty());
}

TEST(SharedPoliciesTest, VictimsAreChosenForTheLeastLostWork) {
  // Three nodes, each with one 8-GPU job started together; they checkpoint every 10, 25
  // and 7 minutes. At t = 30 min the job checkpointing every 10 minutes has just saved
  // (0 lost); the others lost 5 and 2 minutes x 8 GPUs.
  const model::Cluster c = HomogeneousCluster(3, 8);
  SchedulerOptions opts;
  opts.preempt_lower_priority = true;
  Scheduler s = Make(c, "fifo", opts);
  Rng rng(1);
  const int64_t intervals[] = {25 * 60, 10 * 60, 7 * 60};
  for (uint64_t id = 1; id <= 3; ++id) {
    JobRequest r = Job(id, 0, 1, 8);
    r.checkpoint_interval = Seconds(intervals[id - 1]);
    Submit(s, r, At(0));
  }
  EXPECT_EQ(s.RunRound(At(0), rng).placed.size(), 3u);
  JobRequest hi = Job(9, 0, 1, 8, 1800);
  hi.priority = 5;
  Submit(s, hi, At(1800));
  RoundResult r = s.RunRound(At(1800), rng);
  EXPECT_THAT(Victims(r), ElementsAre(2));
  EXPECT_EQ(r.preempted[0].lost, Duration::zero());
  // A second preemptor: job 3 lost 30 - 28 = 2 minutes, job 1 lost 5.
  JobRequest hi2 = Job(10, 0, 1, 8, 1800);
  hi2.priority = 5;
  Submit(s, hi2, At(1800));
  r = s.RunRound(At(1800), rng);
  ASSERT_THAT(Victims(r), ElementsAre(3));
  EXPECT_EQ(r.preempted[0].lost, Seconds(120));
  EXPECT_DOUBLE_EQ(r.preempted[0].lost_gpu_s, 120.0 * 8);
  EXPECT_DOUBLE_EQ(s.Find(JobId(3))->lost_gpu_s, 120.0 * 8);
}

TEST(SharedPoliciesTest, GangPreemptionFreesOneRackWithWholeGangs) {
  // Two racks of 2 nodes. One rack holds a 2x8 gang (low priority), the other four 1x4
  // jobs. A 2x8 high-priority gang must land in one rack: the cheapest is the rack
  // where the victims lost least. Every victim is a whole gang.
  const model::Cluster c = HomogeneousCluster(4, 8, 2);
  SchedulerOptions opts;
  opts.preempt_lower_priority = true;
  Scheduler s = Make(c, "fifo", opts);
  Rng rng(1);
  JobRequest gang = Job(1, 0, 2, 8);
  gang.checkpoint_interval = Seconds(3600);  // will have lost 1000 s x 16 GPUs
  Submit(s, gang, At(0));
  for (uint64_t id = 2; id <= 5; ++id) {
    JobRequest r = Job(id, 0, 1, 4);
    r.checkpoint_interval = Seconds(100);  // lost nothing at t = 1000
    Submit(s, r, At(0));
  }
  RoundResult r0 = s.RunRound(At(0), rng);
  ASSERT_EQ(r0.placed.size(), 5u);
  EXPECT_EQ(s.state().FreeGpus(), 0);
  JobRequest hi = Job(9, 0, 2, 8, 1000);
  hi.priority = 3;
  Submit(s, hi, At(1000));
  RoundResult r = s.RunRound(At(1000), rng);
  ASSERT_THAT(Placed(r), ElementsAre(9));
  // Whichever rack was chosen, the victims are whole jobs, the gang sits in one rack, and
  // the big checkpoint loss of job 1 was avoided.
  for (uint64_t v : Victims(r)) EXPECT_NE(v, 1u);
  const Allocation& a = s.Find(JobId(9))->alloc;
  EXPECT_EQ(s.state().rack_group(a.tasks[0].node), s.state().rack_group(a.tasks[1].node));
  for (uint64_t v : Victims(r)) {
    EXPECT_EQ(s.Find(JobId(v))->phase, JobPhase::kPending);
    EXPECT_TRUE(s.Find(JobId(v))->alloc.tasks.empty());
  }
  EXPECT_TRUE(StateIsConsistent(s.state()));
}

TEST(SharedPoliciesTest, DrfServesTheQueueWithTheSmallestShare) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s = Make(c, "drf", {}, {Q("a"), Q("b"), Q("c", "", {}, {}, 3)});
  Rng rng(1);
  // a already holds 6 GPUs.
  for (uint64_t id = 1; id <= 6; ++id) Submit(s, Job(id, 0, 1, 1), At(0));
  s.RunRound(At(0), rng);
  // Now 10 free; a submits first, b later, c (weight 3) last: the queues interleave by
  // share, not by submit time.
  for (uint64_t id = 10; id < 20; ++id) Submit(s, Job(id, 0, 1, 1, 1), At(1));
  for (uint64_t id = 20; id < 30; ++id) Submit(s, Job(id, 1, 1, 1, 2), At(2));
  for (uint64_t id = 30; id < 40; ++id) Submit(s, Job(id, 2, 1, 1, 3), At(3));
  RoundResult r = s.RunRound(At(5), rng);
  ASSERT_EQ(r.placed.size(), 10u);
  int per_queue[3] = {0, 0, 0};
  for (const auto& p : r.placed) per_queue[s.Find(p.job)->req.queue.value()]++;
  // b and c take turns by weighted share (c weighs 3); a, already at 6/16, gets none.
  EXPECT_EQ(per_queue[0], 0);
  EXPECT_EQ(per_queue[1], 3);
  EXPECT_EQ(per_queue[2], 7);
}

TEST(SharedPoliciesTest, DrfRemembersUsageForTheHalfLife) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  SchedulerOptions opts;
  opts.fair_share_half_life = Seconds(3600);
  Scheduler s = Make(c, "drf", opts, {Q("a"), Q("b")});
  Rng rng(1);
  // a used the whole cluster for 10 hours, then its job ended.
  Submit(s, Job(1, 0, 1, 8), At(0));
  s.RunRound(At(0), rng);
  ASSERT_TRUE(s.Remove(JobId(1), At(36000)).ok());
  // Both queues hold nothing now, but a's recent usage puts b first though a came first.
  Submit(s, Job(2, 0, 1, 8, 36000), At(36000));
  Submit(s, Job(3, 1, 1, 8, 36001), At(36001));
  EXPECT_GT(s.queues().DominantShare(QueueId(0), At(36001)), 0.99);
  EXPECT_THAT(Placed(s.RunRound(At(36001), rng)), ElementsAre(3));
  // Ten half-lives later a's history is forgotten (share below 0.1%).
  EXPECT_LT(s.queues().DominantShare(QueueId(0), At(36000 + 36000)), 0.001);
}

// A node of 8 GPUs, all running 1-GPU jobs that end at 100 s, 200 s, ... 800 s; an 8-GPU
// job arrives, then short and long 1-GPU jobs.
struct BackfillFixture {
  model::Cluster cluster = HomogeneousCluster(1, 8);
  Scheduler s;
  Rng rng{1};
  explicit BackfillFixture(BackfillMode mode)
      : s(cluster, OrderNamed("fifo"), PlacementNamed("topology"), [mode] {
          SchedulerOptions o;
          o.backfill = mode;
          return o;
        }()) {
    for (uint64_t id = 1; id <= 8; ++id) {
      JobRequest r = Job(id, 0, 1, 1);
      r.runtime_estimate = Seconds(100 * static_cast<int64_t>(id));
      Submit(s, r, At(0));
    }
    s.RunRound(At(0), rng);
  }
};

TEST(SharedPoliciesTest, EasyBackfillReservesForTheBlockedJob) {
  BackfillFixture f(BackfillMode::kEasy);
  Scheduler& s = f.s;
  ASSERT_TRUE(s.Remove(JobId(1), At(100)).ok());  // 1 GPU free at t = 100
  JobRequest big = Job(10, 0, 1, 8, 100);
  big.runtime_estimate = Seconds(1000);
  Submit(s, big, At(100));
  JobRequest longer = Job(11, 0, 1, 1, 101);  // would run past t = 800
  longer.runtime_estimate = Seconds(5000);
  Submit(s, longer, At(101));
  JobRequest shorter = Job(12, 0, 1, 1, 102);  // ends by t = 800
  shorter.runtime_estimate = Seconds(600);
  Submit(s, shorter, At(102));
  RoundResult r = s.RunRound(At(110), f.rng);
  EXPECT_THAT(Placed(r), ElementsAre(12));
  EXPECT_EQ(r.backfilled, 1);
  ASSERT_EQ(r.reservations.size(), 1u);
  EXPECT_EQ(r.reservations[0].job, JobId(10));
  EXPECT_EQ(r.reservations[0].at, At(800));
  EXPECT_THAT(s.Explain(JobId(10), At(110)),
              HasSubstr("holds the backfill reservation: expected to start by 1970-01-01 "
                        "00:13:20"));
  EXPECT_THAT(s.Explain(JobId(11), At(110)),
              HasSubstr("waiting behind the reservation for job 10 at 1970-01-01 00:13:20"));
  // Without backfill the long job would have taken the GPU and delayed the big one.
  BackfillFixture g(BackfillMode::kNone);
  ASSERT_TRUE(g.s.Remove(JobId(1), At(100)).ok());
  Submit(g.s, big, At(100));
  Submit(g.s, longer, At(101));
  EXPECT_THAT(Placed(g.s.RunRound(At(110), g.rng)), ElementsAre(11));
}

TEST(SharedPoliciesTest, ConservativeBackfillReservesForSeveralJobs) {
  BackfillFixture f(BackfillMode::kConservative);
  Scheduler& s = f.s;
  JobRequest big = Job(10, 0, 1, 8, 50);
  big.runtime_estimate = Seconds(1000);
  Submit(s, big, At(50));
  JobRequest mid = Job(11, 0, 1, 4, 51);
  mid.runtime_estimate = Seconds(300);
  Submit(s, mid, At(51));
  RoundResult r = s.RunRound(At(60), f.rng);
  ASSERT_EQ(r.reservations.size(), 2u);
  EXPECT_EQ(r.reservations[0].at, At(800));
  // The second job waits until the first is expected to end: it never delays it.
  EXPECT_EQ(r.reservations[1].at, At(1800));
  EXPECT_TRUE(StateIsConsistent(s.state()));
  EXPECT_EQ(s.state().FreeGpus(), 0);
}

}  // namespace
}  // namespace baton::sched
