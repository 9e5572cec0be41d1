// Placement policies: where a gang goes, once the order policy has picked it.
//
// Place() is called only when ClusterState::TaskCapacity(type, g) >= tasks, which is
// exactly the condition for some placement to exist (tasks are independent per node),
// so the built-in policies always succeed; the bool return leaves room for policies with
// harder constraints. A policy allocates in `state` as it goes and records each task in
// `out`; on failure the scheduler releases whatever `out` holds. Policies see only the
// devices of `type` (ClusterState::free_mask(node, type)): whole GPUs of one model, or
// MIG instances of one profile.
//
// Fractional requests do not go through a policy: PlaceShares packs them the same way
// under every policy.
//
// Policies: placement/binpack, placement/spread, placement/topology. Create them by name
// with MakePlacementPolicy (registry.h).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "baton/common/ids.h"
#include "baton/sched/cluster_state.h"
#include "baton/sched/job.h"

namespace baton::sched {

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual bool Place(ClusterState& state, JobId job, int tasks, int gpus_per_task,
                     GpuTypeId type, Allocation* out) const = 0;
};

// The `g` lowest-numbered GPUs of `free_mask` (requires popcount(free_mask) >= g).
uint64_t PickLowestGpus(uint64_t free_mask, int g);
// `g` GPUs of `free_mask` on `node` touching as few of the node's NVLink domains as
// possible: the fullest-fitting single domain if one has room (best fit, so larger free
// domains stay whole), else the domains with the most free GPUs first.
uint64_t PickGpusByDomain(const model::Node& node, uint64_t free_mask, int g);

// Fractional tasks of `milli` milli-GPUs each, on type t: each on the offered shared GPU
// with the least room that holds it (ties: lower node, then lower GPU), else on the
// lowest free GPU of the node with the fewest free GPUs of type t (bin-packing, so whole
// nodes stay whole). Sets out->share_milli; false when a task found no room (the caller
// releases what `out` holds).
bool PlaceShares(ClusterState& state, JobId job, int tasks, int32_t milli, GpuTypeId t,
                 Allocation* out);
// Puts all `tasks` near a previous placement: on the `near` nodes first (in order, each
// filled as far as it has room), then on the other nodes of their racks, best fit (the
// fullest node that has room). Nodes of another GPU type than `type`, unschedulable ones
// and ids out of range are skipped. Allocates nothing and returns false when that block
// cannot hold every task right now; the caller then uses the placement policy. This is
// mechanism shared by every policy: a retried gang stays in the topology block it ran in
// (its data and NCCL communicators' neighbours) when capacity allows.
bool PlaceNear(ClusterState& state, JobId job, int tasks, int gpus_per_task, GpuTypeId type,
               const std::vector<NodeId>& near, Allocation* out);

// Number of distinct NVLink domains, nodes and racks an allocation touches.
struct Footprint {
  int domains = 0;
  int nodes = 0;
  int racks = 0;
};
Footprint FootprintOf(const model::Cluster& cluster, const Allocation& alloc);

}  // namespace baton::sched
