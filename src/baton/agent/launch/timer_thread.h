// TimerThread: one thread that runs callbacks at given real times.
//
// Shared by every virtual agent of `baton-agent --simulate N` (their heartbeats and
// simulated task exits), so N = 1000 agents cost one thread, not 1000. Callbacks run on
// the timer thread one at a time in deadline order (ties in scheduling order); they must
// be short and must not block.
//
// Thread-safety: all methods may be called from any thread, including from callbacks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace baton::agent {

class TimerThread {
 public:
  using TimerId = uint64_t;
  using SteadyTime = std::chrono::steady_clock::time_point;

  TimerThread();
  // Drops timers not yet due and joins the thread (waiting for a running callback).
  ~TimerThread();
  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  TimerId ScheduleAt(SteadyTime at, std::function<void()> fn);
  TimerId ScheduleAfter(std::chrono::microseconds delay, std::function<void()> fn) {
    return ScheduleAt(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  // Forgets a timer not yet run; no effect on one that ran or is running.
  void Cancel(TimerId id);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  // (deadline, id) -> callback; id breaks ties in scheduling order.
  std::map<std::pair<SteadyTime, TimerId>, std::function<void()>> timers_;
  std::map<TimerId, SteadyTime> deadline_of_;
  TimerId next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace baton::agent
