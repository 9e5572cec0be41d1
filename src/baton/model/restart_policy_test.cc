#include "baton/model/restart_policy.h"

#include <gtest/gtest.h>

namespace baton::model {
namespace {

using namespace std::chrono_literals;

const Time kT0 = TimeFromSeconds(1'000'000);

JobRecord Running(int32_t max_attempts, Duration backoff) {
  JobSpec spec;
  spec.tasks = 1;
  spec.command = {"true"};
  spec.restart_backoff = backoff;
  JobRecord job = NewJobRecord(JobId(7), spec, max_attempts, kT0);
  job = *Apply(job, JobEventData::Scheduled(1, {{"n", {0}}}), kT0);
  job = *Apply(job, JobEventData::Starting(1), kT0);
  return *Apply(job, JobEventData::AllTasksRunning(1), kT0);
}

TEST(RestartPolicyTest, BackoffDoublesPerCountedFailureAndSkipsPreemptions) {
  JobRecord job = Running(5, 10s);
  job = *Apply(job, JobEventData::TaskExited(1, 0, 1), kT0 + 100s);
  ASSERT_EQ(job.state, JobState::kPending);
  EXPECT_EQ(RetryAfter(job), kT0 + 110s);
  job = *Apply(job, JobEventData::Scheduled(2, {{"n", {0}}}), kT0 + 110s);
  job = *Apply(job, JobEventData::Starting(2), kT0 + 110s);
  job = *Apply(job, JobEventData::TaskExited(2, 0, 1), kT0 + 200s);
  EXPECT_EQ(RetryAfter(job), kT0 + 220s);  // 2nd counted failure: 20 s
  // A preemption retries at once.
  job = *Apply(job, JobEventData::Scheduled(3, {{"n", {0}}}), kT0 + 220s);
  job = *Apply(job, JobEventData::Preempted(3), kT0 + 230s);
  EXPECT_EQ(RetryAfter(job), std::nullopt);
  // No backoff configured: at once.
  JobRecord plain = Running(3, 0s);
  plain = *Apply(plain, JobEventData::TaskExited(1, 0, 1), kT0 + 5s);
  EXPECT_EQ(RetryAfter(plain), std::nullopt);
}

TEST(RestartPolicyTest, BackoffIsCapped) {
  JobRecord job = Running(100, 40min);
  job = *Apply(job, JobEventData::TaskExited(1, 0, 1), kT0 + 1s);
  job = *Apply(job, JobEventData::Scheduled(2, {{"n", {0}}}), kT0 + 2s);
  job = *Apply(job, JobEventData::Starting(2), kT0 + 2s);
  job = *Apply(job, JobEventData::TaskExited(2, 0, 1), kT0 + 3s);
  EXPECT_EQ(RetryAfter(job), kT0 + 3s + kMaxRestartBackoff);
}

TEST(RestartPolicyTest, CheckpointsMoveForwardAndMeasureLostWork) {
  JobRecord job = Running(3, 0s);
  EXPECT_TRUE(*RecordCheckpoint(job, 1, "/ck/step-100", kT0 + 60s));
  EXPECT_FALSE(*RecordCheckpoint(job, 1, "/ck/step-100", kT0 + 60s));  // duplicate report
  // An older report does not move the job's checkpoint back.
  EXPECT_FALSE(*RecordCheckpoint(job, 1, "/ck/step-50", kT0 + 30s));
  EXPECT_EQ(job.checkpoint->path, "/ck/step-100");
  EXPECT_EQ(job.attempts[0].last_checkpoint_path, "/ck/step-100");
  job = *Apply(job, JobEventData::NodeLost(1, "n"), kT0 + 100s);
  ASSERT_EQ(job.state, JobState::kPending);
  EXPECT_EQ(WorkLost(job.attempts[0]), 40s);
  // Written during the stop grace, reported after the attempt ended: still counts.
  EXPECT_TRUE(*RecordCheckpoint(job, 1, "/ck/step-130", kT0 + 101s));
  EXPECT_EQ(WorkLost(job.attempts[0]), Duration(0));  // clamped at the end
  EXPECT_EQ(job.attempts[0].last_checkpoint_path, "/ck/step-130");
  job = *Apply(job, JobEventData::Scheduled(2, {{"m", {0}}}), kT0 + 110s);
  EXPECT_EQ(ResumeFrom(job), "/ck/step-130");
  EXPECT_EQ(job.attempts[1].resumed_from, "/ck/step-130");
  EXPECT_EQ(WorkLost(job.attempts[1]), Duration(0));  // open
}

TEST(RestartPolicyTest, BadCheckpointReportsAreRefusedWithTheField) {
  JobRecord job = Running(1, 0s);
  EXPECT_EQ(RecordCheckpoint(job, 1, "", kT0).status().code(), StatusCode::kInvalidArgument);
  auto r = RecordCheckpoint(job, 5, "/x", kT0);
  EXPECT_NE(r.status().message().find("checkpoint.attempt"), std::string::npos);
  job = *Apply(job, JobEventData::TaskExited(1, 0, 0), kT0 + 1s);
  EXPECT_EQ(RecordCheckpoint(job, 1, "/x", kT0 + 2s).status().code(),
            StatusCode::kFailedPrecondition);
  // A never-checkpointed attempt that failed lost everything since its start.
  JobRecord other = Running(1, 0s);
  other = *Apply(other, JobEventData::TaskExited(1, 0, 9), kT0 + 75s);
  EXPECT_EQ(WorkLost(other.attempts[0]), 75s);
}

}  // namespace
}  // namespace baton::model
