// Task isolation end to end on one agent with real processes (docs/isolation.md): who a
// task runs as (`id -u` in its log), its private directories' modes and owners, root only
// with the opt-in, the mapped-user case, and the GPU visibility variables. The tests need
// root (as CI runs them); they skip otherwise, since only root can switch users.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/agent.h"
#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/launch/process_launcher.h"

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    dir_ = fs::temp_directory_path() /
           ("baton-isolation-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (agent_) {
      agent_->StopAll(Duration(0));
      agent_->WaitForNoTasks(std::chrono::steady_clock::now() + Seconds(3));
    }
    agent_.reset();
    fs::remove_all(dir_);
  }

  void MakeAgent(TaskUserPolicy policy) {
    AgentOptions o;
    o.node_name = "iso";
    o.data_dir = dir_ / "data";
    o.task_user = std::move(policy);
    agent_ = std::make_unique<Agent>(o, gpus_, launcher_, clock_, [this](const v1::AgentMessage& m) {
      std::lock_guard lock(mu_);
      if (m.has_task_status()) statuses_.push_back(m.task_status());
      cv_.notify_all();
    });
  }

  // Runs `script` as task `job` and returns its final status (EXITED or FAILED_TO_START).
  v1::TaskStatus Run(const std::string& job, const std::string& script,
                     const std::string& run_as_user = "", bool gpus = false) {
    v1::Directive d;
    v1::StartTask* st = d.mutable_start_task();
    st->set_job_id(job);
    st->set_attempt(1);
    st->add_command("/bin/sh");
    st->add_command("-c");
    st->add_command(script);
    st->set_run_as_user(run_as_user);
    st->set_checkpoint_dir((dir_ / "ckpt" / job).string());
    if (gpus) {
      for (int g : {2, 3}) {
        st->add_gpu_indices(g);
        st->add_gpu_uuids(gpus_.Discover()->gpus[static_cast<size_t>(g)].uuid);
      }
    }
    agent_->HandleDirective(d);
    std::unique_lock lock(mu_);
    v1::TaskStatus out;
    const bool ended = cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& s : statuses_) {
        if (s.job_id() == job && (s.state() == v1::TASK_STATE_EXITED ||
                                  s.state() == v1::TASK_STATE_FAILED_TO_START)) {
          out = s;
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(ended) << "task " << job << " did not end";
    return out;
  }

  fs::path TaskDir(const std::string& job) { return dir_ / "data" / "tasks" / job / "1" / "task-0"; }
  std::string Log(const std::string& job) {
    std::ifstream in(TaskDir(job) / "rank-0.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static struct stat Stat(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
  }

  fs::path dir_;
  FakeGpuDiscovery gpus_ = FakeGpuDiscovery::FromSpec("4xH100").value();
  ProcessLauncher launcher_{ProcessLauncher::Options{.use_cgroups = false}};
  SystemClock clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::TaskStatus> statuses_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(IsolationTest, ByDefaultTasksRunAsNobodyInPrivateDirectories) {
  MakeAgent({});
  auto s = Run("j1", "id -u; id -g; echo HOME=$HOME USER=$USER; "
                     "touch " + dir_.string() + "/escape 2>/dev/null || echo no-escape");
  ASSERT_EQ(s.state(), v1::TASK_STATE_EXITED) << s.message();
  const std::string log = Log("j1");
  EXPECT_THAT(log, HasSubstr("65534\n65534\n"));
  EXPECT_THAT(log, HasSubstr("HOME=" + TaskDir("j1").string() + " USER=nobody"));
  EXPECT_THAT(log, HasSubstr("no-escape"));  // not root: cannot write the agent's dirs
  for (const fs::path& p : {TaskDir("j1"), dir_ / "ckpt" / "j1"}) {
    struct stat st = Stat(p);
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << p;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << p;
    EXPECT_EQ(st.st_uid, 65534u) << p;
    EXPECT_EQ(st.st_gid, 65534u) << p;
  }
  // The log itself is the agent's (0600), written through the inherited descriptor.
  struct stat logst = Stat(TaskDir("j1") / "rank-0.log");
  EXPECT_EQ(logst.st_mode & 0777, 0600u);
}

TEST_F(IsolationTest, TheTaskCanWriteItsCheckpointDirectory) {
  MakeAgent({});
  auto s = Run("j2", "echo 1 > " + (dir_ / "ckpt" / "j2" / "step-1").string() + " && echo wrote");
  ASSERT_EQ(s.state(), v1::TASK_STATE_EXITED) << s.message();
  EXPECT_EQ(s.exit_code(), 0) << Log("j2");
  EXPECT_EQ(Stat(dir_ / "ckpt" / "j2" / "step-1").st_uid, 65534u);
}

TEST_F(IsolationTest, MappedUserRunsAsTheSubmittersAccount) {
  MakeAgent({.service_user = "", .map_users = true, .allow_root = false});
  // "daemon" (uid 1) exists on every Debian system.
  auto s = Run("j3", "id -u; echo USER=$USER", "daemon");
  ASSERT_EQ(s.state(), v1::TASK_STATE_EXITED) << s.message();
  EXPECT_THAT(Log("j3"), HasSubstr("1\nUSER=daemon"));
  EXPECT_EQ(Stat(TaskDir("j3")).st_uid, 1u);
  // An unknown submitter fails the task, naming the user.
  auto unknown = Run("j4", "id -u", "no-such-user-x");
  EXPECT_EQ(unknown.state(), v1::TASK_STATE_FAILED_TO_START);
  EXPECT_EQ(unknown.message(),
            "user 'no-such-user-x' (the job's submitter) has no account on this node");
  // No submitter known: the service user.
  auto none = Run("j5", "id -u");
  ASSERT_EQ(none.state(), v1::TASK_STATE_EXITED);
  EXPECT_THAT(Log("j5"), HasSubstr("65534\n"));
}

TEST_F(IsolationTest, SubmitterIsIgnoredUnlessMappingIsAllowed) {
  MakeAgent({});
  auto s = Run("j6", "id -u", "daemon");
  ASSERT_EQ(s.state(), v1::TASK_STATE_EXITED);
  EXPECT_THAT(Log("j6"), HasSubstr("65534\n"));
}

TEST_F(IsolationTest, RootOnlyWithTheOptIn) {
  MakeAgent({.service_user = "root", .map_users = false, .allow_root = false});
  auto refused = Run("j7", "id -u");
  EXPECT_EQ(refused.state(), v1::TASK_STATE_FAILED_TO_START);
  EXPECT_THAT(refused.message(), HasSubstr("tasks may not run as root on this node"));
  EXPECT_THAT(refused.message(), HasSubstr("--allow-root-tasks"));
  agent_.reset();
  statuses_.clear();
  MakeAgent({.service_user = "root", .map_users = false, .allow_root = true});
  auto root = Run("j8", "id -u");
  ASSERT_EQ(root.state(), v1::TASK_STATE_EXITED);
  EXPECT_THAT(Log("j8"), HasSubstr("0\n"));
  // Mapping a submitter named root is refused the same way without the opt-in.
  agent_.reset();
  statuses_.clear();
  MakeAgent({.service_user = "", .map_users = true, .allow_root = false});
  EXPECT_EQ(Run("j9", "id -u", "root").state(), v1::TASK_STATE_FAILED_TO_START);
}

TEST_F(IsolationTest, SomeoneElsesCheckpointDirectoryIsNeverTakenOver) {
  MakeAgent({});
  fs::create_directories(dir_ / "ckpt" / "j10");
  ASSERT_EQ(::chown((dir_ / "ckpt" / "j10").c_str(), 1, 1), 0);
  auto s = Run("j10", "id -u");
  EXPECT_EQ(s.state(), v1::TASK_STATE_FAILED_TO_START);
  EXPECT_THAT(s.message(), HasSubstr("belongs to uid 1, not to the task's uid 65534"));
  // A root-owned directory with content (say /etc) is not given away either.
  fs::create_directories(dir_ / "ckpt" / "j11");
  std::ofstream(dir_ / "ckpt" / "j11" / "keep") << "x";
  auto t = Run("j11", "id -u");
  EXPECT_EQ(t.state(), v1::TASK_STATE_FAILED_TO_START);
  EXPECT_THAT(t.message(), HasSubstr("(and is not empty)"));
  EXPECT_EQ(Stat(dir_ / "ckpt" / "j11").st_uid, 0u);
}

TEST_F(IsolationTest, TaskSeesOnlyItsGpus) {
  MakeAgent({});
  auto s = Run("j12", "echo CUDA=$CUDA_VISIBLE_DEVICES NV=$NVIDIA_VISIBLE_DEVICES", "", true);
  ASSERT_EQ(s.state(), v1::TASK_STATE_EXITED);
  const auto inv = gpus_.Discover().value();
  EXPECT_THAT(Log("j12"), HasSubstr("CUDA=2,3 NV=" + inv.gpus[2].uuid + "," + inv.gpus[3].uuid));
  auto none = Run("j13", "echo CUDA=[$CUDA_VISIBLE_DEVICES] NV=$NVIDIA_VISIBLE_DEVICES");
  ASSERT_EQ(none.state(), v1::TASK_STATE_EXITED);
  EXPECT_THAT(Log("j13"), HasSubstr("CUDA=[] NV=void"));
}

}  // namespace
}  // namespace baton::agent
