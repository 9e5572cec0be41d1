// GPU devices between the control plane's records and the scheduler's books: MIG
// instances and GPU shares (docs/nvml.md, "MIG"; docs/specs.md, "Fractional GPUs").
//
// The scheduler numbers a node's devices (model::Node::gpus): its physical GPUs first
// (device i = GPU index i), then the MIG instances of its MIG-enabled GPUs. Job records
// and directives name GPUs by index and MIG instances by UUID (model::TaskPlacement), so
// a record stays valid when the fleet is rebuilt. These helpers translate, render what
// the books hold into ListNodes' view, and check what agents report of MIG.
//
// Free functions over plain data; no locking (callers hold the ControlPlane's lock).
#pragma once

#include <cstdint>
#include <string>

#include "baton/common/status.h"
#include "baton/model/cluster.h"
#include "baton/model/job_lifecycle.h"
#include "baton/model/job_spec.h"
#include "baton/sched/cluster_state.h"
#include "baton/sched/job.h"
#include "baton/v1/agent.pb.h"
#include "baton/v1/types.pb.h"

namespace baton::server {

// A scheduler placement as the job record keeps it: GPU indices, and for MIG instances
// their GPU's index plus the instance UUID.
model::TaskPlacement ToTaskPlacement(const model::Node& node, const sched::TaskPlacement& tp);

// The scheduler's devices of a recorded placement on `node`, and their type (the node's
// GPU model, or the MIG type of the instances). Errors: an index or UUID the node does
// not have (its MIG layout changed), or instances of different profiles.
Result<uint64_t> DevicesOf(const model::Node& node, const model::TaskPlacement& tp,
                           GpuTypeId* type);

// What a node record holds of its GPUs, for model::Cluster::FromNodes.
model::NodeInventory InventoryOf(const v1::Node& node);

// Checks the MIG part of an agent's inventory: instances only on MIG-enabled GPUs,
// UUIDs 1..253 characters and unique on the node (also against GPU UUIDs), profiles
// written like "1g.10gb", and at most 64 devices in all. Errors name the field
// ("register.inventory.gpus[0].mig_devices[1].profile: ...").
Status ValidateMigInventory(const v1::Inventory& inv);

// Whether two node records have the same MIG layout (mode and instance UUIDs per GPU).
bool SameMigLayout(const v1::Node& a, const v1::Node& b);

// Environment of a task with a fraction of a GPU (spec.gpus_per_task < 1):
// BATON_GPU_FRACTION ("0.5") and CUDA_MPS_ACTIVE_THREAD_PERCENTAGE (50, rounded up), so an
// MPS daemon, where the operator runs one, enforces the share. Nothing for whole GPUs.
void AddGpuShareEnv(const model::JobSpec& spec, google::protobuf::Map<std::string, std::string>* env);

// Fills what ListNodes shows of the books on `node` (index `id` in `state`; the
// scheduler's job ids are the control plane's): per GPU the job holding it whole, the
// share held by fractional tasks, the holder of each MIG instance, and gpus_allocated
// (physical GPUs in use).
void RenderAllocations(const model::Node& node, NodeId id, const sched::ClusterState& state,
                       v1::Node* out);

// Physical GPUs of `node` in use: held whole, shared, or with a MIG instance held.
uint64_t PhysicalGpusInUse(const model::Node& node, NodeId id, const sched::ClusterState& state);

}  // namespace baton::server
