#include "baton/sched/cluster_state.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>

namespace baton::sched {
namespace {

[[noreturn]] void BookkeepingBug(const char* what, NodeId node, uint64_t mask) {
  std::fprintf(stderr, "baton: scheduler bookkeeping bug: %s on node %u mask %llx\n", what,
               node.value(), static_cast<unsigned long long>(mask));
  std::abort();
}

int64_t CapacityFromCounts(const int64_t* counts, int max_k, int g) {
  int64_t cap = 0;
  for (int k = g; k <= max_k; ++k) cap += counts[k] * (k / g);
  return cap;
}

}  // namespace

ClusterState::ClusterState(const model::Cluster& cluster) : cluster_(&cluster) {
  const int types = cluster.num_gpu_types();
  const auto num_nodes = static_cast<uint32_t>(cluster.nodes().size());
  buckets_.resize(types);
  counts_.resize(types);
  full_counts_.resize(types);
  rack_groups_.resize(types);
  domain_groups_.resize(types);
  open_shares_.resize(types);
  free_by_type_.assign(types, 0);
  for (int t = 0; t < types; ++t) {
    const int max_k = cluster.max_gpus_per_node(GpuTypeId(static_cast<uint16_t>(t)));
    buckets_[t].assign(max_k + 1, IdBitset(num_nodes));
    counts_[t].assign(max_k + 1, 0);
    full_counts_[t].assign(max_k + 1, 0);
  }
  nodes_.resize(num_nodes);
  first_gpu_.resize(num_nodes);
  uint32_t gpu = 0;
  for (const auto& node : cluster.nodes()) {
    NodeBook& b = nodes_[node.id.value()];
    first_gpu_[node.id.value()] = gpu;
    gpu += static_cast<uint32_t>(node.gpus.size());
    b.num_kinds = static_cast<uint8_t>(node.kinds.size());
    b.physical_gpus = static_cast<uint8_t>(node.physical_gpus);
    b.more = static_cast<uint32_t>(more_kinds_.size());
    for (size_t i = 0; i < node.kinds.size(); ++i) {
      KindBook kb;
      kb.type = node.kinds[i].type;
      kb.mask = node.kinds[i].mask;
      if (i == 0) {
        b.kind0 = kb;
      } else {
        more_kinds_.push_back(kb);
      }
    }
  }
  // Rack groups: per rack, one per type its nodes offer (ascending type), in rack order.
  for (const auto& rack : cluster.racks()) {
    std::map<uint16_t, std::vector<NodeId>> by_type;
    for (NodeId n : rack.nodes) {
      for (const model::DeviceKind& k : cluster.node(n).kinds) by_type[k.type.value()].push_back(n);
    }
    for (auto& [t, members] : by_type) {
      const auto gi = static_cast<uint32_t>(groups_.size());
      for (NodeId n : members) {
        NodeBook& b = nodes_[n.value()];
        for (uint32_t i = 0; i < b.num_kinds; ++i) {
          if (KindOf(b, i).type.value() == t) KindOf(b, i).rack_group = gi;
        }
      }
      rack_groups_[t].push_back(gi);
      groups_.push_back({Group::Kind::kRack, rack.id.value(), GpuTypeId(t), std::move(members)});
    }
  }
  for (const auto& dom : cluster.domains()) {
    if (!dom.spans_nodes) continue;
    const auto gi = static_cast<uint32_t>(groups_.size());
    domain_groups_[dom.gpu_type.value()].push_back(gi);
    for (NodeId n : dom.nodes) {
      NodeBook& b = nodes_[n.value()];
      for (uint32_t i = 0; i < b.num_kinds; ++i) {
        if (KindOf(b, i).type == dom.gpu_type) KindOf(b, i).domain_group = gi;
      }
    }
    groups_.push_back({Group::Kind::kDomain, dom.id.value(), dom.gpu_type, dom.nodes});
  }
  group_counts_.resize(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    group_counts_[g].assign(cluster.max_gpus_per_node(groups_[g].gpu_type) + 1, 0);
  }
  for (const auto& node : cluster.nodes()) {
    NodeBook& b = nodes_[node.id.value()];
    b.free_mask = node.all_gpus_mask();
    for (uint32_t i = 0; i < b.num_kinds; ++i) {
      KindBook& kb = KindOf(b, i);
      kb.offered = std::popcount(kb.mask);
      const int t = kb.type.value();
      buckets_[t][kb.offered].Insert(node.id.value());
      counts_[t][kb.offered]++;
      full_counts_[t][kb.offered]++;
      group_counts_[kb.rack_group][kb.offered]++;
      if (kb.domain_group != UINT32_MAX) group_counts_[kb.domain_group][kb.offered]++;
      free_by_type_[t] += kb.offered;
      free_total_ += kb.offered;
    }
  }
  owners_.assign(gpu, JobId::Invalid());
  share_used_.assign(gpu, 0);
  mig_in_use_.assign(gpu, 0);
}

void ClusterState::Reindex(const KindBook& kb, NodeId n, int old_offered, int new_offered) {
  const int t = kb.type.value();
  buckets_[t][old_offered].Erase(n.value());
  buckets_[t][new_offered].Insert(n.value());
  counts_[t][old_offered]--;
  counts_[t][new_offered]++;
  group_counts_[kb.rack_group][old_offered]--;
  group_counts_[kb.rack_group][new_offered]++;
  if (kb.domain_group != UINT32_MAX) {
    group_counts_[kb.domain_group][old_offered]--;
    group_counts_[kb.domain_group][new_offered]++;
  }
  free_by_type_[t] += new_offered - old_offered;
  free_total_ += new_offered - old_offered;
}

void ClusterState::Reoffer(NodeId n, uint64_t changed) {
  NodeBook& b = nodes_[n.value()];
  const uint64_t offer = b.schedulable ? b.free_mask & ~b.disabled : 0;
  for (uint32_t i = 0; i < b.num_kinds; ++i) {
    KindBook& kb = KindOf(b, i);
    if ((kb.mask & changed) == 0) continue;
    const int now = std::popcount(offer & kb.mask);
    if (now == kb.offered) continue;
    Reindex(kb, n, kb.offered, now);
    kb.offered = now;
  }
}

void ClusterState::CountAllocated(NodeId n, uint64_t mask, int sign) {
  const int p = nodes_[n.value()].physical_gpus;
  const uint64_t physical = p >= 64 ? ~uint64_t{0} : (uint64_t{1} << p) - 1;
  allocated_total_ += sign * std::popcount(mask & physical);
  if ((mask & ~physical) == 0) return;
  const model::Node& node = cluster_->node(n);
  for (uint64_t m = mask & ~physical; m != 0; m &= m - 1) {
    const int parent = node.gpus[static_cast<size_t>(std::countr_zero(m))].parent;
    uint8_t& used = mig_in_use_[first_gpu_[n.value()] + static_cast<uint32_t>(parent)];
    if (sign > 0 && used++ == 0) allocated_total_++;
    if (sign < 0 && --used == 0) allocated_total_--;
  }
}

void ClusterState::Allocate(JobId job, NodeId node, uint64_t mask) {
  NodeBook& b = nodes_[node.value()];
  if (mask == 0 || (b.free_mask & mask) != mask) BookkeepingBug("allocate of busy GPUs", node, mask);
  b.free_mask &= ~mask;
  const uint32_t base = first_gpu_[node.value()];
  for (uint64_t m = mask; m != 0; m &= m - 1) owners_[base + std::countr_zero(m)] = job;
  CountAllocated(node, mask, +1);
  if (b.schedulable) Reoffer(node, mask);
}

void ClusterState::Release(JobId job, NodeId node, uint64_t mask) {
  NodeBook& b = nodes_[node.value()];
  const uint32_t base = first_gpu_[node.value()];
  for (uint64_t m = mask; m != 0; m &= m - 1) {
    if ((b.free_mask >> std::countr_zero(m)) & 1 || owners_[base + std::countr_zero(m)] != job) {
      BookkeepingBug("release of GPUs the job does not hold", node, mask);
    }
    owners_[base + std::countr_zero(m)] = JobId::Invalid();
  }
  b.free_mask |= mask;
  CountAllocated(node, mask, -1);
  if (b.schedulable) Reoffer(node, mask);
}

void ClusterState::SetSchedulable(NodeId node, bool schedulable) {
  NodeBook& b = nodes_[node.value()];
  if (b.schedulable == schedulable) return;
  b.schedulable = schedulable;
  Reoffer(node, ~uint64_t{0});
  for (uint64_t m = b.shared; m != 0; m &= m - 1) {
    IndexShare(node, std::countr_zero(m), ShareOffered(node, std::countr_zero(m)));
  }
}

void ClusterState::SetDisabledGpus(NodeId node, uint64_t mask) {
  NodeBook& b = nodes_[node.value()];
  if (b.disabled == mask) return;
  const uint64_t changed = b.disabled ^ mask;
  b.disabled = mask;
  Reoffer(node, changed);
  for (uint64_t m = b.shared & changed; m != 0; m &= m - 1) {
    IndexShare(node, std::countr_zero(m), ShareOffered(node, std::countr_zero(m)));
  }
}

// ---------------------------------------------------------------------------------------
// Shared GPUs.

bool ClusterState::ShareOffered(NodeId n, int gpu) const {
  const NodeBook& b = nodes_[n.value()];
  const uint64_t bit = uint64_t{1} << gpu;
  return b.schedulable && (b.shared & bit) && !(b.disabled & bit) &&
         share_used_[first_gpu_[n.value()] + static_cast<uint32_t>(gpu)] < 1000;
}

void ClusterState::IndexShare(NodeId n, int gpu, bool offered) {
  const int32_t room = 1000 - share_used_[first_gpu_[n.value()] + static_cast<uint32_t>(gpu)];
  auto& set = open_shares_[cluster_->node(n).gpus[static_cast<size_t>(gpu)].type.value()];
  const auto key = std::make_tuple(room, n.value(), gpu);
  if (offered) {
    set.insert(key);
  } else {
    set.erase(key);
  }
}

void ClusterState::AllocateShare(JobId job, NodeId node, int gpu, int32_t milli) {
  NodeBook& b = nodes_[node.value()];
  const uint64_t bit = uint64_t{1} << gpu;
  const uint32_t idx = first_gpu_[node.value()] + static_cast<uint32_t>(gpu);
  if (milli < 1 || milli > 999) BookkeepingBug("share out of range", node, bit);
  if ((b.shared & bit) == 0) {
    if ((b.free_mask & bit) == 0) BookkeepingBug("share of a busy GPU", node, bit);
    Allocate(kSharedGpu, node, bit);
    b.shared |= bit;
  } else {
    if (share_used_[idx] + milli > 1000) BookkeepingBug("share beyond the GPU's room", node, bit);
    IndexShare(node, gpu, false);
  }
  share_used_[idx] += milli;
  share_holders_[idx].emplace_back(job, milli);
  if (ShareOffered(node, gpu)) IndexShare(node, gpu, true);
}

void ClusterState::ReleaseShare(JobId job, NodeId node, int gpu, int32_t milli) {
  NodeBook& b = nodes_[node.value()];
  const uint64_t bit = uint64_t{1} << gpu;
  const uint32_t idx = first_gpu_[node.value()] + static_cast<uint32_t>(gpu);
  auto holders = share_holders_.find(idx);
  if ((b.shared & bit) == 0 || holders == share_holders_.end()) {
    BookkeepingBug("release of a share of an unshared GPU", node, bit);
  }
  auto it = std::find(holders->second.begin(), holders->second.end(), std::make_pair(job, milli));
  if (it == holders->second.end()) BookkeepingBug("release of a share not held", node, bit);
  IndexShare(node, gpu, false);
  holders->second.erase(it);
  share_used_[idx] -= milli;
  if (share_used_[idx] == 0) {
    share_holders_.erase(holders);
    b.shared &= ~bit;
    Release(kSharedGpu, node, bit);
  } else if (ShareOffered(node, gpu)) {
    IndexShare(node, gpu, true);
  }
}

int32_t ClusterState::share_used(NodeId n, int gpu) const {
  if (((nodes_[n.value()].shared >> gpu) & 1) == 0) return 0;
  return share_used_[first_gpu_[n.value()] + static_cast<uint32_t>(gpu)];
}

bool ClusterState::ShareFits(NodeId n, int gpu, int32_t milli) const {
  const NodeBook& b = nodes_[n.value()];
  const uint64_t bit = uint64_t{1} << gpu;
  if (!b.schedulable || (b.disabled & bit)) return false;
  const model::Node& node = cluster_->node(n);
  if (b.free_mask & bit) {
    return (node.kind_mask(node.gpus[static_cast<size_t>(gpu)].type) & bit) != 0;
  }
  return (b.shared & bit) && share_used(n, gpu) + milli <= 1000;
}

int64_t ClusterState::ShareCapacity(GpuTypeId t, int32_t milli) const {
  if (milli < 1 || milli > 1000) return 0;
  int64_t cap = FreeGpus(t) * (1000 / milli);
  const auto& set = open_shares_[t.value()];
  for (auto it = set.lower_bound({milli, 0, 0}); it != set.end(); ++it) {
    cap += std::get<0>(*it) / milli;
  }
  return cap;
}

int64_t ClusterState::NodeShareCapacity(NodeId n, GpuTypeId t, int32_t milli) const {
  if (milli < 1 || milli > 1000) return 0;
  int64_t cap = int64_t{free_gpus(n, t)} * (1000 / milli);
  const uint64_t shared = nodes_[n.value()].shared & cluster_->node(n).kind_mask(t);
  for (uint64_t m = shared; m != 0; m &= m - 1) {
    const int gpu = std::countr_zero(m);
    if (ShareOffered(n, gpu)) cap += (1000 - share_used(n, gpu)) / milli;
  }
  return cap;
}

bool ClusterState::BestSharedGpu(GpuTypeId t, int32_t milli, NodeId* node, int* gpu) const {
  const auto& set = open_shares_[t.value()];
  auto it = set.lower_bound({milli, 0, 0});
  if (it == set.end()) return false;
  *node = NodeId(std::get<1>(*it));
  *gpu = std::get<2>(*it);
  return true;
}

int64_t ClusterState::TaskCapacity(GpuTypeId t, int g) const {
  const auto& c = counts_[t.value()];
  const int max_k = static_cast<int>(c.size()) - 1;
  if (g <= 0 || g > max_k) return 0;
  return CapacityFromCounts(c.data(), max_k, g);
}

int64_t ClusterState::MaxTaskCapacity(GpuTypeId t, int g) const {
  const auto& c = full_counts_[t.value()];
  const int max_k = static_cast<int>(c.size()) - 1;
  if (g <= 0 || g > max_k) return 0;
  return CapacityFromCounts(c.data(), max_k, g);
}

int64_t ClusterState::GroupTaskCapacity(uint32_t g, int gpus_per_task) const {
  const auto& c = group_counts_[g];
  const int max_k = static_cast<int>(c.size()) - 1;
  if (gpus_per_task <= 0 || gpus_per_task > max_k) return 0;
  return CapacityFromCounts(c.data(), max_k, gpus_per_task);
}

}  // namespace baton::sched
