// Agents that come back with stale state: tasks of attempts that ended while they were
// away, or of jobs the control plane does not know, are stopped, never re-adopted, and
// their GPUs are not given out until they are confirmed gone.
#include <gtest/gtest.h>

#include <future>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using namespace testing_fixture;

std::vector<v1::StopTask> StopsOf(const std::vector<v1::Directive>& ds) {
  std::vector<v1::StopTask> out;
  for (const auto& d : ds) {
    if (d.has_stop_task()) out.push_back(d.stop_task());
  }
  return out;
}

TEST_F(ControlPlaneTest, ATaskOfAnAttemptThatEndedWhileItsAgentWasAwayIsStoppedNotReadopted) {
  auto a = std::make_shared<RecordingSink>();
  const int64_t s1 = Connect("node-a", 1, a);
  auto job = SubmitSync(Spec(1, 1));
  ASSERT_TRUE(job.ok());
  Tick();
  auto starts = Starts(a->Take());
  ASSERT_EQ(starts.size(), 1u);
  Msg(s1, Status(starts[0], v1::TASK_STATE_RUNNING));
  // The stream breaks; while the agent is away the job is cancelled (no stop can be sent).
  cp_->OnAgentDisconnected(s1);
  std::promise<Result<v1::Job>> p;
  cp_->Cancel(JobId(std::stoull(job->id())), "by test",
              [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(p.get_future().get().ok());
  auto next = SubmitSync(Spec(1, 1));  // wants the same GPU
  ASSERT_TRUE(next.ok());

  // The agent reconnects still running the cancelled attempt's task, and a task of a job
  // this control plane never had.
  v1::Register reg = MakeRegister("node-a", 1);
  *reg.add_tasks() = Status(starts[0], v1::TASK_STATE_RUNNING).task_status();
  v1::StartTask alien = starts[0];
  alien.set_job_id("999");
  *reg.add_tasks() = Status(alien, v1::TASK_STATE_RUNNING).task_status();
  auto a2 = std::make_shared<RecordingSink>();
  const int64_t s2 = Connect("node-a", 1, a2, reg);
  Tick();
  auto ds = a2->Take();
  auto stops = StopsOf(ds);
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_TRUE(Starts(ds).empty()) << "the GPU was given out while a stale task may hold it";
  EXPECT_EQ(StateOf(*job), model::JobState::kCancelled);  // not re-adopted
  // Once both are confirmed gone, the waiting job gets the GPU.
  Msg(s2, Status(starts[0], v1::TASK_STATE_STOPPED, 143));
  Msg(s2, Status(alien, v1::TASK_STATE_STOPPED, 143));
  Tick();
  auto placed = Starts(a2->Take());
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].job_id(), next->id());
  EXPECT_EQ(StateOf(*job), model::JobState::kCancelled);
}

// A start whose task never reported running is sent again to the same agent process (it
// may never have arrived; the agent starts a task at most once), but never to a new
// process of the agent: the old one may have run it (its leftover sweep killed it), and a
// second start of the same (job, attempt, task) is what must not happen.
TEST_F(ControlPlaneTest, AStartIsResentToTheSameAgentProcessButNeverToARestartedOne) {
  auto a = std::make_shared<RecordingSink>();
  v1::Register reg = MakeRegister("node-a", 1);
  reg.set_instance_id("first");
  const int64_t s1 = Connect("node-a", 1, a, reg);
  auto job = SubmitSync(Spec(1, 1, /*max_attempts=*/3));
  ASSERT_TRUE(job.ok());
  Tick();
  ASSERT_EQ(Starts(a->Take()).size(), 1u);
  cp_->OnAgentDisconnected(s1);
  // Same process, reconnecting without the task: it never got the start; send it again.
  auto a2 = std::make_shared<RecordingSink>();
  const int64_t s2 = Connect("node-a", 1, a2, reg);
  auto again = Starts(a2->Take());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt(), 1);
  cp_->OnAgentDisconnected(s2);
  // A new process (instance changed) without the task: attempt 1 is over, never resent.
  reg.set_instance_id("second");
  auto a3 = std::make_shared<RecordingSink>();
  Connect("node-a", 1, a3, reg);
  Tick();
  auto third = Starts(a3->Take());
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].attempt(), 2);
  auto j = cp_->Get(JobId(std::stoull(job->id())));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->attempts(0).end_reason(), "node-lost");
}

// An agent that comes back having lost one task of a starting gang (vanished) and never
// reported the other running: the attempt ends and nothing of it is started again, so
// its GPUs cannot go to the next attempt while a resent task holds them.
TEST_F(ControlPlaneTest, WhenATaskVanishedNothingOfItsAttemptIsStartedAgain) {
  auto a = std::make_shared<RecordingSink>();
  v1::Register reg = MakeRegister("node-a", 2);
  reg.set_instance_id("one");
  const int64_t s1 = Connect("node-a", 2, a, reg);
  auto job = SubmitSync(Spec(2, 1, /*max_attempts=*/3));
  ASSERT_TRUE(job.ok());
  Tick();
  auto starts = Starts(a->Take());
  ASSERT_EQ(starts.size(), 2u);
  const v1::StartTask& first = starts[0].task_index() == 0 ? starts[0] : starts[1];
  Msg(s1, Status(first, v1::TASK_STATE_RUNNING));  // task 0 runs; task 1 never reported
  cp_->OnAgentDisconnected(s1);
  auto a2 = std::make_shared<RecordingSink>();
  Connect("node-a", 2, a2, reg);  // same process, but it has neither task
  Tick();
  for (const auto& st : Starts(a2->Take())) {
    EXPECT_NE(st.attempt(), 1) << "task " << st.task_index() << " of the ended attempt resent";
  }
  auto j = cp_->Get(JobId(std::stoull(job->id())));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->attempts(0).end_reason(), "node-lost");
}

}  // namespace
}  // namespace baton::server
