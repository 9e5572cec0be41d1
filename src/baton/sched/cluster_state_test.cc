#include "baton/sched/cluster_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstddef>
#include <map>
#include <vector>

#include "baton/common/rng.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::ElementsAre;

constexpr GpuTypeId kT0(0);

TEST(ClusterStateTest, StartsAllFree) {
  const model::Cluster c = HomogeneousCluster(3, 8);
  ClusterState s(c);
  EXPECT_EQ(&s.cluster(), &c);
  EXPECT_EQ(s.FreeGpus(), 24);
  EXPECT_EQ(s.FreeGpus(kT0), 24);
  EXPECT_EQ(s.AllocatedGpus(), 0);
  for (const auto& n : c.nodes()) {
    EXPECT_EQ(s.free_mask(n.id), 0xFFu);
    EXPECT_EQ(s.free_gpus(n.id), 8);
    EXPECT_TRUE(s.schedulable(n.id));
    for (int g = 0; g < 8; ++g) EXPECT_FALSE(s.owner(n.id, g).valid());
  }
  EXPECT_EQ(s.CountWithFree(kT0, 8), 3);
  EXPECT_EQ(s.NodesWithFree(kT0, 8).FindFirst(), 0u);
  EXPECT_EQ(s.max_free(kT0), 8);
  EXPECT_TRUE(StateIsConsistent(s));
}

TEST(ClusterStateTest, AllocateAndReleaseTrackOwners) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  ClusterState s(c);
  s.Allocate(JobId(7), NodeId(1), GpuMask({0, 3, 7}));
  EXPECT_EQ(s.free_mask(NodeId(1)), 0x76u);
  EXPECT_EQ(s.free_gpus(NodeId(1)), 5);
  EXPECT_EQ(s.owner(NodeId(1), 3), JobId(7));
  EXPECT_FALSE(s.owner(NodeId(1), 1).valid());
  EXPECT_FALSE(s.owner(NodeId(0), 3).valid());
  EXPECT_EQ(s.AllocatedGpus(), 3);
  EXPECT_EQ(s.FreeGpus(), 13);
  EXPECT_EQ(s.CountWithFree(kT0, 5), 1);
  EXPECT_EQ(s.NodesWithFree(kT0, 5).FindFirst(), 1u);
  EXPECT_EQ(s.CountWithFree(kT0, 8), 1);
  EXPECT_EQ(s.NodesWithFree(kT0, 8).FindFirst(), 0u);
  EXPECT_TRUE(StateIsConsistent(s));

  s.Release(JobId(7), NodeId(1), GpuMask({3}));
  EXPECT_EQ(s.free_mask(NodeId(1)), 0x7Eu);
  EXPECT_EQ(s.owner(NodeId(1), 0), JobId(7));
  EXPECT_FALSE(s.owner(NodeId(1), 3).valid());
  EXPECT_EQ(s.CountWithFree(kT0, 5), 0);
  EXPECT_EQ(s.CountWithFree(kT0, 6), 1);
  s.Release(JobId(7), NodeId(1), GpuMask({0, 7}));
  EXPECT_EQ(s.AllocatedGpus(), 0);
  EXPECT_EQ(s.FreeGpus(), 16);
  EXPECT_EQ(s.CountWithFree(kT0, 8), 2);
  EXPECT_TRUE(StateIsConsistent(s));
}

TEST(ClusterStateTest, TaskCapacitySumsWholeTasksPerNode) {
  const model::Cluster c = HomogeneousCluster(3, 8);
  ClusterState s(c);
  s.Allocate(JobId(1), NodeId(1), GpuMask({0, 1, 2}));        // 5 free
  s.Allocate(JobId(2), NodeId(2), GpuMask({0, 1, 2, 3, 4}));  // 3 free
  EXPECT_EQ(s.TaskCapacity(kT0, 4), 3);                       // 2 + 1 + 0
  EXPECT_EQ(s.TaskCapacity(kT0, 1), 16);                      // 8 + 5 + 3
  EXPECT_EQ(s.TaskCapacity(kT0, 3), 4);                       // 2 + 1 + 1
  EXPECT_EQ(s.TaskCapacity(kT0, 5), 2);                       // 1 + 1 + 0
  EXPECT_EQ(s.TaskCapacity(kT0, 8), 1);
  EXPECT_EQ(s.TaskCapacity(kT0, 9), 0);
  EXPECT_EQ(s.TaskCapacity(kT0, 0), 0);
  EXPECT_EQ(s.TaskCapacity(kT0, -1), 0);
  // The empty-cluster numbers do not move with allocations.
  EXPECT_EQ(s.MaxTaskCapacity(kT0, 4), 6);
  EXPECT_EQ(s.MaxTaskCapacity(kT0, 3), 6);
  EXPECT_EQ(s.MaxTaskCapacity(kT0, 8), 3);
  EXPECT_EQ(s.MaxTaskCapacity(kT0, 9), 0);
  EXPECT_EQ(s.MaxTaskCapacity(kT0, 0), 0);
  EXPECT_EQ(s.NodesWithFree(kT0, 3).FindFirst(), 2u);
  EXPECT_TRUE(StateIsConsistent(s));
}

TEST(ClusterStateTest, DisabledGpusAreNotOfferedAndKeepTheirAllocation) {
  const model::Cluster c = HomogeneousCluster(2, 8);
  ClusterState s(c);
  s.Allocate(JobId(1), NodeId(0), GpuMask({0, 1}));
  s.SetDisabledGpus(NodeId(0), GpuMask({1, 2}));
  EXPECT_EQ(s.free_gpus(NodeId(0)), 5);  // 3..7
  EXPECT_EQ(s.free_mask(NodeId(0)), 0xF8u);
  EXPECT_EQ(s.FreeGpus(), 13);
  EXPECT_EQ(s.TaskCapacity(kT0, 8), 1);
  EXPECT_TRUE(StateIsConsistent(s));
  // Releasing a disabled GPU does not offer it.
  s.Release(JobId(1), NodeId(0), GpuMask({0, 1}));
  EXPECT_EQ(s.free_mask(NodeId(0)), 0xF9u);
  EXPECT_EQ(s.free_gpus(NodeId(0)), 6);
  EXPECT_TRUE(StateIsConsistent(s));
  s.SetSchedulable(NodeId(0), false);
  EXPECT_EQ(s.free_gpus(NodeId(0)), 0);
  s.SetSchedulable(NodeId(0), true);
  EXPECT_EQ(s.free_gpus(NodeId(0)), 6);
  s.SetDisabledGpus(NodeId(0), 0);
  EXPECT_EQ(s.free_gpus(NodeId(0)), 8);
  EXPECT_EQ(s.FreeGpus(), 16);
  EXPECT_TRUE(StateIsConsistent(s));
}

TEST(ClusterStateTest, DrainRemovesCapacityAndKeepsAllocations) {
  const model::Cluster c = HomogeneousCluster(3, 8);
  ClusterState s(c);
  s.Allocate(JobId(1), NodeId(1), GpuMask({0, 1, 2}));
  s.SetSchedulable(NodeId(1), false);
  EXPECT_FALSE(s.schedulable(NodeId(1)));
  EXPECT_EQ(s.free_gpus(NodeId(1)), 0);
  EXPECT_EQ(s.free_mask(NodeId(1)), 0xF8u);  // the books still know what is free
  EXPECT_EQ(s.owner(NodeId(1), 2), JobId(1));
  EXPECT_EQ(s.FreeGpus(), 16);
  EXPECT_EQ(s.AllocatedGpus(), 3);
  EXPECT_EQ(s.TaskCapacity(kT0, 4), 4);
  EXPECT_EQ(s.TaskCapacity(kT0, 1), 16);
  EXPECT_EQ(s.CountWithFree(kT0, 0), 1);
  EXPECT_EQ(s.NodesWithFree(kT0, 0).FindFirst(), 1u);
  EXPECT_EQ(s.MaxTaskCapacity(kT0, 8), 3);
  EXPECT_TRUE(StateIsConsistent(s));
  s.SetSchedulable(NodeId(1), false);  // idempotent
  EXPECT_TRUE(StateIsConsistent(s));

  // Allocation changes on a drained node are booked but offer nothing.
  s.Release(JobId(1), NodeId(1), GpuMask({0}));
  s.Allocate(JobId(2), NodeId(1), GpuMask({7}));
  EXPECT_EQ(s.free_gpus(NodeId(1)), 0);
  EXPECT_EQ(s.FreeGpus(), 16);
  EXPECT_TRUE(StateIsConsistent(s));

  s.SetSchedulable(NodeId(1), true);
  EXPECT_EQ(s.free_gpus(NodeId(1)), 5);  // GPUs 0, 3, 4, 5, 6
  EXPECT_EQ(s.free_mask(NodeId(1)), 0x79u);
  EXPECT_EQ(s.FreeGpus(), 21);
  EXPECT_EQ(s.TaskCapacity(kT0, 4), 5);
  EXPECT_EQ(s.owner(NodeId(1), 7), JobId(2));
  EXPECT_TRUE(StateIsConsistent(s));
}

TEST(ClusterStateTest, GroupsAreRacksAndMultiNodeDomains) {
  const model::Cluster c = MixedTestCluster();
  ClusterState s(c);
  const GpuTypeId a100(0), gb200(1), h100(2);
  ASSERT_EQ(s.RackGroups(a100).size(), 2u);
  ASSERT_EQ(s.RackGroups(gb200).size(), 2u);
  ASSERT_EQ(s.RackGroups(h100).size(), 1u);
  EXPECT_TRUE(s.DomainGroups(a100).empty());  // intra-node domains are not groups
  EXPECT_TRUE(s.DomainGroups(h100).empty());
  ASSERT_EQ(s.DomainGroups(gb200).size(), 3u);

  const Group& rack1 = s.group(s.RackGroups(a100)[1]);
  EXPECT_EQ(rack1.kind, Group::Kind::kRack);
  EXPECT_EQ(rack1.index, 1u);
  EXPECT_THAT(rack1.nodes, ElementsAre(NodeId(2), NodeId(3)));
  const Group& nvl_rack = s.group(s.RackGroups(gb200)[0]);
  EXPECT_THAT(nvl_rack.nodes, ElementsAre(NodeId(4), NodeId(5), NodeId(6), NodeId(7)));
  const Group& dom = s.group(s.DomainGroups(gb200)[1]);
  EXPECT_EQ(dom.kind, Group::Kind::kDomain);
  EXPECT_EQ(dom.gpu_type, gb200);
  EXPECT_EQ(dom.index, c.node(NodeId(6)).multi_node_domain.value());
  EXPECT_THAT(dom.nodes, ElementsAre(NodeId(6), NodeId(7)));
  EXPECT_EQ(s.rack_group(NodeId(3)), s.RackGroups(a100)[1]);
  EXPECT_EQ(s.rack_group(NodeId(9)), s.RackGroups(gb200)[1]);

  // Capacities per group follow allocations.
  const uint32_t d1 = s.DomainGroups(gb200)[1];
  const uint32_t r0 = s.RackGroups(gb200)[0];
  EXPECT_EQ(s.GroupTaskCapacity(d1, 4), 2);
  EXPECT_EQ(s.GroupTaskCapacity(r0, 2), 8);
  s.Allocate(JobId(1), NodeId(6), GpuMask({0}));
  EXPECT_EQ(s.GroupTaskCapacity(d1, 4), 1);
  EXPECT_EQ(s.GroupTaskCapacity(d1, 3), 2);
  EXPECT_EQ(s.GroupTaskCapacity(d1, 2), 3);
  EXPECT_EQ(s.GroupTaskCapacity(r0, 4), 3);
  EXPECT_EQ(s.GroupTaskCapacity(r0, 5), 0);
  EXPECT_EQ(s.GroupTaskCapacity(r0, 0), 0);
  s.SetSchedulable(NodeId(7), false);
  EXPECT_EQ(s.GroupTaskCapacity(d1, 1), 3);
  EXPECT_EQ(s.GroupTaskCapacity(r0, 4), 2);
  // Types are booked separately.
  EXPECT_EQ(s.FreeGpus(a100), 32);
  EXPECT_EQ(s.FreeGpus(gb200), 19);
  EXPECT_EQ(s.FreeGpus(h100), 24);
  EXPECT_EQ(s.TaskCapacity(gb200, 4), 4);
  EXPECT_EQ(s.TaskCapacity(h100, 8), 3);
  EXPECT_EQ(s.max_free(gb200), 4);
  EXPECT_TRUE(StateIsConsistent(s));
}

TEST(ClusterStateDeathTest, BookkeepingBugsAbort) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  ClusterState s(c);
  s.Allocate(JobId(1), NodeId(0), GpuMask({1, 2}));
  EXPECT_DEATH(s.Allocate(JobId(2), NodeId(0), GpuMask({2, 3})), "bookkeeping bug");
  EXPECT_DEATH(s.Allocate(JobId(2), NodeId(0), 0), "bookkeeping bug");
  EXPECT_DEATH(s.Allocate(JobId(2), NodeId(0), GpuMask({8})), "bookkeeping bug");
  EXPECT_DEATH(s.Release(JobId(2), NodeId(0), GpuMask({1})), "bookkeeping bug");
  EXPECT_DEATH(s.Release(JobId(1), NodeId(0), GpuMask({3})), "bookkeeping bug");
}

// Random Allocate/Release/SetSchedulable sequences, every index checked against a
// brute-force recomputation after each step, and owners against a plain model.
TEST(ClusterStateTest, RandomOperationsKeepEveryIndexExact) {
  const model::Cluster c = MixedTestCluster();
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    ClusterState s(c);
    // (node, gpu) -> job
    std::map<std::pair<uint32_t, int>, uint64_t> owners;
    struct Held {
      uint64_t job;
      NodeId node;
      uint64_t mask;
    };
    std::vector<Held> held;
    uint64_t next_job = 1;
    for (int step = 0; step < 400; ++step) {
      const double op = rng.Uniform();
      if (op < 0.5) {
        const NodeId n(static_cast<uint32_t>(rng.UniformInt(0, c.nodes().size() - 1)));
        const uint64_t free = s.free_mask(n);
        if (free == 0) continue;
        // A random non-empty subset of the free GPUs.
        uint64_t mask = 0;
        for (uint64_t m = free; m != 0; m &= m - 1) {
          if (rng.Bernoulli(0.4)) mask |= m & (~m + 1);
        }
        if (mask == 0) mask = free & (~free + 1);
        const uint64_t job = next_job++;
        s.Allocate(JobId(job), n, mask);
        held.push_back({job, n, mask});
        for (uint64_t m = mask; m != 0; m &= m - 1) {
          owners[{n.value(), std::countr_zero(m)}] = job;
        }
      } else if (op < 0.9) {
        if (held.empty()) continue;
        const size_t i = static_cast<size_t>(rng.UniformInt(0, held.size() - 1));
        Held h = held[i];
        // Release all of it, or part of it.
        uint64_t part = h.mask;
        if (rng.Bernoulli(0.3) && std::popcount(h.mask) > 1) part = h.mask & (~h.mask + 1);
        s.Release(JobId(h.job), h.node, part);
        for (uint64_t m = part; m != 0; m &= m - 1)
          owners.erase({h.node.value(), std::countr_zero(m)});
        held[i].mask &= ~part;
        if (held[i].mask == 0) held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        const NodeId n(static_cast<uint32_t>(rng.UniformInt(0, c.nodes().size() - 1)));
        s.SetSchedulable(n, !s.schedulable(n));
      }
      ASSERT_TRUE(StateIsConsistent(s)) << "step " << step;
      for (const auto& node : c.nodes()) {
        for (int g = 0; g < node.gpu_count(); ++g) {
          auto it = owners.find({node.id.value(), g});
          ASSERT_EQ(s.owner(node.id, g), it == owners.end() ? JobId::Invalid() : JobId(it->second));
        }
      }
    }
  }
}

}  // namespace
}  // namespace baton::sched
