// ControlPlane's private bookkeeping types, shared by its two source files.
#pragma once

#include <set>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "baton/server/control_plane.h"
#include "baton/server/node_health.h"

namespace baton::server {

inline NodeHealthOptions HealthOptionsOf(const ControlPlaneOptions& o) {
  NodeHealthOptions h;
  h.not_ready_after = o.not_ready_after;
  h.lost_after = o.lost_after;
  h.mass_silence_fraction = o.mass_silence_fraction;
  h.mass_silence_min_nodes = o.mass_silence_min_nodes;
  h.stall_after = o.stall_after;
  return h;
}

struct ControlPlane::JobEntry {
  model::JobRecord rec;
  // Tasks of attempt `live_attempt` (the last one) that may still run on an agent: set
  // when StartTask goes out, cleared by an exit report or a lost node.
  int32_t live_attempt = 0;
  std::vector<uint8_t> alive;
  // Per task, the attempt number the tracked process was started under (StartTask.attempt;
  // model::TaskAttempt of the attempt): earlier than live_attempt for a task that carried
  // on while a failed sibling was restarted in place.
  std::vector<int32_t> task_attempt;
  int32_t alive_count = 0;
  // Tasks of the open attempt that reported running.
  std::vector<uint8_t> running;
  Time starting_since;
  bool in_sched = false;         // the scheduler knows it (queued or holding GPUs)
  bool release_pending = false;  // attempt over, GPUs held until its tasks are gone
  std::string unplaceable;       // why the current fleet can never run it, if so
  std::vector<std::function<void()>> deferred;  // waiting for a failed write to succeed
  bool started = false;  // has reached running once (start latency is observed once)

  // The attempt number task `t`'s tracked process runs under.
  int32_t Tracked(size_t t) const {
    return t < task_attempt.size() ? task_attempt[t] : live_attempt;
  }
};

struct ControlPlane::NodeEntry {
  v1::Node info;  // name, GPUs, rack, cpus, memory, address as registered
  std::string log_endpoint;
  v1::NodeState state = v1::NODE_STATE_NOT_READY;
  std::string reason;
  Time last_seen;
  int64_t session = 0;  // 0 = no stream
  std::shared_ptr<AgentSink> sink;
  // Tasks the agent still runs that no attempt wants (job id, attempt, task), stopped
  // but not yet confirmed gone: their GPUs may be busy, so the node takes no new work.
  std::set<std::tuple<std::string, int32_t, int32_t>> strays;
  // The last Register came from a new agent process (its instance_id changed): a task it
  // does not mention may have started under the old process (and been killed by its
  // leftover sweep), so it is never started again under the same attempt.
  bool agent_restarted = false;
  // Drained by an operator (persisted in the node record as NODE_STATE_DRAINED): takes
  // no new work whatever its health.
  bool drained = false;
  std::string drain_reason;
  // Health (control_plane_health.cc). A node drained for health stays drained across
  // agent reconnects; one drained by its health check is restored when the check passes.
  std::string health_drain;          // why the node is drained; "" = not drained for health
  bool drained_by_check = false;     // health_drain came from the health-check command
  uint64_t drained_gpus = 0;         // GPU index bits drained for health
  std::map<int32_t, std::string> gpu_health;  // GPU index -> why drained

  // Neither an operator nor a health event has drained it. Such a node is shown as
  // NODE_STATE_DRAINED (RenderNode) while `state` keeps tracking its liveness.
  bool takes_work() const { return !drained && health_drain.empty(); }
};

}  // namespace baton::server
