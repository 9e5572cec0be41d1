#include "baton/model/job_lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "baton/common/rng.h"
#include "baton/model/restart_policy.h"

namespace baton::model {
namespace {

using ::testing::HasSubstr;
using S = JobState;
using E = JobEvent;

constexpr S kAllStates[] = {S::kPending,   S::kScheduled, S::kStarting, S::kRunning,
                            S::kSucceeded, S::kFailed,    S::kCancelled};
constexpr E kAllEvents[] = {E::kScheduled,  E::kStarting,        E::kAllTasksRunning,
                            E::kTaskExited, E::kPreempted,       E::kNodeLost,
                            E::kCancelRequested, E::kStartTimeout};

Time T(int64_t s) { return TimeFromSeconds(1000 + s); }

JobRecord NewJob(int32_t tasks, int32_t max_attempts, bool gang = true) {
  JobSpec spec;
  spec.name = "train";
  spec.tasks = tasks;
  spec.gang = gang;
  return NewJobRecord(JobId(7), spec, max_attempts, T(0));
}

std::vector<TaskPlacement> Placements(int32_t tasks) {
  std::vector<TaskPlacement> out;
  for (int32_t i = 0; i < tasks; ++i) out.push_back({"node-" + std::to_string(i), {0, 1}});
  return out;
}

JobRecord Must(const JobRecord& job, const JobEventData& ev, Time now = T(10)) {
  auto r = Apply(job, ev, now);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : job;
}

// Everything but the spec (which has no operator==).
void ExpectSameRecord(const JobRecord& a, const JobRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.max_attempts, b.max_attempts);
  EXPECT_EQ(a.submit_time, b.submit_time);
  EXPECT_EQ(a.reason, b.reason);
}

int32_t Cur(const JobRecord& job) {
  const Attempt* a = OpenAttempt(job);
  return a ? a->number : NextAttemptNumber(job);
}

JobRecord InState(S state, int32_t tasks, int32_t max_attempts, bool gang = true) {
  JobRecord job = NewJob(tasks, max_attempts, gang);
  if (state == S::kPending) return job;
  if (state == S::kCancelled) return Must(job, JobEventData::CancelRequested());
  job = Must(job, JobEventData::Scheduled(1, Placements(tasks)));
  if (state == S::kScheduled) return job;
  job = Must(job, JobEventData::Starting(1));
  if (state == S::kStarting) return job;
  job = Must(job, JobEventData::AllTasksRunning(1));
  if (state == S::kRunning) return job;
  if (state == S::kFailed) {
    for (int32_t a = 1; a <= max_attempts; ++a) {
      // Without gang a failed task restarts in place: the next attempt is already open.
      if (a > 1 && EffectiveRestartScope(job.spec) == RestartScope::kAllTasks) {
        job = Must(job, JobEventData::Scheduled(a, Placements(tasks)));
        job = Must(job, JobEventData::Starting(a));
      }
      job = Must(job, JobEventData::TaskExited(a, 0, 1));
    }
    EXPECT_EQ(job.state, S::kFailed);
    return job;
  }
  for (int32_t t = 0; t < tasks; ++t) job = Must(job, JobEventData::TaskExited(1, t, 0));
  EXPECT_EQ(job.state, S::kSucceeded);
  return job;
}

// A well-formed event of kind `e` for the job's current attempt.
JobEventData EventFor(const JobRecord& job, E e, int32_t exit_code) {
  switch (e) {
    case E::kScheduled: return JobEventData::Scheduled(Cur(job), Placements(job.spec.tasks));
    case E::kStarting: return JobEventData::Starting(Cur(job));
    case E::kAllTasksRunning: return JobEventData::AllTasksRunning(Cur(job));
    case E::kTaskExited: return JobEventData::TaskExited(Cur(job), 0, exit_code);
    case E::kPreempted: return JobEventData::Preempted(Cur(job));
    case E::kNodeLost: return JobEventData::NodeLost(Cur(job), "node-0");
    case E::kCancelRequested: return JobEventData::CancelRequested();
    case E::kStartTimeout: return JobEventData::StartTimeout(Cur(job));
  }
  return {};
}

// The transition table of docs/job-lifecycle.md, written out independently of the code.
bool ExpectedAllowed(S s, E e) {
  static const std::set<std::pair<S, E>> kAllowed = {
      {S::kPending, E::kScheduled},        {S::kPending, E::kCancelRequested},
      {S::kScheduled, E::kStarting},       {S::kScheduled, E::kPreempted},
      {S::kScheduled, E::kNodeLost},       {S::kScheduled, E::kCancelRequested},
      {S::kStarting, E::kAllTasksRunning}, {S::kStarting, E::kTaskExited},
      {S::kStarting, E::kPreempted},       {S::kStarting, E::kNodeLost},
      {S::kStarting, E::kCancelRequested}, {S::kStarting, E::kStartTimeout},
      {S::kRunning, E::kTaskExited},       {S::kRunning, E::kPreempted},
      {S::kRunning, E::kNodeLost},         {S::kRunning, E::kCancelRequested},
  };
  return kAllowed.count({s, e}) > 0;
}

TEST(JobLifecycleTest, NamesAndTerminal) {
  EXPECT_EQ(JobStateName(S::kPending), "pending");
  EXPECT_EQ(JobStateName(S::kCancelled), "cancelled");
  EXPECT_EQ(JobEventName(E::kTaskExited), "task-exited");
  EXPECT_EQ(AttemptEndReasonName(AttemptEndReason::kStartTimeout), "start-timeout");
  EXPECT_EQ(FormatPlacement({"node-3", {0, 1}}), "node-3:0,1");
  EXPECT_EQ(FormatPlacement({"node-3", {}}), "node-3:-");
  for (S s : kAllStates) {
    EXPECT_EQ(IsTerminal(s), s == S::kSucceeded || s == S::kFailed || s == S::kCancelled);
    EXPECT_EQ(IsTerminal(s), AllowedNext(s).empty()) << JobStateName(s);
  }
}

// Every (state, event) pair, with and without retries left, exit 0 and non-zero, one and
// two tasks: exactly the table's pairs are accepted, each lands in AllowedNext (or stays
// put for a task exiting 0 while others run), and every AllowedNext state is reached.
TEST(JobLifecycleTest, TransitionTable) {
  for (S s : kAllStates) {
    std::set<S> reached;
    for (E e : kAllEvents) {
      for (int32_t tasks : {1, 2, -2}) {  // -2: two tasks without gang
        for (int32_t max_attempts : {1, 2}) {
          for (int32_t exit_code : {0, 3}) {
            const bool gang = tasks > 0;
            JobRecord job = InState(s, std::abs(tasks), max_attempts, gang);
            ASSERT_EQ(job.state, s);
            const JobRecord before = job;
            auto r = Apply(job, EventFor(job, e, exit_code), T(20));
            SCOPED_TRACE(fmt::format("{} + {} (tasks={} max={} exit={})", JobStateName(s),
                                     JobEventName(e), tasks, max_attempts, exit_code));
            ExpectSameRecord(job, before);
            ASSERT_EQ(r.ok(), ExpectedAllowed(s, e)) << r.status().ToString();
            if (!r.ok()) {
              EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
              EXPECT_THAT(r.status().message(), HasSubstr("job 7: it is "));
              EXPECT_THAT(r.status().message(), HasSubstr(JobStateName(s)));
              continue;
            }
            if (r->state == s) {
              EXPECT_EQ(e, E::kTaskExited);
              // A task exiting 0 while another runs, or a failed task restarted in place.
              EXPECT_TRUE(exit_code == 0 || (!gang && s == S::kStarting));
              EXPECT_NE(tasks, 1);
              continue;
            }
            std::vector<S> next = AllowedNext(s);
            EXPECT_NE(std::find(next.begin(), next.end(), r->state), next.end())
                << JobStateName(r->state);
            reached.insert(r->state);
          }
        }
      }
    }
    std::vector<S> next = AllowedNext(s);
    EXPECT_EQ(reached, std::set<S>(next.begin(), next.end())) << JobStateName(s);
  }
}

TEST(JobLifecycleTest, RefusalMessageNamesJobStateAndEvent) {
  JobRecord job = InState(S::kSucceeded, 1, 1);
  auto r = Apply(job, JobEventData::Starting(1), T(30));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot start job 7: it is succeeded");
}

TEST(JobLifecycleTest, HappyPathTwoTaskGang) {
  JobRecord job = NewJob(2, 1);
  EXPECT_EQ(job.reason, "submitted");
  job = Must(job, JobEventData::Scheduled(1, Placements(2)), T(1));
  EXPECT_EQ(job.state, S::kScheduled);
  EXPECT_THAT(job.reason, HasSubstr("2 nodes (node-0, node-1)"));
  ASSERT_EQ(job.attempts.size(), 1u);
  EXPECT_EQ(job.attempts[0].number, 1);
  EXPECT_EQ(job.attempts[0].start_time, T(1));
  EXPECT_TRUE(job.attempts[0].open());
  job = Must(job, JobEventData::Starting(1), T(2));
  EXPECT_EQ(job.state, S::kStarting);
  job = Must(job, JobEventData::AllTasksRunning(1), T(3));
  EXPECT_EQ(job.state, S::kRunning);
  job = Must(job, JobEventData::TaskExited(1, 1, 0), T(50));
  EXPECT_EQ(job.state, S::kRunning);
  EXPECT_THAT(job.reason, HasSubstr("1 of 2 done"));
  // The same task cannot exit twice.
  auto dup = Apply(job, JobEventData::TaskExited(1, 1, 0), T(51));
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("task 1 of attempt 1 already exited"));
  job = Must(job, JobEventData::TaskExited(1, 0, 0), T(60));
  EXPECT_EQ(job.state, S::kSucceeded);
  const Attempt& a = job.attempts[0];
  EXPECT_EQ(a.end_reason, AttemptEndReason::kSucceeded);
  EXPECT_EQ(a.end_time, T(60));
  EXPECT_FALSE(a.counts_toward_limit);
  EXPECT_EQ(a.task_exit_codes, (std::vector<std::optional<int32_t>>{0, 0}));
}

TEST(JobLifecycleTest, FailedTaskIsRetriedThenFails) {
  JobRecord job = InState(S::kRunning, 2, 2);
  job = Must(job, JobEventData::TaskExited(1, 1, 3), T(40));
  EXPECT_EQ(job.state, S::kPending);
  EXPECT_THAT(job.reason, HasSubstr("task 1 exited with code 3"));
  EXPECT_THAT(job.reason, HasSubstr("retrying (1 of 2"));
  EXPECT_EQ(job.attempts[0].end_reason, AttemptEndReason::kTaskFailed);
  EXPECT_EQ(job.attempts[0].failed_task, 1);
  EXPECT_EQ(job.attempts[0].exit_code, 3);
  // The other task's late exit for attempt 1 is refused.
  auto late = Apply(job, JobEventData::TaskExited(1, 0, 137), T(41));
  EXPECT_FALSE(late.ok());

  EXPECT_EQ(NextAttemptNumber(job), 2);
  job = Must(job, JobEventData::Scheduled(2, Placements(2)), T(50));
  job = Must(job, JobEventData::Starting(2), T(51));
  job = Must(job, JobEventData::AllTasksRunning(2), T(52));
  job = Must(job, JobEventData::TaskExited(2, 1, 3), T(90));
  EXPECT_EQ(job.state, S::kFailed);
  EXPECT_THAT(job.reason, HasSubstr("task 1 exited with code 3"));
  EXPECT_THAT(job.reason, HasSubstr("no attempts left"));
  EXPECT_EQ(CountedAttempts(job), 2);
}

TEST(JobLifecycleTest, PreemptionDoesNotConsumeAttempts) {
  JobRecord job = NewJob(1, 1);
  for (int32_t n = 1; n <= 3; ++n) {
    job = Must(job, JobEventData::Scheduled(n, Placements(1)));
    job = Must(job, JobEventData::Starting(n));
    job = Must(job, JobEventData::Preempted(n));
    EXPECT_EQ(job.state, S::kPending);
    EXPECT_EQ(job.attempts.back().end_reason, AttemptEndReason::kPreempted);
  }
  EXPECT_EQ(CountedAttempts(job), 0);
  // A node lost before anything started does not count either.
  job = Must(job, JobEventData::Scheduled(4, Placements(1)));
  job = Must(job, JobEventData::NodeLost(4, "node-0"));
  EXPECT_EQ(job.state, S::kPending);
  EXPECT_EQ(CountedAttempts(job), 0);
  // With max_attempts 1, the first counted failure is final.
  job = Must(job, JobEventData::Scheduled(5, Placements(1)));
  job = Must(job, JobEventData::Starting(5));
  job = Must(job, JobEventData::NodeLost(5, "node-0"));
  EXPECT_EQ(job.state, S::kFailed);
  EXPECT_THAT(job.reason, HasSubstr("node node-0 lost"));
  EXPECT_EQ(job.attempts.size(), 5u);
}

TEST(JobLifecycleTest, StaleAndMalformedEventsAreRefusedAndChangeNothing) {
  JobRecord job = InState(S::kRunning, 2, 3);
  job = Must(job, JobEventData::Preempted(1));
  job = Must(job, JobEventData::Scheduled(2, Placements(2)));
  const JobRecord before = job;
  const std::vector<JobEventData> bad = {
      JobEventData::Starting(1),                    // stale attempt
      JobEventData::Starting(3),                    // future attempt
      JobEventData::Scheduled(2, Placements(2)),    // duplicate schedule
      JobEventData::Preempted(1),                   // stale
      JobEventData::NodeLost(2, "node-9"),          // not a node of the attempt
      JobEventData::AllTasksRunning(2),             // not starting yet
  };
  for (const JobEventData& ev : bad) {
    auto r = Apply(job, ev, T(99));
    EXPECT_FALSE(r.ok()) << JobEventName(ev.event);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    ExpectSameRecord(job, before);
  }
  auto stale = Apply(job, JobEventData::Starting(1), T(99));
  EXPECT_EQ(stale.status().message(),
            "cannot start job 7: event is for attempt 1, but the open attempt is 2");

  JobRecord starting = Must(job, JobEventData::Starting(2));
  auto out_of_range = Apply(starting, JobEventData::TaskExited(2, 2, 0), T(99));
  EXPECT_EQ(out_of_range.status().code(), StatusCode::kInvalidArgument);
  auto wrong_count = Apply(NewJob(2, 1), JobEventData::Scheduled(1, Placements(1)), T(1));
  EXPECT_EQ(wrong_count.status().code(), StatusCode::kInvalidArgument);
}

TEST(JobLifecycleTest, CancelFromEachState) {
  for (S s : kAllStates) {
    JobRecord job = InState(s, 2, 2);
    auto r = Apply(job, JobEventData::CancelRequested(), T(70));
    SCOPED_TRACE(JobStateName(s));
    if (IsTerminal(s)) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().message(), fmt::format("cannot cancel job 7: it is {}",
                                                  JobStateName(s)));
      continue;
    }
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->state, S::kCancelled);
    if (s == S::kPending) {
      EXPECT_TRUE(r->attempts.empty());
      EXPECT_EQ(r->reason, "cancelled while pending");
    } else {
      ASSERT_EQ(r->attempts.size(), 1u);
      EXPECT_EQ(r->attempts[0].end_reason, AttemptEndReason::kCancelled);
      EXPECT_EQ(r->attempts[0].end_time, T(70));
      EXPECT_THAT(r->reason, HasSubstr(JobStateName(s)));
    }
  }
}

TEST(JobLifecycleTest, EndTimeIsClampedToStart) {
  JobRecord job = InState(S::kScheduled, 1, 1);  // scheduled at T(10)
  job = Must(job, JobEventData::Preempted(1), T(5));
  EXPECT_EQ(job.attempts[0].end_time, T(10));
}

// Random event sequences, mostly well-formed, some stale or duplicate.
TEST(JobLifecycleTest, PropertiesOverRandomEventSequences) {
  Rng rng(20240607);
  int accepted = 0;
  for (int run = 0; run < 300; ++run) {
    const int32_t tasks = static_cast<int32_t>(rng.UniformInt(1, 3));
    JobRecord job = NewJob(tasks, static_cast<int32_t>(rng.UniformInt(1, 3)), rng.Bernoulli(0.7));
    int64_t clock = 0;
    for (int step = 0; step < 40; ++step) {
      clock += rng.UniformInt(-2, 10);  // a clock may step back a little
      const E e = kAllEvents[rng.UniformInt(0, kJobEventCount - 1)];
      JobEventData ev = EventFor(job, e, rng.Bernoulli(0.3) ? 1 : 0);
      ev.attempt += static_cast<int32_t>(rng.UniformInt(-1, 1)) * (rng.Bernoulli(0.2) ? 1 : 0);
      ev.task = static_cast<int32_t>(rng.UniformInt(0, tasks - 1));
      if (rng.Bernoulli(0.1)) ev.node = "node-" + std::to_string(rng.UniformInt(0, 4));
      const JobRecord before = job;
      auto r = Apply(job, ev, T(clock));
      ExpectSameRecord(job, before);
      if (!r.ok()) {
        EXPECT_NE(r.status().code(), StatusCode::kInternal) << r.status().ToString();
        continue;
      }
      ++accepted;
      const JobRecord& next = *r;
      EXPECT_FALSE(IsTerminal(before.state)) << "terminal state changed";
      if (next.state != before.state) {
        std::vector<S> allowed = AllowedNext(before.state);
        EXPECT_NE(std::find(allowed.begin(), allowed.end(), next.state), allowed.end());
      }
      int open = 0;
      for (size_t i = 0; i < next.attempts.size(); ++i) {
        const Attempt& a = next.attempts[i];
        EXPECT_EQ(a.number, static_cast<int32_t>(i) + 1);
        if (a.open()) {
          ++open;
          EXPECT_EQ(i + 1, next.attempts.size()) << "only the last attempt may be open";
          EXPECT_EQ(a.end_reason, AttemptEndReason::kNone);
        } else {
          EXPECT_GE(*a.end_time, a.start_time);
          EXPECT_NE(a.end_reason, AttemptEndReason::kNone);
        }
        if (a.end_reason == AttemptEndReason::kPreempted) {
          EXPECT_FALSE(a.counts_toward_limit);
        }
      }
      EXPECT_LE(open, 1);
      const bool active = next.state == S::kScheduled || next.state == S::kStarting ||
                          next.state == S::kRunning;
      EXPECT_EQ(open == 1, active) << JobStateName(next.state);
      EXPECT_LE(CountedAttempts(next), next.max_attempts);
      job = next;
    }
  }
  EXPECT_GT(accepted, 500);
}

// Restart scope failed-tasks (the default without gang): only the failed task restarts,
// in place; its siblings carry on under their own attempt number; the budget is shared.
TEST(JobLifecycleTest, WithoutGangOnlyTheFailedTaskRestartsInPlace) {
  JobRecord job = InState(S::kRunning, 3, 3, /*gang=*/false);
  job = Must(job, JobEventData::TaskExited(1, 2, 0));  // task 2 is done
  JobRecord next = Must(job, JobEventData::TaskExited(1, 1, 7), T(20));
  EXPECT_EQ(next.state, S::kStarting);
  ASSERT_EQ(next.attempts.size(), 2u);
  const Attempt& first = next.attempts[0];
  EXPECT_EQ(first.end_reason, AttemptEndReason::kTaskFailed);
  EXPECT_TRUE(first.counts_toward_limit);
  EXPECT_EQ(first.failed_task, 1);
  const Attempt& second = next.attempts[1];
  EXPECT_TRUE(second.open());
  EXPECT_EQ(second.placements, first.placements);  // in place
  EXPECT_EQ(second.task_attempts, (std::vector<int32_t>{1, 2, 1}));
  EXPECT_EQ(second.task_exit_codes[2], 0);  // done stays done
  EXPECT_FALSE(second.task_exit_codes[1].has_value());
  EXPECT_THAT(next.reason, HasSubstr("restarting only task 1 in place as attempt 2"));
  // The restarted task reports under attempt 2; task 0 still under attempt 1. A stale
  // report of task 1's first run (attempt 1) is refused.
  auto stale = Apply(next, JobEventData::TaskExited(1, 1, 7), T(21));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  next = Must(next, JobEventData::AllTasksRunning(2), T(22));
  EXPECT_EQ(next.state, S::kRunning);
  // Task 0 fails too (under attempt 1): attempt 3 restarts it; task 1 keeps attempt 2.
  next = Must(next, JobEventData::TaskExited(1, 0, 1), T(23));
  ASSERT_EQ(next.attempts.size(), 3u);
  EXPECT_EQ(next.attempts[2].task_attempts, (std::vector<int32_t>{3, 2, 1}));
  EXPECT_EQ(next.state, S::kStarting);
  // Both finish: the job succeeds with every task's exit 0.
  next = Must(next, JobEventData::TaskExited(2, 1, 0), T(24));
  next = Must(next, JobEventData::TaskExited(3, 0, 0), T(25));
  EXPECT_EQ(next.state, S::kSucceeded);
  // Every run of every task, and why each ended.
  std::vector<std::string> runs;
  for (const TaskRun& r : TaskRuns(next)) {
    runs.push_back(fmt::format("{}@{}:{}", r.task, r.attempt, r.how_ended));
  }
  EXPECT_EQ(runs, (std::vector<std::string>{"0@1:exited with code 1", "0@3:exited 0",
                                            "1@1:exited with code 7", "1@2:exited 0",
                                            "2@1:exited 0"}));
}

TEST(JobLifecycleTest, WithoutGangTheSharedBudgetRunsOutAndTheJobFails) {
  JobRecord job = InState(S::kRunning, 2, 2, /*gang=*/false);
  job = Must(job, JobEventData::TaskExited(1, 0, 1));
  EXPECT_EQ(job.state, S::kStarting);
  job = Must(job, JobEventData::TaskExited(1, 1, 2));  // the sibling, still attempt 1
  EXPECT_EQ(job.state, S::kFailed);
  EXPECT_THAT(job.reason, HasSubstr("no attempts left"));
  // A GPU health failure, or all-tasks scope, ends the whole attempt instead.
  JobRecord other = InState(S::kRunning, 2, 3, /*gang=*/false);
  JobEventData ev = JobEventData::TaskExited(1, 0, 1);
  ev.may_restart_in_place = false;
  other = Must(other, ev);
  EXPECT_EQ(other.state, S::kPending);
  JobRecord all = InState(S::kRunning, 2, 3, /*gang=*/false);
  all.spec.restart_scope = RestartScope::kAllTasks;
  all = Must(all, JobEventData::TaskExited(1, 0, 1));
  EXPECT_EQ(all.state, S::kPending);
  const auto runs = TaskRuns(all);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].how_ended, "stopped: task-failed (task 0)");
}

TEST(JobSpecTest, RestartScopeNamesAndValidation) {
  EXPECT_EQ(*ParseRestartScope("failed-tasks"), RestartScope::kFailedTasks);
  EXPECT_EQ(*ParseRestartScope("all-tasks"), RestartScope::kAllTasks);
  auto bad = ParseRestartScope("some");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("all-tasks or failed-tasks"));
  JobSpec spec;
  spec.command = {"x"};
  spec.tasks = 4;
  EXPECT_EQ(EffectiveRestartScope(spec), RestartScope::kAllTasks);  // a gang
  spec.gang = false;
  EXPECT_EQ(EffectiveRestartScope(spec), RestartScope::kFailedTasks);
  spec.gang = true;
  spec.restart_scope = RestartScope::kFailedTasks;
  const Status s = ValidateJobSpec(spec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("restart_scope: failed-tasks needs gang: false"));
}

}  // namespace
}  // namespace baton::model
