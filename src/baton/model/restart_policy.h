// Restart policy and checkpoints: the bookkeeping around a JobRecord's attempts that is
// not a state transition (job_lifecycle.h owns those).
//
//  - Backoff: after a counted failure the retry waits restart_backoff * 2^(n-1) (n = the
//    counted failures so far), at most kMaxRestartBackoff. Preemptions, cancellations and
//    a node lost before start retry at once.
//  - Checkpoints: a job reports durable progress (a path the task wrote, and when). The
//    latest one is what the next attempt resumes from (BATON_RESUME_FROM); each attempt
//    remembers what it resumed from and when it last checkpointed, so `baton show` can
//    say how much work an attempt that ended lost.
//
// Pure functions over value types: no clock, no I/O. Thread-safety: none needed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/model/job_lifecycle.h"

namespace baton::model {

// When the retry of a job that just went back to pending may be scheduled, or nullopt
// for "at once" (no backoff configured, or the last attempt did not count).
std::optional<Time> RetryAfter(const JobRecord& job);

// Records a checkpoint reported for `attempt` (1..attempts) at `time`. The job's latest
// checkpoint moves only forward in time; a report for an ended attempt still counts (a
// task checkpoints during its preemption notice and the report may arrive after the
// attempt ended). InvalidArgument for an empty or over-long path or an unknown attempt;
// FailedPrecondition for a terminal job. Returns whether anything changed.
Result<bool> RecordCheckpoint(JobRecord& job, int32_t attempt, const std::string& path, Time time);

// Marks the open attempt as resuming from the job's latest checkpoint (if any) and
// returns that path ("" = start from scratch).
std::string ResumeFrom(JobRecord& job);

// Work an ended attempt lost: from its last checkpoint (or its start) to its end; zero
// for open or succeeded attempts.
Duration WorkLost(const Attempt& attempt);

// One run of one task: from its start (with its attempt, or restarted in place) to how
// it ended. See TaskRuns.
struct TaskRun {
  int32_t task = 0;
  int32_t attempt = 0;  // the attempt it was started under (its BATON_ATTEMPT)
  std::string node;
  Time start;
  std::optional<Time> end;  // unset while it runs and for a task that exited 0
  std::string how_ended;    // "exited 0", "exited with code 3", "stopped: node-lost"; "" = runs
  std::optional<int32_t> exit_code;
  friend bool operator==(const TaskRun&, const TaskRun&) = default;
};

// Whether some task of the job was restarted on its own (RestartScope::kFailedTasks).
bool HasTaskRestarts(const JobRecord& job);
// Every run of every task, ordered by task then start: a task that carried on while
// another was restarted is one run across several attempts. Runs that ended because
// their attempt did (another task failed under all-tasks scope, node lost, preempted,
// cancelled, start timeout) say "stopped: <why>".
std::vector<TaskRun> TaskRuns(const JobRecord& job);

inline constexpr size_t kMaxCheckpointPath = 4096;

}  // namespace baton::model
