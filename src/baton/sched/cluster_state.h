// ClusterState: the allocation book — which GPU is held by which job — plus the
// indexes the scheduler needs to answer "where could this fit?" without scanning the
// fleet.
//
// Indexes, all kept exact on every Allocate/Release/SetSchedulable:
//  - per GPU type t and free count k: the set of schedulable nodes with exactly k free
//    GPUs (IdBitset, so the lowest-numbered node is found in a few instructions) and its
//    size;
//  - per group (a rack, or an NVLink domain spanning nodes): how many of its nodes have
//    exactly k free GPUs.
// From these, TaskCapacity(t, g) — how many tasks of g GPUs fit on nodes of type t right
// now — is a sum over at most 65 buckets. That number is exact for any placement that may
// span nodes, so "cannot fit now" is decided without trying.
//
// Not responsible for: job state, ordering, reasons (Scheduler); durable state (store).
// A node that is not schedulable (drained, down) keeps its allocations but offers no
// free GPUs; a disabled GPU (drained for health) likewise.
// Thread-safety: none; owned by one scheduler.
#pragma once

#include <cstdint>
#include <vector>

#include "baton/common/id_bitset.h"
#include "baton/common/ids.h"
#include "baton/model/cluster.h"

namespace baton::sched {

// A rack or a multi-node NVLink domain: a set of nodes a gang may be packed into.
struct Group {
  enum class Kind { kRack, kDomain };
  Kind kind;
  uint32_t index;            // RackId or DomainId value
  GpuTypeId gpu_type;
  std::vector<NodeId> nodes;
};

class ClusterState {
 public:
  explicit ClusterState(const model::Cluster& cluster);

  const model::Cluster& cluster() const { return *cluster_; }

  // Free GPUs that may be given out (disabled ones excluded).
  uint64_t free_mask(NodeId n) const {
    return nodes_[n.value()].free_mask & ~nodes_[n.value()].disabled;
  }
  uint64_t disabled_mask(NodeId n) const { return nodes_[n.value()].disabled; }
  // Free GPUs offered to the scheduler: 0 on an unschedulable node.
  int free_gpus(NodeId n) const { return nodes_[n.value()].offered; }
  bool schedulable(NodeId n) const { return nodes_[n.value()].schedulable; }
  JobId owner(NodeId n, int gpu) const {
    return owners_[first_gpu_[n.value()] + gpu];
  }

  // Marks GPUs in `mask` as held by `job`. Every bit must be free: anything else is a
  // bookkeeping bug and aborts.
  void Allocate(JobId job, NodeId node, uint64_t mask);
  // Returns GPUs in `mask` held by `job` to the free pool.
  void Release(JobId job, NodeId node, uint64_t mask);
  void SetSchedulable(NodeId node, bool schedulable);
  // GPUs in `mask` (drained for health) are never offered; allocations on them are kept
  // until released. Replaces the node's previous mask.
  void SetDisabledGpus(NodeId node, uint64_t mask);

  // Tasks of `gpus_per_task` GPUs that fit on schedulable nodes of type t right now.
  int64_t TaskCapacity(GpuTypeId t, int gpus_per_task) const;
  // The same on an empty, fully schedulable cluster: the most that could ever fit.
  int64_t MaxTaskCapacity(GpuTypeId t, int gpus_per_task) const;
  int64_t FreeGpus(GpuTypeId t) const { return free_by_type_[t.value()]; }
  int64_t FreeGpus() const { return free_total_; }
  int64_t AllocatedGpus() const { return allocated_total_; }
  // Nodes of type t with exactly k free GPUs, and the largest k for type t.
  const IdBitset& NodesWithFree(GpuTypeId t, int k) const {
    return buckets_[t.value()][k];
  }
  int64_t CountWithFree(GpuTypeId t, int k) const { return counts_[t.value()][k]; }
  int max_free(GpuTypeId t) const { return cluster_->max_gpus_per_node(t); }

  // Racks and multi-node domains of type t.
  const std::vector<uint32_t>& RackGroups(GpuTypeId t) const { return rack_groups_[t.value()]; }
  const std::vector<uint32_t>& DomainGroups(GpuTypeId t) const {
    return domain_groups_[t.value()];
  }
  const Group& group(uint32_t g) const { return groups_[g]; }
  int64_t GroupTaskCapacity(uint32_t g, int gpus_per_task) const;
  uint32_t rack_group(NodeId n) const { return nodes_[n.value()].rack_group; }

 private:
  struct NodeBook {
    uint64_t free_mask = 0;
    int offered = 0;         // popcount(free_mask) if schedulable, else 0
    bool schedulable = true;
    uint64_t disabled = 0;   // SetDisabledGpus
    uint32_t rack_group = 0;
    uint32_t domain_group = UINT32_MAX;
  };
  void Reindex(NodeId n, int old_offered, int new_offered);

  const model::Cluster* cluster_;
  std::vector<NodeBook> nodes_;
  std::vector<uint32_t> first_gpu_;
  std::vector<JobId> owners_;
  // [type][k]
  std::vector<std::vector<IdBitset>> buckets_;
  std::vector<std::vector<int64_t>> counts_;
  std::vector<std::vector<int64_t>> full_counts_;  // empty cluster, for MaxTaskCapacity
  std::vector<Group> groups_;
  std::vector<std::vector<int64_t>> group_counts_;  // [group][k]
  std::vector<std::vector<uint32_t>> rack_groups_;
  std::vector<std::vector<uint32_t>> domain_groups_;
  std::vector<int64_t> free_by_type_;
  int64_t free_total_ = 0;
  int64_t allocated_total_ = 0;
};

}  // namespace baton::sched
