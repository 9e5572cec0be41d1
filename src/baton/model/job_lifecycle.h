// The job lifecycle: an explicit, pure state machine over JobRecord.
//
//   pending ─► scheduled ─► starting ─► running ─► succeeded | failed | cancelled
//
// A job that is scheduled, starting or running goes back to pending when it is preempted,
// when it loses a node, or when a failed attempt is retried under the restart policy
// (max_attempts); every run is an Attempt, and a requeue always starts a new one. See
// docs/job-lifecycle.md for the full transition table.
//
// Apply() is pure: no clock, no I/O, no globals. It takes a record and an event and
// returns the next record, or FailedPrecondition naming the job, the state and the event
// (the input is never modified). It does not talk to agents, persist anything, or decide
// placement: the control plane (server/) drives it, stores the result and sends the
// directives; the scheduler (sched/) supplies the placements of a kScheduled event.
//
// Events about an attempt carry that attempt's number; an event for an attempt that has
// ended (a late or duplicate report) is refused, so a task is never started twice for the
// same attempt and a stale exit never fails a newer attempt.
//
// Thread-safety: value types and free functions; safe to use from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/model/job_spec.h"

namespace baton::model {

enum class JobState {
  kPending,    // waiting for the scheduler (first run or requeued)
  kScheduled,  // placed: the attempt's allocation is recorded, nothing sent yet
  kStarting,   // directives sent to agents; waiting for every task to report running
  kRunning,    // every task reported running
  kSucceeded,  // terminal: every task of an attempt exited 0
  kFailed,     // terminal: an attempt failed and no attempts are left
  kCancelled,  // terminal: a person cancelled it
};
inline constexpr int kJobStateCount = 7;

// "pending", "scheduled", "starting", "running", "succeeded", "failed", "cancelled".
std::string_view JobStateName(JobState state);
bool IsTerminal(JobState state);
// The states one successful Apply() can move a job in `state` to, other than `state`
// itself (a task exiting 0 while others still run leaves the state as it is). In
// declaration order; empty for terminal states.
std::vector<JobState> AllowedNext(JobState state);

enum class JobEvent {
  kScheduled,        // the scheduler placed the job: opens a new attempt
  kStarting,         // directives for the attempt were sent to the agents
  kAllTasksRunning,  // every task of the attempt reported running
  kTaskExited,       // one task of the attempt exited (task, exit_code)
  kPreempted,        // the scheduler took the attempt's resources back
  kNodeLost,         // a node of the attempt stopped responding (node)
  kCancelRequested,  // a person asked to cancel the job
  kStartTimeout,     // the attempt did not reach running in time
};
inline constexpr int kJobEventCount = 8;
std::string_view JobEventName(JobEvent event);  // "scheduled", "task-exited", ...

enum class AttemptEndReason {
  kNone,          // the attempt is still open
  kSucceeded,     // every task exited 0
  kTaskFailed,    // a task exited non-zero (failed_task, exit_code)
  kNodeLost,      // a node of the attempt was lost
  kPreempted,     // preempted by the scheduler; never counts toward max_attempts
  kCancelled,     // the job was cancelled while this attempt was open
  kStartTimeout,  // not every task reached running in time
};
std::string_view AttemptEndReasonName(AttemptEndReason reason);  // "task-failed", ...

// Where one task of an attempt runs: a node by name and the GPU indices on it.
struct TaskPlacement {
  std::string node;
  std::vector<int32_t> gpus;
  friend bool operator==(const TaskPlacement&, const TaskPlacement&) = default;
};
// "node-3:0,1" ("node-3:-" without GPUs).
std::string FormatPlacement(const TaskPlacement& placement);

// One run of a job. A restart is a new attempt.
struct Attempt {
  int32_t number = 0;                       // 1, 2, 3, ... in order
  std::vector<TaskPlacement> placements;    // one per task, indexed by task
  Time start_time;                          // when it was scheduled
  std::optional<Time> end_time;             // unset while open; >= start_time
  AttemptEndReason end_reason = AttemptEndReason::kNone;
  std::optional<int32_t> failed_task;       // kTaskFailed: the first task that failed
  std::optional<int32_t> exit_code;         // kTaskFailed: that task's exit code
  // Exit code of each task that has exited, indexed by task.
  std::vector<std::optional<int32_t>> task_exit_codes;
  // Whether this attempt used up one of max_attempts. Preemptions, cancellations and
  // losing a node before anything started do not.
  bool counts_toward_limit = false;
  // The checkpoint this attempt was told to resume from (BATON_RESUME_FROM); "" = none.
  std::string resumed_from;
  // When this attempt last reported a checkpoint (restart_policy.h), and its path.
  std::optional<Time> last_checkpoint;
  std::string last_checkpoint_path;

  bool open() const { return !end_time.has_value(); }
  friend bool operator==(const Attempt&, const Attempt&) = default;
};

// The control plane's record of one job.
struct JobRecord {
  JobId id;
  JobSpec spec;
  JobState state = JobState::kPending;
  std::vector<Attempt> attempts;  // oldest first; at most the last one is open
  int32_t max_attempts = 1;       // failed attempts allowed before the job fails; >= 1
  Time submit_time;
  std::string reason;             // the last transition's reason, for people
  // The latest checkpoint any attempt reported (restart_policy.h); path "" = none.
  struct Checkpoint {
    std::string path;
    Time time;
    int32_t attempt = 0;
    friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
  };
  std::optional<Checkpoint> checkpoint;
  // Restart backoff: a pending retry is not scheduled before this time.
  std::optional<Time> retry_after;
};

// A pending record with no attempts.
JobRecord NewJobRecord(JobId id, JobSpec spec, int32_t max_attempts, Time submit_time);

// The open attempt, or nullptr.
const Attempt* OpenAttempt(const JobRecord& job);
// The number the next kScheduled event must carry.
int32_t NextAttemptNumber(const JobRecord& job);
// How many attempts counted toward max_attempts.
int32_t CountedAttempts(const JobRecord& job);

struct JobEventData {
  JobEvent event = JobEvent::kScheduled;
  // The attempt the event is about. kScheduled: the new attempt's number, which must be
  // NextAttemptNumber(job). Ignored by kCancelRequested (a person cancels the job).
  int32_t attempt = 0;
  int32_t task = -1;                       // kTaskExited: 0 <= task < spec.tasks
  int32_t exit_code = 0;                   // kTaskExited
  std::string node;                        // kNodeLost: a node of the attempt
  std::vector<TaskPlacement> placements;   // kScheduled: one per task
  std::string detail;                      // optional, appended to the reason

  static JobEventData Scheduled(int32_t attempt, std::vector<TaskPlacement> placements);
  static JobEventData Starting(int32_t attempt);
  static JobEventData AllTasksRunning(int32_t attempt);
  static JobEventData TaskExited(int32_t attempt, int32_t task, int32_t exit_code);
  static JobEventData Preempted(int32_t attempt);
  static JobEventData NodeLost(int32_t attempt, std::string node);
  static JobEventData CancelRequested();
  static JobEventData StartTimeout(int32_t attempt);
};

// Applies `ev` at time `now`. Returns the next record, or FailedPrecondition when the
// event is not allowed in the job's state or is about an attempt other than the open one
// ("cannot start job 7: it is succeeded"), or InvalidArgument when its details are
// malformed (placements that do not match spec.tasks, a task index out of range).
// Never modifies `job`. An end time earlier than the attempt's start (a clock step) is
// clamped to the start time.
Result<JobRecord> Apply(const JobRecord& job, const JobEventData& ev, Time now);

}  // namespace baton::model
