// Heterogeneity-aware policies: the max-min LP on cases solved by hand, GPU type choice
// by speed, and time slicing in rounds.
#include "baton/sched/hetero_order.h"

#include <gtest/gtest.h>

#include "baton/common/rng.h"
#include "baton/sched/maxmin_lp.h"
#include "baton/sched/scheduler.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

TEST(MaxMinLpTest, GivesEachJobTheTypeItIsRelativelyFastOn) {
  // A is 4x faster on type 0, B equally fast on both; one GPU of each type. B can never
  // exceed 1, so the optimum has min = 1 with B on type 1, and the secondary objective
  // then gives A all of type 0.
  MaxMinProblem p{2, 2, {4, 1, 1, 1}, {1, 1}, {1, 1}};
  auto x = SolveMaxMin(p);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_NEAR((*x)[0], 1.0, 1e-6);
  EXPECT_NEAR((*x)[1], 0.0, 1e-6);
  EXPECT_NEAR((*x)[2], 0.0, 1e-6);
  EXPECT_NEAR((*x)[3], 1.0, 1e-6);
}

TEST(MaxMinLpTest, SharesOversubscribedGpusEquallyCountingGangs) {
  // Three 1-GPU jobs on 2 GPUs: 2/3 each.
  auto x = SolveMaxMin({3, 1, {1, 1, 1}, {1, 1, 1}, {2}});
  ASSERT_TRUE(x.ok());
  for (double v : *x) EXPECT_NEAR(v, 2.0 / 3, 1e-6);
  // A 2-GPU gang and a 1-GPU job on 2 GPUs: 2a + b <= 2, max min(a, b) -> 2/3 each.
  auto g = SolveMaxMin({2, 1, {1, 1}, {2, 1}, {2}});
  ASSERT_TRUE(g.ok());
  EXPECT_NEAR((*g)[0], 2.0 / 3, 1e-6);
  EXPECT_NEAR((*g)[1], 2.0 / 3, 1e-6);
}

TEST(MaxMinLpTest, ForbiddenCellsStayZeroAndBadSizesAreErrors) {
  auto x = SolveMaxMin({2, 2, {1, 0, 1, 1}, {1, 1}, {1, 1}});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ((*x)[1], 0.0);
  EXPECT_NEAR((*x)[0], 1.0, 1e-6);  // A can only use type 0, so B takes type 1
  EXPECT_NEAR((*x)[3], 1.0, 1e-6);
  EXPECT_FALSE(SolveMaxMin({2, 2, {1, 1}, {1, 1}, {1, 1}}).ok());
  auto none = SolveMaxMin({1, 1, {0}, {1}, {1}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)[0], 0.0);
}

// One 1-GPU node of K80 (type 0) and one of V100 (type 1).
model::Cluster TwoTypes() {
  return BuildTestCluster({TestPool("k80", 1, "K80", 1), TestPool("v100", 1, "V100", 1)});
}

// A 1-GPU job with the given steps/s per type; types where it is 0 are not allowed.
JobRequest WithSpeed(uint64_t id, std::vector<double> speed, Time submit = Time{}) {
  JobRequest r = TestJob(id, 1, 1, submit);
  r.allowed = 0;
  for (size_t t = 0; t < speed.size(); ++t) {
    if (speed[t] > 0) r.allowed |= model::GpuTypeMask{1} << t;
  }
  r.throughput = std::move(speed);
  return r;
}

GpuTypeId TypeOf(const Scheduler& s, uint64_t id) { return s.Find(JobId(id))->alloc.type; }

TEST(HeteroFifoTest, PlacesEachJobOnItsFastestFreeType) {
  const model::Cluster c = TwoTypes();
  Rng rng(1);
  Scheduler hetero(c, MakeHeteroFifoOrder(), MakeBinpackPlacement());
  Scheduler agnostic(c, MakeFifoOrder(), MakeBinpackPlacement());
  for (Scheduler* s : {&hetero, &agnostic}) {
    ASSERT_TRUE(s->Submit(WithSpeed(1, {1, 10}), At(0)).ok());
    s->RunRound(At(0), rng);
  }
  EXPECT_EQ(TypeOf(hetero, 1), GpuTypeId(1));    // V100: 10x faster
  EXPECT_EQ(TypeOf(agnostic, 1), GpuTypeId(0));  // first type by id
  // The next job gets what is left, and one that cannot run on K80 waits for the V100.
  ASSERT_TRUE(hetero.Submit(WithSpeed(2, {0, 5}), At(1)).ok());
  hetero.RunRound(At(1), rng);
  EXPECT_EQ(hetero.Find(JobId(2))->phase, JobPhase::kPending);
  EXPECT_FALSE(hetero.order().preemptive());
}

TEST(HeteroLasTest, PutsJobsWhereTheyAreRelativelyFast) {
  const model::Cluster c = TwoTypes();
  Rng rng(1);
  Scheduler s(c, MakeHeteroLasOrder(), MakeBinpackPlacement());
  // Job 1 runs equally on both; job 2 is 10x faster on V100. Job 1 goes first (same
  // submit time, lower id), yet takes the K80 so that job 2 gets the V100.
  ASSERT_TRUE(s.Submit(WithSpeed(1, {1, 1}), At(0)).ok());
  ASSERT_TRUE(s.Submit(WithSpeed(2, {1, 10}), At(0)).ok());
  RoundResult r = s.RunRound(At(0), rng);
  ASSERT_EQ(r.placed.size(), 2u);
  EXPECT_EQ(TypeOf(s, 1), GpuTypeId(0));
  EXPECT_EQ(TypeOf(s, 2), GpuTypeId(1));
  // Both got their max-min shares: the next round preempts nobody.
  EXPECT_TRUE(s.RunRound(At(360), rng).preempted.empty());
}

TEST(HeteroLasTest, TimeSlicesOneGpuInRounds) {
  const model::Cluster c = HomogeneousCluster(1, 1);
  Rng rng(1);
  Scheduler s(c, MakeHeteroLasOrder(), MakeBinpackPlacement());
  ASSERT_TRUE(s.Submit(TestJob(1, 1, 1, At(0)), At(0)).ok());
  ASSERT_TRUE(s.Submit(TestJob(2, 1, 1, At(0)), At(0)).ok());
  s.RunRound(At(0), rng);
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kRunning);
  // Rounds come every 360 s while a job runs.
  EXPECT_EQ(s.NextKeyChange(JobId(1), At(0)), At(360));
  EXPECT_EQ(s.NextKeyChange(JobId(1), At(100)), At(360));
  // At 360 s job 1 has had all its time, job 2 none: they swap.
  RoundResult r = s.RunRound(At(360), rng);
  ASSERT_EQ(r.preempted.size(), 1u);
  EXPECT_EQ(r.preempted[0].job, JobId(1));
  EXPECT_EQ(s.Find(JobId(2))->phase, JobPhase::kRunning);
  // At 720 s both have had half: equal priority, no churn.
  EXPECT_TRUE(s.RunRound(At(720), rng).preempted.empty());
  // At 1080 s job 1 (1/3 of its time) is behind job 2 (2/3): they swap back.
  r = s.RunRound(At(1080), rng);
  ASSERT_EQ(r.preempted.size(), 1u);
  EXPECT_EQ(r.preempted[0].job, JobId(2));
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kRunning);
  EXPECT_TRUE(StateIsConsistent(s.state()));
}

TEST(HeteroLasTest, AgnosticTwinIgnoresSpeedsAndNamesAreRegistered) {
  for (const char* name : {"order/hetero-las", "order/agnostic-las", "order/hetero-fifo"}) {
    auto p = MakeOrderPolicy(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ((*p)->name(), name);
  }
  const model::Cluster c = TwoTypes();
  Rng rng(1);
  Scheduler s(c, MakeAgnosticLasOrder(), MakeBinpackPlacement());
  ASSERT_TRUE(s.Submit(WithSpeed(1, {1, 10}), At(0)).ok());
  s.RunRound(At(0), rng);
  EXPECT_EQ(s.Find(JobId(1))->phase, JobPhase::kRunning);
  // Cannot-run types stay forbidden even for the agnostic twin.
  ASSERT_TRUE(s.Submit(WithSpeed(2, {0, 1}), At(1)).ok());
  s.RunRound(At(1), rng);
  if (s.Find(JobId(2))->phase == JobPhase::kRunning) {
    EXPECT_EQ(TypeOf(s, 2), GpuTypeId(1));
  }
}

}  // namespace
}  // namespace baton::sched
