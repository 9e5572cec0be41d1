// ProcessLauncher: the real Launcher. fork/exec, one process group per process, stdout
// and stderr appended (interleaved, as written) to one log file, optional cgroup v2
// limits.
//
// What it is responsible for: starting a process so that it and everything it forks can
// be signalled and killed together (setpgid; plus a cgroup where available), noticing its
// exit without racing other code that forks (one reaper thread polling a pidfd per
// process: never waitpid(-1)), and escalating SIGTERM to SIGKILL after a grace period.
// When a process's leader exits, whatever is left of its group is SIGKILLed: a task is
// over when its main process is.
//
// Also switches to ProcessSpec::run_as in the child before exec (setgroups, setgid,
// setuid); a failed switch is a failed start naming the uid.
//
// Not responsible for: restarting, log rotation, choosing the user, containers.
//
// Destruction SIGKILLs every process still running and does NOT call their on_exit
// (the callers' state may already be gone).
//
// Thread-safety: all methods may be called from any thread (see launcher.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "baton/agent/launch/cgroup.h"
#include "baton/agent/launch/launcher.h"

namespace baton::agent {

class ProcessLauncher final : public Launcher {
 public:
  struct Options {
    // Try to put each process in its own cgroup v2 group (with spec.limits applied).
    bool use_cgroups = true;
    // Parent directory for the groups; empty = the agent's own group (see CgroupV2).
    std::string cgroup_root;
    // When set, used as is instead of probing the machine (tests: CgroupV2::AtDirectory).
    std::optional<CgroupV2> cgroups;
  };

  ProcessLauncher();
  explicit ProcessLauncher(Options options);
  ~ProcessLauncher() override;
  ProcessLauncher(const ProcessLauncher&) = delete;
  ProcessLauncher& operator=(const ProcessLauncher&) = delete;

  Result<ProcessId> Start(const ProcessSpec& spec, ExitCallback on_exit) override;
  Status Stop(ProcessId id, Duration grace) override;
  Status Signal(ProcessId id, int signal) override;
  std::optional<int> ExitCode(ProcessId id) override;

  // The OS process id (also its process group id); nullopt when unknown.
  std::optional<pid_t> Pid(ProcessId id);
  const CgroupV2& cgroups() const { return cgroups_; }

 private:
  struct Proc {
    pid_t pid = 0;
    int pidfd = -1;
    ExitCallback on_exit;
    std::optional<int> exit_code;
    std::optional<std::chrono::steady_clock::time_point> kill_at;
    std::string cgroup_dir;
  };

  void ReaperLoop();
  void Wake();

  CgroupV2 cgroups_;
  int wake_fd_ = -1;  // eventfd: tells the reaper that procs_ changed
  std::mutex mu_;
  std::map<ProcessId, Proc> procs_;
  ProcessId next_id_ = 1;
  bool stopping_ = false;
  std::thread reaper_;
};

}  // namespace baton::agent
