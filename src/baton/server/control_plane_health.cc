// ControlPlane: GPU and node health — what the agents' health events do.
//
// An agent classifies each NVML event with its Xid table (agent/gpu/xid.h) and sends the
// action; here it is carried out:
//   IGNORE        logged;
//   RESTART_TASK  the tasks on that GPU fail with the event as the reason (the job's
//                 restart policy decides whether it runs again);
//   DRAIN_GPU     the same, and the GPU is given no new work (ClusterState disables it);
//   DRAIN_NODE    every task on the node fails and the node is DRAINED.
// A node's failing health-check command drains the node the same way; unlike hardware
// events, it is undone when the check passes again. Drains are kept in the node's record
// in the store (PersistNode), so they survive a control-plane restart; `baton undrain`
// clears them. A drained GPU takes its MIG instances with it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_internal.h"

namespace baton::server {

void ControlPlane::FillGpuDetails(const v1::Register& reg, v1::Node* node) {
  for (v1::Gpu& g : *node->mutable_gpus()) {
    if (g.index() < 0 || g.index() >= reg.inventory().gpus_size()) continue;
    const v1::AgentGpu& a = reg.inventory().gpus(g.index());
    g.set_numa_node(a.numa_node());
    g.set_pci_bus_id(a.pci_bus_id());
    g.clear_mig_profiles();
    for (const v1::MigDevice& m : a.mig_devices()) g.add_mig_profiles(m.profile());
  }
}

void ControlPlane::ApplyGpuDrains(const NodeEntry& node) {
  if (!sched_ || !cluster_) return;
  auto id = node_ids_.find(node.info.name());
  if (id == node_ids_.end()) return;
  const model::Node& n = cluster_->node(id->second);
  sched_->mutable_state().SetDisabledGpus(
      id->second, n.WithMigInstances(node.drained_gpus) & n.all_gpus_mask());
  work_ = true;
}

void ControlPlane::FailTasksOnNode(NodeEntry& node, uint64_t gpus, const std::string& why,
                                   Time now) {
  const std::string& name = node.info.name();
  for (JobId id : std::vector<JobId>(active_.begin(), active_.end())) {
    JobEntry& e = *jobs_.at(id);
    const model::Attempt* a = model::OpenAttempt(e.rec);
    if (!a) continue;
    for (size_t t = 0; t < a->placements.size(); ++t) {
      const model::TaskPlacement& p = a->placements[t];
      if (p.node != name) continue;
      bool hit = false;
      for (int32_t g : p.gpus) hit = hit || (g >= 0 && g < 64 && ((gpus >> g) & 1));
      if (!hit && gpus != ~uint64_t{0}) continue;
      // Exit code 1: the task did not end well; the reason says why.
      model::JobEventData ev =
          model::JobEventData::TaskExited(a->number, static_cast<int32_t>(t), 1);
      ev.detail = why.substr(0, 1024);
      if (Transition(e, ev, now)) {
        spdlog::warn("job {}: task {} failed on node {}: {}", id, t, name, why);
        AfterAttemptEnded(e, false);  // stops what still runs; GPUs return once it is gone
        Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
      }
      break;  // the attempt is over
    }
  }
  work_ = true;
  work_cv_.notify_all();
}

void ControlPlane::HandleGpuEvent(NodeEntry& node, const v1::GpuEvent& ev, Time now) {
  const std::string& name = node.info.name();
  const int32_t index = ev.index();
  const bool gpu_ok = index >= 0 && index < node.info.gpus_size();
  const std::string what =
      gpu_ok ? fmt::format("GPU {} ({}): {}", index, node.info.gpus(index).uuid(),
                           ev.description())
             : ev.description();
  switch (ev.action()) {
    case v1::GPU_ACTION_RESTART_TASK:
      if (!gpu_ok) break;
      spdlog::warn("node {}: {}; failing the tasks on it", name, what);
      FailTasksOnNode(node, uint64_t{1} << index, what, now);
      return;
    case v1::GPU_ACTION_DRAIN_GPU:
      if (!gpu_ok) break;
      spdlog::warn("node {}: {}; draining the GPU", name, what);
      node.drained_gpus |= uint64_t{1} << index;
      node.gpu_health[index] = what;
      ApplyGpuDrains(node);
      PersistNode(node);
      FailTasksOnNode(node, uint64_t{1} << index, what + "; GPU drained", now);
      return;
    case v1::GPU_ACTION_DRAIN_NODE: {
      spdlog::warn("node {}: {}; draining the node", name, what);
      const bool by_check = ev.kind() == v1::GpuEvent::KIND_HEALTH_CHECK;
      if (node.health_drain.empty() || !by_check) {
        node.health_drain = what;
        node.drained_by_check = by_check;
      }
      if (gpu_ok) {
        node.drained_gpus |= uint64_t{1} << index;
        node.gpu_health[index] = what;
        ApplyGpuDrains(node);
      }
      ApplySchedulable(node);
      PersistNode(node);
      // The event stream says why the node left service (baton events, the dashboard).
      RecordNodeEvent(node, v1::EVENT_TYPE_NODE_DRAINED, what);
      FailTasksOnNode(node, ~uint64_t{0}, what + "; node drained", now);
      return;
    }
    default:
      break;
  }
  spdlog::info("node {}: {} (no action)", name, what);
}

void ControlPlane::HandleHealthCheck(NodeEntry& node, const std::string& error) {
  // Failures arrive as DRAIN_NODE events; here only the recovery.
  if (!error.empty() || node.health_drain.empty() || !node.drained_by_check) return;
  spdlog::info("node {}: health check passes again; back in service", node.info.name());
  node.health_drain.clear();
  node.drained_by_check = false;
  ApplySchedulable(node);
  PersistNode(node);
  RecordNodeEvent(node, v1::EVENT_TYPE_NODE_READY, "health check passes again");
}

}  // namespace baton::server
