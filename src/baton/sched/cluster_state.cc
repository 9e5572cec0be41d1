#include "baton/sched/cluster_state.h"

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
  for (const auto& rack : cluster.racks()) {
    Group g{Group::Kind::kRack, rack.id.value(), rack.gpu_type, rack.nodes};
    rack_groups_[rack.gpu_type.value()].push_back(static_cast<uint32_t>(groups_.size()));
    for (NodeId n : rack.nodes) nodes_[n.value()].rack_group = static_cast<uint32_t>(groups_.size());
    groups_.push_back(std::move(g));
  }
  for (const auto& dom : cluster.domains()) {
    if (!dom.spans_nodes) continue;
    Group g{Group::Kind::kDomain, dom.id.value(), dom.gpu_type, dom.nodes};
    domain_groups_[dom.gpu_type.value()].push_back(static_cast<uint32_t>(groups_.size()));
    for (NodeId n : dom.nodes) {
      nodes_[n.value()].domain_group = static_cast<uint32_t>(groups_.size());
    }
    groups_.push_back(std::move(g));
  }
  group_counts_.resize(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    group_counts_[g].assign(cluster.max_gpus_per_node(groups_[g].gpu_type) + 1, 0);
  }
  for (const auto& node : cluster.nodes()) {
    NodeBook& b = nodes_[node.id.value()];
    first_gpu_[node.id.value()] = gpu;
    gpu += static_cast<uint32_t>(node.gpus.size());
    b.free_mask = node.all_gpus_mask();
    b.offered = node.gpu_count();
    const int t = node.gpu_type.value();
    buckets_[t][b.offered].Insert(node.id.value());
    counts_[t][b.offered]++;
    full_counts_[t][b.offered]++;
    group_counts_[b.rack_group][b.offered]++;
    if (b.domain_group != UINT32_MAX) group_counts_[b.domain_group][b.offered]++;
    free_by_type_[t] += b.offered;
    free_total_ += b.offered;
  }
  owners_.assign(gpu, JobId::Invalid());
}

void ClusterState::Reindex(NodeId n, int old_offered, int new_offered) {
  if (old_offered == new_offered) return;
  NodeBook& b = nodes_[n.value()];
  const int t = cluster_->node(n).gpu_type.value();
  buckets_[t][old_offered].Erase(n.value());
  buckets_[t][new_offered].Insert(n.value());
  counts_[t][old_offered]--;
  counts_[t][new_offered]++;
  group_counts_[b.rack_group][old_offered]--;
  group_counts_[b.rack_group][new_offered]++;
  if (b.domain_group != UINT32_MAX) {
    group_counts_[b.domain_group][old_offered]--;
    group_counts_[b.domain_group][new_offered]++;
  }
  free_by_type_[t] += new_offered - old_offered;
  free_total_ += new_offered - old_offered;
}

void ClusterState::Allocate(JobId job, NodeId node, uint64_t mask) {
  NodeBook& b = nodes_[node.value()];
  if (mask == 0 || (b.free_mask & mask) != mask) BookkeepingBug("allocate of busy GPUs", node, mask);
  b.free_mask &= ~mask;
  const uint32_t base = first_gpu_[node.value()];
  for (uint64_t m = mask; m != 0; m &= m - 1) owners_[base + std::countr_zero(m)] = job;
  allocated_total_ += std::popcount(mask);
  if (b.schedulable) {
    const int old = b.offered;
    b.offered = std::popcount(b.free_mask & ~b.disabled);
    Reindex(node, old, b.offered);
  }
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
  allocated_total_ -= std::popcount(mask);
  if (b.schedulable) {
    const int old = b.offered;
    b.offered = std::popcount(b.free_mask & ~b.disabled);
    Reindex(node, old, b.offered);
  }
}

void ClusterState::SetSchedulable(NodeId node, bool schedulable) {
  NodeBook& b = nodes_[node.value()];
  if (b.schedulable == schedulable) return;
  b.schedulable = schedulable;
  const int old = b.offered;
  b.offered = schedulable ? std::popcount(b.free_mask & ~b.disabled) : 0;
  Reindex(node, old, b.offered);
}

void ClusterState::SetDisabledGpus(NodeId node, uint64_t mask) {
  NodeBook& b = nodes_[node.value()];
  if (b.disabled == mask) return;
  b.disabled = mask;
  const int old = b.offered;
  b.offered = b.schedulable ? std::popcount(b.free_mask & ~b.disabled) : 0;
  Reindex(node, old, b.offered);
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
