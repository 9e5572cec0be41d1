#include "baton/model/cluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace baton::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

NodePoolSpec Pool(std::string name, int32_t count, std::string type, int32_t gpus_per_node,
                  int32_t nvlink_domain_gpus = 0, int32_t nodes_per_rack = 0) {
  NodePoolSpec p;
  p.name = std::move(name);
  p.count = count;
  p.gpu_type = std::move(type);
  p.gpus_per_node = gpus_per_node;
  p.nvlink_domain_gpus = nvlink_domain_gpus;
  p.nodes_per_rack = nodes_per_rack;
  return p;
}

ClusterSpec Spec(std::vector<NodePoolSpec> pools) {
  ClusterSpec s;
  s.name = "c";
  s.pools = std::move(pools);
  return s;
}

// The error message of building `spec`, or "" when it builds.
std::string BuildError(const ClusterSpec& spec) {
  auto c = Cluster::Build(spec);
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  return c.status().message();
}

TEST(ClusterTest, IntraNodeNvlinkPairs) {
  auto c = Cluster::Build(Spec({Pool("pcie", 3, "A100", 8, 2, 2)}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->nodes().size(), 3u);
  ASSERT_EQ(c->racks().size(), 2u);
  EXPECT_EQ(c->racks()[0].name, "pcie-rack0");
  EXPECT_EQ(c->racks()[1].name, "pcie-rack1");
  EXPECT_THAT(c->racks()[0].nodes, ElementsAre(NodeId(0), NodeId(1)));
  EXPECT_THAT(c->racks()[1].nodes, ElementsAre(NodeId(2)));
  ASSERT_EQ(c->domains().size(), 12u);  // 4 pairs on each of 3 nodes
  for (const Node& n : c->nodes()) {
    SCOPED_TRACE(n.name);
    EXPECT_EQ(n.name, "pcie-" + std::to_string(n.id.value()));
    EXPECT_EQ(n.pool, "pcie");
    EXPECT_EQ(n.rack, RackId(n.id.value() / 2));
    EXPECT_FALSE(n.multi_node_domain.valid());
    EXPECT_THAT(n.domain_masks, ElementsAre(0x3u, 0xCu, 0x30u, 0xC0u));
    EXPECT_EQ(n.all_gpus_mask(), 0xFFu);
    ASSERT_EQ(n.gpu_count(), 8);
    for (const GpuDevice& g : n.gpus) {
      const DomainId d(n.id.value() * 4 + g.index / 2);
      EXPECT_EQ(g.domain, d);
      EXPECT_EQ(g.type, GpuTypeId(0));
      EXPECT_EQ(g.memory_mib, 80 * 1024);
      EXPECT_EQ(c->domain(d).nodes, std::vector<NodeId>{n.id});
      EXPECT_FALSE(c->domain(d).spans_nodes);
      EXPECT_EQ(c->domain(d).gpus, 2);
    }
  }
  EXPECT_EQ(c->node(NodeId(1)).gpus[3].uuid, "GPU-pcie-1-3");
  EXPECT_EQ(c->total_gpus(), 24);
}

TEST(ClusterTest, MultiNodeNvlinkDomains) {
  // NVL72-style: 4 GPUs a node, 72-GPU domains = 18 nodes, one domain per rack.
  auto c = Cluster::Build(Spec({Pool("nvl", 36, "GB200", 4, 72, 18)}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->racks().size(), 2u);
  ASSERT_EQ(c->domains().size(), 2u);
  for (int d = 0; d < 2; ++d) {
    const Domain& dom = c->domains()[d];
    EXPECT_EQ(dom.id, DomainId(d));
    EXPECT_TRUE(dom.spans_nodes);
    EXPECT_EQ(dom.gpus, 72);
    ASSERT_EQ(dom.nodes.size(), 18u);
    EXPECT_EQ(dom.nodes.front(), NodeId(18 * d));
    EXPECT_EQ(dom.nodes.back(), NodeId(18 * d + 17));
    EXPECT_EQ(c->racks()[d].nodes, dom.nodes);
  }
  for (const Node& n : c->nodes()) {
    EXPECT_EQ(n.multi_node_domain, DomainId(n.id.value() / 18));
    EXPECT_EQ(n.rack, RackId(n.id.value() / 18));
    EXPECT_THAT(n.domain_masks, ElementsAre(0xFu));
    for (const GpuDevice& g : n.gpus) EXPECT_EQ(g.domain, n.multi_node_domain);
  }
}

TEST(ClusterTest, SeveralDomainsPerRack) {
  // 2-node domains in racks of 4 nodes, and a last short rack.
  auto c = Cluster::Build(Spec({Pool("nvl", 6, "GB200", 4, 8, 4)}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->racks().size(), 2u);
  EXPECT_EQ(c->racks()[1].nodes.size(), 2u);
  ASSERT_EQ(c->domains().size(), 3u);
  EXPECT_THAT(c->domains()[1].nodes, ElementsAre(NodeId(2), NodeId(3)));
  EXPECT_EQ(c->domains()[2].gpus, 8);
  EXPECT_EQ(c->node(NodeId(5)).multi_node_domain, DomainId(2));
}

TEST(ClusterTest, OneDomainPerNodeByDefault) {
  auto c = Cluster::Homogeneous(5, 8, "H100", 0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->racks().size(), 1u);  // nodes_per_rack 0 = one rack
  EXPECT_EQ(c->racks()[0].nodes.size(), 5u);
  ASSERT_EQ(c->domains().size(), 5u);
  for (const Node& n : c->nodes()) {
    EXPECT_THAT(n.domain_masks, ElementsAre(0xFFu));
    EXPECT_EQ(c->domain(n.gpus[7].domain).nodes, std::vector<NodeId>{n.id});
    EXPECT_FALSE(c->domain(n.gpus[0].domain).spans_nodes);
    EXPECT_EQ(c->domain(n.gpus[0].domain).gpus, 8);
  }
  EXPECT_EQ(c->total_gpus(), 40);
  EXPECT_EQ(c->max_gpus_per_node(), 8);
}

TEST(ClusterTest, SixtyFourGpuNode) {
  auto c = Cluster::Homogeneous(1, 64, "X", 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->nodes()[0].all_gpus_mask(), ~uint64_t{0});
  EXPECT_EQ(c->nodes()[0].domain_masks[0], ~uint64_t{0});
}

TEST(ClusterTest, HeterogeneousTypes) {
  NodePoolSpec a = Pool("a", 2, "H100", 8);
  NodePoolSpec b = Pool("b", 3, "A100", 4);
  NodePoolSpec c2 = Pool("c", 1, "h100", 4);  // same type, other spelling
  c2.gpu_memory_mib = 1000;
  auto c = Cluster::Build(Spec({a, b, c2}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->num_gpu_types(), 2);
  EXPECT_EQ(c->gpu_type(GpuTypeId(0)).name, "H100");
  EXPECT_EQ(c->gpu_type(GpuTypeId(1)).name, "A100");
  EXPECT_EQ(c->FindGpuType("h100"), GpuTypeId(0));
  EXPECT_EQ(c->FindGpuType("a100"), GpuTypeId(1));
  EXPECT_EQ(c->FindGpuType("A100X"), GpuTypeId::Invalid());
  EXPECT_FALSE(c->FindGpuType("B200").valid());
  EXPECT_EQ(c->GpuTypeNames(), "A100, H100");
  EXPECT_EQ(c->all_types_mask(), 0x3u);
  EXPECT_EQ(c->gpus_of_type(GpuTypeId(0)), 20);
  EXPECT_EQ(c->gpus_of_type(GpuTypeId(1)), 12);
  EXPECT_EQ(c->total_gpus(), 32);
  EXPECT_EQ(c->max_gpus_per_node(GpuTypeId(0)), 8);
  EXPECT_EQ(c->max_gpus_per_node(GpuTypeId(1)), 4);
  // Node 5 is pool c: type H100, its own memory; racks never mix pools.
  const Node& n5 = c->node(NodeId(5));
  EXPECT_EQ(n5.gpu_type, GpuTypeId(0));
  EXPECT_EQ(n5.gpus[0].memory_mib, 1000);
  EXPECT_EQ(c->node(NodeId(0)).gpus[0].memory_mib, 80 * 1024);
  ASSERT_EQ(c->racks().size(), 3u);
  EXPECT_EQ(c->racks()[2].gpu_type, GpuTypeId(0));
  EXPECT_EQ(c->racks()[1].gpu_type, GpuTypeId(1));
  EXPECT_THAT(c->racks()[2].nodes, ElementsAre(NodeId(5)));
}

TEST(ClusterTest, DefaultGpuMemory) {
  EXPECT_EQ(DefaultGpuMemoryMib("H100"), 80 * 1024);
  EXPECT_EQ(DefaultGpuMemoryMib("h100"), 80 * 1024);
  EXPECT_EQ(DefaultGpuMemoryMib("A100-40GB"), 40 * 1024);
  EXPECT_EQ(DefaultGpuMemoryMib("H200"), 141 * 1024);
  EXPECT_EQ(DefaultGpuMemoryMib("T4"), 16 * 1024);
  EXPECT_EQ(DefaultGpuMemoryMib("H10"), 0);
  EXPECT_EQ(DefaultGpuMemoryMib(""), 0);
  auto c = Cluster::Homogeneous(1, 1, "NoSuchGpu", 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->gpu_type(GpuTypeId(0)).memory_mib, 0);
  EXPECT_EQ(c->nodes()[0].gpus[0].memory_mib, 0);
}

TEST(ClusterTest, ValidationNamesTheField) {
  EXPECT_THAT(BuildError(Spec({})), HasSubstr("pools"));
  EXPECT_THAT(BuildError(Spec({Pool("", 1, "H100", 8)})), HasSubstr("pools[0].name"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 0, "H100", 8)})),
              HasSubstr("pools[0].count: must be between 1 and 1000000, got 0"));
  EXPECT_THAT(BuildError(Spec({Pool("a", -3, "H100", 8)})), HasSubstr("pools[0].count"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 1, "", 8)})), HasSubstr("pools[0].gpu_type"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 1, "H100", 0)})),
              HasSubstr("pools[0].gpus_per_node: must be between 1 and 64, got 0"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 1, "H100", 65)})), HasSubstr("pools[0].gpus_per_node"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 4, "H100", 8, 0, -1)})),
              HasSubstr("pools[0].nodes_per_rack"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 4, "H100", 8, -2)})),
              HasSubstr("pools[0].nvlink_domain_gpus"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 4, "H100", 8, 3)})),
              HasSubstr("pools[0].nvlink_domain_gpus: 3 does not divide gpus_per_node 8"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 4, "GB200", 4, 10)})),
              HasSubstr("pools[0].nvlink_domain_gpus: 10 spans nodes"));
  // An 18-node domain must divide the rack and the pool.
  EXPECT_THAT(BuildError(Spec({Pool("a", 36, "GB200", 4, 72, 10)})),
              HasSubstr("pools[0].nvlink_domain_gpus"));
  EXPECT_THAT(BuildError(Spec({Pool("a", 20, "GB200", 4, 72, 18)})), HasSubstr("count (20)"));
  NodePoolSpec neg = Pool("a", 1, "H100", 8);
  neg.gpu_memory_mib = -1;
  EXPECT_THAT(BuildError(Spec({neg})), HasSubstr("pools[0].gpu_memory"));
  // The failing pool is named by index, later pools too.
  EXPECT_THAT(BuildError(Spec({Pool("a", 1, "H100", 8), Pool("b", 1, "H100", 8, 5)})),
              HasSubstr("pools[1].nvlink_domain_gpus"));
}

TEST(ClusterTest, DuplicatePoolNames) {
  EXPECT_THAT(
      BuildError(Spec({Pool("a", 1, "H100", 8), Pool("b", 1, "H100", 8), Pool("a", 1, "A100", 8)})),
      HasSubstr("pools[2].name: 'a' is already used by pools[0]"));
}

TEST(ClusterTest, ErrorsCarryTheSourceLine) {
  NodePoolSpec p = Pool("a", 0, "H100", 8);
  p.line = 7;
  EXPECT_THAT(BuildError(Spec({p})), HasSubstr("line 7: pools[0].count"));
}

TEST(ClusterTest, AtMostSixtyFourGpuTypes) {
  std::vector<NodePoolSpec> pools;
  for (int i = 0; i < kMaxGpuTypes; ++i) {
    pools.push_back(Pool("p" + std::to_string(i), 1, "T" + std::to_string(i), 1));
  }
  auto ok = Cluster::Build(Spec(pools));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->num_gpu_types(), 64);
  EXPECT_EQ(ok->all_types_mask(), kAllGpuTypes);
  pools.push_back(Pool("p64", 1, "T64", 1));
  EXPECT_THAT(BuildError(Spec(pools)), HasSubstr("pools[64].gpu_type: more than 64 GPU types"));
  // A 65th pool of a type already seen is fine.
  pools.back().gpu_type = "t3";
  EXPECT_EQ(BuildError(Spec(pools)), "");
}

TEST(ClusterTest, KeepsNameAndQueues) {
  ClusterSpec s = Spec({Pool("a", 1, "H100", 8)});
  QueueSpec q;
  q.name = "research";
  s.queues.push_back(q);
  auto c = Cluster::Build(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name(), "c");
  ASSERT_EQ(c->queues().size(), 1u);
  EXPECT_EQ(c->queues()[0].name, "research");
}

NodeInventory AgentNode(std::string name, std::vector<int> domains, std::string rack = "") {
  NodeInventory n;
  n.name = std::move(name);
  n.rack = std::move(rack);
  n.gpu_model = "A100";
  for (size_t i = 0; i < domains.size(); ++i) {
    n.gpus.push_back({"GPU-" + n.name + "-" + std::to_string(i), 40960, domains[i]});
  }
  return n;
}

TEST(FromNodesTest, ReportedNvlinkDomainsBecomeTheNodesDomains) {
  // A PCIe box with two NVLink pairs, a DGX-like node that is one domain, and a box
  // without NVLink (every GPU its own domain).
  auto c = Cluster::FromNodes({AgentNode("pairs", {0, 0, 2, 2}), AgentNode("dgx", {0, 0, 0, 0}),
                               AgentNode("pcie", {0, 1, 2})});
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Node& pairs = c->node(NodeId(0));
  EXPECT_THAT(pairs.domain_masks, ElementsAre(0x3u, 0xCu));
  EXPECT_EQ(pairs.gpus[0].domain, pairs.gpus[1].domain);
  EXPECT_EQ(pairs.gpus[2].domain, pairs.gpus[3].domain);
  EXPECT_NE(pairs.gpus[1].domain, pairs.gpus[2].domain);
  EXPECT_THAT(c->node(NodeId(1)).domain_masks, ElementsAre(0xFu));
  EXPECT_THAT(c->node(NodeId(2)).domain_masks, ElementsAre(0x1u, 0x2u, 0x4u));
  ASSERT_EQ(c->domains().size(), 2u + 1u + 3u);
  for (size_t d = 0; d < c->domains().size(); ++d) {
    const Domain& dom = c->domains()[d];
    EXPECT_EQ(dom.id.value(), d);
    EXPECT_FALSE(dom.spans_nodes);
    ASSERT_EQ(dom.nodes.size(), 1u);
  }
  EXPECT_EQ(c->domains()[0].gpus, 2);
  EXPECT_EQ(c->domains()[2].gpus, 4);
  EXPECT_EQ(c->domains()[2].nodes[0], NodeId(1));
  EXPECT_EQ(c->node(NodeId(2)).gpus[2].domain, DomainId(5));
}

// Nodes of two GPU models under one rack label (or none, the default rack) make one rack
// per model: a rack of the scheduler holds one type. (A mixed rack overflowed the
// scheduler's per-rack counts: a heap corruption in batond when an H100 node joined a
// fleet of A100 nodes without rack labels.)
TEST(FromNodesTest, ARackLabelWithSeveralGpuModelsIsOneRackPerModel) {
  NodeInventory a = AgentNode("a100-0", {0, 0, 0, 0});
  NodeInventory h = AgentNode("h100-0", {0, 0});
  h.gpu_model = "H100";
  NodeInventory a2 = AgentNode("a100-1", {0, 0, 0, 0});
  auto c = Cluster::FromNodes({h, a, a2});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->racks().size(), 2u);
  for (const Rack& r : c->racks()) {
    EXPECT_EQ(r.name, "default");
    for (NodeId n : r.nodes) EXPECT_EQ(c->node(n).gpu_type, r.gpu_type) << c->node(n).name;
  }
  EXPECT_EQ(c->racks()[0].nodes.size(), 1u);  // h100-0
  EXPECT_EQ(c->racks()[1].nodes.size(), 2u);  // a100-0, a100-1
  EXPECT_EQ(c->node(NodeId(1)).rack, c->node(NodeId(2)).rack);
}

TEST(FromNodesTest, NonContiguousDomains) {
  // GPUs 0 and 2 bridged, 1 and 3 bridged.
  auto c = Cluster::FromNodes({AgentNode("x", {0, 1, 0, 1})});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_THAT(c->node(NodeId(0)).domain_masks, ElementsAre(0x5u, 0xAu));
}

TEST(FromNodesTest, MalformedDomainsAreRejectedNamingTheNodeAndGpu) {
  struct Case {
    std::vector<int> domains;
    const char* message;
  };
  for (const Case& k : {Case{{0, -1}, "node bad: gpus[1].nvlink_domain: -1 is not a GPU index"},
                        Case{{0, 2, 2}, "gpus[1].nvlink_domain: 2 is not a GPU index between 0 "
                                        "and 1"},
                        Case{{1, 1}, "gpus[0].nvlink_domain: 1"},
                        Case{{0, 0, 1}, "gpus[2].nvlink_domain: 1 names GPU 1, which is in "
                                        "domain 0"}}) {
    auto c = Cluster::FromNodes({AgentNode("bad", k.domains)});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr(k.message));
  }
  EXPECT_TRUE(CheckNvLinkDomains({}).ok());
  EXPECT_TRUE(CheckNvLinkDomains({0, 1, 1, 3, 0}).ok());
}

// A job's `gpu_type: H100` must find agents whose NVML model is "NVIDIA H100 80GB HBM3".
TEST(FromNodesTest, ShortGpuTypeNamesMatchNvmlModelNamesByWholeWords) {
  NodeInventory h = AgentNode("h", {0, 0});
  h.gpu_model = "NVIDIA H100 80GB HBM3";
  NodeInventory a = AgentNode("a", {0, 0});
  a.gpu_model = "NVIDIA A100-SXM4-80GB";
  NodeInventory h2 = AgentNode("h2", {0, 0});
  h2.gpu_model = "NVIDIA H100 PCIe";
  auto c = Cluster::FromNodes({h, a, h2});
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto names = [&](std::string_view want) {
    std::vector<std::string> out;
    for (GpuTypeId t : c->MatchGpuTypes(want)) out.push_back(c->gpu_type(t).name);
    return out;
  };
  EXPECT_EQ(names("H100"), (std::vector<std::string>{"NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"}));
  EXPECT_EQ(names("h100 pcie"), (std::vector<std::string>{"NVIDIA H100 PCIe"}));
  EXPECT_EQ(names("A100"), (std::vector<std::string>{"NVIDIA A100-SXM4-80GB"}));
  EXPECT_EQ(names("a100-sxm4"), (std::vector<std::string>{"NVIDIA A100-SXM4-80GB"}));
  // An exact name wins; parts of words do not match.
  EXPECT_EQ(names("NVIDIA H100 PCIe"), (std::vector<std::string>{"NVIDIA H100 PCIe"}));
  EXPECT_TRUE(names("H10").empty());
  EXPECT_TRUE(names("80").empty());
  EXPECT_TRUE(names("").empty());
}

}  // namespace
}  // namespace baton::model
