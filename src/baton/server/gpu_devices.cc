#include "baton/server/gpu_devices.h"

#include <algorithm>
#include <bit>
#include <set>

#include <fmt/format.h>

#include "baton/common/quantity.h"
#include "baton/model/mig.h"

namespace baton::server {
namespace {

constexpr size_t kMaxUuidLength = 253;

// The scheduler's own owners (shared GPUs, backfill holds) are not jobs.
bool IsJob(JobId id) { return id.valid() && id.value() < JobId::kInvalidValue - 2; }

}  // namespace

model::TaskPlacement ToTaskPlacement(const model::Node& node, const sched::TaskPlacement& tp) {
  model::TaskPlacement out;
  out.node = node.name;
  for (uint64_t m = tp.gpus; m != 0; m &= m - 1) {
    const model::GpuDevice& dev = node.gpus[static_cast<size_t>(std::countr_zero(m))];
    if (dev.parent >= 0) {
      out.gpus.push_back(dev.parent);
      out.mig_devices.push_back(dev.uuid);
    } else {
      out.gpus.push_back(dev.index);
    }
  }
  return out;
}

Result<uint64_t> DevicesOf(const model::Node& node, const model::TaskPlacement& tp,
                           GpuTypeId* type) {
  uint64_t mask = 0;
  if (tp.mig_devices.empty()) {
    for (int32_t g : tp.gpus) {
      if (g < 0 || g >= node.physical_gpus) {
        return FailedPrecondition(fmt::format("node {} has no GPU {}", node.name, g));
      }
      mask |= uint64_t{1} << g;
    }
    *type = node.gpu_type;
    return mask;
  }
  if (tp.mig_devices.size() != tp.gpus.size()) {
    return FailedPrecondition("the placement names MIG instances for only some of its GPUs");
  }
  GpuTypeId t;
  for (size_t i = 0; i < tp.gpus.size(); ++i) {
    int found = -1;
    for (size_t d = static_cast<size_t>(node.physical_gpus); d < node.gpus.size(); ++d) {
      if (node.gpus[d].uuid == tp.mig_devices[i] && node.gpus[d].parent == tp.gpus[i]) {
        found = static_cast<int>(d);
      }
    }
    if (found < 0) {
      return FailedPrecondition(fmt::format("node {} has no MIG instance {} on GPU {}",
                                            node.name, tp.mig_devices[i], tp.gpus[i]));
    }
    const GpuTypeId dt = node.gpus[static_cast<size_t>(found)].type;
    if (t.valid() && dt != t) {
      return FailedPrecondition("the placement mixes MIG instances of different profiles");
    }
    t = dt;
    mask |= uint64_t{1} << found;
  }
  *type = t;
  return mask;
}

model::NodeInventory InventoryOf(const v1::Node& n) {
  model::NodeInventory ni;
  ni.name = n.name();
  ni.rack = n.rack();
  ni.gpu_model = n.gpus_size() > 0 ? n.gpus(0).model() : "";
  for (const v1::Gpu& g : n.gpus()) {
    model::NodeInventory::Gpu gpu;
    gpu.uuid = g.uuid();
    gpu.memory_mib = g.memory_mib();
    gpu.nvlink_domain = g.nvlink_domain();
    gpu.mig_enabled = g.mig_enabled();
    for (const v1::MigInstance& m : g.mig_instances()) {
      gpu.mig.push_back({m.uuid(), m.profile(), m.memory_mib()});
    }
    ni.gpus.push_back(std::move(gpu));
  }
  ni.cpus = n.cpus();
  ni.memory_mib = n.memory_mib();
  return ni;
}

Status ValidateMigInventory(const v1::Inventory& inv) {
  std::set<std::string> uuids;
  for (const v1::AgentGpu& g : inv.gpus()) uuids.insert(g.uuid());
  size_t devices = static_cast<size_t>(inv.gpus_size());
  for (int i = 0; i < inv.gpus_size(); ++i) {
    const v1::AgentGpu& g = inv.gpus(i);
    for (int j = 0; j < g.mig_devices_size(); ++j) {
      const v1::MigDevice& m = g.mig_devices(j);
      const std::string path = fmt::format("register.inventory.gpus[{}].mig_devices[{}]", i, j);
      if (!g.mig_enabled()) {
        return InvalidArgument(fmt::format("{}: GPU {} has MIG mode off", path, i));
      }
      if (m.uuid().empty() || m.uuid().size() > kMaxUuidLength) {
        return InvalidArgument(
            fmt::format("{}.uuid: must be 1 to {} characters", path, kMaxUuidLength));
      }
      if (!uuids.insert(m.uuid()).second) {
        return InvalidArgument(fmt::format("{}.uuid: '{}' appears twice", path, m.uuid()));
      }
      if (!model::IsMigProfile(m.profile())) {
        return InvalidArgument(fmt::format(
            "{}.profile: '{}' is not a MIG profile (like 1g.10gb)", path, m.profile()));
      }
      if (m.memory_mib() < 0) return InvalidArgument(path + ".memory_mib: negative");
      ++devices;
    }
  }
  if (devices > static_cast<size_t>(model::kMaxGpusPerNode)) {
    return InvalidArgument(fmt::format(
        "register.inventory.gpus: {} GPUs and {} MIG instances; at most {} devices per node",
        inv.gpus_size(), devices - static_cast<size_t>(inv.gpus_size()),
        model::kMaxGpusPerNode));
  }
  return Status::Ok();
}

bool SameMigLayout(const v1::Node& a, const v1::Node& b) {
  if (a.gpus_size() != b.gpus_size()) return false;
  for (int i = 0; i < a.gpus_size(); ++i) {
    const v1::Gpu& x = a.gpus(i);
    const v1::Gpu& y = b.gpus(i);
    if (x.mig_enabled() != y.mig_enabled() || x.mig_instances_size() != y.mig_instances_size()) {
      return false;
    }
    for (int j = 0; j < x.mig_instances_size(); ++j) {
      if (x.mig_instances(j).uuid() != y.mig_instances(j).uuid() ||
          x.mig_instances(j).profile() != y.mig_instances(j).profile()) {
        return false;
      }
    }
  }
  return true;
}

void AddGpuShareEnv(const model::JobSpec& spec,
                    google::protobuf::Map<std::string, std::string>* env) {
  if (!spec.mig_profile.empty() || spec.gpus_per_task >= Quantity::Whole(1)) return;
  const int64_t milli = spec.gpus_per_task.milli();
  (*env)["BATON_GPU_FRACTION"] = spec.gpus_per_task.ToString();
  // Percent of the GPU's SMs an MPS client may use; rounded up so a share never gets less.
  (*env)["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = std::to_string(std::max<int64_t>(1, (milli + 9) / 10));
}

uint64_t PhysicalGpusInUse(const model::Node& node, NodeId id, const sched::ClusterState& state) {
  uint64_t out = 0;
  for (int d = 0; d < node.gpu_count(); ++d) {
    if (!state.owner(id, d).valid()) continue;
    const int p = node.gpus[static_cast<size_t>(d)].parent;
    out |= uint64_t{1} << (p >= 0 ? p : d);
  }
  return out;
}

void RenderAllocations(const model::Node& node, NodeId id, const sched::ClusterState& state,
                       v1::Node* out) {
  out->set_gpus_allocated(std::popcount(PhysicalGpusInUse(node, id, state)));
  const int physical = std::min(node.physical_gpus, out->gpus_size());
  for (int g = 0; g < physical; ++g) {
    v1::Gpu* gpu = out->mutable_gpus(g);
    gpu->set_nvlink_domain(static_cast<int32_t>(node.gpus[static_cast<size_t>(g)].domain.value()));
    const JobId owner = state.owner(id, g);
    if (owner == sched::kSharedGpu) {
      gpu->set_shared(Quantity::FromMilli(state.share_used(id, g)).ToString());
    } else if (IsJob(owner)) {
      gpu->set_job_id(std::to_string(owner.value()));
    }
  }
  for (int d = node.physical_gpus; d < node.gpu_count(); ++d) {
    const model::GpuDevice& dev = node.gpus[static_cast<size_t>(d)];
    const JobId owner = state.owner(id, d);
    if (!IsJob(owner) || dev.parent >= out->gpus_size()) continue;
    for (v1::MigInstance& m : *out->mutable_gpus(dev.parent)->mutable_mig_instances()) {
      if (m.uuid() == dev.uuid) m.set_job_id(std::to_string(owner.value()));
    }
  }
}

}  // namespace baton::server
