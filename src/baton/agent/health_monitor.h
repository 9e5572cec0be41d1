// HealthMonitor: the agent's watch on hardware health, on one thread of its own.
//
// It waits for NVML events (GpuDiscovery::WaitForEvents: Xid, ECC) and hands each to
// Agent::OnGpuEvent, and every `check_interval` runs the node's health-check command
// (like Slurm's HealthCheckProgram: `/bin/sh -c <command>`; exit 0 = healthy, anything
// else or running past `check_timeout` = unhealthy, with the command's last output as the
// reason) and hands the result to Agent::SetHealthCheckResult.
//
// Not responsible for: deciding what an event means (gpu/xid.h) or acting on it (the
// control plane drains, the agent only reports).
//
// Thread-safety: construct and destroy from one thread; the destructor stops the thread
// (within the event wait's 500 ms slice or the running command's timeout).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "baton/agent/agent.h"
#include "baton/agent/gpu/gpu_discovery.h"
#include "baton/common/status.h"

namespace baton::agent {

struct HealthMonitorOptions {
  std::string check_command;  // empty = no health check
  std::chrono::milliseconds check_interval{60000};
  std::chrono::milliseconds check_timeout{30000};
};

class HealthMonitor {
 public:
  HealthMonitor(Agent& agent, GpuDiscovery& discovery, HealthMonitorOptions options);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

 private:
  void Run(std::stop_token stop);

  Agent& agent_;
  GpuDiscovery& discovery_;
  const HealthMonitorOptions options_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: started after everything above exists
};

// Runs `command` with /bin/sh -c, stdout and stderr captured. Returns "" when it exits 0
// within `timeout`; otherwise why not ("exit code 1: <last output>", "timed out after
// 30s" — the command is killed then). Used by HealthMonitor; exposed for tests.
std::string RunHealthCheck(const std::string& command, std::chrono::milliseconds timeout);

}  // namespace baton::agent
