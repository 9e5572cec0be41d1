#include "baton/model/restart_policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace baton::model {

std::optional<Time> RetryAfter(const JobRecord& job) {
  if (job.state != JobState::kPending || job.attempts.empty()) return std::nullopt;
  const Attempt& last = job.attempts.back();
  if (!last.counts_toward_limit || !last.end_time) return std::nullopt;
  if (job.spec.restart_backoff <= Duration(0)) return std::nullopt;
  Duration delay = job.spec.restart_backoff;
  for (int32_t n = CountedAttempts(job); n > 1 && delay < kMaxRestartBackoff; --n) delay *= 2;
  return *last.end_time + std::min(delay, kMaxRestartBackoff);
}

Result<bool> RecordCheckpoint(JobRecord& job, int32_t attempt, const std::string& path, Time time) {
  if (path.empty() || path.size() > kMaxCheckpointPath) {
    return InvalidArgument(
        fmt::format("checkpoint.path: must be 1 to {} bytes", kMaxCheckpointPath));
  }
  if (path.find('\0') != std::string::npos) {
    return InvalidArgument("checkpoint.path: must not contain NUL");
  }
  if (attempt < 1 || attempt > static_cast<int32_t>(job.attempts.size())) {
    return InvalidArgument(
        fmt::format("checkpoint.attempt: job {} has no attempt {}", job.id, attempt));
  }
  if (IsTerminal(job.state)) {
    return FailedPrecondition(fmt::format("cannot record a checkpoint for job {}: it is {}", job.id,
                                          JobStateName(job.state)));
  }
  bool changed = false;
  Attempt& a = job.attempts[static_cast<size_t>(attempt - 1)];
  // A checkpoint written after the attempt ended (during its stop grace) still saved work.
  if (!a.last_checkpoint || *a.last_checkpoint < time) {
    a.last_checkpoint = std::max(time, a.start_time);
    a.last_checkpoint_path = path;
    changed = true;
  }
  if (!job.checkpoint || job.checkpoint->time < time ||
      (job.checkpoint->time == time && job.checkpoint->path != path)) {
    job.checkpoint = JobRecord::Checkpoint{path, time, attempt};
    changed = true;
  }
  return changed;
}

std::string ResumeFrom(JobRecord& job) {
  if (job.attempts.empty() || !job.attempts.back().open() || !job.checkpoint) return "";
  job.attempts.back().resumed_from = job.checkpoint->path;
  return job.checkpoint->path;
}

Duration WorkLost(const Attempt& a) {
  if (a.open() || a.end_reason == AttemptEndReason::kSucceeded) return Duration(0);
  const Time from = a.last_checkpoint ? std::max(*a.last_checkpoint, a.start_time) : a.start_time;
  return std::max(Duration(0), *a.end_time - from);
}

bool HasTaskRestarts(const JobRecord& job) {
  return std::any_of(job.attempts.begin(), job.attempts.end(),
                     [](const Attempt& a) { return !a.task_attempts.empty(); });
}

std::vector<TaskRun> TaskRuns(const JobRecord& job) {
  std::vector<TaskRun> out;
  for (int32_t t = 0; t < job.spec.tasks; ++t) {
    const size_t first = out.size();
    bool ended = true;  // the latest run of t has ended (or none started yet)
    for (size_t i = 0; i < job.attempts.size(); ++i) {
      const Attempt& a = job.attempts[i];
      if (static_cast<size_t>(t) >= a.placements.size()) break;
      const int32_t under = TaskAttempt(a, t);
      if (under == a.number) {  // started (again) in this attempt
        TaskRun r;
        r.task = t;
        r.attempt = a.number;
        r.node = a.placements[static_cast<size_t>(t)].node;
        r.start = a.start_time;
        out.push_back(std::move(r));
        ended = false;
      }
      if (ended || out.size() == first || out.back().attempt != under) continue;
      TaskRun& r = out.back();
      const std::optional<int32_t> code = static_cast<size_t>(t) < a.task_exit_codes.size()
                                              ? a.task_exit_codes[static_cast<size_t>(t)]
                                              : std::nullopt;
      if (code) {
        r.exit_code = *code;
        r.how_ended = *code == 0 ? "exited 0" : fmt::format("exited with code {}", *code);
        if (*code != 0) r.end = a.end_time;
        ended = true;
        continue;
      }
      if (a.open()) continue;
      const bool carried = i + 1 < job.attempts.size() &&
                           TaskAttempt(job.attempts[i + 1], t) == under;
      if (carried) continue;
      r.end = a.end_time;
      r.how_ended = fmt::format("stopped: {}", AttemptEndReasonName(a.end_reason));
      if (a.end_reason == AttemptEndReason::kTaskFailed && a.failed_task) {
        r.how_ended += fmt::format(" (task {})", *a.failed_task);
      }
      ended = true;
    }
  }
  return out;
}

}  // namespace baton::model
