// ResolveTaskUser and PrivateDir (launch/task_user.h). Needs root (skips otherwise).
#include "baton/agent/launch/task_user.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TaskUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    dir_ = fs::temp_directory_path() / ("baton-task-user-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TaskUserTest, Resolves) {
  auto nobody = ResolveTaskUser({}, "alice");
  ASSERT_TRUE(nobody.ok());
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_EQ(nobody->user, "nobody");
  EXPECT_TRUE(nobody->switch_user);

  auto numeric = ResolveTaskUser({.service_user = "43210"}, "");
  ASSERT_TRUE(numeric.ok());
  EXPECT_EQ(numeric->uid, 43210u);
  EXPECT_EQ(numeric->gid, 43210u);

  auto mapped = ResolveTaskUser({.map_users = true}, "daemon");
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->uid, 1u);
  EXPECT_EQ(mapped->user, "daemon");

  EXPECT_EQ(ResolveTaskUser({.map_users = true}, "../etc").status().message(),
            "run_as_user: '../etc' is not a valid user name");
  EXPECT_EQ(ResolveTaskUser({.service_user = "no-such-svc"}, "").status().message(),
            "--task-user: user 'no-such-svc' does not exist on this node");
  EXPECT_EQ(ResolveTaskUser({.service_user = "0"}, "").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ResolveTaskUser({.service_user = "0", .allow_root = true}, "").ok());

  EXPECT_TRUE(CheckTaskUserPolicy({}).ok());
  EXPECT_THAT(CheckTaskUserPolicy({.service_user = "root"}).message(),
              HasSubstr("--allow-root-tasks"));
  EXPECT_FALSE(CheckTaskUserPolicy({.service_user = "no-such-svc"}).ok());
}

TEST_F(TaskUserTest, PrivateDirNeverFollowsOrTakesOver) {
  TaskCredentials nobody = ResolveTaskUser({}, "").value();
  // Created with its parents: the leaf 0700 and the task's.
  fs::path made = dir_ / "a" / "b";
  ASSERT_TRUE(PrivateDir(made.string(), nobody).ok());
  struct stat st {};
  ASSERT_EQ(::stat(made.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 65534u);
  // Adopting it again (a retry on this node) is fine.
  EXPECT_TRUE(PrivateDir(made.string(), nobody).ok());

  // A symlink at the leaf is refused, and its target untouched.
  fs::create_directories(dir_ / "target");
  fs::create_symlink(dir_ / "target", dir_ / "link");
  Status s = PrivateDir((dir_ / "link").string(), nobody);
  EXPECT_FALSE(s.ok());
  ASSERT_EQ(::stat((dir_ / "target").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);

  // A file is not a directory.
  std::ofstream(dir_ / "file") << "x";
  EXPECT_FALSE(PrivateDir((dir_ / "file").string(), nobody).ok());

  // An empty root-owned directory (made by the agent before a crash) is adopted.
  fs::create_directories(dir_ / "empty");
  EXPECT_TRUE(PrivateDir((dir_ / "empty").string(), nobody).ok());
}

}  // namespace
}  // namespace baton::agent
