// ClusterSpec: the plain description of a cluster, before it is built into a Cluster.
//
// Produced by the YAML parser (spec/cluster_yaml.h), by the `--nodes N --gpus-per-node G`
// shorthand of `baton sim`, or by tests. BuildCluster (cluster.h) validates it and lays
// out nodes, racks and NVLink domains. No behaviour here; plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/quantity.h"

namespace baton::model {

// A set of identical machines.
struct NodePoolSpec {
  std::string name;             // "h100"; node names are "<name>-<index>"
  int32_t count = 0;            // number of nodes, > 0
  std::string gpu_type;         // GPU model, e.g. "H100", "A100-80GB"
  int32_t gpus_per_node = 0;    // 0..64
  // GPUs per NVLink domain. Equal to gpus_per_node (the default) means one domain per
  // node (NVSwitch box). Smaller divides a node (a PCIe box with NVLink pairs: 2).
  // Larger spans several whole nodes of one rack (an NVL72 rack: 72 with 4 GPUs a node).
  int32_t nvlink_domain_gpus = 0;  // 0 = gpus_per_node
  int32_t nodes_per_rack = 0;      // 0 = all nodes of the pool in one rack
  int64_t gpu_memory_mib = 0;      // 0 = a default for known models, else unknown
  int32_t cpus_per_node = 0;       // informational for now
  int64_t memory_mib_per_node = 0; // informational for now
  int line = 0;                    // source line of the pool, 0 if none (for messages)
};

// A tenant's share of the cluster: enforced by the scheduler's QueueBook
// (sched/queues.h; docs/shared-cluster.md).
struct QueueSpec {
  std::string name;
  std::string parent;              // "" = top level
  std::optional<Quantity> quota_gpus;  // guaranteed GPUs
  std::optional<Quantity> limit_gpus;  // most GPUs it may use, borrowing included
  int32_t weight = 1;
  int32_t priority = 0;
  int line = 0;
};

struct ClusterSpec {
  std::string name;
  std::vector<NodePoolSpec> pools;
  std::vector<QueueSpec> queues;
};

}  // namespace baton::model
