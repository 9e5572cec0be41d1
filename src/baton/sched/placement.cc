// The built-in placement policies.
#include "baton/sched/placement.h"

#include <algorithm>
#include <bit>

#include "baton/sched/registry.h"

namespace baton::sched {

uint64_t PickLowestGpus(uint64_t free_mask, int g) {
  uint64_t out = 0;
  for (int i = 0; i < g; ++i) {
    uint64_t low = free_mask & (~free_mask + 1);
    out |= low;
    free_mask &= free_mask - 1;
  }
  return out;
}

uint64_t PickGpusByDomain(const model::Node& node, uint64_t free_mask, int g) {
  if (node.domain_masks.size() <= 1) return PickLowestGpus(free_mask, g);
  // Best single domain: the one with the fewest free GPUs that still has g.
  int best = -1, best_free = 65;
  for (size_t d = 0; d < node.domain_masks.size(); ++d) {
    int f = std::popcount(free_mask & node.domain_masks[d]);
    if (f >= g && f < best_free) {
      best = static_cast<int>(d);
      best_free = f;
    }
  }
  if (best >= 0) return PickLowestGpus(free_mask & node.domain_masks[best], g);
  // Spill across domains, fullest-free first (ties: lower domain).
  std::vector<std::pair<int, size_t>> order;
  for (size_t d = 0; d < node.domain_masks.size(); ++d) {
    order.emplace_back(-std::popcount(free_mask & node.domain_masks[d]), d);
  }
  std::sort(order.begin(), order.end());
  uint64_t out = 0;
  int left = g;
  for (auto [neg_free, d] : order) {
    int take = std::min(left, -neg_free);
    out |= PickLowestGpus(free_mask & node.domain_masks[d], take);
    left -= take;
    if (left == 0) break;
  }
  return out;
}

Footprint FootprintOf(const model::Cluster& cluster, const Allocation& alloc) {
  // Gangs are small: sorted vectors beat node-based sets here.
  std::vector<uint32_t> domains, nodes, racks;
  for (const auto& t : alloc.tasks) {
    const auto& node = cluster.node(t.node);
    nodes.push_back(t.node.value());
    racks.push_back(node.rack.value());
    for (uint64_t m = t.gpus; m != 0; m &= m - 1) {
      domains.push_back(node.gpus[std::countr_zero(m)].domain.value());
    }
  }
  auto distinct = [](std::vector<uint32_t>& v) {
    std::sort(v.begin(), v.end());
    return static_cast<int>(std::unique(v.begin(), v.end()) - v.begin());
  };
  return {distinct(domains), distinct(nodes), distinct(racks)};
}

namespace {

// Puts `count` tasks of g GPUs of type t on `node`, choosing GPUs with `pick`.
template <typename Pick>
void PutTasks(ClusterState& state, JobId job, NodeId node, GpuTypeId t, int count, int g,
              Pick pick, Allocation* out) {
  const auto& n = state.cluster().node(node);
  for (int i = 0; i < count; ++i) {
    uint64_t gpus = pick(n, state.free_mask(node, t), g);
    state.Allocate(job, node, gpus);
    out->tasks.push_back({node, gpus});
  }
}

uint64_t PickLowest(const model::Node&, uint64_t free_mask, int g) {
  return PickLowestGpus(free_mask, g);
}

// Lowest-numbered node with the fewest free GPUs >= need, or invalid.
NodeId BestFitNode(const ClusterState& state, GpuTypeId t, int need) {
  for (int k = need; k <= state.max_free(t); ++k) {
    if (state.CountWithFree(t, k) == 0) continue;
    return NodeId(state.NodesWithFree(t, k).FindFirst());
  }
  return NodeId::Invalid();
}

// placement/binpack: each task on the node with the fewest free GPUs that fit it, so
// partly used nodes fill up before empty ones are touched. GPUs: lowest index.
class BinpackPlacement final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "placement/binpack"; }
  bool Place(ClusterState& state, JobId job, int tasks, int g, GpuTypeId t,
             Allocation* out) const override {
    for (int i = 0; i < tasks; ++i) {
      NodeId n = BestFitNode(state, t, g);
      if (!n.valid()) return false;
      PutTasks(state, job, n, t, 1, g, PickLowest, out);
    }
    return true;
  }
};

// placement/spread: each task on the node with the most free GPUs (load balancing,
// fewest tasks sharing a machine). GPUs: lowest index.
class SpreadPlacement final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "placement/spread"; }
  bool Place(ClusterState& state, JobId job, int tasks, int g, GpuTypeId t,
             Allocation* out) const override {
    for (int i = 0; i < tasks; ++i) {
      NodeId n = NodeId::Invalid();
      for (int k = state.max_free(t); k >= g && !n.valid(); --k) {
        if (state.CountWithFree(t, k) > 0) n = NodeId(state.NodesWithFree(t, k).FindFirst());
      }
      if (!n.valid()) return false;
      PutTasks(state, job, n, t, 1, g, PickLowest, out);
    }
    return true;
  }
};

// placement/topology: a gang goes to the fewest NVLink domains, then nodes, then racks.
//  1. all tasks on one node if any node has room (best fit: the fullest such node);
//  2. else inside one multi-node NVLink domain (NVL72-style), best fit;
//  3. else inside one rack, best fit (the rack left with the least room);
//  4. else across racks, the roomiest racks first so the gang touches as few as possible.
// Inside a chosen group, nodes are filled largest-room first, finishing on the best-fit
// node, and GPUs inside a node are chosen to touch the fewest NVLink domains. Small jobs
// thus pack into partly used nodes, keeping whole nodes and racks free for big gangs.
class TopologyPlacement final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "placement/topology"; }

  bool Place(ClusterState& state, JobId job, int tasks, int g, GpuTypeId t,
             Allocation* out) const override {
    // 1. One node. A single task additionally prefers a node where it fits in one
    // NVLink domain.
    if (int64_t{tasks} * g <= state.max_free(t)) {
      NodeId n = tasks == 1 ? SingleTaskNode(state, t, g) : BestFitNode(state, t, tasks * g);
      if (n.valid()) {
        PutTasks(state, job, n, t, tasks, g, PickGpusByDomain, out);
        return true;
      }
    }
    // 2 and 3. One multi-node domain, then one rack.
    for (const auto* groups : {&state.DomainGroups(t), &state.RackGroups(t)}) {
      uint32_t best = UINT32_MAX;
      int64_t best_cap = INT64_MAX;
      for (uint32_t gi : *groups) {
        int64_t cap = state.GroupTaskCapacity(gi, g);
        if (cap >= tasks && cap < best_cap) {
          best = gi;
          best_cap = cap;
          if (cap == tasks) break;  // an exact fit cannot be beaten
        }
      }
      if (best != UINT32_MAX) return FillGroup(state, job, best, tasks, g, out) == 0;
    }
    // 4. Across racks, roomiest first (ties: lower rack).
    std::vector<std::pair<int64_t, uint32_t>> racks;
    for (uint32_t gi : state.RackGroups(t)) {
      int64_t cap = state.GroupTaskCapacity(gi, g);
      if (cap > 0) racks.emplace_back(-cap, gi);
    }
    std::sort(racks.begin(), racks.end());
    int left = tasks;
    for (auto [neg_cap, gi] : racks) {
      left = FillGroup(state, job, gi, left, g, out);
      if (left == 0) return true;
    }
    return false;
  }

 private:
  static NodeId SingleTaskNode(const ClusterState& state, GpuTypeId t, int g) {
    constexpr int kCandidatesPerBucket = 8;
    NodeId fallback = NodeId::Invalid();
    for (int k = g; k <= state.max_free(t); ++k) {
      if (state.CountWithFree(t, k) == 0) continue;
      const IdBitset& set = state.NodesWithFree(t, k);
      int seen = 0;
      for (uint32_t id = set.FindFirst(); id != IdBitset::kNone && seen < kCandidatesPerBucket;
           id = set.FindNext(id + 1), ++seen) {
        NodeId n(id);
        const auto& node = state.cluster().node(n);
        if (!fallback.valid()) fallback = n;
        if (node.domain_masks.size() <= 1) return n;
        for (uint64_t dm : node.domain_masks) {
          if (std::popcount(state.free_mask(n, t) & dm) >= g) return n;
        }
      }
    }
    return fallback;
  }

  // Places up to `tasks` tasks inside group `gi`; returns how many are left.
  static int FillGroup(ClusterState& state, JobId job, uint32_t gi, int tasks, int g,
                       Allocation* out) {
    const Group& group = state.group(gi);
    const GpuTypeId t = group.gpu_type;
    while (tasks > 0) {
      // Best fit for the remainder if one node can take it all; else the roomiest node.
      NodeId fit = NodeId::Invalid(), roomiest = NodeId::Invalid();
      int fit_room = INT32_MAX, max_room = 0;
      for (NodeId n : group.nodes) {
        int room = state.free_gpus(n, t) / g;
        if (room >= tasks && room < fit_room) {
          fit = n;
          fit_room = room;
        }
        if (room > max_room) {
          roomiest = n;
          max_room = room;
        }
      }
      if (fit.valid()) {
        PutTasks(state, job, fit, t, tasks, g, PickGpusByDomain, out);
        return 0;
      }
      if (!roomiest.valid()) return tasks;
      PutTasks(state, job, roomiest, t, max_room, g, PickGpusByDomain, out);
      tasks -= max_room;
    }
    return 0;
  }
};

}  // namespace

bool PlaceShares(ClusterState& state, JobId job, int tasks, int32_t milli, GpuTypeId t,
                 Allocation* out) {
  out->share_milli = milli;
  for (int i = 0; i < tasks; ++i) {
    NodeId node;
    int gpu = -1;
    if (!state.BestSharedGpu(t, milli, &node, &gpu)) {
      node = BestFitNode(state, t, 1);
      if (!node.valid()) return false;
      gpu = std::countr_zero(state.free_mask(node, t));
    }
    state.AllocateShare(job, node, gpu, milli);
    out->tasks.push_back({node, uint64_t{1} << gpu});
  }
  return true;
}

bool PlaceNear(ClusterState& state, JobId job, int tasks, int g, GpuTypeId t,
               const std::vector<NodeId>& near, Allocation* out) {
  if (tasks <= 0 || g <= 0) return false;
  const model::Cluster& cluster = state.cluster();
  const auto usable = [&](NodeId n) {
    return n.valid() && n.value() < cluster.nodes().size() && state.schedulable(n) &&
           state.free_gpus(n, t) > 0;
  };
  // The block: the near nodes (deduplicated, in order), then their racks' other nodes.
  std::vector<NodeId> first;
  std::vector<uint32_t> racks;
  for (NodeId n : near) {
    if (!n.valid() || n.value() >= cluster.nodes().size()) continue;  // not trusted
    // A full or lost near node still names the rack to look in.
    const uint32_t rack = state.rack_group(n, t);  // UINT32_MAX: no devices of type t
    if (rack != UINT32_MAX && std::find(racks.begin(), racks.end(), rack) == racks.end()) {
      racks.push_back(rack);
    }
    if (!usable(n) || std::find(first.begin(), first.end(), n) != first.end()) continue;
    first.push_back(n);
  }
  std::vector<NodeId> rest;
  for (uint32_t gi : racks) {
    for (NodeId n : state.group(gi).nodes) {
      if (usable(n) && std::find(first.begin(), first.end(), n) == first.end()) {
        rest.push_back(n);
      }
    }
  }
  // Best fit among the rest: fewest free GPUs first (ties: lower id).
  std::stable_sort(rest.begin(), rest.end(), [&](NodeId a, NodeId b) {
    const int fa = state.free_gpus(a, t), fb = state.free_gpus(b, t);
    return fa != fb ? fa < fb : a.value() < b.value();
  });
  int64_t room = 0;
  for (const auto* list : {&first, &rest}) {
    for (NodeId n : *list) room += state.free_gpus(n, t) / g;
  }
  if (room < tasks) return false;  // decided before allocating anything
  int left = tasks;
  for (const auto* list : {&first, &rest}) {
    for (NodeId n : *list) {
      const int take = std::min(left, state.free_gpus(n, t) / g);
      if (take > 0) PutTasks(state, job, n, t, take, g, PickGpusByDomain, out);
      left -= take;
      if (left == 0) return true;
    }
  }
  return left == 0;
}

std::unique_ptr<PlacementPolicy> MakeBinpackPlacement() {
  return std::make_unique<BinpackPlacement>();
}
std::unique_ptr<PlacementPolicy> MakeSpreadPlacement() {
  return std::make_unique<SpreadPlacement>();
}
std::unique_ptr<PlacementPolicy> MakeTopologyPlacement() {
  return std::make_unique<TopologyPlacement>();
}

}  // namespace baton::sched
