// ClusterState: the allocation book — which GPU is held by which job — plus the
// indexes the scheduler needs to answer "where could this fit?" without scanning the
// fleet.
//
// Indexes, all kept exact on every Allocate/Release/SetSchedulable:
//  - per GPU type t and free count k: the set of schedulable nodes with exactly k free
//    GPUs of type t (IdBitset, so the lowest-numbered node is found in a few
//    instructions) and its size. A node offers each of its kinds (model::DeviceKind) in
//    the buckets of that kind's type: an ordinary node one type, a node with MIG also
//    one type per MIG profile;
//  - per group (a rack's nodes of one type, or an NVLink domain spanning nodes): how many
//    of its nodes have exactly k free GPUs.
// From these, TaskCapacity(t, g) — how many tasks of g GPUs fit on nodes of type t right
// now — is a sum over at most 65 buckets. That number is exact for any placement that may
// span nodes, so "cannot fit now" is decided without trying.
//
// Not responsible for: job state, ordering, reasons (Scheduler); durable state (store).
// A node that is not schedulable (drained, down) keeps its allocations but offers no
// free GPUs; a disabled GPU (drained for health) likewise.
//
// Shared GPUs (fractional requests): a whole GPU given to fractional tasks is held by
// the owner kSharedGpu, so to every whole-GPU mechanism it is simply allocated; a side
// book keeps how many milli-GPUs of it are used and by whom. It returns to the free pool
// when its last share is released. Offered shared GPUs (schedulable node, not disabled,
// room left) are indexed per type by room, so the best-fitting one is found in O(log n).
// Thread-safety: none; owned by one scheduler.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "baton/common/id_bitset.h"
#include "baton/common/ids.h"
#include "baton/model/cluster.h"

namespace baton::sched {

// The owner of a GPU split between fractional tasks (see above).
inline constexpr JobId kSharedGpu(JobId::kInvalidValue - 2);

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

  // Free devices that may be given out (disabled ones excluded), of any kind.
  uint64_t free_mask(NodeId n) const {
    return nodes_[n.value()].free_mask & ~nodes_[n.value()].disabled;
  }
  // The same, of type t only. (Reads only this book, not the model: placement's hot path.)
  uint64_t free_mask(NodeId n, GpuTypeId t) const {
    const NodeBook& b = nodes_[n.value()];
    for (uint32_t i = 0; i < b.num_kinds; ++i) {
      const KindBook& kb = KindOf(b, i);
      if (kb.type == t) return b.free_mask & ~b.disabled & kb.mask;
    }
    return 0;
  }
  // Devices nobody holds (disabled ones included).
  uint64_t unallocated_mask(NodeId n) const { return nodes_[n.value()].free_mask; }
  uint64_t disabled_mask(NodeId n) const { return nodes_[n.value()].disabled; }
  // Free devices of type t offered to the scheduler: 0 on an unschedulable node.
  int free_gpus(NodeId n, GpuTypeId t) const {
    const NodeBook& b = nodes_[n.value()];
    for (uint32_t i = 0; i < b.num_kinds; ++i) {
      if (KindOf(b, i).type == t) return KindOf(b, i).offered;
    }
    return 0;
  }
  // Free devices offered, all kinds together.
  int free_gpus(NodeId n) const {
    const NodeBook& b = nodes_[n.value()];
    int sum = 0;
    for (uint32_t i = 0; i < b.num_kinds; ++i) sum += KindOf(b, i).offered;
    return sum;
  }
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

  // Fractional GPUs. Gives `job` `milli` (1..999) of GPU `gpu`, which must be unallocated
  // or already shared with that much room left (else: bookkeeping bug, abort). Tasks of
  // one job may share a GPU: each task's share is booked separately.
  void AllocateShare(JobId job, NodeId node, int gpu, int32_t milli);
  // Returns the share `job` holds on GPU `gpu`, which must be `milli`.
  void ReleaseShare(JobId job, NodeId node, int gpu, int32_t milli);
  // Milli-GPUs of `gpu` held by fractional tasks; 0 when it is not shared.
  int32_t share_used(NodeId n, int gpu) const;
  // Whether a share of `milli` could be given on `gpu` now: offered free, or shared with
  // room, on a schedulable node and not disabled.
  bool ShareFits(NodeId n, int gpu, int32_t milli) const;
  // Fractional tasks of `milli` each that fit on type t now: the room of offered shared
  // GPUs plus every free GPU split into such shares.
  int64_t ShareCapacity(GpuTypeId t, int32_t milli) const;
  // The same on one node.
  int64_t NodeShareCapacity(NodeId n, GpuTypeId t, int32_t milli) const;
  // The offered shared GPU of type t with the least room that still holds `milli` (ties:
  // lower node, then lower GPU); false when none.
  bool BestSharedGpu(GpuTypeId t, int32_t milli, NodeId* node, int* gpu) const;

  // Tasks of `gpus_per_task` GPUs that fit on schedulable nodes of type t right now.
  int64_t TaskCapacity(GpuTypeId t, int gpus_per_task) const;
  // The same on an empty, fully schedulable cluster: the most that could ever fit.
  int64_t MaxTaskCapacity(GpuTypeId t, int gpus_per_task) const;
  int64_t FreeGpus(GpuTypeId t) const { return free_by_type_[t.value()]; }
  int64_t FreeGpus() const { return free_total_; }
  // Physical GPUs in use: allocated (whole, shared or reserved), or with a MIG instance
  // allocated.
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
  // The rack group of the node's devices of type t (UINT32_MAX if it has none), and of
  // its first kind (an ordinary node's only one).
  uint32_t rack_group(NodeId n, GpuTypeId t) const {
    const NodeBook& b = nodes_[n.value()];
    for (uint32_t i = 0; i < b.num_kinds; ++i) {
      if (KindOf(b, i).type == t) return KindOf(b, i).rack_group;
    }
    return UINT32_MAX;
  }
  uint32_t rack_group(NodeId n) const {
    const NodeBook& b = nodes_[n.value()];
    return b.num_kinds > 0 ? b.kind0.rack_group : UINT32_MAX;
  }

 private:
  // One kind of a node's devices (model::DeviceKind) and what it offers.
  struct KindBook {
    uint64_t mask = 0;
    uint32_t rack_group = 0;
    uint32_t domain_group = UINT32_MAX;
    int32_t offered = 0;     // popcount(free & ~disabled & mask) if schedulable, else 0
    GpuTypeId type;
  };
  // A node's book. Its first kind is kept inline (an ordinary node has only that one), so
  // the hot path touches one cache line per node; further kinds are in more_kinds_.
  struct alignas(64) NodeBook {
    uint64_t free_mask = 0;
    uint64_t disabled = 0;   // SetDisabledGpus
    uint64_t shared = 0;     // GPUs held by kSharedGpu
    KindBook kind0;
    uint32_t more = 0;       // kinds 1.. are more_kinds_[more, more + num_kinds - 1)
    uint8_t num_kinds = 0;
    uint8_t physical_gpus = 0;  // devices 0..physical_gpus-1 are physical GPUs
    bool schedulable = true;
  };
  static const KindBook& KindOf(const NodeBook& b, const std::vector<KindBook>& more,
                                uint32_t i) {
    return i == 0 ? b.kind0 : more[b.more + i - 1];
  }
  const KindBook& KindOf(const NodeBook& b, uint32_t i) const { return KindOf(b, more_kinds_, i); }
  KindBook& KindOf(NodeBook& b, uint32_t i) { return i == 0 ? b.kind0 : more_kinds_[b.more + i - 1]; }
  // Recomputes what the kinds touching `changed` offer and moves them between buckets.
  void Reoffer(NodeId n, uint64_t changed);
  void Reindex(const KindBook& k, NodeId n, int old_offered, int new_offered);
  // Keeps the physical-GPU count of AllocatedGpus for devices `mask` changing hands.
  void CountAllocated(NodeId n, uint64_t mask, int sign);
  // Shared GPUs: puts GPU `gpu` of `n` in (or takes it out of) the offered index.
  void IndexShare(NodeId n, int gpu, bool offered);
  bool ShareOffered(NodeId n, int gpu) const;

  const model::Cluster* cluster_;
  std::vector<NodeBook> nodes_;
  std::vector<KindBook> more_kinds_;
  std::vector<uint32_t> first_gpu_;
  std::vector<JobId> owners_;
  // Shared GPUs: milli used per device (index first_gpu_ + gpu), the holders of each, and
  // per type the offered ones by (room, node, gpu).
  std::vector<int32_t> share_used_;
  std::map<uint32_t, std::vector<std::pair<JobId, int32_t>>> share_holders_;
  std::vector<std::set<std::tuple<int32_t, uint32_t, int>>> open_shares_;
  // MIG instances allocated per physical GPU (index first_gpu_ + parent).
  std::vector<uint8_t> mig_in_use_;
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
