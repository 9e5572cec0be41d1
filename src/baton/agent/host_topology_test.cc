#include "baton/agent/host_topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace baton::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The real hwloc on this machine (whatever it has: CI runners have one NUMA node and a
// few cores). What hwloc says must agree with the kernel's own view in /sys.
TEST(HostTopologyTest, HwlocAgreesWithSysfs) {
  auto topo = DiscoverHostTopology();
  ASSERT_TRUE(topo.ok()) << topo.status().ToString();
  EXPECT_GE(topo->sockets, 1);
  EXPECT_GE(topo->cores, 1);
  EXPECT_GE(topo->pus, topo->cores);
  ASSERT_FALSE(topo->numa_nodes.empty());
  std::vector<int> all;
  for (const HostNumaNode& n : topo->numa_nodes) {
    EXPECT_GT(n.memory_mib, 0) << "node " << n.id;
    all.insert(all.end(), n.cpus.begin(), n.cpus.end());
    const std::filesystem::path sys =
        "/sys/devices/system/node/node" + std::to_string(n.id) + "/cpulist";
    std::ifstream in(sys);
    std::string line;
    if (!std::getline(in, line)) continue;  // no sysfs NUMA (some containers)
    auto kernel = ParseCpuList(line);
    ASSERT_TRUE(kernel.ok()) << kernel.status().ToString();
    for (int c : n.cpus) {
      EXPECT_TRUE(std::binary_search(kernel->begin(), kernel->end(), c))
          << "hwloc puts CPU " << c << " on node " << n.id << "; the kernel says " << line;
    }
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a CPU on two nodes";
  EXPECT_EQ(static_cast<int>(all.size()), topo->pus);
  // Every CPU this process may run on belongs to some NUMA node.
  for (int c : CurrentCpuAffinity()) {
    EXPECT_TRUE(std::binary_search(all.begin(), all.end(), c)) << "CPU " << c;
  }
  // Pinning to the node of a GPU on the first NUMA node gives that node's CPUs.
  const HostNumaNode& first = topo->numa_nodes.front();
  auto pin = PinCpusForGpus(*topo, {first.id}, {});
  EXPECT_EQ(pin.cpus, first.cpus);
}

TEST(CpuListTest, FormatAndParse) {
  EXPECT_EQ(FormatCpuList({}), "");
  EXPECT_EQ(FormatCpuList({3}), "3");
  EXPECT_EQ(FormatCpuList({11, 0, 1, 2, 3, 8, 10, 3}), "0-3,8,10-11");
  EXPECT_THAT(*ParseCpuList("0-3,8,10-11\n"), ElementsAre(0, 1, 2, 3, 8, 10, 11));
  EXPECT_THAT(*ParseCpuList(""), IsEmpty());
  EXPECT_THAT(*ParseCpuList("5,1-2,2"), ElementsAre(1, 2, 5));
  for (const char* bad : {"3-1", "a", "1,", "-1", "1-", "0-99999999", ",2"}) {
    auto r = ParseCpuList(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(std::string("\"") + bad + "\""));
  }
  EXPECT_THAT(ParseCpuList("3-1").status().message(), HasSubstr("runs backwards"));
}

// A made-up two-socket host: NUMA node 0 = CPUs 0-3 and their hyperthreads 8-11, node 1
// = 4-7 and 12-15.
HostTopology TwoSockets() {
  HostTopology t;
  t.sockets = 2;
  t.cores = 8;
  t.pus = 16;
  t.numa_nodes = {{0, {0, 1, 2, 3, 8, 9, 10, 11}, 65536}, {1, {4, 5, 6, 7, 12, 13, 14, 15}, 65536}};
  return t;
}

TEST(PinCpusTest, CpusOfTheGpusNumaNodes) {
  const HostTopology t = TwoSockets();
  auto p = PinCpusForGpus(t, {1, 1}, {});
  EXPECT_EQ(FormatCpuList(p.cpus), "4-7,12-15");
  EXPECT_THAT(p.numa_nodes, ElementsAre(1));
  EXPECT_EQ(p.reason, "");
  p = PinCpusForGpus(t, {1, 0}, {});
  EXPECT_EQ(FormatCpuList(p.cpus), "0-15");
  EXPECT_THAT(p.numa_nodes, ElementsAre(0, 1));
  // Restricted to what the agent may use.
  p = PinCpusForGpus(t, {0}, {2, 3, 4, 5, 9});
  EXPECT_EQ(FormatCpuList(p.cpus), "2-3,9");
}

TEST(PinCpusTest, NothingPinnedAndWhy) {
  const HostTopology t = TwoSockets();
  struct Case {
    std::vector<int> numa;
    std::vector<int> allowed;
    const char* reason;
  };
  for (const Case& k : {Case{{}, {}, "the task has no GPUs"},
                        Case{{0, -1}, {}, "the NUMA node of a GPU is unknown"},
                        Case{{3}, {}, "NUMA node 3 is not in the host topology"},
                        Case{{1}, {0, 1, 2}, "the agent may use none of the CPUs of NUMA node(s) 1"}}) {
    auto p = PinCpusForGpus(t, k.numa, k.allowed);
    EXPECT_THAT(p.cpus, IsEmpty());
    EXPECT_EQ(p.reason, k.reason);
  }
  // A host whose topology is unknown (hwloc failed): no NUMA nodes.
  EXPECT_EQ(PinCpusForGpus(HostTopology{}, {0}, {}).reason,
            "NUMA node 0 is not in the host topology");
}

}  // namespace
}  // namespace baton::agent
