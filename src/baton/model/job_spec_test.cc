// ValidateJobSpec's size limits (common/limits.h): every string and list of a job spec has
// a bound, and the error names the field and the limit.
#include "baton/model/job_spec.h"

#include <gtest/gtest.h>

#include "baton/common/limits.h"

namespace baton::model {
namespace {

JobSpec Valid() {
  JobSpec s;
  s.name = "train";
  s.command = {"python", "train.py"};
  return s;
}

void ExpectInvalid(const JobSpec& s, const std::string& starts_with) {
  Status st = ValidateJobSpec(s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind(starts_with, 0), 0u) << st.message();
}

TEST(JobSpecLimitsTest, ValidSpecAtTheLimitsPasses) {
  JobSpec s = Valid();
  s.name = std::string(limits::kMaxNameLength, 'n');
  s.queue = std::string(limits::kMaxNameLength, 'q');
  s.command = {std::string(limits::kMaxArgBytes, 'a')};
  s.gpu_types.assign(limits::kMaxGpuTypes, "H100");
  EXPECT_TRUE(ValidateJobSpec(s).ok()) << ValidateJobSpec(s).ToString();
}

TEST(JobSpecLimitsTest, NamesAreBounded) {
  JobSpec s = Valid();
  s.name = std::string(limits::kMaxNameLength + 1, 'n');
  ExpectInvalid(s, "name: 254 bytes; at most 253");
  s = Valid();
  s.name = "a\nb";
  ExpectInvalid(s, "name: must not contain control characters");
  s = Valid();
  s.queue = std::string(limits::kMaxNameLength + 1, 'q');
  ExpectInvalid(s, "queue: 254 bytes; at most 253");
  s = Valid();
  s.queue = "team a";
  ExpectInvalid(s, "queue: 'team a' may only hold");
}

TEST(JobSpecLimitsTest, CommandAndEnvAreBounded) {
  JobSpec s = Valid();
  s.command = {"x", std::string(limits::kMaxArgBytes + 1, 'a')};
  ExpectInvalid(s, "command: argument 1 is 131073 bytes; at most 131072");
  s = Valid();
  s.command = {std::string("a\0b", 3)};
  ExpectInvalid(s, "command: argument 0 contains a NUL byte");
  s = Valid();
  s.command.assign(kMaxCommandArgs + 1, "x");
  ExpectInvalid(s, "command: 4097 arguments; at most 4096");
  s = Valid();
  for (int i = 0; i < 10; ++i) s.command.push_back(std::string(limits::kMaxArgBytes, 'a'));
  ExpectInvalid(s, "command: the command and env together are");
  s = Valid();
  s.env[std::string(limits::kMaxEnvNameLength + 1, 'A')] = "1";
  ExpectInvalid(s, "env: a variable name is 256 bytes; at most 255");
  s = Valid();
  s.env["BIG"] = std::string(limits::kMaxArgBytes + 1, 'v');
  ExpectInvalid(s, "env: value of 'BIG' is 131073 bytes; at most 131072");
}

TEST(JobSpecLimitsTest, GpuTypeListsAreBounded) {
  JobSpec s = Valid();
  s.gpu_types.assign(limits::kMaxGpuTypes + 1, "H100");
  ExpectInvalid(s, "gpu_type: 65 entries; at most 64");
  s = Valid();
  s.gpu_preference = {std::string(limits::kMaxNameLength + 1, 'g')};
  ExpectInvalid(s, "gpu_preference: entry 0 is 254 bytes; at most 253");
}

}  // namespace
}  // namespace baton::model
