// Launcher: the seam through which a node agent starts, signals and stops processes.
//
// One Launcher call starts one *process* (one rank of a task). The process leads its own
// process group, so Stop and Signal reach everything it forked. Implementations:
// ProcessLauncher (fork/exec, logs to a file, optional cgroup v2 limits) and
// SimulatedLauncher (no processes; a "process" exits 0 after a simulated duration).
//
// Exit is reported through the `on_exit` callback given to Start, exactly once per
// started process, from a launcher-owned thread (or from SimulatedLauncher::Poll). It is
// never called from inside Start, Stop or Signal, and never with a launcher lock held, so
// a caller may hold its own lock around those calls and take the same lock in on_exit.
//
// Exit codes follow the shell: the process's exit status, or 128 + signal number when a
// signal ended it.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton::agent {

// Identifies a started process within one Launcher. Never reused by that launcher.
using ProcessId = uint64_t;

// Resource limits applied through cgroup v2 where the machine allows it.
struct ProcessLimits {
  int64_t memory_max_bytes = 0;  // 0 = no limit
  double cpu_max_cores = 0;      // 0 = no limit; 1.5 = one and a half cores
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Added to (and overriding) the launcher's own environment.
  std::map<std::string, std::string> env;
  std::string working_dir;  // empty = the launcher's working directory
  // stdout and stderr are both appended to this file (created if missing); empty =
  // /dev/null.
  std::string log_path;
  ProcessLimits limits;
  // A name for the process's cgroup ("job-1.0.0.r0"); empty = derived from the id.
  std::string cgroup_name;
  // CPUs (OS numbers) the process may run on, set with sched_setaffinity in the child
  // before exec; empty = inherit the launcher's. ProcessLauncher only; when the kernel
  // refuses the set the process runs unpinned and its log says why.
  std::vector<int> cpu_affinity;
  // A line written to the log (prefixed "baton-agent: ") before the process starts, e.g.
  // how its CPUs were pinned; empty = none.
  std::string log_note;
  // SimulatedLauncher only: how long the process "runs" before exiting 0.
  Duration simulate_duration{0};
  // ProcessLauncher: the user the process runs as, switched to in the child before exec
  // (setgroups, setgid, setuid; the launcher must be root). Unset = the launcher's own
  // user. Which user a task gets is the agent's decision (launch/task_user.h).
  struct RunAs {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::vector<uint32_t> groups;  // supplementary groups
  };
  std::optional<RunAs> run_as;
};

using ExitCallback = std::function<void(ProcessId id, int exit_code)>;

class Launcher {
 public:
  virtual ~Launcher() = default;

  // Starts a process. A process that cannot be started (no such program, bad working
  // directory) is a non-OK Result whose message says why, e.g.
  // "exec foo: No such file or directory"; on_exit is then never called.
  virtual Result<ProcessId> Start(const ProcessSpec& spec, ExitCallback on_exit) = 0;

  // SIGTERM to the process group now, SIGKILL to it once `grace` has passed if any member
  // is still alive. Returns at once; the exit arrives through on_exit. Stopping an exited
  // or unknown process is OK and does nothing.
  virtual Status Stop(ProcessId id, Duration grace) = 0;

  // Delivers `signal` to the process group. NotFound when the process is unknown;
  // OK (and nothing happens) when it has already exited.
  virtual Status Signal(ProcessId id, int signal) = 0;

  // The exit code once the process has exited (and on_exit was called or is being
  // called); nullopt while it runs. NotFound-like unknown ids also give nullopt.
  virtual std::optional<int> ExitCode(ProcessId id) = 0;
};

}  // namespace baton::agent
