#include "baton/sched/order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "baton/sched/registry.h"
#include "baton/sched/scheduler.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kHour = 3600;

JobInfo Info(uint64_t id, int64_t submit_s, int32_t tasks = 1, int32_t gpus_per_task = 1) {
  JobInfo j;
  j.req = TestJob(id, tasks, gpus_per_task, At(submit_s));
  j.pending_since = At(submit_s);
  return j;
}

JobInfo Running(JobInfo j, int64_t since_s) {
  j.phase = JobPhase::kRunning;
  j.run_start = At(since_s);
  return j;
}

// Job ids sorted by the policy's key at `now`.
std::vector<uint64_t> Sorted(const OrderPolicy& p, std::vector<JobInfo> jobs, Time now) {
  std::sort(jobs.begin(), jobs.end(),
            [&](const JobInfo& a, const JobInfo& b) { return p.Key(a, now) < p.Key(b, now); });
  std::vector<uint64_t> ids;
  for (const auto& j : jobs) ids.push_back(j.req.id.value());
  return ids;
}

TEST(OrderRegistryTest, NamesAndErrors) {
  EXPECT_THAT(OrderPolicyNames(),
              ElementsAre("order/fifo", "order/priority", "order/sjf", "order/srtf", "order/las",
                          "order/drf", "order/hetero-fifo", "order/hetero-las", "order/agnostic-las"));
  for (const auto& name : OrderPolicyNames()) {
    auto full = MakeOrderPolicy(name);
    ASSERT_TRUE(full.ok()) << name;
    EXPECT_EQ((*full)->name(), name);
    auto short_name = MakeOrderPolicy(name.substr(6));
    ASSERT_TRUE(short_name.ok()) << name;
    EXPECT_EQ((*short_name)->name(), name);
  }
  auto bad = MakeOrderPolicy("lifo");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown order policy 'lifo'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("order/las"));
  EXPECT_FALSE(MakeOrderPolicy("placement/fifo").ok());
}

TEST(OrderRegistryTest, ParsePolicyName) {
  auto both = ParsePolicyName("las+binpack", "placement/topology");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->order, "order/las");
  EXPECT_EQ(both->placement, "placement/binpack");
  EXPECT_EQ(both->ToString(), "order/las+placement/binpack");
  auto only_order = ParsePolicyName("order/fifo", "placement/topology");
  ASSERT_TRUE(only_order.ok());
  EXPECT_EQ(only_order->ToString(), "order/fifo+placement/topology");
  auto reversed = ParsePolicyName("placement/spread+fifo", "placement/topology");
  ASSERT_FALSE(reversed.ok());
  EXPECT_THAT(reversed.status().message(), HasSubstr("order policy first"));
  EXPECT_FALSE(ParsePolicyName("fifo+tetris", "placement/topology").ok());
  EXPECT_FALSE(ParsePolicyName("nope", "placement/topology").ok());
}

TEST(OrderTest, FifoBySubmitThenId) {
  auto p = OrderNamed("fifo");
  std::vector<JobInfo> jobs = {Info(3, 10), Info(1, 20), Info(2, 10), Info(4, 5)};
  jobs[1].req.priority = 100;  // ignored
  EXPECT_THAT(Sorted(*p, jobs, At(30)), ElementsAre(4, 2, 3, 1));
  EXPECT_FALSE(p->preemptive());
  EXPECT_FALSE(p->MayPreempt(jobs[3], Running(jobs[1], 20), At(30)));
  EXPECT_EQ(p->NextKeyChange(Running(jobs[0], 10), At(30)), std::nullopt);
}

TEST(OrderTest, PriorityHigherFirstThenSubmit) {
  auto p = OrderNamed("priority");
  std::vector<JobInfo> jobs = {Info(1, 10), Info(2, 20), Info(3, 30), Info(4, 5)};
  jobs[1].req.priority = 5;
  jobs[2].req.priority = 5;
  jobs[3].req.priority = -1;
  EXPECT_THAT(Sorted(*p, jobs, At(30)), ElementsAre(2, 3, 1, 4));
  EXPECT_FALSE(p->preemptive());
}

TEST(OrderTest, SjfByEstimateUnknownLast) {
  auto p = OrderNamed("sjf");
  std::vector<JobInfo> jobs = {Info(1, 10), Info(2, 20), Info(3, 30), Info(4, 40), Info(5, 0)};
  jobs[0].req.runtime_estimate = Seconds(500);
  jobs[1].req.runtime_estimate = Seconds(100);
  jobs[2].req.runtime_estimate = Seconds(500);
  // jobs 4 and 5: unknown (zero), ordered last, by submit.
  EXPECT_THAT(Sorted(*p, jobs, At(50)), ElementsAre(2, 1, 3, 5, 4));
  EXPECT_FALSE(p->preemptive());
  // A running job's key does not shrink under sjf.
  EXPECT_EQ(p->Key(Running(jobs[0], 10), At(400)), p->Key(jobs[0], At(10)));
}

TEST(OrderTest, SrtfRemainingTime) {
  auto p = OrderNamed("srtf");
  EXPECT_TRUE(p->preemptive());
  JobInfo a = Info(1, 0);
  a.req.runtime_estimate = Seconds(10 * kHour);
  JobInfo b = Info(2, 0);
  b.req.runtime_estimate = Seconds(4 * kHour);
  JobInfo unknown = Info(3, 0);
  // Pending: remaining = the estimate less what earlier runs executed.
  EXPECT_EQ(p->Key(a, At(0)).primary, Seconds(10 * kHour).count());
  a.executed = Seconds(kHour);
  EXPECT_EQ(p->Key(a, At(5 * kHour)).primary, Seconds(9 * kHour).count());
  // Running since t=1h: at t=7h it has 3h left, less than b's 4h.
  const JobInfo ra = Running(a, kHour);
  EXPECT_EQ(p->Key(ra, At(7 * kHour)).primary, Seconds(3 * kHour).count());
  EXPECT_TRUE(p->MayPreempt(b, ra, At(5 * kHour)));   // 4h < 5h
  EXPECT_FALSE(p->MayPreempt(b, ra, At(6 * kHour)));  // 4h = 4h
  EXPECT_FALSE(p->MayPreempt(b, ra, At(7 * kHour)));
  // Past its estimate it has 0 left and cannot be preempted.
  EXPECT_EQ(p->Key(ra, At(20 * kHour)).primary, 0);
  EXPECT_FALSE(p->MayPreempt(b, ra, At(20 * kHour)));
  // Unknown estimates go last: any known job may preempt them, they preempt nobody.
  EXPECT_GT(p->Key(unknown, At(0)), p->Key(a, At(0)));
  EXPECT_TRUE(p->MayPreempt(b, Running(unknown, 0), At(kHour)));
  EXPECT_FALSE(p->MayPreempt(unknown, ra, At(2 * kHour)));
  EXPECT_FALSE(p->MayPreempt(unknown, Running(Info(4, 0), 0), At(kHour)));
}

TEST(OrderTest, LasLevelsByGpuSeconds) {
  auto p = OrderNamed("las");
  EXPECT_TRUE(p->preemptive());
  // 8 GPUs: 3600 GPU-s after 450 s, 36000 GPU-s after 4500 s.
  const JobInfo big = Running(Info(1, 0, 2, 4), 0);
  const JobInfo fresh = Info(2, 100, 1, 1);
  EXPECT_EQ(p->Key(big, At(449)).primary, 0);
  EXPECT_EQ(p->Key(big, At(450)).primary, 1);
  EXPECT_EQ(p->Key(big, At(4499)).primary, 1);
  EXPECT_EQ(p->Key(big, At(4500)).primary, 2);
  EXPECT_EQ(p->Key(big, At(100000)).primary, 2);
  EXPECT_FALSE(p->MayPreempt(fresh, big, At(449)));  // same queue
  EXPECT_TRUE(p->MayPreempt(fresh, big, At(450)));
  // Within a queue: FIFO by submit.
  EXPECT_LT(p->Key(big, At(100)), p->Key(fresh, At(100)));
  // A pending job keeps the service of its earlier runs.
  JobInfo preempted = Info(3, 0, 1, 8);
  preempted.executed = Seconds(450);
  EXPECT_EQ(p->Key(preempted, At(10000)).primary, 1);
  EXPECT_FALSE(p->MayPreempt(preempted, big, At(450)));
  EXPECT_TRUE(p->MayPreempt(preempted, big, At(4500)));
}

TEST(OrderTest, LasNextKeyChangeIsTheExactCrossing) {
  auto p = OrderNamed("las");
  // 7 GPUs: 3600e6 / 7 us rounds up to 514285715 us.
  const JobInfo j = Running(Info(1, 0, 1, 7), 1000);
  const Time cross = At(1000) + Duration(514285715);
  EXPECT_EQ(p->NextKeyChange(j, At(1000)), cross);
  EXPECT_EQ(p->NextKeyChange(j, cross - Duration(1)), cross);
  EXPECT_EQ(p->Key(j, cross - Duration(1)).primary, 0);
  EXPECT_EQ(p->Key(j, cross).primary, 1);
  // At the second level the next change is the 36000 GPU-s boundary.
  EXPECT_EQ(p->NextKeyChange(j, cross), At(1000) + Duration(5142857143));
  // After the last boundary nothing changes any more.
  EXPECT_EQ(p->NextKeyChange(j, At(1000) + Duration(5142857143)), std::nullopt);
  // Earlier runs count: 100 s executed leaves 350 s for an 8-GPU job.
  JobInfo resumed = Running(Info(2, 0, 1, 8), 5000);
  resumed.executed = Seconds(100);
  EXPECT_EQ(p->NextKeyChange(resumed, At(5000)), At(5350));
}

TEST(OrderTest, LasCustomThresholds) {
  auto p = MakeLasOrder(LasOptions{{10, 20, 40}});
  const JobInfo j = Running(Info(1, 0, 1, 2), 0);
  EXPECT_EQ(p->NextKeyChange(j, At(0)), At(5));
  EXPECT_EQ(p->Key(j, At(5)).primary, 1);
  EXPECT_EQ(p->NextKeyChange(j, At(5)), At(10));
  EXPECT_EQ(p->NextKeyChange(j, At(10)), At(20));
  EXPECT_EQ(p->Key(j, At(20)).primary, 3);
  EXPECT_EQ(p->NextKeyChange(j, At(20)), std::nullopt);
}

// The scheduler keeps pending jobs in policy order.
TEST(OrderTest, SchedulerPendingOrder) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  struct Case {
    const char* policy;
    std::vector<uint64_t> want;
  };
  for (const Case& k : {Case{"fifo", {1, 2, 3, 4}}, Case{"priority", {3, 2, 1, 4}},
                        Case{"sjf", {4, 1, 2, 3}}, Case{"srtf", {4, 1, 2, 3}}}) {
    SCOPED_TRACE(k.policy);
    Scheduler s(c, OrderNamed(k.policy), PlacementNamed("binpack"));
    Rng rng(1);
    ASSERT_TRUE(s.Submit(TestJob(100, 1, 8), At(0)).ok());
    s.RunRound(At(0), rng);  // the cluster is full from here on
    for (uint64_t id = 1; id <= 4; ++id) {
      JobRequest r = TestJob(id, 1, 8, At(static_cast<int64_t>(id)));
      r.priority = id == 3 ? 9 : (id == 2 ? 5 : 0);
      r.runtime_estimate = Seconds(id == 4 ? 10 : (id == 3 ? 0 : 100 * static_cast<int64_t>(id)));
      ASSERT_TRUE(s.Submit(r, At(static_cast<int64_t>(id))).ok());
    }
    std::vector<uint64_t> got;
    for (JobId id : s.PendingInOrder()) got.push_back(id.value());
    EXPECT_EQ(got, k.want);
  }
}

JobRequest Estimated(uint64_t id, int32_t tasks, int32_t g, int64_t est_s, int64_t submit_s) {
  JobRequest r = TestJob(id, tasks, g, At(submit_s));
  r.runtime_estimate = Seconds(est_s);
  return r;
}

TEST(PreemptionTest, SrtfPreemptsTheLongestRemainingAndKeepsUnneededVictims) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s(c, OrderNamed("srtf"), PlacementNamed("binpack"));
  Rng rng(1);
  // A (2 GPUs, 10h), E (6, 2h), B (4, 9h), F (4, 2h) fill both nodes.
  ASSERT_TRUE(s.Submit(Estimated(1, 1, 2, 10 * kHour, 0), At(0)).ok());
  ASSERT_TRUE(s.Submit(Estimated(2, 1, 6, 2 * kHour, 0), At(0)).ok());
  ASSERT_TRUE(s.Submit(Estimated(3, 1, 4, 9 * kHour, 0), At(0)).ok());
  ASSERT_TRUE(s.Submit(Estimated(4, 1, 4, 2 * kHour, 0), At(0)).ok());
  RoundResult r0 = s.RunRound(At(0), rng);
  ASSERT_EQ(r0.placed.size(), 4u);
  EXPECT_EQ(s.state().FreeGpus(), 0);
  EXPECT_THAT(s.Find(JobId(1))->alloc.tasks, ElementsAre(TaskPlacement{NodeId(0), 0xC0}));
  EXPECT_THAT(s.Find(JobId(3))->alloc.tasks, ElementsAre(TaskPlacement{NodeId(1), 0xF0}));

  // At 1h a 30-minute job needs 4 GPUs. Worst first: A (9h left) is released but frees
  // only 2 GPUs; B (8h left) frees node 1's four. C takes B's GPUs; A keeps running.
  ASSERT_TRUE(s.Submit(Estimated(5, 1, 4, 1800, kHour), At(kHour)).ok());
  RoundResult r1 = s.RunRound(At(kHour), rng);
  ASSERT_EQ(r1.placed.size(), 1u);
  EXPECT_EQ(r1.placed[0].job, JobId(5));
  EXPECT_THAT(r1.placed[0].alloc.tasks, ElementsAre(TaskPlacement{NodeId(1), 0xF0}));
  ASSERT_EQ(r1.preempted.size(), 1u);
  EXPECT_EQ(r1.preempted[0].job, JobId(3));
  EXPECT_EQ(r1.preempted[0].by, JobId(5));
  EXPECT_THAT(r1.preempted[0].reason, HasSubstr("order/srtf"));

  const JobInfo* a = s.Find(JobId(1));
  EXPECT_EQ(a->phase, JobPhase::kRunning);
  EXPECT_EQ(a->run_start, At(0));
  EXPECT_EQ(a->preemptions, 0);
  EXPECT_EQ(s.state().owner(NodeId(0), 7), JobId(1));
  const JobInfo* b = s.Find(JobId(3));
  EXPECT_EQ(b->phase, JobPhase::kPending);
  EXPECT_TRUE(b->alloc.tasks.empty());
  EXPECT_EQ(b->executed, Seconds(kHour));
  EXPECT_EQ(b->preemptions, 1);
  EXPECT_EQ(b->last_preempted_by, JobId(5));
  EXPECT_EQ(b->pending_since, At(kHour));
  EXPECT_THAT(s.PendingInOrder(), ElementsAre(JobId(3)));
  EXPECT_THAT(s.Explain(JobId(3), At(kHour + 60)), HasSubstr("preempted 1 time(s), last by job 5"));
  EXPECT_EQ(s.state().FreeGpus(), 0);
  EXPECT_TRUE(StateIsConsistent(s.state()));

  // B (8h left) may preempt A (9h left) but that alone does not make room: nothing moves.
  RoundResult r2 = s.RunRound(At(kHour), rng);
  EXPECT_TRUE(r2.placed.empty());
  EXPECT_TRUE(r2.preempted.empty());
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kRunning);

  // When C ends, B resumes; its earlier run still counts.
  ASSERT_TRUE(s.Remove(JobId(5)).ok());
  RoundResult r3 = s.RunRound(At(2 * kHour), rng);
  ASSERT_EQ(r3.placed.size(), 1u);
  EXPECT_EQ(r3.placed[0].job, JobId(3));
  EXPECT_EQ(s.Find(JobId(3))->run_start, At(2 * kHour));
  EXPECT_EQ(s.Find(JobId(3))->Attained(At(3 * kHour)), Seconds(2 * kHour));
  EXPECT_TRUE(StateIsConsistent(s.state()));
}

TEST(PreemptionTest, SrtfDoesNotPreemptForALongerJob) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  Scheduler s(c, OrderNamed("srtf"), PlacementNamed("topology"));
  Rng rng(1);
  ASSERT_TRUE(s.Submit(Estimated(1, 1, 8, kHour, 0), At(0)).ok());
  s.RunRound(At(0), rng);
  ASSERT_TRUE(s.Submit(Estimated(2, 1, 8, kHour, 10), At(10)).ok());  // 1h > 59m50s
  ASSERT_TRUE(s.Submit(TestJob(3, 1, 8, At(10)), At(10)).ok());       // unknown
  RoundResult r = s.RunRound(At(10), rng);
  EXPECT_TRUE(r.preempted.empty());
  EXPECT_TRUE(r.placed.empty());
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kRunning);
}

TEST(PreemptionTest, VictimsAreWholeGangs) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  Scheduler s(c, OrderNamed("srtf"), PlacementNamed("binpack"));
  Rng rng(1);
  ASSERT_TRUE(s.Submit(Estimated(1, 2, 8, 10 * kHour, 0), At(0)).ok());
  s.RunRound(At(0), rng);
  ASSERT_EQ(s.state().FreeGpus(), 0);
  ASSERT_TRUE(s.Submit(Estimated(2, 1, 8, kHour, 100), At(100)).ok());
  RoundResult r = s.RunRound(At(100), rng);
  ASSERT_EQ(r.preempted.size(), 1u);
  EXPECT_EQ(r.preempted[0].job, JobId(1));
  ASSERT_EQ(r.placed.size(), 1u);
  EXPECT_THAT(r.placed[0].alloc.tasks, ElementsAre(TaskPlacement{NodeId(0), 0xFF}));
  // The gang's other task stopped too: node 1 is entirely free.
  EXPECT_EQ(s.state().free_mask(NodeId(1)), 0xFFu);
  for (int g = 0; g < 8; ++g) EXPECT_FALSE(s.state().owner(NodeId(1), g).valid());
  EXPECT_EQ(s.state().FreeGpus(), 8);
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kPending);
  EXPECT_EQ(s.Find(JobId(1))->executed, Seconds(100));
  // The gang cannot start on half the cluster and cannot preempt the shorter job back.
  RoundResult again = s.RunRound(At(200), rng);
  EXPECT_TRUE(again.placed.empty());
  EXPECT_TRUE(again.preempted.empty());
  EXPECT_TRUE(StateIsConsistent(s.state()));
}

TEST(PreemptionTest, LasPreemptsOnlyAcrossQueueLevels) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  Scheduler s(c, OrderNamed("las"), PlacementNamed("topology"));
  Rng rng(1);
  ASSERT_TRUE(s.Submit(TestJob(1, 1, 8), At(0)).ok());
  ASSERT_EQ(s.RunRound(At(0), rng).placed.size(), 1u);
  // 8 GPUs reach 3600 GPU-seconds after 450 s.
  EXPECT_EQ(s.NextKeyChange(JobId(1), At(0)), At(450));
  EXPECT_EQ(s.NextKeyChange(JobId(1), At(449)), At(450));

  ASSERT_TRUE(s.Submit(TestJob(2, 1, 8, At(449)), At(449)).ok());
  EXPECT_EQ(s.NextKeyChange(JobId(2), At(449)), std::nullopt);  // pending
  RoundResult same_level = s.RunRound(At(449), rng);
  EXPECT_TRUE(same_level.preempted.empty());
  EXPECT_TRUE(same_level.placed.empty());

  RoundResult crossed = s.RunRound(At(450), rng);
  ASSERT_EQ(crossed.preempted.size(), 1u);
  EXPECT_EQ(crossed.preempted[0].job, JobId(1));
  EXPECT_EQ(crossed.preempted[0].by, JobId(2));
  ASSERT_EQ(crossed.placed.size(), 1u);
  EXPECT_EQ(crossed.placed[0].job, JobId(2));
  const JobInfo* j1 = s.Find(JobId(1));
  EXPECT_EQ(j1->phase, JobPhase::kPending);
  EXPECT_EQ(j1->executed, Seconds(450));
  EXPECT_EQ(j1->Attained(At(1000)), Seconds(450));
  EXPECT_THAT(s.PendingInOrder(), ElementsAre(JobId(1)));
  EXPECT_EQ(s.state().owner(NodeId(0), 0), JobId(2));

  // Job 1 sits in queue 1 and job 2 in queue 0: no preemption back. At 900 s job 2
  // reaches queue 1 too; still none (same level).
  EXPECT_TRUE(s.RunRound(At(451), rng).preempted.empty());
  EXPECT_EQ(s.NextKeyChange(JobId(2), At(451)), At(900));
  EXPECT_TRUE(s.RunRound(At(900), rng).preempted.empty());
  EXPECT_EQ(s.Find(JobId(2))->phase, JobPhase::kRunning);

  // When job 2 ends, job 1 resumes; its next boundary (36000 GPU-s) counts the 450 s.
  ASSERT_TRUE(s.Remove(JobId(2)).ok());
  RoundResult resumed = s.RunRound(At(1000), rng);
  ASSERT_EQ(resumed.placed.size(), 1u);
  EXPECT_EQ(resumed.placed[0].job, JobId(1));
  EXPECT_EQ(s.NextKeyChange(JobId(1), At(1000)), At(1000 + 4500 - 450));
  EXPECT_EQ(s.Find(JobId(1))->preemptions, 1);
  EXPECT_TRUE(StateIsConsistent(s.state()));
}

TEST(PreemptionTest, NonPreemptivePoliciesNeverPreempt) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  for (const char* name : {"fifo", "priority", "sjf"}) {
    SCOPED_TRACE(name);
    Scheduler s(c, OrderNamed(name), PlacementNamed("binpack"));
    Rng rng(1);
    ASSERT_TRUE(s.Submit(Estimated(1, 1, 8, 10 * kHour, 0), At(0)).ok());
    s.RunRound(At(0), rng);
    JobRequest urgent = Estimated(2, 1, 8, 60, 10);
    urgent.priority = 100;
    ASSERT_TRUE(s.Submit(urgent, At(10)).ok());
    RoundResult r = s.RunRound(At(5000), rng);
    EXPECT_TRUE(r.preempted.empty());
    EXPECT_TRUE(r.placed.empty());
    EXPECT_EQ(s.NextKeyChange(JobId(1), At(5000)), std::nullopt);
  }
}

}  // namespace
}  // namespace baton::sched
