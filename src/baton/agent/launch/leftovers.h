// Leftover tasks: processes an earlier incarnation of this agent started and could not
// stop because it died (kill -9, OOM, a crash).
//
// Task processes run in their own process groups, so they outlive a killed agent. A new
// agent cannot re-adopt them (it has no pidfd, no exit status, no record of them), and
// the control plane must not book their GPUs for other work while they run. So before it
// registers, a restarted agent finds every process marked as its own
// (BATON_AGENT=<name>@<data dir> in the environment, which every task process and its
// children inherit; the data dir keeps two agents of one name on one machine apart, as in
// tests) and SIGKILLs their process groups, then waits until they are gone. The
// control plane then sees the tasks missing and ends their attempts (node lost for that
// attempt), which retries them under the job's restart policy.
//
// Limits: a process that clears its environment escapes the scan; processes of another
// user cannot be read (the agent runs as the task user or root).
//
// Thread-safety: free functions; call before the agent starts tasks.
#pragma once

#include <filesystem>
#include <string>

#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton::agent {

// The environment variable that marks a task process as this agent's.
inline constexpr char kAgentMarkerEnv[] = "BATON_AGENT";

// The marker's value for the agent of `node_name` keeping its state in `data_dir`.
std::string AgentMarker(const std::string& node_name, const std::filesystem::path& data_dir);

// Kills every process (other than this one) whose environment has BATON_AGENT=`agent_id`
// (an AgentMarker) and waits up to `wait` for them to go. Returns how many were killed;
// Unavailable when some are still there after `wait`.
Result<int> KillLeftoverTasks(const std::string& agent_id, Duration wait,
                              const std::string& proc_root = "/proc");

}  // namespace baton::agent
