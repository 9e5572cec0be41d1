// Control-plane bugs found by the fuzz targets (fuzz/, docs/fuzzing.md), each as a unit
// test of the behaviour that was wrong; the inputs that found them are kept in
// fuzz/corpus/control_plane/regress-*.
#include <gtest/gtest.h>

#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using testing_fixture::ControlPlaneTest;
using testing_fixture::MakeRegister;
using testing_fixture::RecordingSink;
using testing_fixture::Spec;
using testing_fixture::Starts;

class FuzzRegressionTest : public ControlPlaneTest {};

// regress-rack-with-two-gpu-types: an A100 agent and an H100 agent in the default rack
// made the scheduler's rack books (sized for the first node's type) overflow on the next
// fleet rebuild. Both now schedule.
TEST_F(FuzzRegressionTest, AgentsOfTwoGpuTypesInOneRackBothSchedule) {
  auto a100 = std::make_shared<RecordingSink>();
  auto h100 = std::make_shared<RecordingSink>();
  Connect("node-1", 8, a100, MakeRegister("node-1", 8, "A100"));
  Connect("node-0", 7, h100, MakeRegister("node-0", 7, "H100"));
  Tick();
  model::JobSpec big = Spec(1, 8);
  big.gpu_types = {"A100"};
  model::JobSpec seven = Spec(1, 7);
  seven.gpu_types = {"H100"};
  ASSERT_TRUE(SubmitSync(big).ok());
  ASSERT_TRUE(SubmitSync(seven).ok());
  Tick();
  EXPECT_EQ(Starts(a100->Take()).size(), 1u);
  EXPECT_EQ(Starts(h100->Take()).size(), 1u);
  EXPECT_EQ(cp_->Stats().gpus_allocated, 15);
}

// An agent's CheckpointReport.mtime_ms of INT64_MAX overflowed the conversion to the
// control plane's microsecond clock (UBSan). It is clamped to [0, now]: the report counts,
// dated now.
TEST_F(FuzzRegressionTest, HugeCheckpointMtimeIsClampedNotOverflowed) {
  auto sink = std::make_shared<RecordingSink>();
  const int64_t s = Connect("n1", 1, sink);
  auto job = SubmitSync(Spec(1, 1));
  ASSERT_TRUE(job.ok());
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 1u);
  Msg(s, testing_fixture::Status(starts[0], v1::TASK_STATE_RUNNING));
  v1::AgentMessage m;
  v1::CheckpointReport* cr = m.mutable_checkpoint();
  cr->set_job_id(starts[0].job_id());
  cr->set_attempt(starts[0].attempt());
  cr->set_task_index(0);
  cr->set_path("/ckpt/1/step-9");
  cr->set_mtime_ms(INT64_MAX);
  Msg(s, m);
  cp_->Flush();
  auto got = cp_->Get(JobId(std::stoull(job->id())));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->checkpoint().path(), "/ckpt/1/step-9");
  EXPECT_EQ(got->checkpoint().time().seconds(),
            std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
                .count());
}

}  // namespace
}  // namespace baton::server
