// Size limits of the spec files (common/limits.h): file size, YAML nesting, jobs per file,
// node pools, nodes and queues of a cluster, name lengths. Each error names the place and
// the limit.
#include <gtest/gtest.h>

#include <string>

#include "baton/common/limits.h"
#include "baton/spec/cluster_yaml.h"
#include "baton/spec/job_yaml.h"

namespace baton::spec {
namespace {

std::string MessageOf(const Status& s) { return s.message(); }

TEST(SpecLimitsTest, FileSizeIsBounded) {
  std::string text = "name: a\n# " + std::string(limits::kMaxSpecFileBytes, 'x') + "\n";
  auto jobs = ParseJobYaml(text, "big.yaml");
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(MessageOf(jobs.status()).rfind("big.yaml: ", 0), 0u);
  EXPECT_NE(MessageOf(jobs.status()).find("at most 4194304"), std::string::npos);
}

TEST(SpecLimitsTest, NestingIsBounded) {
  // 100 nested lists inside a job's command: refused before a tree of it is built.
  std::string text = "name: a\ncommand: " + std::string(100, '[') + std::string(100, ']') + "\n";
  auto jobs = ParseJobYaml(text, "deep.yaml");
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(MessageOf(jobs.status()), "deep.yaml:2: collections nested more than 64 deep");
  // Far deeper input is refused the same way, without exhausting the stack.
  std::string deeper = std::string(100000, '[') + std::string(100000, ']');
  auto cluster = ParseClusterYaml(deeper, "deeper.yaml");
  ASSERT_FALSE(cluster.ok());
  EXPECT_NE(MessageOf(cluster.status()).find("nested more than 64 deep"), std::string::npos)
      << MessageOf(cluster.status());
}

TEST(SpecLimitsTest, JobsPerFileAreBounded) {
  std::string text = "jobs:\n";
  for (size_t i = 0; i <= limits::kMaxJobsPerFile; ++i) text += "  - {gpus: 1}\n";
  auto jobs = ParseJobYaml(text, "many.yaml");
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(MessageOf(jobs.status()), "many.yaml:1: jobs: 10001 jobs; at most 10000 per file");
}

TEST(SpecLimitsTest, ClusterSizesAreBounded) {
  std::string pools = "pools:\n";
  for (size_t i = 0; i <= limits::kMaxPools; ++i) {
    pools += "  - {name: p" + std::to_string(i) + ", count: 1, gpu_type: H100, gpus_per_node: 8}\n";
  }
  auto many = ParseClusterYaml(pools, "pools.yaml");
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(MessageOf(many.status()), "pools.yaml:1: pools: 1025 node pools; at most 1024");

  std::string nodes = "pools:\n";
  for (int i = 0; i < 11; ++i) {
    nodes += "  - {name: p" + std::to_string(i) +
             ", count: 100000, gpu_type: H100, gpus_per_node: 8}\n";
  }
  auto huge = ParseClusterYaml(nodes, "nodes.yaml");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(MessageOf(huge.status()),
            "nodes.yaml:12: pools[10].count: the pools hold more than 1000000 nodes in all");

  std::string queues = "pools:\n  - {name: a, count: 1, gpu_type: H100, gpus_per_node: 8}\nqueues:\n";
  for (size_t i = 0; i <= limits::kMaxQueues; ++i) queues += "  - {name: q" + std::to_string(i) + "}\n";
  auto q = ParseClusterYaml(queues, "queues.yaml");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(MessageOf(q.status()), "queues.yaml:3: queues: 4097 queues; at most 4096");

  auto long_pool = ParseClusterYaml(
      "pools:\n  - {name: " + std::string(64, 'p') + ", count: 1, gpu_type: H100, gpus_per_node: 8}\n",
      "name.yaml");
  ASSERT_FALSE(long_pool.ok());
  EXPECT_NE(MessageOf(long_pool.status()).find("pools[0].name: must be 1 to 63"),
            std::string::npos);
}

}  // namespace
}  // namespace baton::spec
