// ControlPlane's private bookkeeping types, shared by its two source files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "baton/server/control_plane.h"

namespace baton::server {

struct ControlPlane::JobEntry {
  model::JobRecord rec;
  // Tasks of attempt `live_attempt` (the last one) that may still run on an agent: set
  // when StartTask goes out, cleared by an exit report or a lost node.
  int32_t live_attempt = 0;
  std::vector<uint8_t> alive;
  int32_t alive_count = 0;
  // Tasks of the open attempt that reported running.
  std::vector<uint8_t> running;
  Time starting_since;
  bool in_sched = false;         // the scheduler knows it (queued or holding GPUs)
  bool release_pending = false;  // attempt over, GPUs held until its tasks are gone
  std::string unplaceable;       // why the current fleet can never run it, if so
  std::vector<std::function<void()>> deferred;  // waiting for a failed write to succeed
};

struct ControlPlane::NodeEntry {
  v1::Node info;  // name, GPUs, rack, cpus, memory, address as registered
  std::string log_endpoint;
  v1::NodeState state = v1::NODE_STATE_NOT_READY;
  std::string reason;
  Time last_seen;
  int64_t session = 0;  // 0 = no stream
  std::shared_ptr<AgentSink> sink;
  // Health (control_plane_health.cc). A node drained for health stays drained across
  // agent reconnects; one drained by its health check is restored when the check passes.
  std::string health_drain;          // why the node is drained; "" = not drained for health
  bool drained_by_check = false;     // health_drain came from the health-check command
  uint64_t drained_gpus = 0;         // GPU index bits drained for health
  std::map<int32_t, std::string> gpu_health;  // GPU index -> why drained
};

}  // namespace baton::server
