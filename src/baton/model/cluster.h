// Cluster: the fixed shape of a fleet — nodes, the GPUs on each, racks, NVLink domains.
//
// Built once from a ClusterSpec and then read-only; what is free or allocated lives in
// sched::ClusterState. Every GPU is a device with its own index, UUID, model, memory and
// NVLink domain, not a count. A node carries GPUs of one model (real machines do); a rack
// holds nodes of one pool. An NVLink domain is either part of one node (PCIe boxes with
// NVLink pairs) or a run of whole nodes inside one rack (NVL72-style racks).
//
// MIG: a MIG instance is a device of its own, of a GPU type of its own per profile
// ("<model>/1g.10gb", GpuTypeInfo::mig_profile set). A node's devices are its physical
// GPUs first (device i = NVML index i, so GPU index masks stay valid) and then the MIG
// instances of its MIG-enabled GPUs. A MIG-enabled GPU is a device that belongs to no
// kind: it is never offered, only its instances are. Node::kinds says which devices
// are offered as which type.
//
// Not responsible for: health, drain state, allocations (all in sched::ClusterState).
// Thread-safety: immutable after Build; safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/status.h"
#include "baton/model/cluster_spec.h"

namespace baton::model {

constexpr int kMaxGpusPerNode = 64;  // one 64-bit mask per node
constexpr int kMaxGpuTypes = 64;     // one 64-bit mask per job's allowed types

// A set of GPU types as a bit mask over GpuTypeId values.
using GpuTypeMask = uint64_t;
constexpr GpuTypeMask kAllGpuTypes = ~GpuTypeMask{0};

struct GpuTypeInfo {
  std::string name;          // as first written in the spec, e.g. "H100"
  int64_t memory_mib = 0;    // 0 = unknown
  // MIG instances of this profile ("1g.10gb"); "" = whole GPUs.
  std::string mig_profile;
  bool is_mig() const { return !mig_profile.empty(); }
};

struct GpuDevice {
  int index = 0;             // on its node, 0-based (the scheduler's bit in GPU masks)
  std::string uuid;          // stable identity; discovered from NVML on real machines
  GpuTypeId type;
  int64_t memory_mib = 0;
  DomainId domain;           // NVLink domain (a MIG instance: its GPU's)
  // A MIG instance: the index of its GPU on the node; -1 for a physical GPU.
  int parent = -1;
  // A physical GPU in MIG mode: offered only through its instances, never whole.
  bool mig_enabled = false;
};

// The devices of a node offered as one GPU type: all its GPUs on an ordinary node; on a
// node with MIG, one kind for its whole GPUs and one per MIG profile.
struct DeviceKind {
  GpuTypeId type;
  uint64_t mask = 0;         // device index bits
};

struct Node {
  NodeId id;
  std::string name;          // "<pool>-<index>"
  std::string pool;
  RackId rack;
  GpuTypeId gpu_type;        // the model of its physical GPUs
  std::vector<GpuDevice> gpus;  // every device: physical GPUs, then MIG instances
  // What is offered as which type, in ascending type order; kinds without devices are
  // left out. An ordinary node has one kind: {gpu_type, all_gpus_mask()}.
  std::vector<DeviceKind> kinds;
  int physical_gpus = 0;     // devices 0..physical_gpus-1 are the physical GPUs
  // GPU masks of the node's own NVLink domains (one entry when the node is one domain
  // or part of a multi-node domain). MIG instances are in their GPU's domain.
  std::vector<uint64_t> domain_masks;
  DomainId multi_node_domain;  // valid when the node's NVLink domain spans nodes
  int32_t cpus = 0;
  int64_t memory_mib = 0;

  // Devices (physical GPUs and MIG instances).
  int gpu_count() const { return static_cast<int>(gpus.size()); }
  uint64_t all_gpus_mask() const {
    return gpus.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << gpus.size()) - 1;
  }
  // Devices of kind `t` (0 when the node offers none).
  uint64_t kind_mask(GpuTypeId t) const {
    for (const DeviceKind& k : kinds) {
      if (k.type == t) return k.mask;
    }
    return 0;
  }
  // `physical` (GPU index bits) plus the MIG instances of those GPUs: what a health drain
  // of those GPUs takes out of service.
  uint64_t WithMigInstances(uint64_t physical) const;
};

struct Rack {
  RackId id;
  std::string name;          // "<pool>-rack<index>"
  GpuTypeId gpu_type;
  std::vector<NodeId> nodes;
};

struct Domain {
  DomainId id;
  GpuTypeId gpu_type;
  std::vector<NodeId> nodes;  // one node for an intra-node domain
  bool spans_nodes = false;
  int gpus = 0;
};

// One machine as its agent reported it, for Cluster::FromNodes.
struct NodeInventory {
  std::string name;
  std::string rack;                  // "" = the default rack
  std::string gpu_model;             // every GPU of a node has one model
  struct MigInstance {
    std::string uuid;                // "MIG-..."
    std::string profile;             // "1g.10gb"
    int64_t memory_mib = 0;
  };
  struct Gpu {
    std::string uuid;
    int64_t memory_mib = 0;
    // Node-local NVLink domain as the agent reports it: the lowest GPU index of the GPUs
    // this one reaches over NVLink (its own index when it has none). GPUs with the same
    // value share a domain; all 0 (the default) makes the node one domain.
    int nvlink_domain = 0;
    // MIG mode: the GPU is offered only as these instances (none = nothing offered).
    bool mig_enabled = false;
    std::vector<MigInstance> mig;
  };
  std::vector<Gpu> gpus;             // in index order: gpus[i] has index i
  int32_t cpus = 0;
  int64_t memory_mib = 0;
};

class Cluster {
 public:
  // Validates the spec (names, ranges, domain sizes) and lays out the fleet.
  static Result<Cluster> Build(const ClusterSpec& spec);
  // A homogeneous cluster: `nodes` nodes of `gpus_per_node` GPUs of `gpu_type`, racks of
  // `nodes_per_rack` (0 = one rack), one NVLink domain per node.
  static Result<Cluster> Homogeneous(int32_t nodes, int32_t gpus_per_node,
                                     std::string gpu_type, int32_t nodes_per_rack);
  // The fleet the control plane knows: nodes as registered by their agents, in the given
  // order (NodeId i is nodes[i]). A node's NVLink domains are its GPUs grouped by
  // Gpu::nvlink_domain (one domain per distinct value, in order of value); racks are
  // grouped by label and GPU type (a label with two GPU types is two racks of that name).
  // MIG instances of MIG-enabled GPUs become devices after the GPUs, one type per (model,
  // profile). Nodes must have 1..64 devices (GPUs and MIG instances together), unique
  // names, well-formed domains (each value names a GPU of the domain with the lowest
  // index) and MIG profiles; errors name the node.
  static Result<Cluster> FromNodes(const std::vector<NodeInventory>& nodes);

  const std::string& name() const { return name_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Rack>& racks() const { return racks_; }
  const std::vector<Domain>& domains() const { return domains_; }
  const std::vector<QueueSpec>& queues() const { return queues_; }
  const Node& node(NodeId id) const { return nodes_[id.value()]; }
  const Rack& rack(RackId id) const { return racks_[id.value()]; }
  const Domain& domain(DomainId id) const { return domains_[id.value()]; }

  int num_gpu_types() const { return static_cast<int>(gpu_types_.size()); }
  const GpuTypeInfo& gpu_type(GpuTypeId id) const { return gpu_types_[id.value()]; }
  // Case-insensitive lookup; invalid id when the cluster has no such type.
  GpuTypeId FindGpuType(std::string_view name) const;
  // The whole-GPU types a job's `gpu_type: NAME` means: the type named exactly so
  // (case-insensitive) if there is one; else every type whose name holds NAME as whole
  // words, so "H100" matches NVML's "NVIDIA H100 80GB HBM3" and "A100-SXM4" matches
  // "NVIDIA A100-SXM4-80GB" (words split at spaces, '-' and '_'). In type order.
  std::vector<GpuTypeId> MatchGpuTypes(std::string_view name) const;
  // "A100, H100" — for error messages.
  std::string GpuTypeNames() const;
  GpuTypeMask all_types_mask() const;
  // Types of whole GPUs, and of MIG instances.
  GpuTypeMask whole_types_mask() const { return all_types_mask() & ~mig_types_; }
  GpuTypeMask mig_types_mask() const { return mig_types_; }
  // The types a job with `allowed` may use: kAllGpuTypes means every whole-GPU type (a
  // MIG type is used only when named); anything else is taken as is.
  GpuTypeMask Resolve(GpuTypeMask allowed) const {
    return allowed == kAllGpuTypes ? whole_types_mask() : allowed & all_types_mask();
  }
  // MIG types of `profile` (case-insensitive), of any GPU model.
  GpuTypeMask MigTypes(std::string_view profile) const;
  // "1g.10gb, 3g.40gb" — the MIG profiles the fleet offers, for error messages.
  std::string MigProfileNames() const;

  // Physical GPUs (MIG instances not counted separately).
  int64_t total_gpus() const { return total_gpus_; }
  // Devices offered as type t (MIG instances for a MIG type).
  int64_t gpus_of_type(GpuTypeId t) const { return gpus_by_type_[t.value()]; }
  // Largest node size among nodes of type t.
  int max_gpus_per_node(GpuTypeId t) const { return max_gpus_by_type_[t.value()]; }
  int max_gpus_per_node() const;

 private:
  std::string name_;
  std::vector<GpuTypeInfo> gpu_types_;
  std::vector<Node> nodes_;
  std::vector<Rack> racks_;
  std::vector<Domain> domains_;
  std::vector<QueueSpec> queues_;
  std::vector<int64_t> gpus_by_type_;
  std::vector<int> max_gpus_by_type_;
  int64_t total_gpus_ = 0;
  GpuTypeMask mig_types_ = 0;
};

// Checks a node's NVLink domain labels (NodeInventory::Gpu::nvlink_domain, labels[i] for
// GPU i): each is the index of the domain's lowest GPU, so 0 <= labels[i] <= i and
// labels[labels[i]] == labels[i]. Errors read "gpus[i].nvlink_domain: ...".
Status CheckNvLinkDomains(const std::vector<int>& labels);

// Nominal memory of well-known GPU models in MiB (GiB x 1024), 0 when unknown
// ("H100" -> 81920).
int64_t DefaultGpuMemoryMib(std::string_view gpu_type);

}  // namespace baton::model
