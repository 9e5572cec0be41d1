#include "baton/agent/launch/timer_thread.h"

namespace baton::agent {

TimerThread::TimerThread() : thread_([this] { Loop(); }) {}

TimerThread::~TimerThread() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

TimerThread::TimerId TimerThread::ScheduleAt(SteadyTime at, std::function<void()> fn) {
  TimerId id;
  bool first;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    timers_.emplace(std::make_pair(at, id), std::move(fn));
    deadline_of_[id] = at;
    first = timers_.begin()->first.second == id;
  }
  if (first) cv_.notify_all();
  return id;
}

void TimerThread::Cancel(TimerId id) {
  std::lock_guard lock(mu_);
  auto it = deadline_of_.find(id);
  if (it == deadline_of_.end()) return;
  timers_.erase({it->second, id});
  deadline_of_.erase(it);
}

void TimerThread::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto it = timers_.begin();
    // A copy: the node can be cancelled (erased) while we wait.
    const SteadyTime at = it->first.first;
    if (at > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, at);
      continue;
    }
    auto fn = std::move(it->second);
    deadline_of_.erase(it->first.second);
    timers_.erase(it);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace baton::agent
