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

}  // namespace baton::model
