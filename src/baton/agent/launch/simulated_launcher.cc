#include "baton/agent/launch/simulated_launcher.h"

#include <signal.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace baton::agent {

Result<ProcessId> SimulatedLauncher::Start(const ProcessSpec& spec, ExitCallback on_exit) {
  std::lock_guard lock(mu_);
  ProcessId id = next_id_++;
  Proc& p = procs_[id];
  p.deadline = clock_.Now() + spec.simulate_duration;
  p.on_exit = std::move(on_exit);
  if (timers_ != nullptr) {
    p.timer = timers_->ScheduleAfter(spec.simulate_duration, [this, id] { Finish(id, 0); });
  }
  return id;
}

void SimulatedLauncher::Finish(ProcessId id, int code) {
  ExitCallback cb;
  {
    std::lock_guard lock(mu_);
    auto it = procs_.find(id);
    if (it == procs_.end() || it->second.exited) return;
    it->second.exited = true;
    it->second.exit_code = code;
    cb = std::move(it->second.on_exit);
    // Simulated agents run many short tasks: keep only the exit code.
    procs_.erase(it);
    exited_codes_[id] = code;
  }
  if (cb) cb(id, code);
}

void SimulatedLauncher::EndEarly(ProcessId id, int code) {
  std::lock_guard lock(mu_);
  auto it = procs_.find(id);
  if (it == procs_.end() || it->second.exited) return;
  it->second.deadline = clock_.Now();
  it->second.exit_code = code;
  if (timers_ != nullptr) {
    timers_->Cancel(it->second.timer);
    it->second.timer =
        timers_->ScheduleAfter(Duration(0), [this, id, code] { Finish(id, code); });
  }
}

Status SimulatedLauncher::Stop(ProcessId id, Duration /*grace*/) {
  EndEarly(id, 128 + SIGTERM);
  return Status::Ok();
}

Status SimulatedLauncher::Signal(ProcessId id, int signal) {
  {
    std::lock_guard lock(mu_);
    if (!procs_.contains(id) && !exited_codes_.contains(id)) {
      return NotFound(fmt::format("no process {}", id));
    }
  }
  if (signal == SIGTERM || signal == SIGINT || signal == SIGKILL) EndEarly(id, 128 + signal);
  return Status::Ok();
}

std::optional<int> SimulatedLauncher::ExitCode(ProcessId id) {
  std::lock_guard lock(mu_);
  auto it = exited_codes_.find(id);
  if (it == exited_codes_.end()) return std::nullopt;
  return it->second;
}

int SimulatedLauncher::Poll() {
  std::vector<std::pair<ProcessId, int>> due;
  {
    std::lock_guard lock(mu_);
    Time now = clock_.Now();
    std::vector<std::pair<Time, ProcessId>> order;
    for (const auto& [id, p] : procs_) {
      if (!p.exited && p.deadline <= now) order.emplace_back(p.deadline, id);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [t, id] : order) due.emplace_back(id, procs_[id].exit_code);
  }
  for (const auto& [id, code] : due) Finish(id, code);
  return static_cast<int>(due.size());
}

int SimulatedLauncher::running() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(procs_.size());
}

}  // namespace baton::agent
