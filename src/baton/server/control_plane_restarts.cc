// ControlPlane: restarting only the failed task of a job whose restart scope is
// failed-tasks (model/job_lifecycle.h). The lifecycle has already opened the new attempt
// on the same placement; here the control plane tracks the restarted task, keeps the
// attempt's GPUs booked (the scheduler's allocation does not change), and sends the one
// StartTask once the record is durable and the restart backoff is over.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "baton/model/restart_policy.h"
#include "baton/server/control_plane.h"
#include "baton/server/control_plane_internal.h"

namespace baton::server {

void ControlPlane::RestartTaskInPlace(JobEntry& e, int32_t task, Time now) {
  const model::Attempt& a = e.rec.attempts.back();
  const size_t n = a.placements.size();
  const size_t t = static_cast<size_t>(task);
  e.live_attempt = a.number;
  e.task_attempt.resize(n, a.number);
  e.task_attempt[t] = a.number;
  if (e.alive.size() != n) e.alive.resize(n, 0);
  if (e.running.size() != n) e.running.resize(n, 0);
  if (!e.alive[t]) {
    e.alive[t] = 1;
    e.alive_count++;
  }
  e.running[t] = 0;
  for (size_t i = 0; i < n; ++i) {
    if (a.task_exit_codes[i]) e.running[i] = 1;  // done: nothing to wait for
  }
  // The restarted task resumes from the job's latest checkpoint, if any.
  const std::string from = model::ResumeFrom(e.rec);
  // Backoff as for a whole-job retry: restart_backoff * 2^(failures - 1), at most an hour.
  Time at = now;
  if (e.rec.spec.restart_backoff > Duration(0)) {
    Duration delay = e.rec.spec.restart_backoff;
    for (int32_t k = model::CountedAttempts(e.rec); k > 1 && delay < model::kMaxRestartBackoff;
         --k) {
      delay *= 2;
    }
    at = now + std::min(delay, model::kMaxRestartBackoff);
    e.rec.reason += fmt::format("; restart backoff: starts in {}", FormatDuration(at - now));
  }
  e.starting_since = at;  // the start timeout counts from the restart, not the failure
  spdlog::info("job {}: task {} restarts in place on {} as attempt {}{}{}", e.rec.id, task,
               a.placements[t].node, a.number, from.empty() ? "" : ", resuming from ",
               from);
  const JobId id = e.rec.id;
  const int32_t attempt = a.number;
  Persist(e, v1::JobEvent::KIND_STATE_CHANGED, [this, id, attempt, task, at] {
    if (clock_->Now() >= at) {
      SendStarts(id, attempt, {task});
    } else {
      due_restarts_[id] = {at, attempt, task};
      work_ = true;
    }
  });
}

void ControlPlane::SendDueRestarts(Time now) {
  for (auto it = due_restarts_.begin(); it != due_restarts_.end();) {
    const auto [at, attempt, task] = it->second;
    if (at > now) {
      ++it;
      continue;
    }
    const JobId id = it->first;
    it = due_restarts_.erase(it);
    SendStarts(id, attempt, {task});  // a no-op if that attempt has ended meanwhile
  }
}

}  // namespace baton::server
