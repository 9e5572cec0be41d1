// ControlPlane's private bookkeeping types, shared by its two source files.
#pragma once

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
  // The GPUs' telemetry from the last heartbeat, as the agent sent it.
  std::vector<v1::GpuTelemetry> telemetry;
};

}  // namespace baton::server
