// SimulatedLauncher: a Launcher without processes, for `baton-agent --simulate N` and
// tests. A started "process" runs for spec.simulate_duration and then exits 0; Stop ends
// it with 143 (SIGTERM), Signal with SIGTERM/SIGINT/SIGKILL ends it with 128 + signal
// and ignores other signals. Nothing is written anywhere.
//
// Two ways to drive it:
//   - with a TimerThread (real time): exits fire on the timer thread at their deadline;
//   - without one: call Poll() after advancing the Clock (a ManualClock in tests); Poll
//     fires every exit that is due, in deadline order. Stop/Signal exits are due at once.
//
// Thread-safety: all methods may be called from any thread; the Clock must be safe to
// read from the threads that call Start and Poll (ManualClock: the test's thread).
#pragma once

#include <map>
#include <mutex>

#include "baton/agent/launch/launcher.h"
#include "baton/agent/launch/timer_thread.h"
#include "baton/common/time.h"

namespace baton::agent {

class SimulatedLauncher final : public Launcher {
 public:
  // `timers` may be null (drive with Poll). Both must outlive the launcher; destroy the
  // TimerThread's pending work first (destroy the launcher after the timer thread).
  explicit SimulatedLauncher(const Clock& clock, TimerThread* timers = nullptr)
      : clock_(clock), timers_(timers) {}

  Result<ProcessId> Start(const ProcessSpec& spec, ExitCallback on_exit) override;
  Status Stop(ProcessId id, Duration grace) override;
  Status Signal(ProcessId id, int signal) override;
  std::optional<int> ExitCode(ProcessId id) override;

  // Fires the exits that are due at clock.Now(). Returns how many fired.
  int Poll();
  // Processes started and not yet exited.
  int running() const;

 private:
  struct Proc {
    Time deadline;
    int exit_code = 0;  // the code it exits with at `deadline`
    bool exited = false;
    ExitCallback on_exit;
    TimerThread::TimerId timer = 0;
  };
  // Ends `id` now with `code` (if it still runs); calls on_exit outside the lock.
  void Finish(ProcessId id, int code);
  void EndEarly(ProcessId id, int code);

  const Clock& clock_;
  TimerThread* timers_;
  mutable std::mutex mu_;
  std::map<ProcessId, Proc> procs_;       // running
  std::map<ProcessId, int> exited_codes_;  // exited: just the code (cheap history)
  ProcessId next_id_ = 1;
};

}  // namespace baton::agent
