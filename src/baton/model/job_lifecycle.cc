#include "baton/model/job_lifecycle.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace baton::model {
namespace {

// The verb of "cannot <verb> job 7: it is succeeded".
std::string_view Verb(JobEvent event) {
  switch (event) {
    case JobEvent::kScheduled: return "schedule";
    case JobEvent::kStarting: return "start";
    case JobEvent::kAllTasksRunning: return "mark running";
    case JobEvent::kTaskExited: return "record a task exit for";
    case JobEvent::kPreempted: return "preempt";
    case JobEvent::kNodeLost: return "record a lost node for";
    case JobEvent::kCancelRequested: return "cancel";
    case JobEvent::kStartTimeout: return "time out the start of";
  }
  return "apply an unknown event to";
}

bool Allowed(JobEvent event, JobState state) {
  switch (event) {
    case JobEvent::kScheduled: return state == JobState::kPending;
    case JobEvent::kStarting: return state == JobState::kScheduled;
    case JobEvent::kAllTasksRunning:
    case JobEvent::kStartTimeout: return state == JobState::kStarting;
    case JobEvent::kTaskExited:
      return state == JobState::kStarting || state == JobState::kRunning;
    case JobEvent::kPreempted:
    case JobEvent::kNodeLost:
      return state == JobState::kScheduled || state == JobState::kStarting ||
             state == JobState::kRunning;
    case JobEvent::kCancelRequested: return !IsTerminal(state);
  }
  return false;
}

Status Refuse(const JobRecord& job, const JobEventData& ev, std::string_view why) {
  return FailedPrecondition(fmt::format("cannot {} job {}: {}", Verb(ev.event), job.id, why));
}

// Ends the open (last) attempt.
Attempt& EndAttempt(JobRecord& job, AttemptEndReason reason, bool counts, Time now) {
  Attempt& a = job.attempts.back();
  a.end_time = std::max(now, a.start_time);
  a.end_reason = reason;
  a.counts_toward_limit = counts;
  return a;
}

// After a counted failure: back to pending while attempts are left, else failed.
void RetryOrFail(JobRecord& job, std::string_view what) {
  const int32_t used = CountedAttempts(job);
  const int32_t max = std::max<int32_t>(1, job.max_attempts);
  const int32_t number = job.attempts.back().number;
  if (used < max) {
    job.state = JobState::kPending;
    job.reason = fmt::format("attempt {}: {}; retrying ({} of {} attempts used)", number, what,
                             used, max);
  } else {
    job.state = JobState::kFailed;
    job.reason = fmt::format("attempt {}: {}; no attempts left ({} of {} used)", number, what,
                             used, max);
  }
}

// After a counted failure of `task` in a job whose restart scope is failed-tasks, with
// attempts left: a new attempt on the same placement in which only `task` starts again.
void RestartTaskInPlace(JobRecord& job, int32_t task, std::string_view what, Time now) {
  const Attempt& ended = job.attempts.back();
  const size_t tasks = ended.placements.size();
  Attempt a;
  a.number = ended.number + 1;
  a.placements = ended.placements;
  a.start_time = now;
  a.task_exit_codes.assign(tasks, std::nullopt);
  a.task_attempts.resize(tasks);
  for (size_t t = 0; t < tasks; ++t) {
    a.task_attempts[t] = TaskAttempt(ended, static_cast<int32_t>(t));
    if (ended.task_exit_codes[t] == 0) a.task_exit_codes[t] = 0;  // done stays done
  }
  a.task_attempts[static_cast<size_t>(task)] = a.number;
  a.task_exit_codes[static_cast<size_t>(task)] = std::nullopt;
  const int32_t used = CountedAttempts(job);
  job.reason = fmt::format(
      "attempt {}: {}; restarting only task {} in place as attempt {} ({} of {} attempts "
      "used)",
      ended.number, what, task, a.number, used, std::max<int32_t>(1, job.max_attempts));
  job.attempts.push_back(std::move(a));
  job.state = JobState::kStarting;
}

std::string NodeSummary(const std::vector<TaskPlacement>& placements) {
  std::vector<std::string_view> nodes;
  for (const TaskPlacement& p : placements) {
    if (std::find(nodes.begin(), nodes.end(), p.node) == nodes.end()) nodes.push_back(p.node);
  }
  constexpr size_t kShown = 3;
  std::string out = fmt::format("{} node{} (", nodes.size(), nodes.size() == 1 ? "" : "s");
  for (size_t i = 0; i < nodes.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += nodes[i];
  }
  if (nodes.size() > kShown) out += ", ...";
  out += ")";
  return out;
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kPending: return "pending";
    case JobState::kScheduled: return "scheduled";
    case JobState::kStarting: return "starting";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

std::vector<JobState> AllowedNext(JobState state) {
  using S = JobState;
  switch (state) {
    case S::kPending: return {S::kScheduled, S::kCancelled};
    case S::kScheduled: return {S::kPending, S::kStarting, S::kCancelled};
    // A quick gang can exit 0 before its "all running" report: starting -> succeeded.
    case S::kStarting:
      return {S::kPending, S::kRunning, S::kSucceeded, S::kFailed, S::kCancelled};
    // Running -> starting: a failed task restarted in place (RestartScope::kFailedTasks).
    case S::kRunning:
      return {S::kPending, S::kStarting, S::kSucceeded, S::kFailed, S::kCancelled};
    case S::kSucceeded:
    case S::kFailed:
    case S::kCancelled: return {};
  }
  return {};
}

std::string_view JobEventName(JobEvent event) {
  switch (event) {
    case JobEvent::kScheduled: return "scheduled";
    case JobEvent::kStarting: return "starting";
    case JobEvent::kAllTasksRunning: return "all-tasks-running";
    case JobEvent::kTaskExited: return "task-exited";
    case JobEvent::kPreempted: return "preempted";
    case JobEvent::kNodeLost: return "node-lost";
    case JobEvent::kCancelRequested: return "cancel-requested";
    case JobEvent::kStartTimeout: return "start-timeout";
  }
  return "unknown";
}

std::string_view AttemptEndReasonName(AttemptEndReason reason) {
  switch (reason) {
    case AttemptEndReason::kNone: return "none";
    case AttemptEndReason::kSucceeded: return "succeeded";
    case AttemptEndReason::kTaskFailed: return "task-failed";
    case AttemptEndReason::kNodeLost: return "node-lost";
    case AttemptEndReason::kPreempted: return "preempted";
    case AttemptEndReason::kCancelled: return "cancelled";
    case AttemptEndReason::kStartTimeout: return "start-timeout";
  }
  return "unknown";
}

std::string FormatPlacement(const TaskPlacement& placement) {
  if (placement.gpus.empty()) return placement.node + ":-";
  if (placement.mig_devices.size() == placement.gpus.size()) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < placement.gpus.size(); ++i) {
      parts.push_back(fmt::format("{}({})", placement.gpus[i], placement.mig_devices[i]));
    }
    return fmt::format("{}:{}", placement.node, fmt::join(parts, ","));
  }
  return fmt::format("{}:{}", placement.node, fmt::join(placement.gpus, ","));
}

JobRecord NewJobRecord(JobId id, JobSpec spec, int32_t max_attempts, Time submit_time) {
  JobRecord job;
  job.id = id;
  job.spec = std::move(spec);
  job.state = JobState::kPending;
  job.max_attempts = max_attempts;
  job.submit_time = submit_time;
  job.reason = "submitted";
  return job;
}

const Attempt* OpenAttempt(const JobRecord& job) {
  if (job.attempts.empty() || !job.attempts.back().open()) return nullptr;
  return &job.attempts.back();
}

int32_t TaskAttempt(const Attempt& a, int32_t task) {
  if (task >= 0 && static_cast<size_t>(task) < a.task_attempts.size()) {
    return a.task_attempts[static_cast<size_t>(task)];
  }
  return a.number;
}

int32_t NextAttemptNumber(const JobRecord& job) {
  return job.attempts.empty() ? 1 : job.attempts.back().number + 1;
}

int32_t CountedAttempts(const JobRecord& job) {
  return static_cast<int32_t>(std::count_if(job.attempts.begin(), job.attempts.end(),
                                            [](const Attempt& a) {
                                              return a.counts_toward_limit;
                                            }));
}

namespace {

// The part every event factory shares: which event, for which attempt.
JobEventData EventFor(JobEvent event, int32_t attempt) {
  JobEventData ev;
  ev.event = event;
  ev.attempt = attempt;
  return ev;
}

}  // namespace

JobEventData JobEventData::Scheduled(int32_t attempt, std::vector<TaskPlacement> placements) {
  JobEventData ev = EventFor(JobEvent::kScheduled, attempt);
  ev.placements = std::move(placements);
  return ev;
}

JobEventData JobEventData::Starting(int32_t attempt) {
  return EventFor(JobEvent::kStarting, attempt);
}

JobEventData JobEventData::AllTasksRunning(int32_t attempt) {
  return EventFor(JobEvent::kAllTasksRunning, attempt);
}

JobEventData JobEventData::TaskExited(int32_t attempt, int32_t task, int32_t exit_code) {
  JobEventData ev = EventFor(JobEvent::kTaskExited, attempt);
  ev.task = task;
  ev.exit_code = exit_code;
  return ev;
}

JobEventData JobEventData::Preempted(int32_t attempt) {
  return EventFor(JobEvent::kPreempted, attempt);
}

JobEventData JobEventData::NodeLost(int32_t attempt, std::string node) {
  JobEventData ev = EventFor(JobEvent::kNodeLost, attempt);
  ev.node = std::move(node);
  return ev;
}

JobEventData JobEventData::CancelRequested() {
  JobEventData ev;
  ev.event = JobEvent::kCancelRequested;
  return ev;
}

JobEventData JobEventData::StartTimeout(int32_t attempt) {
  return EventFor(JobEvent::kStartTimeout, attempt);
}

Result<JobRecord> Apply(const JobRecord& job, const JobEventData& ev, Time now) {
  if (!Allowed(ev.event, job.state)) {
    return Refuse(job, ev, fmt::format("it is {}", JobStateName(job.state)));
  }
  const Attempt* open = OpenAttempt(job);
  if (ev.event == JobEvent::kScheduled) {
    const int32_t want = NextAttemptNumber(job);
    if (ev.attempt != want) {
      return Refuse(job, ev,
                    fmt::format("event is for attempt {}, but the next attempt is {}",
                                ev.attempt, want));
    }
    if (job.spec.tasks < 1 ||
        ev.placements.size() != static_cast<size_t>(job.spec.tasks)) {
      return InvalidArgument(fmt::format("cannot schedule job {}: {} placements for {} tasks",
                                         job.id, ev.placements.size(), job.spec.tasks));
    }
    for (size_t i = 0; i < ev.placements.size(); ++i) {
      if (ev.placements[i].node.empty()) {
        return InvalidArgument(
            fmt::format("cannot schedule job {}: placements[{}].node: empty", job.id, i));
      }
    }
  } else if (ev.event != JobEvent::kCancelRequested || job.state != JobState::kPending) {
    if (open == nullptr) {
      return Internal(fmt::format("job {} is {} without an open attempt", job.id,
                                  JobStateName(job.state)));
    }
    // A task's exit may name the attempt it was started under (carried over).
    const bool task_attempt = ev.event == JobEvent::kTaskExited &&
                              ev.attempt == TaskAttempt(*open, ev.task);
    if (ev.event != JobEvent::kCancelRequested && ev.attempt != open->number && !task_attempt) {
      return Refuse(job, ev,
                    fmt::format("event is for attempt {}, but the open attempt is {}",
                                ev.attempt, open->number));
    }
  }

  JobRecord next = job;
  switch (ev.event) {
    case JobEvent::kScheduled: {
      Attempt a;
      a.number = ev.attempt;
      a.placements = ev.placements;
      a.start_time = now;
      a.task_exit_codes.assign(ev.placements.size(), std::nullopt);
      next.reason =
          fmt::format("attempt {} scheduled on {}", a.number, NodeSummary(a.placements));
      next.attempts.push_back(std::move(a));
      next.state = JobState::kScheduled;
      break;
    }
    case JobEvent::kStarting:
      next.state = JobState::kStarting;
      next.reason = fmt::format("attempt {}: starting tasks", open->number);
      break;
    case JobEvent::kAllTasksRunning:
      next.state = JobState::kRunning;
      next.reason = fmt::format("attempt {}: all {} tasks running", open->number,
                                open->task_exit_codes.size());
      break;
    case JobEvent::kTaskExited: {
      const size_t tasks = open->task_exit_codes.size();
      if (ev.task < 0 || static_cast<size_t>(ev.task) >= tasks) {
        return InvalidArgument(fmt::format("cannot record a task exit for job {}: task {} "
                                           "out of range [0, {})",
                                           job.id, ev.task, tasks));
      }
      if (open->task_exit_codes[ev.task].has_value()) {
        return Refuse(job, ev,
                      fmt::format("task {} of attempt {} already exited", ev.task,
                                  open->number));
      }
      Attempt& a = next.attempts.back();
      a.task_exit_codes[ev.task] = ev.exit_code;
      if (ev.exit_code != 0) {
        EndAttempt(next, AttemptEndReason::kTaskFailed, /*counts=*/true, now);
        a.failed_task = ev.task;
        a.exit_code = ev.exit_code;
        const std::string what = fmt::format("task {} exited with code {}", ev.task, ev.exit_code);
        if (ev.may_restart_in_place &&
            EffectiveRestartScope(job.spec) == RestartScope::kFailedTasks &&
            CountedAttempts(next) < std::max<int32_t>(1, job.max_attempts)) {
          RestartTaskInPlace(next, ev.task, what, now);  // invalidates `a`
        } else {
          RetryOrFail(next, what);
        }
        break;
      }
      const size_t done = static_cast<size_t>(
          std::count(a.task_exit_codes.begin(), a.task_exit_codes.end(), 0));
      if (done == tasks) {
        EndAttempt(next, AttemptEndReason::kSucceeded, /*counts=*/false, now);
        next.state = JobState::kSucceeded;
        next.reason = fmt::format("attempt {}: all {} tasks exited 0", a.number, tasks);
      } else {
        next.reason = fmt::format("attempt {}: task {} exited 0 ({} of {} done)", a.number,
                                  ev.task, done, tasks);
      }
      break;
    }
    case JobEvent::kPreempted:
      EndAttempt(next, AttemptEndReason::kPreempted, /*counts=*/false, now);
      next.state = JobState::kPending;
      next.reason = fmt::format("attempt {}: preempted; requeued", open->number);
      break;
    case JobEvent::kNodeLost: {
      const bool on_node = std::any_of(open->placements.begin(), open->placements.end(),
                                       [&](const TaskPlacement& p) { return p.node == ev.node; });
      if (!on_node) {
        return Refuse(job, ev,
                      fmt::format("node '{}' is not part of attempt {}", ev.node, open->number));
      }
      if (job.state == JobState::kScheduled) {
        // Nothing was started, so this attempt does not use up the restart budget.
        EndAttempt(next, AttemptEndReason::kNodeLost, /*counts=*/false, now);
        next.state = JobState::kPending;
        next.reason = fmt::format("attempt {}: node {} lost before start; requeued",
                                  open->number, ev.node);
      } else {
        EndAttempt(next, AttemptEndReason::kNodeLost, /*counts=*/true, now);
        RetryOrFail(next, fmt::format("node {} lost", ev.node));
      }
      break;
    }
    case JobEvent::kCancelRequested:
      if (open == nullptr) {
        next.reason = "cancelled while pending";
      } else {
        EndAttempt(next, AttemptEndReason::kCancelled, /*counts=*/false, now);
        next.reason = fmt::format("attempt {}: cancelled while {}", open->number,
                                  JobStateName(job.state));
      }
      next.state = JobState::kCancelled;
      break;
    case JobEvent::kStartTimeout:
      EndAttempt(next, AttemptEndReason::kStartTimeout, /*counts=*/true, now);
      RetryOrFail(next, "tasks did not all reach running in time");
      break;
  }
  if (!ev.detail.empty()) next.reason += fmt::format(" ({})", ev.detail);
  return next;
}

}  // namespace baton::model
