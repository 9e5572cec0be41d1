// MIG profile names, and how Cluster::FromNodes turns MIG instances into devices.
#include "baton/model/mig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/model/cluster.h"

namespace baton::model {
namespace {

using ::testing::HasSubstr;

TEST(MigProfileTest, AcceptsWhatNvmlReports) {
  for (const char* p : {"1g.10gb", "2g.20gb", "3g.40gb", "7g.80gb", "1g.5gb", "1g.10gb+me",
                        "1g.20gb", "1c.3g.40gb", "2c.3g.40gb", "4g.40gb", "1G.10GB",
                        "1g.12gb+me+gfx"}) {
    EXPECT_TRUE(IsMigProfile(p)) << p;
  }
  for (const char* p : {"", "1g", "1g.10", "g.10gb", "0g.10gb", "8g.80gb", "01g.10gb",
                        "1g.10gb+", "1g.10gb ", "1g10gb", "10gb", "3c.2g.20gb", "1g.0gb",
                        "1.5g.10gb", "1g.10gb/me", "A100"}) {
    EXPECT_FALSE(IsMigProfile(p)) << p;
  }
}

TEST(MigProfileTest, SlicesAndQuotaCharge) {
  EXPECT_EQ(MigComputeSlices("3g.40gb"), 3);
  EXPECT_EQ(MigComputeSlices("1c.3g.40gb"), 1);
  EXPECT_EQ(MigComputeSlices("bogus"), 0);
  EXPECT_EQ(MigProfileMilli("1g.10gb"), 143);
  EXPECT_EQ(MigProfileMilli("3g.40gb"), 429);
  EXPECT_EQ(MigProfileMilli("7g.80gb"), 1000);
  EXPECT_EQ(MigTypeName("NVIDIA A100-SXM4-80GB", "1g.10gb"), "NVIDIA A100-SXM4-80GB/1g.10gb");
  EXPECT_TRUE(SameMigProfile("1G.10gb", "1g.10GB"));
  EXPECT_FALSE(SameMigProfile("1g.10gb", "1g.10gb+me"));
}

NodeInventory MigNode(std::string name, std::vector<NodeInventory::MigInstance> mig,
                      int whole = 1) {
  NodeInventory n;
  n.name = std::move(name);
  n.gpu_model = "A100";
  NodeInventory::Gpu g;
  g.uuid = n.name + "-gpu0";
  g.mig_enabled = true;
  g.mig = std::move(mig);
  n.gpus.push_back(g);
  for (int i = 0; i < whole; ++i) {
    n.gpus.push_back({n.name + "-gpu" + std::to_string(i + 1), 81920, i + 1, false, {}});
  }
  return n;
}

TEST(FromNodesMigTest, TypesAreSharedAcrossNodesAndOrderedByFirstSight) {
  auto c = Cluster::FromNodes({MigNode("a", {{"MIG-a1", "1g.10gb", 9728}}),
                               MigNode("b", {{"MIG-b1", "2g.20gb", 0}, {"MIG-b2", "1g.10gb", 0}})});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->num_gpu_types(), 3);
  EXPECT_EQ(c->gpu_type(GpuTypeId(0)).name, "A100");
  EXPECT_EQ(c->gpu_type(GpuTypeId(1)).name, "A100/1g.10gb");
  EXPECT_EQ(c->gpu_type(GpuTypeId(1)).memory_mib, 9728);
  EXPECT_EQ(c->gpu_type(GpuTypeId(2)).name, "A100/2g.20gb");
  EXPECT_EQ(c->whole_types_mask(), 1u);
  EXPECT_EQ(c->mig_types_mask(), 6u);
  EXPECT_EQ(c->gpus_of_type(GpuTypeId(1)), 2);
  EXPECT_EQ(c->max_gpus_per_node(GpuTypeId(1)), 1);
  const Node& b = c->node(NodeId(1));
  ASSERT_EQ(b.kinds.size(), 3u);  // ascending type: A100, 1g, 2g
  EXPECT_EQ(b.kinds[1].type, GpuTypeId(1));
  EXPECT_EQ(b.kinds[1].mask, 1u << 3);  // MIG-b2 is device 3
  EXPECT_EQ(b.gpus[2].uuid, "MIG-b1");
  EXPECT_EQ(b.gpus[2].domain, b.gpus[0].domain);
  EXPECT_EQ(c->total_gpus(), 4);
}

TEST(FromNodesMigTest, MigGpuWithoutInstancesOffersNothing) {
  auto c = Cluster::FromNodes({MigNode("a", {}, /*whole=*/0)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->node(NodeId(0)).kinds.empty());
  EXPECT_EQ(c->gpus_of_type(GpuTypeId(0)), 0);
  EXPECT_EQ(c->total_gpus(), 1);
}

TEST(FromNodesMigTest, BadInstancesAreRejectedNamingTheNode) {
  auto bad = Cluster::FromNodes({MigNode("x", {{"MIG-1", "1g10gb", 0}})});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("node x: gpus[0].mig[0].profile: '1g10gb'"));
  auto empty = Cluster::FromNodes({MigNode("y", {{"", "1g.10gb", 0}})});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("gpus[0].mig[0].uuid"));
  std::vector<NodeInventory::MigInstance> many(64, {"MIG", "1g.10gb", 0});
  auto too_many = Cluster::FromNodes({MigNode("z", many)});
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(too_many.status().message(), HasSubstr("1 to 64 devices"));
}

}  // namespace
}  // namespace baton::model
