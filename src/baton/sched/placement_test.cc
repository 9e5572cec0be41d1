#include "baton/sched/placement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <vector>

#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr GpuTypeId kT0(0);

TaskPlacement Task(uint32_t node, uint64_t gpus) { return {NodeId(node), gpus}; }

// Places with the named policy and checks the books afterwards.
std::vector<TaskPlacement> Place(std::string_view policy, ClusterState& s, uint64_t job, int tasks,
                                 int g, GpuTypeId t = kT0) {
  auto p = PlacementNamed(policy);
  Allocation alloc;
  alloc.type = t;
  EXPECT_TRUE(p->Place(s, JobId(job), tasks, g, t, &alloc));
  EXPECT_TRUE(StateIsConsistent(s));
  for (const auto& task : alloc.tasks) {
    for (uint64_t m = task.gpus; m != 0; m &= m - 1) {
      EXPECT_EQ(s.owner(task.node, std::countr_zero(m)), JobId(job));
    }
  }
  return alloc.tasks;
}

// An 8-GPU node with NVLink pairs: domains 0x3, 0xC, 0x30, 0xC0.
model::Cluster PairCluster(int nodes) {
  return BuildTestCluster({TestPool("pcie", nodes, "A100", 8, 2, 0)});
}

TEST(PickGpusTest, Lowest) {
  EXPECT_EQ(PickLowestGpus(0xFF, 3), 0x7u);
  EXPECT_EQ(PickLowestGpus(0b10110100, 2), 0b10100u);
  EXPECT_EQ(PickLowestGpus(0b10110100, 4), 0b10110100u);
  EXPECT_EQ(PickLowestGpus(0xF0, 0), 0u);
  EXPECT_EQ(PickLowestGpus(~uint64_t{0}, 64), ~uint64_t{0});
  EXPECT_EQ(PickLowestGpus(uint64_t{1} << 63 | 1, 2), uint64_t{1} << 63 | 1);
}

TEST(PickGpusTest, ByDomainOnOneDomainNodeIsLowest) {
  const model::Cluster c = HomogeneousCluster(1, 8);
  EXPECT_EQ(PickGpusByDomain(c.node(NodeId(0)), 0xFE, 2), 0x6u);
}

TEST(PickGpusTest, ByDomainTakesAWholePair) {
  const model::Cluster c = PairCluster(1);
  const model::Node& n = c.node(NodeId(0));
  EXPECT_EQ(PickGpusByDomain(n, 0xFF, 2), 0x3u);
  EXPECT_EQ(PickGpusByDomain(n, 0xFE, 2), 0xCu);   // not 0x6, which spans two pairs
  EXPECT_EQ(PickGpusByDomain(n, 0xFA, 2), 0x30u);  // GPUs 0 and 2 taken
  // Best fit: a single GPU goes to a broken pair, keeping whole pairs whole.
  EXPECT_EQ(PickGpusByDomain(n, 0xFE, 1), 0x2u);
  EXPECT_EQ(PickGpusByDomain(n, 0xBF, 1), 0x80u);  // GPU 6 taken: GPU 7 is alone
}

TEST(PickGpusTest, ByDomainSpillsFullestDomainsFirst) {
  const model::Cluster pairs = PairCluster(1);
  // Free GPUs 0, 1, 3, 4, 6: pair 0 has two, the others one each.
  EXPECT_EQ(PickGpusByDomain(pairs.node(NodeId(0)), 0x5B, 3), 0xBu);
  EXPECT_EQ(PickGpusByDomain(pairs.node(NodeId(0)), 0x5B, 5), 0x5Bu);

  const model::Cluster quads = BuildTestCluster({TestPool("q", 1, "A100", 8, 4)});
  const model::Node& n = quads.node(NodeId(0));
  ASSERT_THAT(n.domain_masks, ElementsAre(0xFu, 0xF0u));
  // Best fit among domains that can hold it: the smaller one.
  EXPECT_EQ(PickGpusByDomain(n, 0x3E, 2), 0x30u);
  EXPECT_EQ(PickGpusByDomain(n, 0xF2, 4), 0xF0u);
  // Spill: the fuller-free domain first, ties to the lower domain.
  EXPECT_EQ(PickGpusByDomain(n, 0xF2, 5), 0xF2u);
  EXPECT_EQ(PickGpusByDomain(n, 0x7E, 4), 0x1Eu);
  EXPECT_EQ(PickGpusByDomain(n, 0xF6, 4), 0xF0u);
  EXPECT_EQ(PickGpusByDomain(n, 0xF6, 5), 0xF2u);
}

TEST(FootprintTest, CountsDomainsNodesRacks) {
  const model::Cluster c = MixedTestCluster();
  Allocation a;
  EXPECT_EQ(FootprintOf(c, a).nodes, 0);
  a.tasks = {Task(0, 0x5), Task(1, 0x3)};  // node 0 touches pairs 0 and 1
  Footprint f = FootprintOf(c, a);
  EXPECT_EQ(f.domains, 3);
  EXPECT_EQ(f.nodes, 2);
  EXPECT_EQ(f.racks, 1);
  a.tasks.push_back(Task(2, 0x30));
  a.tasks.push_back(Task(0, 0x2));  // pair 0 again
  f = FootprintOf(c, a);
  EXPECT_EQ(f.domains, 4);
  EXPECT_EQ(f.nodes, 3);
  EXPECT_EQ(f.racks, 2);
  // Two nodes of one multi-node domain are one domain.
  a.tasks = {Task(4, 0xF), Task(5, 0x1)};
  f = FootprintOf(c, a);
  EXPECT_EQ(f.domains, 1);
  EXPECT_EQ(f.nodes, 2);
  a.tasks.push_back(Task(8, 0x1));  // another domain, another rack
  f = FootprintOf(c, a);
  EXPECT_EQ(f.domains, 2);
  EXPECT_EQ(f.racks, 2);
}

// Four 8-GPU nodes with 8, 3, 5 and 3 free GPUs.
class PackingTest : public ::testing::Test {
 protected:
  PackingTest() : cluster_(HomogeneousCluster(4, 8)), state_(cluster_) {
    state_.Allocate(JobId(100), NodeId(1), 0x1F);
    state_.Allocate(JobId(101), NodeId(2), 0x07);
    state_.Allocate(JobId(102), NodeId(3), 0x1F);
  }
  model::Cluster cluster_;
  ClusterState state_;
};

TEST_F(PackingTest, BinpackBestFitLowestIdOnTies) {
  EXPECT_EQ(PlacementNamed("binpack")->name(), "placement/binpack");
  EXPECT_THAT(Place("binpack", state_, 1, 1, 3), ElementsAre(Task(1, 0xE0)));
  EXPECT_THAT(Place("binpack", state_, 2, 1, 4), ElementsAre(Task(2, 0x78)));
  // Free now 8, 0, 1, 3: each task best fit in turn.
  EXPECT_THAT(Place("binpack", state_, 3, 3, 2),
              ElementsAre(Task(3, 0x60), Task(0, 0x3), Task(0, 0xC)));
  EXPECT_THAT(Place("binpack", state_, 4, 1, 1), ElementsAre(Task(2, 0x80)));
}

TEST_F(PackingTest, SpreadEmptiestLowestIdOnTies) {
  EXPECT_EQ(PlacementNamed("placement/spread")->name(), "placement/spread");
  EXPECT_THAT(Place("spread", state_, 1, 3, 2),
              ElementsAre(Task(0, 0x3), Task(0, 0xC), Task(2, 0x18)));
  // Free now 4, 3, 3, 3.
  EXPECT_THAT(Place("spread", state_, 2, 2, 3), ElementsAre(Task(0, 0x70), Task(1, 0xE0)));
  const model::Cluster fresh = HomogeneousCluster(3, 8);
  ClusterState s(fresh);
  EXPECT_THAT(Place("spread", s, 1, 2, 8), ElementsAre(Task(0, 0xFF), Task(1, 0xFF)));
}

TEST_F(PackingTest, TopologyPutsAGangOnOneNode) {
  // Binpack splits 2 x 2 GPUs over the two best-fit nodes; topology keeps them together
  // on the fullest node with room for both.
  ClusterState copy = state_;
  EXPECT_THAT(Place("binpack", copy, 1, 2, 2), ElementsAre(Task(1, 0x60), Task(3, 0x60)));
  EXPECT_THAT(Place("topology", state_, 1, 2, 2), ElementsAre(Task(2, 0x18), Task(2, 0x60)));
}

TEST(TopologyTest, SingleTaskPrefersAWholeNvlinkPair) {
  const model::Cluster c = PairCluster(2);
  ClusterState s(c);
  s.Allocate(JobId(100), NodeId(0), GpuMask({0, 2, 4, 6}));  // 4 free, one per pair
  s.Allocate(JobId(101), NodeId(1), GpuMask({0, 2}));        // 6 free, two whole pairs
  ClusterState copy = s;
  // Binpack takes the fullest node and crosses pairs; topology finds a whole pair.
  EXPECT_THAT(Place("binpack", copy, 1, 1, 2), ElementsAre(Task(0, 0xA)));
  EXPECT_THAT(Place("topology", s, 1, 1, 2), ElementsAre(Task(1, 0x30)));
  EXPECT_THAT(Place("topology", s, 2, 1, 2), ElementsAre(Task(1, 0xC0)));
  // Node 1 is now the fullest (GPUs 1 and 3 free): a single GPU goes there.
  EXPECT_THAT(Place("topology", s, 3, 1, 1), ElementsAre(Task(1, 0x2)));
  // No whole pair left anywhere: falls back to best fit and crosses pairs.
  EXPECT_THAT(Place("topology", s, 4, 1, 2), ElementsAre(Task(0, 0xA)));
}

TEST(TopologyTest, SingleTaskOnAFreshPairNode) {
  const model::Cluster c = PairCluster(1);
  ClusterState s(c);
  s.Allocate(JobId(100), NodeId(0), GpuMask({0}));
  EXPECT_THAT(Place("topology", s, 1, 1, 2), ElementsAre(Task(0, 0xC)));
  EXPECT_THAT(Place("topology", s, 2, 1, 1), ElementsAre(Task(0, 0x2)));
  EXPECT_THAT(Place("topology", s, 3, 1, 4), ElementsAre(Task(0, 0xF0)));
}

TEST(TopologyTest, GangOnOneNodeUsesPairs) {
  const model::Cluster c = PairCluster(2);
  ClusterState s(c);
  s.Allocate(JobId(100), NodeId(0), GpuMask({0}));  // 7 free: best fit for 4 GPUs
  EXPECT_THAT(Place("topology", s, 1, 2, 2), ElementsAre(Task(0, 0xC), Task(0, 0x30)));
}

// 16 GB200 nodes of 4 GPUs; 4-node NVLink domains D0..D3 (nodes 0-3, 4-7, 8-11, 12-15);
// racks R0 (nodes 0-7) and R1 (8-15). Nodes 0, 1 and 4 are full: D0 has room for 2
// whole-node tasks, D1 for 3, D2 and D3 for 4; R0 for 5, R1 for 8.
class MultiNodeTopologyTest : public ::testing::Test {
 protected:
  MultiNodeTopologyTest()
      : cluster_(BuildTestCluster({TestPool("nvl", 16, "GB200", 4, 16, 8)})), state_(cluster_) {
    for (uint32_t n : {0u, 1u, 4u}) state_.Allocate(JobId(100 + n), NodeId(n), 0xF);
  }
  Footprint FootprintOfTasks(const std::vector<TaskPlacement>& tasks) const {
    Allocation a;
    a.tasks = tasks;
    return FootprintOf(cluster_, a);
  }
  model::Cluster cluster_;
  ClusterState state_;
};

TEST_F(MultiNodeTopologyTest, GangGoesToTheBestFitDomain) {
  auto tasks = Place("topology", state_, 1, 3, 4);
  EXPECT_THAT(tasks, ElementsAre(Task(5, 0xF), Task(6, 0xF), Task(7, 0xF)));
  Footprint f = FootprintOfTasks(tasks);
  EXPECT_EQ(f.domains, 1);
  EXPECT_EQ(f.nodes, 3);
  EXPECT_EQ(f.racks, 1);
}

TEST_F(MultiNodeTopologyTest, GangTooBigForADomainGoesToTheBestFitRack) {
  auto tasks = Place("topology", state_, 1, 5, 4);
  EXPECT_THAT(tasks,
              ElementsAre(Task(2, 0xF), Task(3, 0xF), Task(5, 0xF), Task(6, 0xF), Task(7, 0xF)));
  EXPECT_EQ(FootprintOfTasks(tasks).racks, 1);
}

TEST_F(MultiNodeTopologyTest, GangTooBigForARackTakesTheRoomiestRacksFirst) {
  auto tasks = Place("topology", state_, 1, 10, 4);
  ASSERT_EQ(tasks.size(), 10u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(tasks[i], Task(8 + i, 0xF));
  EXPECT_EQ(tasks[8], Task(2, 0xF));
  EXPECT_EQ(tasks[9], Task(3, 0xF));
  EXPECT_EQ(FootprintOfTasks(tasks).racks, 2);
  EXPECT_EQ(state_.FreeGpus(), 4 * 3);  // nodes 5, 6, 7
}

TEST_F(MultiNodeTopologyTest, PartialNodesInsideADomain) {
  // 3 x 2 GPUs does not fit one node; D0 (nodes 2, 3: room for 4) is the best fit.
  // The roomiest node takes what it can, the rest goes to the best fit for the remainder.
  EXPECT_THAT(Place("topology", state_, 1, 3, 2),
              ElementsAre(Task(2, 0x3), Task(2, 0xC), Task(3, 0x3)));
  // A single 2-GPU task now fits node 3 exactly (best fit).
  EXPECT_THAT(Place("topology", state_, 2, 1, 2), ElementsAre(Task(3, 0xC)));
}

TEST(TopologyTest, RacksWithoutMultiNodeDomains) {
  // 8-GPU nodes in racks of 3; rack 0 has two free nodes, rack 1 three.
  const model::Cluster c = HomogeneousCluster(6, 8, 3);
  ClusterState s(c);
  s.Allocate(JobId(100), NodeId(1), 0xFF);
  EXPECT_THAT(Place("topology", s, 1, 2, 8), ElementsAre(Task(0, 0xFF), Task(2, 0xFF)));
  s.Allocate(JobId(101), NodeId(3), 0x1);
  // Rack 1: node 3 has 7 free, nodes 4, 5 are empty. 3 x 4 GPUs: best fit for the
  // remainder after the roomiest node takes two tasks.
  EXPECT_THAT(Place("topology", s, 2, 3, 4),
              ElementsAre(Task(4, 0xF), Task(4, 0xF0), Task(3, 0x1E)));
}

TEST(TopologyTest, DrainedNodesAreNotUsed) {
  const model::Cluster c = BuildTestCluster({TestPool("nvl", 4, "GB200", 4, 16, 4)});
  ClusterState s(c);
  s.SetSchedulable(NodeId(1), false);
  EXPECT_THAT(Place("topology", s, 1, 3, 4), ElementsAre(Task(0, 0xF), Task(2, 0xF), Task(3, 0xF)));
  EXPECT_EQ(s.free_mask(NodeId(1)), 0xFu);
}

TEST(PlacementRegistryTest, NamesAndErrors) {
  EXPECT_THAT(PlacementPolicyNames(),
              ElementsAre("placement/binpack", "placement/spread", "placement/topology"));
  for (const auto& name : PlacementPolicyNames()) {
    auto p = MakePlacementPolicy(name);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)->name(), name);
  }
  auto bad = MakePlacementPolicy("tetris");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'tetris'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("placement/binpack"));
}

// The fleet as agents report it: a PCIe box whose NVLink bridges join GPUs 0-1 and 2-3.
TEST(TopologyTest, AgentReportedPairsKeepATaskInOnePair) {
  model::NodeInventory box;
  box.name = "pcie";
  box.gpu_model = "A100";
  for (int i = 0; i < 4; ++i) box.gpus.push_back({"GPU-" + std::to_string(i), 40960, i / 2 * 2});
  auto c = model::Cluster::FromNodes({box});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ClusterState s(*c);
  // GPU 0 busy: a 2-GPU task takes the whole pair 2-3, not 1 and 2.
  s.Allocate(JobId(100), NodeId(0), GpuMask({0}));
  EXPECT_THAT(Place("topology", s, 1, 1, 2), ElementsAre(Task(0, 0xC)));
  s.Release(JobId(100), NodeId(0), GpuMask({0}));
  s.Release(JobId(1), NodeId(0), 0xC);
  // GPU 1 and GPU 2 busy: no whole pair is left, so the task crosses the pairs.
  s.Allocate(JobId(101), NodeId(0), GpuMask({1}));
  s.Allocate(JobId(102), NodeId(0), GpuMask({2}));
  EXPECT_THAT(Place("topology", s, 2, 1, 2), ElementsAre(Task(0, 0x9)));
  const Footprint f = FootprintOf(*c, Allocation{.type = kT0, .tasks = {Task(0, 0x9)}});
  EXPECT_EQ(f.domains, 2);
}

// Agents of two GPU models without rack labels (the default rack): the books stay
// per type and both kinds of node take work (batond once corrupted its heap here).
TEST(TopologyTest, AgentsOfTwoModelsInTheDefaultRack) {
  model::NodeInventory h100{.name = "h100-0", .gpu_model = "H100"};
  for (int i = 0; i < 2; ++i) h100.gpus.push_back({"GPU-h" + std::to_string(i), 81920, 0});
  model::NodeInventory a100{.name = "a100-0", .gpu_model = "A100"};
  for (int i = 0; i < 8; ++i) a100.gpus.push_back({"GPU-a" + std::to_string(i), 40960, 0});
  auto c = model::Cluster::FromNodes({h100, a100});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ClusterState s(*c);
  const GpuTypeId h(0), a(1);
  EXPECT_EQ(s.FreeGpus(h), 2);
  EXPECT_EQ(s.FreeGpus(a), 8);
  EXPECT_THAT(Place("topology", s, 1, 1, 8, a), ElementsAre(Task(1, 0xFF)));
  EXPECT_THAT(Place("binpack", s, 2, 1, 2, h), ElementsAre(Task(0, 0x3)));
  EXPECT_EQ(s.FreeGpus(), 0);
}

}  // namespace
}  // namespace baton::sched
