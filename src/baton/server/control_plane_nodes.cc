// ControlPlane: node health (not-ready / lost, the mass-silence and stall guards) and the
// quarantine of nodes that come back still running tasks nobody wants.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <bit>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_internal.h"
#include "baton/server/gpu_devices.h"
#include "baton/server/node_health.h"

namespace baton::server {
void ControlPlane::CheckNodeHealth(Time now) {
  const NodeHealthOptions o = HealthOptionsOf(options_);
  if (last_health_check_) {
    const Duration gap = now - *last_health_check_;
    const Duration stall = DetectStall(gap, o);
    if (stall > Duration(0)) {
      // We were not looking (paused, overloaded, or the clock jumped forward): that time
      // is not the agents' silence.
      stats_.stalls_detected++;
      spdlog::warn(
          "control plane: {} passed between two health checks (stalled process or clock "
          "jump); not counting it as silence of the {} node(s)",
          FormatDuration(stall), nodes_.size());
      for (auto& [name, node] : nodes_) node->last_seen = std::min(now, node->last_seen + stall);
    } else if (gap < Duration(0)) {
      // The clock stepped back: a last-heard time in the future would make its node
      // immune to silence until the clock caught up.
      stats_.stalls_detected++;
      spdlog::warn("control plane: the clock stepped back by {}; last-heard times clamped",
                   FormatDuration(-gap));
      for (auto& [name, node] : nodes_) node->last_seen = std::min(now, node->last_seen);
    }
  }
  last_health_check_ = now;

  std::vector<NodeSilence> in;
  in.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) {
    in.push_back({name, now - node->last_seen, node->state == v1::NODE_STATE_READY,
                  node->state == v1::NODE_STATE_LOST});
  }
  HealthVerdict v = EvaluateNodeHealth(in, o);
  for (const std::string& name : v.not_ready) {
    NodeEntry& node = *nodes_.at(name);
    SetNodeState(node, v1::NODE_STATE_NOT_READY,
                 fmt::format("no heartbeat for {}", FormatDuration(now - node.last_seen)));
  }
  if (v.evictions_suspended) {
    if (!evictions_suspended_) spdlog::error("node health: {}", v.why);
    for (const std::string& name : v.held) {
      NodeEntry& node = *nodes_.at(name);
      node.reason =
          fmt::format("no heartbeat for {}; {}", FormatDuration(now - node.last_seen), v.why);
    }
  } else if (evictions_suspended_) {
    spdlog::warn("node health: the mass silence is over; silent nodes are lost again after {}",
                 FormatDuration(options_.lost_after));
  }
  evictions_suspended_ = v.evictions_suspended;
  for (const std::string& name : v.lost) {
    NodeEntry& node = *nodes_.at(name);
    NodeLost(node, now, fmt::format("no heartbeat for {}", FormatDuration(now - node.last_seen)));
  }
}

void ControlPlane::MaybeReady(NodeEntry& node) {
  if (node.session == 0 || node.state == v1::NODE_STATE_LOST) return;
  if (!node.strays.empty()) {
    SetNodeState(node, v1::NODE_STATE_NOT_READY,
                 fmt::format("stopping {} task(s) that no attempt wants; no new work until "
                             "they are gone",
                             node.strays.size()));
    return;
  }
  SetNodeState(node, v1::NODE_STATE_READY, "");
}

v1::Node ControlPlane::RenderNode(const NodeEntry& n) const {
  v1::Node node = n.info;
  node.set_state(!n.takes_work() && n.state != v1::NODE_STATE_LOST ? v1::NODE_STATE_DRAINED
                                                                    : n.state);
  node.set_reason(n.reason);
  node.set_health_drain(n.health_drain);
  node.set_health_drain_by_check(n.drained_by_check);
  if (!n.takes_work()) {
    const std::string& why = n.drained ? n.drain_reason : n.health_drain;
    node.set_reason(n.state == v1::NODE_STATE_READY || n.reason.empty()
                        ? why
                        : fmt::format("{}; {}", why, n.reason));
  }
  for (v1::Gpu& g : *node.mutable_gpus()) {
    if (auto row = telemetry_.Latest(n.info.name(), g.uuid())) {
      *g.mutable_stats() = ToGpuStats(*row);
    }
    if (auto h = n.gpu_health.find(g.index()); h != n.gpu_health.end()) {
      g.set_drained(true);
      g.set_health_reason(h->second);
    }
  }
  if (auto id = node_ids_.find(n.info.name()); id != node_ids_.end() && sched_) {
    RenderAllocations(cluster_->node(id->second), id->second, sched_->state(), &node);
  }
  return node;
}

Result<v1::Node> ControlPlane::Drain(const std::string& name, std::string reason) {
  BATON_RETURN_IF_ERROR(CheckWritable());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return NotFound(fmt::format("node '{}' not found", name));
  NodeEntry& node = *it->second;
  const Time now = clock_->Now();
  node.drained = true;
  node.drain_reason = reason.empty() ? "drained by an operator" : "drained: " + reason;
  if (auto id = node_ids_.find(name); id != node_ids_.end() && sched_) {
    sched_->mutable_state().SetSchedulable(id->second, false);
  }
  PersistNode(node);
  // Preempt what runs there: SIGTERM, the job's notice to checkpoint, then SIGKILL. The
  // GPUs stay booked until the tasks are confirmed gone (AfterAttemptEnded).
  int preempted = 0;
  for (JobId id : std::vector<JobId>(active_.begin(), active_.end())) {
    JobEntry& e = *jobs_.at(id);
    const model::Attempt* a = model::OpenAttempt(e.rec);
    if (!a) continue;
    bool on_node = false;
    for (const model::TaskPlacement& p : a->placements) on_node |= p.node == name;
    if (!on_node) continue;
    model::JobEventData ev = model::JobEventData::Preempted(a->number);
    ev.detail = fmt::format("node {} drained", name);
    if (!Transition(e, ev, now)) continue;
    ++preempted;
    AfterAttemptEnded(e, /*scheduler_requeued=*/false);
    Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
  }
  spdlog::warn("node {} drained ({}); {} job(s) preempted gracefully", name, node.drain_reason,
               preempted);
  work_ = true;
  work_cv_.notify_all();
  return RenderNode(node);
}

Result<v1::Node> ControlPlane::Undrain(const std::string& name) {
  BATON_RETURN_IF_ERROR(CheckWritable());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return NotFound(fmt::format("node '{}' not found", name));
  NodeEntry& node = *it->second;
  if (node.takes_work() && node.drained_gpus == 0) return RenderNode(node);
  // An operator's undrain also clears health drains: the node's and its GPUs'.
  if (!node.health_drain.empty() || node.drained_gpus != 0) {
    spdlog::info("node {}: health drains cleared by undrain ({}; {} GPU(s))", name,
                 node.health_drain.empty() ? "node not drained for health" : node.health_drain,
                 node.gpu_health.size());
  }
  node.drained = false;
  node.drain_reason.clear();
  node.health_drain.clear();
  node.drained_by_check = false;
  node.drained_gpus = 0;
  node.gpu_health.clear();
  ApplyGpuDrains(node);
  PersistNode(node);
  if (auto id = node_ids_.find(name); id != node_ids_.end() && sched_) {
    sched_->mutable_state().SetSchedulable(
        id->second, node.state == v1::NODE_STATE_READY && node.takes_work());
  }
  spdlog::info("node {} undrained", name);
  work_ = true;
  work_cv_.notify_all();
  return RenderNode(node);
}

}  // namespace baton::server
