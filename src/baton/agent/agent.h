// Agent: the node agent's core, independent of any transport.
//
// It turns Directives from the control plane (start/stop/signal a task) into Launcher
// calls and reports what happens as AgentMessages through a `send` callback. It owns no
// threads and no sockets: GrpcAgent (grpc_agent.h) carries the messages, unit tests call
// it directly with a fake `send`.
//
// Tasks. A StartTask launches `ranks` processes (0 means 1) of `command`, each with
//   env = start_task.env + RANK (NODE_RANK * ranks + local rank) + LOCAL_RANK
//         + CUDA_VISIBLE_DEVICES (gpu_indices joined by ","), NVIDIA_VISIBLE_DEVICES,
//         CUDA_DEVICE_ORDER=PCI_BUS_ID, HOME/USER/LOGNAME (task_env.h)
// as the user options.task_user picks for StartTask.run_as_user (never root by default),
// and its output in <data_dir>/tasks/<job_id>/<attempt>/task-<i>/rank-<r>.log; that
// directory and the checkpoint_dir are private to the task's user (0700). The task
// is RUNNING once every rank started, FAILED_TO_START (with a message) otherwise, and
// EXITED once every rank exited, with the first non-zero rank exit code (in exit order)
// or 0. When a rank fails, the others are stopped (SIGTERM, then SIGKILL after
// `sibling_stop_grace`) so a broken gang never hangs. A StopTask ends the task as
// STOPPED. A duplicate StartTask re-reports the task's status and starts nothing.
//
// Agents hold no authority (DESIGN.md): the agent reports every task it runs or that
// ended since the last Register in the next Register, and stops its tasks itself when the
// control plane has been away longer than `orphan_grace` (see Tick).
//
// `send` is called from whichever thread caused the message (a directive, a launcher exit
// callback), never with the agent's lock held, one call at a time and in the order the
// messages were produced. It must not block for long.
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "baton/agent/checkpoint_watch.h"
#include "baton/agent/gpu/gpu_discovery.h"
#include "baton/agent/host_topology.h"
#include "baton/agent/launch/launcher.h"
#include "baton/agent/launch/task_user.h"
#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/v1/agent.pb.h"

namespace baton::agent {

inline constexpr char kAgentVersion[] = "0.1.0";

struct AgentOptions {
  std::string node_name;
  std::string address = "127.0.0.1";  // what other nodes use as MASTER_ADDR
  std::string rack;
  std::string log_endpoint;  // host:port of AgentLogs; empty = none
  std::string logs_token;    // the secret AgentLogs accepts (Register.logs_token)
  std::filesystem::path data_dir;
  // Stop tasks after this long without a control plane.
  Duration orphan_grace = Seconds(600);
  // Grace given to the surviving ranks of a task when one rank fails, and to tasks the
  // agent stops on its own (orphaned, shutting down).
  Duration sibling_stop_grace = Seconds(10);
  // Simulated agent: no files, no directories; StartTask.simulate_duration_ms is passed
  // to the launcher (a SimulatedLauncher).
  bool simulated = false;
  // The host's CPU/NUMA layout, reported in Register and used to pin a GPU task's ranks
  // to its GPUs' NUMA node. nullopt = discover it with hwloc (a simulated agent reports
  // none and pins nothing).
  std::optional<HostTopology> host_topology;
  // The CPUs tasks may be pinned to (the agent's own affinity); empty = read it with
  // sched_getaffinity at start.
  std::vector<int> allowed_cpus;
  // Which user tasks run as (launch/task_user.h): by default the service user "nobody",
  // never root.
  TaskUserPolicy task_user;
};

// Where one rank's log is, and whether it can still grow.
struct LogLocation {
  std::filesystem::path path;
  bool finished = false;  // the task has ended (or is not known to run any more)
};

class Agent {
 public:
  using SendFn = std::function<void(const v1::AgentMessage&)>;

  // `discovery`, `launcher` and `clock` must outlive the agent. Discovery runs once here
  // (the inventory is what Register reports and what gpu_indices are checked against).
  Agent(AgentOptions options, GpuDiscovery& discovery, Launcher& launcher, const Clock& clock,
        SendFn send);
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  const AgentOptions& options() const { return options_; }
  // Random per Agent object (one per agent process), sent in Register.instance_id.
  const std::string& instance_id() const { return instance_id_; }
  // Where AgentLogs listens and the secret it accepts (sent in Register).
  void set_log_endpoint(std::string endpoint, std::string token = "");

  // The Register message for a new stream: inventory, and every task running or ended
  // since the previous Register. Resets the heartbeat sequence.
  v1::AgentMessage BuildRegister();
  // The next Heartbeat: sequence, GPU telemetry (GpuDiscovery::Sample, called without
  // the agent's lock; processes mapped to the tasks whose ranks they are) and the
  // health-check result.
  v1::AgentMessage BuildHeartbeat();

  // A GPU health event (GpuDiscovery::WaitForEvents): classified by the Xid table
  // (gpu/xid.h), logged, and sent to the control plane at once. A GPU whose event
  // drains it is reported unhealthy from then on.
  void OnGpuEvent(const GpuEventReport& report);
  // The node's health-check command's result: "" = healthy, else what it printed. A
  // change to unhealthy is sent at once as a KIND_HEALTH_CHECK event; every heartbeat
  // carries the current result.
  void SetHealthCheckResult(std::string error);
  // The inventory as discovered at construction.
  Inventory inventory() const;

  // The control plane answered Register / the stream broke. Drive the orphan timer.
  void OnConnected();
  void OnDisconnected();
  // Periodic housekeeping: reports new checkpoints of running tasks (checkpoint_watch.h)
  // and stops every task once disconnected for orphan_grace.
  void Tick();

  // Executes one directive (Registered is ignored here: the transport handles it).
  void HandleDirective(const v1::Directive& directive);

  // Stops every task still running with `grace` (agent shutdown).
  void StopAll(Duration grace);
  // Tasks not yet ended.
  int running_tasks() const;
  // Waits until no task is running and every status has been handed to `send`, or
  // `deadline` passes; true when none is running.
  bool WaitForNoTasks(std::chrono::steady_clock::time_point deadline) const;
  // Current status of every task the agent remembers, in (job, attempt, task) order.
  std::vector<v1::TaskStatus> Tasks() const;

  // Finds one rank's log. attempt 0 = the latest attempt the agent knows (in memory or on
  // disk). NotFound, naming what was asked, when there is no such log.
  Result<LogLocation> FindLog(const std::string& job_id, int attempt, int task_index,
                              int rank) const;

 private:
  using TaskKey = std::tuple<std::string, int, int>;  // job_id, attempt, task_index
  struct Rank {
    ProcessId pid = 0;
    bool exited = false;
    int exit_code = 0;
  };
  struct Task {
    v1::TaskStatus status;
    std::vector<Rank> ranks;
    std::vector<int> gpus;  // its GPU indices (a simulated agent's telemetry shows them busy)
    int exited = 0;
    std::optional<int> first_failure;
    bool stop_requested = false;
    uint64_t ended_epoch = 0;  // register_epoch_ when it ended
    Time ended_at;
    // Polled for checkpoints while the task runs and once when it ends (its report goes
    // out before the final status, so a retry resumes from a checkpoint written during
    // the stop grace). Empty = not watched.
    std::string checkpoint_dir;
    std::optional<CheckpointEntry> reported_checkpoint;
  };

  bool Ended(const Task& t) const;
  void StartTaskLocked(const v1::StartTask& start);
  void StopTaskLocked(const TaskKey& key, Duration grace, const std::string& why);
  void OnRankExit(const TaskKey& key, int rank, int exit_code);
  // Marks `task` ended in `state` and queues its status.
  void EndLocked(Task& task, v1::TaskState state, int exit_code, std::string message);
  void QueueStatusLocked(const v1::TaskStatus& status);
  // Queues a CheckpointReport when `newest` differs from what was last reported.
  void NoteCheckpointLocked(Task& task, const std::optional<CheckpointEntry>& newest);
  void PruneLocked();
  // Sends everything queued, in order, outside mu_.
  void Flush();
  std::filesystem::path TaskDir(const std::string& job_id, int attempt, int task_index) const;

  AgentOptions options_;
  const std::string instance_id_;
  GpuDiscovery& discovery_;
  Launcher& launcher_;
  const Clock& clock_;
  SendFn send_;

  mutable std::mutex mu_;
  mutable std::condition_variable ended_cv_;  // a task ended
  Inventory inventory_;
  std::optional<HostTopology> host_;  // unknown when hwloc failed
  std::map<TaskKey, Task> tasks_;
  uint64_t register_epoch_ = 1;
  int64_t heartbeat_sequence_ = 0;
  bool connected_ = false;
  Time disconnected_since_;
  bool orphan_stopped_ = false;
  std::string health_check_error_;
  std::vector<v1::AgentMessage> outbox_;
  bool flushing_ = false;  // a Flush is handing messages to send_

  std::mutex send_mu_;  // serialises Flush so messages leave in order
};

}  // namespace baton::agent
