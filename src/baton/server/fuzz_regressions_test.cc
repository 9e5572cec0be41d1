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

}  // namespace
}  // namespace baton::server
