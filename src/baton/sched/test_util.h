// Test-only helpers for the scheduler tests: small clusters, job requests, policies by
// name, and a brute-force check of every ClusterState index.
//
// Not part of baton_sched; included only by *_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/time.h"
#include "baton/model/cluster.h"
#include "baton/sched/cluster_state.h"
#include "baton/sched/job.h"
#include "baton/sched/registry.h"

namespace baton::sched {

// Prints placements readably in gtest failure messages.
inline void PrintTo(const TaskPlacement& t, std::ostream* os) {
  *os << "{node " << t.node << ", gpus 0x" << std::hex << t.gpus << std::dec << "}";
}

inline model::NodePoolSpec TestPool(std::string name, int32_t count, std::string gpu_type,
                                    int32_t gpus_per_node, int32_t nvlink_domain_gpus = 0,
                                    int32_t nodes_per_rack = 0) {
  model::NodePoolSpec p;
  p.name = std::move(name);
  p.count = count;
  p.gpu_type = std::move(gpu_type);
  p.gpus_per_node = gpus_per_node;
  p.nvlink_domain_gpus = nvlink_domain_gpus;
  p.nodes_per_rack = nodes_per_rack;
  return p;
}

// Builds a cluster from pools; a spec the test got wrong aborts with the message.
inline model::Cluster BuildTestCluster(std::vector<model::NodePoolSpec> pools) {
  model::ClusterSpec spec;
  spec.name = "test";
  spec.pools = std::move(pools);
  auto c = model::Cluster::Build(spec);
  if (!c.ok()) {
    std::fprintf(stderr, "bad test cluster: %s\n", c.status().ToString().c_str());
    std::abort();
  }
  return std::move(c).value();
}

inline model::Cluster HomogeneousCluster(int32_t nodes, int32_t gpus_per_node,
                                         int32_t nodes_per_rack = 0,
                                         std::string gpu_type = "H100") {
  auto c = model::Cluster::Homogeneous(nodes, gpus_per_node, std::move(gpu_type), nodes_per_rack);
  if (!c.ok()) {
    std::fprintf(stderr, "bad test cluster: %s\n", c.status().ToString().c_str());
    std::abort();
  }
  return std::move(c).value();
}

// A small heterogeneous cluster with every kind of topology:
//  - "pcie":  4 A100 nodes x 8 GPUs, NVLink pairs (4 domains a node), racks of 2 nodes;
//  - "nvl":   6 GB200 nodes x 4 GPUs, 2-node NVLink domains, racks of 4 nodes (4 + 2);
//  - "dgx":   3 H100 nodes x 8 GPUs, one NVSwitch domain a node, one rack.
// Types: A100 = 0, GB200 = 1, H100 = 2. Nodes: pcie 0-3, nvl 4-9, dgx 10-12.
inline model::Cluster MixedTestCluster() {
  return BuildTestCluster({TestPool("pcie", 4, "A100", 8, 2, 2),
                           TestPool("nvl", 6, "GB200", 4, 8, 4),
                           TestPool("dgx", 3, "H100", 8, 0, 0)});
}

inline JobRequest TestJob(uint64_t id, int32_t tasks, int32_t gpus_per_task, Time submit = Time{}) {
  JobRequest r;
  r.id = JobId(id);
  r.tasks = tasks;
  r.gpus_per_task = gpus_per_task;
  r.submit = submit;
  return r;
}

inline Time At(int64_t seconds) { return TimeFromSeconds(seconds); }

inline std::unique_ptr<OrderPolicy> OrderNamed(std::string_view name) {
  auto p = MakeOrderPolicy(name);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
    std::abort();
  }
  return std::move(p).value();
}

inline std::unique_ptr<PlacementPolicy> PlacementNamed(std::string_view name) {
  auto p = MakePlacementPolicy(name);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
    std::abort();
  }
  return std::move(p).value();
}

inline uint64_t GpuMask(std::initializer_list<int> gpus) {
  uint64_t m = 0;
  for (int g : gpus) m |= uint64_t{1} << g;
  return m;
}

// Recomputes every index of `s` from its per-GPU owners and compares: free masks,
// offered counts per kind, the (type, k) buckets and their sizes, free totals, task
// capacities (per type and per group), group membership, physical GPUs in use and the
// capacity for GPU shares.
inline ::testing::AssertionResult StateIsConsistent(const ClusterState& s) {
  const model::Cluster& c = s.cluster();
  const int types = c.num_gpu_types();
  std::vector<int64_t> free_by_type(types, 0);
  std::vector<std::vector<int64_t>> counts(types);
  std::vector<std::vector<int64_t>> full_counts(types);
  for (int t = 0; t < types; ++t) {
    counts[t].assign(c.max_gpus_per_node(GpuTypeId(static_cast<uint16_t>(t))) + 1, 0);
    full_counts[t] = counts[t];
  }
  int64_t allocated = 0, free_total = 0;
  // offered[node][type], -1 when the node has no such kind.
  std::vector<std::vector<int>> offered(c.nodes().size(), std::vector<int>(types, -1));
  for (const auto& node : c.nodes()) {
    uint64_t free_mask = 0;
    uint64_t physical_in_use = 0;
    for (int g = 0; g < node.gpu_count(); ++g) {
      if (s.owner(node.id, g).valid()) {
        const int p = node.gpus[static_cast<size_t>(g)].parent;
        physical_in_use |= uint64_t{1} << (p >= 0 ? p : g);
      } else {
        free_mask |= uint64_t{1} << g;
      }
    }
    allocated += std::popcount(physical_in_use);
    free_mask &= ~s.disabled_mask(node.id);  // disabled GPUs are never free to give out
    if (s.free_mask(node.id) != free_mask) {
      return ::testing::AssertionFailure()
             << "node " << node.id << " free_mask " << s.free_mask(node.id) << " but owners say "
             << free_mask;
    }
    int total_offered = 0;
    for (const model::DeviceKind& k : node.kinds) {
      const int off = s.schedulable(node.id) ? std::popcount(free_mask & k.mask) : 0;
      const int t = k.type.value();
      offered[node.id.value()][t] = off;
      total_offered += off;
      if (s.free_gpus(node.id, k.type) != off) {
        return ::testing::AssertionFailure() << "node " << node.id << " offers "
                                             << s.free_gpus(node.id, k.type) << " of type " << t
                                             << ", expected " << off;
      }
      counts[t][off]++;
      full_counts[t][std::popcount(k.mask)]++;
      free_by_type[t] += off;
      free_total += off;
    }
    if (s.free_gpus(node.id) != total_offered) {
      return ::testing::AssertionFailure()
             << "node " << node.id << " offers " << s.free_gpus(node.id) << ", expected "
             << total_offered;
    }
  }
  if (s.AllocatedGpus() != allocated) {
    return ::testing::AssertionFailure()
           << "AllocatedGpus " << s.AllocatedGpus() << ", owners say " << allocated;
  }
  if (s.FreeGpus() != free_total) {
    return ::testing::AssertionFailure()
           << "FreeGpus " << s.FreeGpus() << ", expected " << free_total;
  }
  for (int t = 0; t < types; ++t) {
    const GpuTypeId tid(static_cast<uint16_t>(t));
    if (s.FreeGpus(tid) != free_by_type[t]) {
      return ::testing::AssertionFailure() << "FreeGpus(type " << t << ") " << s.FreeGpus(tid)
                                           << ", expected " << free_by_type[t];
    }
    const int max_k = c.max_gpus_per_node(tid);
    if (s.max_free(tid) != max_k) {
      return ::testing::AssertionFailure() << "max_free(type " << t << ") " << s.max_free(tid);
    }
    for (int k = 0; k <= max_k; ++k) {
      if (s.CountWithFree(tid, k) != counts[t][k]) {
        return ::testing::AssertionFailure()
               << "CountWithFree(type " << t << ", " << k << ") " << s.CountWithFree(tid, k)
               << ", expected " << counts[t][k];
      }
      // Bucket members, in ascending order, are exactly the nodes of type t offering k.
      std::vector<uint32_t> want, got;
      for (const auto& node : c.nodes()) {
        if (offered[node.id.value()][t] == k) want.push_back(node.id.value());
      }
      const IdBitset& set = s.NodesWithFree(tid, k);
      for (uint32_t id = set.FindFirst(); id != IdBitset::kNone; id = set.FindNext(id + 1)) {
        got.push_back(id);
        if (got.size() > c.nodes().size()) break;
      }
      if (got != want) {
        return ::testing::AssertionFailure() << "bucket (type " << t << ", k " << k << ") has "
                                             << got.size() << " nodes, expected " << want.size();
      }
    }
    for (int g = 0; g <= max_k + 1; ++g) {
      int64_t cap = 0, full = 0;
      for (const auto& node : c.nodes()) {
        if (offered[node.id.value()][t] < 0 || g == 0) continue;
        cap += offered[node.id.value()][t] / g;
        full += std::popcount(node.kind_mask(tid)) / g;
      }
      if (s.TaskCapacity(tid, g) != cap || s.MaxTaskCapacity(tid, g) != full) {
        return ::testing::AssertionFailure()
               << "TaskCapacity(type " << t << ", " << g << ") " << s.TaskCapacity(tid, g) << "/"
               << s.MaxTaskCapacity(tid, g) << ", expected " << cap << "/" << full;
      }
    }
    for (const auto* groups : {&s.RackGroups(tid), &s.DomainGroups(tid)}) {
      for (uint32_t gi : *groups) {
        const Group& group = s.group(gi);
        if (group.gpu_type != tid) return ::testing::AssertionFailure() << "group type";
        for (int g = 1; g <= max_k; ++g) {
          int64_t cap = 0;
          for (NodeId n : group.nodes) cap += std::max(0, offered[n.value()][t]) / g;
          if (s.GroupTaskCapacity(gi, g) != cap) {
            return ::testing::AssertionFailure()
                   << "GroupTaskCapacity(" << gi << ", " << g << ") " << s.GroupTaskCapacity(gi, g)
                   << ", expected " << cap;
          }
        }
      }
    }
    // Shares: room of offered shared GPUs plus free GPUs, for a few share sizes.
    for (int32_t milli : {1, 250, 300, 500, 999}) {
      int64_t cap = 0;
      for (const auto& node : c.nodes()) {
        if (offered[node.id.value()][t] < 0) continue;
        int64_t on_node = int64_t{offered[node.id.value()][t]} * (1000 / milli);
        for (int g = 0; g < node.gpu_count(); ++g) {
          const int32_t used = s.share_used(node.id, g);
          if (used == 0 || node.gpus[static_cast<size_t>(g)].type != tid) continue;
          if (s.owner(node.id, g) != kSharedGpu) {
            return ::testing::AssertionFailure() << "a shared GPU not held by kSharedGpu";
          }
          const bool off = s.schedulable(node.id) && !((s.disabled_mask(node.id) >> g) & 1);
          if (off) on_node += (1000 - used) / milli;
        }
        if (s.NodeShareCapacity(node.id, tid, milli) != on_node) {
          return ::testing::AssertionFailure()
                 << "NodeShareCapacity(node " << node.id << ", type " << t << ", " << milli
                 << ") " << s.NodeShareCapacity(node.id, tid, milli) << ", expected " << on_node;
        }
        cap += on_node;
      }
      if (s.ShareCapacity(tid, milli) != cap) {
        return ::testing::AssertionFailure() << "ShareCapacity(type " << t << ", " << milli
                                             << ") " << s.ShareCapacity(tid, milli)
                                             << ", expected " << cap;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace baton::sched
