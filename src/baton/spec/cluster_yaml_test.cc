// Tests for cluster spec parsing: the example files, defaults, and bad input. Bad-input
// tests compare whole messages so they pin the source name, line, field path and wording.
#include "baton/spec/cluster_yaml.h"

#include <gtest/gtest.h>

#include <string>

#include "baton/model/cluster.h"

namespace baton::spec {
namespace {

using model::ClusterSpec;

// The error message of a parse that must fail, or "OK" so a wrong success shows plainly.
std::string ParseError(const std::string& yaml) {
  Result<ClusterSpec> r = ParseClusterYaml(yaml, "c.yaml");
  if (r.ok()) return "OK";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

// A valid one-pool cluster with `extra` appended (for queue tests).
std::string WithPool(const std::string& extra) {
  return "pools:\n"
         "  - {name: p, count: 4, gpu_type: H100, gpus_per_node: 8}\n" +
         extra;
}

TEST(ClusterExamplesTest, Philly) {
  Result<ClusterSpec> r = LoadClusterYaml(BATON_SOURCE_DIR "/examples/clusters/philly.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "philly");
  ASSERT_EQ(r->pools.size(), 1u);
  const model::NodePoolSpec& p = r->pools[0];
  EXPECT_EQ(p.name, "v100");
  EXPECT_EQ(p.count, 56);
  EXPECT_EQ(p.gpu_type, "V100");
  EXPECT_EQ(p.gpus_per_node, 8);
  EXPECT_EQ(p.nvlink_domain_gpus, 8);
  EXPECT_EQ(p.nodes_per_rack, 8);
  EXPECT_EQ(p.gpu_memory_mib, 16 * 1024);
  EXPECT_EQ(p.line, 6);
  EXPECT_TRUE(r->queues.empty());
}

TEST(ClusterExamplesTest, Small) {
  Result<ClusterSpec> r = LoadClusterYaml(BATON_SOURCE_DIR "/examples/clusters/small.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "small");
  ASSERT_EQ(r->pools.size(), 2u);
  const model::NodePoolSpec& h = r->pools[0];
  EXPECT_EQ(h.name, "h100");
  EXPECT_EQ(h.count, 4);
  EXPECT_EQ(h.gpus_per_node, 8);
  EXPECT_EQ(h.nvlink_domain_gpus, 8);  // defaulted to gpus_per_node
  EXPECT_EQ(h.nodes_per_rack, 2);
  EXPECT_EQ(h.gpu_memory_mib, 80 * 1024);
  EXPECT_EQ(h.cpus_per_node, 112);
  EXPECT_EQ(h.memory_mib_per_node, 2048 * 1024);
  const model::NodePoolSpec& a = r->pools[1];
  EXPECT_EQ(a.name, "a100");
  EXPECT_EQ(a.gpu_type, "A100");
  EXPECT_EQ(a.gpus_per_node, 4);
  EXPECT_EQ(a.nvlink_domain_gpus, 2);
  EXPECT_EQ(a.nodes_per_rack, 4);  // defaulted to count: one rack
  EXPECT_GT(a.line, h.line);

  ASSERT_EQ(r->queues.size(), 4u);
  EXPECT_EQ(r->queues[0].name, "research");
  EXPECT_EQ(r->queues[0].parent, "");
  EXPECT_EQ(r->queues[0].quota_gpus, Quantity::Whole(32));
  EXPECT_EQ(r->queues[0].limit_gpus, Quantity::Whole(48));
  EXPECT_EQ(r->queues[1].name, "team-a");
  EXPECT_EQ(r->queues[1].parent, "research");
  EXPECT_EQ(r->queues[1].weight, 2);
  EXPECT_EQ(r->queues[2].name, "team-b");
  EXPECT_EQ(r->queues[2].quota_gpus, Quantity::Whole(8));
  EXPECT_EQ(r->queues[3].name, "default");
  EXPECT_EQ(r->queues[3].quota_gpus, Quantity());
  EXPECT_FALSE(r->queues[3].limit_gpus.has_value());
  EXPECT_EQ(r->queues[3].priority, -10);
  EXPECT_EQ(r->queues[3].weight, 1);
  EXPECT_GT(r->queues[0].line, a.line);
}

TEST(ClusterExamplesTest, Nvl72) {
  Result<ClusterSpec> r = LoadClusterYaml(BATON_SOURCE_DIR "/examples/clusters/nvl72.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->pools.size(), 1u);
  const model::NodePoolSpec& p = r->pools[0];
  EXPECT_EQ(p.gpu_type, "GB200");
  EXPECT_EQ(p.count, 36);
  EXPECT_EQ(p.gpus_per_node, 4);
  EXPECT_EQ(p.nodes_per_rack, 18);
  EXPECT_EQ(p.nvlink_domain_gpus, 72);
}

TEST(ClusterLoadTest, MissingFileIsNotFound) {
  Result<ClusterSpec> r = LoadClusterYaml("/nonexistent/cluster.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "/nonexistent/cluster.yaml: no such file");
}

TEST(ClusterParseTest, MinimalPoolGetsDefaults) {
  Result<ClusterSpec> r = ParseClusterYaml(
      "pools:\n"
      "- name: dgx-1\n"
      "  count: 3\n"
      "  gpu_type: A100-80GB\n"
      "  gpus_per_node: 8\n",
      "c.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "");
  const model::NodePoolSpec& p = r->pools.at(0);
  EXPECT_EQ(p.name, "dgx-1");
  EXPECT_EQ(p.gpu_type, "A100-80GB");
  EXPECT_EQ(p.nvlink_domain_gpus, 8);
  EXPECT_EQ(p.nodes_per_rack, 3);
  EXPECT_EQ(p.gpu_memory_mib, 0);
  EXPECT_EQ(p.cpus_per_node, 0);
  EXPECT_EQ(p.line, 2);
}

TEST(ClusterParseTest, NullValuesMeanNotGiven) {
  Result<ClusterSpec> r = ParseClusterYaml(WithPool("queues:\n"), "c.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->queues.empty());
}

TEST(ClusterParseTest, NvlinkDomainShapes) {
  auto pool = [](int gpus, int per_rack, int domain) {
    return "pools:\n  - {name: p, count: 8, gpu_type: X, gpus_per_node: " + std::to_string(gpus) +
           ", nodes_per_rack: " + std::to_string(per_rack) +
           ", nvlink_domain_gpus: " + std::to_string(domain) + "}\n";
  };
  EXPECT_EQ(ParseError(pool(8, 2, 2)), "OK");   // pairs inside a node
  EXPECT_EQ(ParseError(pool(8, 2, 16)), "OK");  // two whole nodes
  EXPECT_EQ(ParseError(pool(4, 8, 32)), "OK");  // a whole rack
  EXPECT_EQ(ParseError(pool(8, 2, 3)),
            "c.yaml:2: pools[0].nvlink_domain_gpus: must divide gpus_per_node (8), or be a "
            "multiple of it that divides the GPUs of a rack (2 nodes x 8 = 16), got 3");
  EXPECT_EQ(ParseError(pool(8, 2, 12)).substr(0, 45),
            "c.yaml:2: pools[0].nvlink_domain_gpus: must d");
  EXPECT_NE(ParseError(pool(8, 2, 32)), "OK");  // bigger than a rack
  EXPECT_NE(ParseError(pool(4, 6, 16)), "OK");  // 4 nodes do not divide a 6-node rack
}

// Found by fuzz_cluster_spec: a domain spanning nodes that divides a rack but not the last,
// short rack (37 nodes in racks of 18) passed the parser and failed model::Cluster::Build.
TEST(ClusterParseTest, NvlinkDomainMustNotBeCutByAShortLastRack) {
  const std::string yaml =
      "pools:\n"
      "  - {name: gb200, count: 37, gpu_type: GB200, gpus_per_node: 4, nodes_per_rack: 18,\n"
      "     nvlink_domain_gpus: 72}\n";
  EXPECT_EQ(ParseError(yaml),
            "c.yaml:3: pools[0].nvlink_domain_gpus: a domain of 72 GPUs spans 18 nodes, which "
            "must also divide count (37): a short last rack would split a domain");
  // Whole racks, or a short last rack of whole domains, are fine and build.
  for (const char* shape : {"count: 36, gpu_type: GB200, gpus_per_node: 4, nodes_per_rack: 18,"
                            " nvlink_domain_gpus: 72",
                            "count: 10, gpu_type: X, gpus_per_node: 4, nodes_per_rack: 4,"
                            " nvlink_domain_gpus: 8"}) {
    Result<ClusterSpec> r =
        ParseClusterYaml(std::string("pools:\n  - {name: p, ") + shape + "}\n", "c.yaml");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(model::Cluster::Build(*r).ok()) << shape;
  }
}

TEST(ClusterParseTest, FractionalQuota) {
  Result<ClusterSpec> r = ParseClusterYaml(
      WithPool("queues:\n  - {name: tiny, quota_gpus: 0.5, limit_gpus: 1.25}\n"), "c.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->queues.at(0).quota_gpus, Quantity::FromMilli(500));
  EXPECT_EQ(r->queues.at(0).limit_gpus, Quantity::FromMilli(1250));
  EXPECT_EQ(r->queues.at(0).line, 4);
}

TEST(ClusterErrorTest, PoolRangesNameFieldAndLine) {
  EXPECT_EQ(ParseError("name: x\n"
                       "pools:\n"
                       "  - name: a\n"
                       "    count: 1\n"
                       "    gpu_type: H100\n"
                       "    gpus_per_node: 8\n"
                       "  - name: b\n"
                       "    count: 1\n"
                       "    gpu_type: H100\n"
                       "    gpus_per_node: 0\n"),
            "c.yaml:10: pools[1].gpus_per_node: must be between 1 and 64, got 0");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: -2, gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].count: must be between 1 and 100000, got -2");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: 2, gpu_type: X, gpus_per_node: 65}\n"),
            "c.yaml:2: pools[0].gpus_per_node: must be between 1 and 64, got 65");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: 2, gpu_type: X, gpus_per_node: 8,\n"
                       "     nodes_per_rack: 3}\n"),
            "c.yaml:3: pools[0].nodes_per_rack: must be at most count (2), got 3");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: 2, gpu_type: X, gpus_per_node: 8,\n"
                       "     gpu_memory_gib: 0}\n"),
            "c.yaml:3: pools[0].gpu_memory_gib: must be between 1 and 4096, got 0");
}

TEST(ClusterErrorTest, WrongTypes) {
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: many, gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].count: expected an integer, got 'many'");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: \"4\", gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].count: expected an integer, got the string \"4\"");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: 2.5, gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].count: expected an integer, got '2.5'");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: [1], gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].count: expected an integer, got a list");
  EXPECT_EQ(ParseError("pools:\n  name: a\n  count: 1\n"),
            "c.yaml:1: pools: expected a list, got a mapping");
  EXPECT_EQ(ParseError("pools:\n  - [a, b]\n"),
            "c.yaml:2: pools[0]: expected a mapping, got a list");
  EXPECT_EQ(ParseError("pools:\n  - {name: {x: 1}, count: 1, gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].name: expected a string, got a mapping");
  EXPECT_EQ(ParseError("name: [a]\npools: []\n"), "c.yaml:1: name: expected a string, got a list");
}

TEST(ClusterErrorTest, UnknownFieldsSuggestTheClosest) {
  EXPECT_EQ(ParseError("pools:\n"
                       "  - name: a\n"
                       "    count: 1\n"
                       "    gpu_type: X\n"
                       "    gpu_per_node: 8\n"),
            "c.yaml:5: pools[0].gpu_per_node: unknown field; did you mean gpus_per_node?");
  EXPECT_EQ(ParseError("pool:\n  - {name: a}\n"),
            "c.yaml:1: pool: unknown field; did you mean pools?");
  EXPECT_EQ(ParseError(WithPool("colour: red\n")),
            "c.yaml:3: colour: unknown field; expected one of: name, pools, queues");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: q, quota: 4}\n")),
            "c.yaml:4: queues[0].quota: unknown field; did you mean quota_gpus?");
}

TEST(ClusterErrorTest, RequiredFields) {
  EXPECT_EQ(ParseError("name: x\n"), "c.yaml:1: pools: is required; list at least one node pool");
  EXPECT_EQ(ParseError("name: x\npools: []\n"),
            "c.yaml:2: pools: must list at least one node pool");
  EXPECT_EQ(ParseError("pools:\n  - name: a\n    count: 1\n    gpus_per_node: 8\n"),
            "c.yaml:2: pools[0].gpu_type: is required");
  EXPECT_EQ(ParseError("pools:\n  - name: a\n    count:\n    gpu_type: X\n    gpus_per_node: 8\n"),
            "c.yaml:2: pools[0].count: is required");
  EXPECT_EQ(ParseError("pools:\n  - {name: a, count: 1, gpu_type: '', gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].gpu_type: must not be empty");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {weight: 2}\n")),
            "c.yaml:4: queues[0].name: is required");
}

TEST(ClusterErrorTest, PoolNames) {
  EXPECT_EQ(ParseError("pools:\n  - {name: DGX, count: 1, gpu_type: X, gpus_per_node: 8}\n"),
            "c.yaml:2: pools[0].name: must be 1 to 63 lowercase letters, digits and '-', got 'DGX'");
  EXPECT_EQ(ParseError("pools:\n"
                       "  - {name: a, count: 1, gpu_type: X, gpus_per_node: 8}\n"
                       "  - {name: b, count: 1, gpu_type: X, gpus_per_node: 8}\n"
                       "  - {name: a, count: 1, gpu_type: Y, gpus_per_node: 4}\n"),
            "c.yaml:4: pools[2].name: duplicate pool name 'a' (first at line 2)");
}

TEST(ClusterErrorTest, DocumentShape) {
  EXPECT_EQ(ParseError(""),
            "c.yaml:1: empty document; expected a cluster spec (a mapping with pools:)");
  EXPECT_EQ(ParseError("# only a comment\n\n"),
            "c.yaml:1: empty document; expected a cluster spec (a mapping with pools:)");
  EXPECT_EQ(
      ParseError("- a\n- b\n"),
      "c.yaml:1: expected a cluster spec (a mapping with pools:) at the top level, got a list");
  EXPECT_EQ(ParseError("just text\n"),
            "c.yaml:1: expected a cluster spec (a mapping with pools:) at the top level, got "
            "'just text'");
  EXPECT_EQ(ParseError(WithPool("---\nname: other\n")),
            "c.yaml:4: only one YAML document is allowed; found a second one (---)");
  EXPECT_EQ(ParseError(WithPool("name: a\nname: b\n")),
            "c.yaml:4: name: duplicate field (first given at line 3)");
}

TEST(ClusterErrorTest, MalformedYamlNamesTheLine) {
  std::string e = ParseError("pools:\n  - name: a\n    count: [1, 2\n");
  EXPECT_EQ(e.rfind("c.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML: "), std::string::npos) << e;
  e = ParseError("pools:\n  - name: a\n   count: 1\n");  // misindented
  EXPECT_EQ(e.rfind("c.yaml:3: invalid YAML: ", 0), 0u) << e;
  EXPECT_EQ(ParseError("pools: *nowhere\n"),
            "c.yaml:1: invalid YAML: the referenced anchor is not defined (column 8)");
}

TEST(ClusterErrorTest, InputsThatTripYamlCppAreErrorsNotHangs) {
  // yaml-cpp 0.7's LoadAll loops forever on a stray ',' (jbeder/yaml-cpp#1040).
  EXPECT_EQ(ParseError(",\n"),
            "c.yaml:1: expected a cluster spec (a mapping with pools:) at the top level, got null");
  EXPECT_EQ(ParseError(", pools\nname: x\n").rfind("c.yaml:", 0), 0u);
  EXPECT_EQ(ParseError("---\n# nothing\n...\n"),
            "c.yaml:1: empty document; expected a cluster spec (a mapping with pools:)");
  EXPECT_EQ(ParseError(WithPool("---\n")), "OK");  // an empty second document is harmless
}

TEST(ClusterErrorTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "pools: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  std::string e = ParseError(deep);
  EXPECT_EQ(e, "c.yaml:1: collections nested more than 64 deep");
}

TEST(QueueErrorTest, NamesAndParents) {
  EXPECT_EQ(ParseError(WithPool("queues:\n"
                                "  - name: a\n"
                                "  - name: b\n"
                                "  - name: a\n")),
            "c.yaml:6: queues[2].name: duplicate queue name 'a' (first at line 4)");
  EXPECT_EQ(ParseError(WithPool("queues:\n"
                                "  - name: org-x\n"
                                "  - name: team\n"
                                "    parent: org-y\n")),
            "c.yaml:6: queues[1].parent: no queue named 'org-y'; did you mean org-x?");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, parent: zzzzzz}\n")),
            "c.yaml:4: queues[0].parent: no queue named 'zzzzzz'");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: 'team a'}\n")),
            "c.yaml:4: queues[0].name: must be 1 to 253 letters, digits, '-', '_' and '.', got 'team a'");
}

TEST(QueueErrorTest, Cycles) {
  EXPECT_EQ(ParseError(WithPool("queues:\n"
                                "  - name: root\n"
                                "  - name: c\n"
                                "    parent: b\n"
                                "  - name: a\n"
                                "    parent: b\n"
                                "  - name: b\n"
                                "    parent: a\n")),
            "c.yaml:8: queues: cycle a -> b -> a");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: self, parent: self}\n")),
            "c.yaml:4: queues: cycle self -> self");
  EXPECT_EQ(ParseError(WithPool("queues:\n"
                                "  - {name: x, parent: z}\n"
                                "  - {name: y, parent: x}\n"
                                "  - {name: z, parent: y}\n")),
            "c.yaml:4: queues: cycle x -> z -> y -> x");
}

TEST(QueueErrorTest, QuotasAndLimits) {
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, quota_gpus: 64, limit_gpus: 32}\n")),
            "c.yaml:4: queues[0].limit_gpus: must be >= quota_gpus (64), got 32");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, quota_gpus: -1}\n")),
            "c.yaml:4: queues[0].quota_gpus: must be >= 0, got -1");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, quota_gpus: lots}\n")),
            "c.yaml:4: queues[0].quota_gpus: expected a number, got 'lots'");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, weight: 0}\n")),
            "c.yaml:4: queues[0].weight: must be between 1 and 1000000, got 0");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, priority: 1001}\n")),
            "c.yaml:4: queues[0].priority: must be between -1000 and 1000, got 1001");
  EXPECT_EQ(ParseError(WithPool("queues:\n  - {name: a, parent: ''}\n")),
            "c.yaml:4: queues[0].parent: must not be empty (leave it out instead)");
}

TEST(QueueErrorTest, ChildrenMustFitInParentQuota) {
  const std::string over = WithPool(
      "queues:\n"
      "  - name: org-x\n"
      "    quota_gpus: 64\n"
      "  - name: a\n"
      "    parent: org-x\n"
      "    quota_gpus: 32\n"
      "  - name: free\n"
      "    parent: org-x\n"
      "  - name: b\n"
      "    parent: org-x\n"
      "    quota_gpus: 64\n");
  EXPECT_EQ(ParseError(over),
            "c.yaml:13: queues[3].quota_gpus: children of org-x guarantee 96 GPUs but org-x "
            "has 64");
  // Exactly full is fine; a parent without a quota does not bound its children.
  EXPECT_EQ(ParseError(WithPool("queues:\n"
                                "  - {name: org, quota_gpus: 1}\n"
                                "  - {name: a, parent: org, quota_gpus: 0.5}\n"
                                "  - {name: b, parent: org, quota_gpus: 0.5}\n"
                                "  - {name: open}\n"
                                "  - {name: c, parent: open, quota_gpus: 1000}\n")),
            "OK");
}

}  // namespace
}  // namespace baton::spec
