// CheckStartTask: the agent's own bounds on a StartTask directive.
#include "baton/agent/start_task_check.h"

#include <gtest/gtest.h>

#include "baton/common/limits.h"

namespace baton::agent {
namespace {

v1::StartTask Valid() {
  v1::StartTask st;
  st.set_job_id("7");
  st.set_attempt(1);
  st.add_command("/bin/true");
  st.set_ranks(2);
  st.set_checkpoint_dir("/data/checkpoints/7");
  return st;
}

TEST(StartTaskCheckTest, AcceptsAWellFormedStart) { EXPECT_TRUE(CheckStartTask(Valid()).ok()); }

TEST(StartTaskCheckTest, RefusesOversizedOrUnsafeFields) {
  v1::StartTask st = Valid();
  st.set_ranks(5000);
  EXPECT_EQ(CheckStartTask(st).message(), "ranks: 5000; must be 0 to 1024");
  st = Valid();
  st.set_ranks(-1);
  EXPECT_FALSE(CheckStartTask(st).ok());
  st = Valid();
  st.set_job_id(std::string(300, '1'));
  EXPECT_EQ(CheckStartTask(st).message(), "job_id: 300 bytes; at most 253");
  st = Valid();
  st.add_command(std::string(limits::kMaxArgBytes + 1, 'a'));
  EXPECT_EQ(CheckStartTask(st).message(), "command[1]: 131073 bytes; at most 131072");
  st = Valid();
  (*st.mutable_env())["X"] = std::string(limits::kMaxArgBytes + 1, 'v');
  EXPECT_EQ(CheckStartTask(st).message().rfind("env: 'X' is too long", 0), 0u);
  st = Valid();
  for (int i = 0; i < 65; ++i) st.add_gpu_indices(i);
  EXPECT_EQ(CheckStartTask(st).message(), "gpu_indices: more than 64 GPUs");
  st = Valid();
  st.set_checkpoint_dir("relative/dir");
  EXPECT_EQ(CheckStartTask(st).message(), "checkpoint_dir: must be an absolute path");
  st = Valid();
  st.set_checkpoint_dir("/data/checkpoints/../../etc");
  EXPECT_EQ(CheckStartTask(st).message(), "checkpoint_dir: must not contain '..'");
  st = Valid();
  st.set_simulate_duration_ms(INT64_MAX);  // would overflow as microseconds
  EXPECT_EQ(CheckStartTask(st).message().rfind("simulate_duration_ms: ", 0), 0u);
  st = Valid();
  st.set_checkpoint_dir("/" + std::string(limits::kMaxPathLength, 'd'));
  EXPECT_EQ(CheckStartTask(st).message(), "checkpoint_dir: 4097 bytes; at most 4096");
}

}  // namespace
}  // namespace baton::agent
