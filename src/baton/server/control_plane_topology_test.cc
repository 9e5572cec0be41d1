// The control plane places by the NVLink domains agents report (AgentGpu.nvlink_domain).
#include <gtest/gtest.h>

#include <vector>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using namespace testing_fixture;

// A PCIe box with four GPUs whose NVLink bridges join GPUs 0-1 and 2-3, as NvmlGpuDiscovery
// reports pcie_a100_pairs.txt; `domains` overrides the labels.
v1::Register PairBox(const std::string& name, std::vector<int> domains = {0, 0, 2, 2}) {
  v1::Register reg = MakeRegister(name, static_cast<int>(domains.size()), "A100");
  for (size_t i = 0; i < domains.size(); ++i) {
    reg.mutable_inventory()->mutable_gpus(static_cast<int>(i))->set_nvlink_domain(domains[i]);
  }
  return reg;
}

std::vector<int> Gpus(const v1::StartTask& st) {
  return std::vector<int>(st.gpu_indices().begin(), st.gpu_indices().end());
}

class TopologyControlPlaneTest : public ControlPlaneTest {
 protected:
  void SetUp() override {
    options_.policy = "fifo+topology";
    Open();
  }
};

TEST_F(TopologyControlPlaneTest, TwoGpuJobGetsAWholeNvlinkPair) {
  auto sink = std::make_shared<RecordingSink>();
  // First the agent reports one domain (no NVLink known); then it re-registers with the
  // pairs. The second registration must reach the scheduler: with one domain a 2-GPU job
  // next to a 1-GPU job would get GPUs 1 and 2, across the bridges.
  Connect("pcie", 4, sink, PairBox("pcie", {0, 0, 0, 0}));
  Tick();  // the fleet is built with one domain
  Connect("pcie", 4, sink, PairBox("pcie"));
  sink->Take();

  auto one = SubmitSync(Spec(1, 1));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(Gpus(starts[0]), std::vector<int>({0}));

  // GPUs 1, 2 and 3 are free; 1-2 would cross the pairs, 2-3 is a whole pair.
  auto two = SubmitSync(Spec(1, 2));
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  Tick();
  starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(Gpus(starts[0]), std::vector<int>({2, 3}));

  // ListNodes shows cluster-wide domain ids: one per pair.
  auto nodes = cp_->Nodes(std::nullopt);
  ASSERT_EQ(nodes.size(), 1u);
  ASSERT_EQ(nodes[0].gpus_size(), 4);
  EXPECT_EQ(nodes[0].gpus(0).nvlink_domain(), nodes[0].gpus(1).nvlink_domain());
  EXPECT_EQ(nodes[0].gpus(2).nvlink_domain(), nodes[0].gpus(3).nvlink_domain());
  EXPECT_NE(nodes[0].gpus(1).nvlink_domain(), nodes[0].gpus(2).nvlink_domain());
}

TEST_F(TopologyControlPlaneTest, GangPrefersPairsOnEachNode) {
  auto a = std::make_shared<RecordingSink>();
  Connect("pcie", 4, a, PairBox("pcie"));
  a->Take();
  // Two tasks of 2 GPUs on one node: each task one pair.
  auto job = SubmitSync(Spec(2, 2));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  Tick();
  auto starts = Starts(a->Take());
  ASSERT_EQ(starts.size(), 2u);
  std::vector<std::vector<int>> got = {Gpus(starts[0]), Gpus(starts[1])};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::vector<int>>{{0, 1}, {2, 3}}));
}

TEST_F(TopologyControlPlaneTest, MalformedNvlinkDomainsAreRejected) {
  auto sink = std::make_shared<RecordingSink>();
  for (const auto& domains : std::vector<std::vector<int>>{{0, 0, 3, 3}, {0, -1}, {1, 1}}) {
    auto r = cp_->RegisterAgent(PairBox("bad", domains), sink);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("register.inventory.gpus["), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("].nvlink_domain"), std::string::npos);
  }
  EXPECT_TRUE(cp_->Nodes(std::nullopt).empty());
}

}  // namespace
}  // namespace baton::server
