// A retry prefers its previous topology block (PlaceNear and Scheduler's use of it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "baton/sched/placement.h"
#include "baton/sched/scheduler.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::ElementsAre;

constexpr GpuTypeId kT0(0);

TaskPlacement Task(uint32_t node, uint64_t gpus) { return {NodeId(node), gpus}; }

std::vector<NodeId> Nodes(std::initializer_list<uint32_t> ids) {
  std::vector<NodeId> out;
  for (uint32_t id : ids) out.emplace_back(id);
  return out;
}

// Six 8-GPU nodes in two racks: nodes 0-2 and 3-5.
class PlaceNearTest : public ::testing::Test {
 protected:
  PlaceNearTest() : cluster_(HomogeneousCluster(6, 8, 3)), state_(cluster_) {}
  model::Cluster cluster_;
  ClusterState state_;
};

TEST_F(PlaceNearTest, PutsTheJobBackOnItsNodes) {
  Allocation a;
  ASSERT_TRUE(PlaceNear(state_, JobId(1), 2, 8, kT0, Nodes({4, 5}), &a));
  EXPECT_THAT(a.tasks, ElementsAre(Task(4, 0xFF), Task(5, 0xFF)));
  EXPECT_TRUE(StateIsConsistent(state_));
}

TEST_F(PlaceNearTest, ALostNodeIsReplacedFromTheSameRackBestFit) {
  state_.SetSchedulable(NodeId(5), false);          // the node that was lost
  state_.Allocate(JobId(9), NodeId(3), 0x0F);       // 4 free on node 3
  Allocation a;
  ASSERT_TRUE(PlaceNear(state_, JobId(1), 3, 2, kT0, Nodes({4, 5}), &a));
  // Node 4 takes what it can (4 tasks of 2 would fit, 3 asked): all three there.
  EXPECT_THAT(a.tasks, ElementsAre(Task(4, 0x3), Task(4, 0xC), Task(4, 0x30)));
  // Node 4 is full now and 5 is still down: the next retry near {4, 5} goes to their
  // rack-mate 3, not to the empty nodes of rack 0 that binpack or spread would pick.
  state_.Allocate(JobId(10), NodeId(4), 0xC0);
  Allocation b;
  ASSERT_TRUE(PlaceNear(state_, JobId(2), 2, 2, kT0, Nodes({4, 5}), &b));
  EXPECT_THAT(b.tasks, ElementsAre(Task(3, 0x30), Task(3, 0xC0)));
  EXPECT_TRUE(StateIsConsistent(state_));
}

TEST_F(PlaceNearTest, NoRoomInTheBlockAllocatesNothing) {
  state_.Allocate(JobId(9), NodeId(0), 0xFF);
  state_.Allocate(JobId(9), NodeId(2), 0xFF);
  const int64_t free_before = state_.FreeGpus();
  Allocation a;
  EXPECT_FALSE(PlaceNear(state_, JobId(1), 2, 8, kT0, Nodes({1}), &a));
  EXPECT_TRUE(a.tasks.empty());
  EXPECT_EQ(state_.FreeGpus(), free_before);
  // Nonsense preferences (out of range, invalid) are ignored, not trusted.
  EXPECT_FALSE(PlaceNear(state_, JobId(1), 1, 1, kT0, {NodeId(77), NodeId::Invalid()}, &a));
  EXPECT_TRUE(StateIsConsistent(state_));
}

Scheduler MakeScheduler(const model::Cluster& c, std::string_view placement) {
  return Scheduler(c, OrderNamed("fifo"), PlacementNamed(placement));
}

TEST_F(PlaceNearTest, EveryPolicyPlacesARetryNearAndFallsBackWhenTheBlockIsFull) {
  for (std::string_view policy : {"binpack", "spread", "topology"}) {
    SCOPED_TRACE(std::string(policy));
    Scheduler s = MakeScheduler(cluster_, policy);
    // Another job holds node 5 of the previous block {4, 5}.
    ASSERT_TRUE(s.Adopt(TestJob(1, 1, 8), Allocation{kT0, {Task(5, 0xFF)}}, At(0)).ok());
    const NodeId filler_node(5);
    JobRequest retry = TestJob(2, 2, 8, At(1));
    retry.near_nodes = Nodes({4, filler_node.value()});
    ASSERT_TRUE(s.Submit(retry, At(1)).ok());
    Rng rng(1);
    RoundResult r = s.RunRound(At(1), rng);
    ASSERT_EQ(r.placed.size(), 1u);
    // Node 4, then its free rack-mate 3 (every policy alone would start on rack 0).
    EXPECT_THAT(r.placed[0].alloc.tasks, ElementsAre(Task(4, 0xFF), Task(3, 0xFF)));

    // A retry whose block is full goes wherever the policy puts it.
    JobRequest elsewhere = TestJob(3, 2, 8, At(2));
    elsewhere.near_nodes = Nodes({4});
    ASSERT_TRUE(s.Submit(elsewhere, At(2)).ok());
    RoundResult r2 = s.RunRound(At(2), rng);
    ASSERT_EQ(r2.placed.size(), 1u);
    for (const auto& t : r2.placed[0].alloc.tasks) EXPECT_LT(t.node.value(), 3u);
  }
}

}  // namespace
}  // namespace baton::sched
