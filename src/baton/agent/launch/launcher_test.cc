#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "baton/agent/launch/process_launcher.h"
#include "baton/agent/launch/simulated_launcher.h"
#include "baton/agent/launch/timer_thread.h"

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// Collects exit callbacks; tests wait on it with a deadline.
class Exits {
 public:
  ExitCallback Callback() {
    return [this](ProcessId id, int code) {
      std::lock_guard lock(mu_);
      codes_[id] = code;
      cv_.notify_all();
    };
  }
  std::optional<int> Wait(ProcessId id, milliseconds timeout = milliseconds(4000)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return codes_.contains(id); })) return std::nullopt;
    return codes_[id];
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return codes_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<ProcessId, int> codes_;
};

// Polls `pred` until true or 4 s pass (waiting on a condition, not sleeping for timing).
template <typename Pred>
bool WaitFor(Pred pred, milliseconds timeout = milliseconds(4000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Gone, or a zombie waiting for its (new) parent.
bool ProcessGone(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!f || !std::getline(f, s)) return true;
  auto p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() || s[p + 2] == 'Z' || s[p + 2] == 'X';
}

class ProcessLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("baton-launcher-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessSpec Shell(const std::string& script) {
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.log_path = (dir_ / "out.log").string();
    return spec;
  }

  pid_t ReadPidFile() {
    pid_t pid = 0;
    EXPECT_TRUE(WaitFor([&] {
      std::ifstream in(dir_ / "pid");
      return static_cast<bool>(in >> pid) && pid > 0;
    }));
    return pid;
  }

  fs::path dir_;
  ProcessLauncher launcher_{ProcessLauncher::Options{.use_cgroups = false}};
  Exits exits_;
};

TEST_F(ProcessLauncherTest, ReportsExitCode) {
  auto id = launcher_.Start(Shell("exit 3"), exits_.Callback());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(exits_.Wait(*id), 3);
  EXPECT_EQ(launcher_.ExitCode(*id), 3);
}

TEST_F(ProcessLauncherTest, SignalEndsWith128PlusSignal) {
  auto id = launcher_.Start(Shell("exec sleep 30"), exits_.Callback());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(launcher_.ExitCode(*id), std::nullopt);
  ASSERT_TRUE(launcher_.Signal(*id, SIGUSR1).ok());
  EXPECT_EQ(exits_.Wait(*id), 128 + SIGUSR1);
  EXPECT_EQ(launcher_.Signal(*id, SIGUSR1), Status::Ok());  // exited: nothing happens
  EXPECT_EQ(launcher_.Signal(12345, SIGUSR1).code(), StatusCode::kNotFound);
}

// The Cpus_allowed_list value a started process wrote to its log ("" when absent).
std::string CpusAllowed(const std::string& log) {
  const std::string key = "Cpus_allowed_list:";
  auto at = log.find(key);
  if (at == std::string::npos) return "";
  auto end = log.find('\n', at);
  std::string v = log.substr(at + key.size(), end - at - key.size());
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

std::vector<int> MyCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

TEST_F(ProcessLauncherTest, CpuAffinityIsAppliedBeforeExec) {
  const std::vector<int> mine = MyCpus();
  ASSERT_FALSE(mine.empty());
  ProcessSpec spec = Shell("exec grep Cpus_allowed_list /proc/self/status");
  spec.cpu_affinity = {mine.back()};
  spec.log_note = "CPUs pinned to " + std::to_string(mine.back());
  auto id = launcher_.Start(spec, exits_.Callback());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_EQ(exits_.Wait(*id), 0);
  std::string log = ReadAll(dir_ / "out.log");
  EXPECT_EQ(log.rfind("baton-agent: CPUs pinned to " + std::to_string(mine.back()) + "\n", 0),
            0u)
      << log;
  EXPECT_EQ(CpusAllowed(log), std::to_string(mine.back()));

  // Without cpu_affinity the process keeps the launcher's CPUs.
  fs::remove(dir_ / "out.log");
  id = launcher_.Start(Shell("exec grep Cpus_allowed_list /proc/self/status"), exits_.Callback());
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(exits_.Wait(*id), 0);
  log = ReadAll(dir_ / "out.log");
  const std::string all = CpusAllowed(log);
  ASSERT_FALSE(all.empty()) << log;
  if (mine.size() > 1) {
    EXPECT_NE(all, std::to_string(mine.back()));
  }
}

TEST_F(ProcessLauncherTest, RefusedCpuAffinityRunsUnpinnedAndSaysSo) {
  // CPU 1000 is below CPU_SETSIZE but exists on no test machine: the kernel refuses it.
  ProcessSpec spec = Shell("exec grep Cpus_allowed_list /proc/self/status");
  spec.cpu_affinity = {1000};
  auto id = launcher_.Start(spec, exits_.Callback());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_EQ(exits_.Wait(*id), 0);
  const std::string log = ReadAll(dir_ / "out.log");
  EXPECT_NE(log.find("sched_setaffinity failed; running without CPU pinning"), std::string::npos)
      << log;
  EXPECT_FALSE(CpusAllowed(log).empty());
}

TEST_F(ProcessLauncherTest, ExecFailureIsAFailedStart) {
  ProcessSpec spec;
  spec.argv = {"baton-no-such-program", "x"};
  spec.log_path = (dir_ / "out.log").string();
  auto id = launcher_.Start(spec, exits_.Callback());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(), "exec baton-no-such-program: No such file or directory");
  EXPECT_NE(ReadAll(dir_ / "out.log").find("No such file or directory"), std::string::npos);

  spec.argv = {(dir_ / "missing").string()};
  id = launcher_.Start(spec, exits_.Callback());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(),
            "exec " + (dir_ / "missing").string() + ": No such file or directory");

  spec.argv = {"/bin/true"};
  spec.working_dir = (dir_ / "nowhere").string();
  id = launcher_.Start(spec, exits_.Callback());
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("chdir"), std::string::npos) << id.status().message();
  EXPECT_EQ(exits_.count(), 0u);
}

TEST_F(ProcessLauncherTest, CapturesStdoutAndStderrInterleaved) {
  auto id = launcher_.Start(Shell("echo one; echo two >&2; echo three"), exits_.Callback());
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(exits_.Wait(*id), 0);
  EXPECT_EQ(ReadAll(dir_ / "out.log"), "one\ntwo\nthree\n");
  // Appends, never truncates.
  id = launcher_.Start(Shell("echo four"), exits_.Callback());
  ASSERT_EQ(exits_.Wait(*id), 0);
  EXPECT_EQ(ReadAll(dir_ / "out.log"), "one\ntwo\nthree\nfour\n");
}

TEST_F(ProcessLauncherTest, PassesEnvAndWorkingDir) {
  auto spec = Shell("echo \"$BATON_X $RANK\"; pwd; test -n \"$PATH\" && echo path");
  spec.env = {{"BATON_X", "hello world"}, {"RANK", "7"}};
  spec.working_dir = dir_.string();
  auto id = launcher_.Start(spec, exits_.Callback());
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(exits_.Wait(*id), 0);
  EXPECT_EQ(ReadAll(dir_ / "out.log"),
            "hello world 7\n" + fs::canonical(dir_).string() + "\npath\n");
}

TEST_F(ProcessLauncherTest, StopKillsTheWholeTree) {
  auto script = "sleep 30 & echo $! > " + (dir_ / "pid").string() + "; wait";
  auto id = launcher_.Start(Shell(script), exits_.Callback());
  ASSERT_TRUE(id.ok());
  pid_t grandchild = ReadPidFile();
  pid_t leader = *launcher_.Pid(*id);
  ASSERT_TRUE(launcher_.Stop(*id, Seconds(5)).ok());
  EXPECT_EQ(exits_.Wait(*id), 128 + SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(grandchild); }));
  EXPECT_TRUE(ProcessGone(leader));
}

TEST_F(ProcessLauncherTest, IgnoredTermIsFollowedByKillAfterGrace) {
  auto script = "trap '' TERM; sleep 30 & echo $! > " + (dir_ / "pid").string() + "; wait";
  auto id = launcher_.Start(Shell(script), exits_.Callback());
  ASSERT_TRUE(id.ok());
  pid_t grandchild = ReadPidFile();
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(launcher_.Stop(*id, std::chrono::milliseconds(300)).ok());
  EXPECT_EQ(exits_.Wait(*id), 128 + SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(290));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(grandchild); }));
}

TEST_F(ProcessLauncherTest, LeftoversAreKilledWhenTheLeaderExits) {
  auto script = "sleep 30 & echo $! > " + (dir_ / "pid").string();
  auto id = launcher_.Start(Shell(script), exits_.Callback());
  ASSERT_TRUE(id.ok());
  pid_t grandchild = ReadPidFile();
  EXPECT_EQ(exits_.Wait(*id), 0);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(grandchild); }));
}

TEST(CgroupV2Test, DetectNeverFailsAndSaysWhy) {
  CgroupV2 cg = CgroupV2::Detect();
  if (!cg.available()) {
    EXPECT_FALSE(cg.reason().empty());
  } else {
    ::rmdir(cg.root().c_str());
  }
  // A launcher with cgroups requested still runs processes where they are missing.
  ProcessLauncher launcher;
  Exits exits;
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "exit 4"};
  spec.limits.memory_max_bytes = 1 << 30;
  spec.limits.cpu_max_cores = 1;
  auto id = launcher.Start(spec, exits.Callback());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(exits.Wait(*id), 4);
}

// The limits reach the group's files. A plain directory stands in for cgroupfs (this
// machine's cgroups may be hybrid), so what the launcher wrote can be read back.
TEST(CgroupV2Test, LimitsAreWrittenToTheProcessGroup) {
  const fs::path root = fs::temp_directory_path() / ("baton-cgroup-test-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  {
    ProcessLauncher launcher(ProcessLauncher::Options{.cgroups = CgroupV2::AtDirectory(root)});
    Exits exits;
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", "exit 0"};
    spec.cgroup_name = "7.1.0.r0";
    spec.limits.memory_max_bytes = int64_t{3} << 29;  // 1.5 GiB
    spec.limits.cpu_max_cores = 1.5;
    auto id = launcher.Start(spec, exits.Callback());
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(exits.Wait(*id), 0);

    ProcessSpec unlimited;
    unlimited.argv = {"/bin/sh", "-c", "exit 0"};
    unlimited.cgroup_name = "8.1.0.r0";
    auto id2 = launcher.Start(unlimited, exits.Callback());
    ASSERT_TRUE(id2.ok()) << id2.status().ToString();
    EXPECT_EQ(exits.Wait(*id2), 0);
  }
  auto read = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(read(root / "7.1.0.r0" / "memory.max"), "1610612736");
  EXPECT_EQ(read(root / "7.1.0.r0" / "cpu.max"), "150000 100000");
  EXPECT_FALSE(fs::exists(root / "8.1.0.r0" / "memory.max"));  // no limit, no file
  EXPECT_FALSE(fs::exists(root / "8.1.0.r0" / "cpu.max"));
  fs::remove_all(root);
}

TEST(SimulatedLauncherTest, ExitsAtTheSimulatedDeadline) {
  ManualClock clock(TimeFromSeconds(1000));
  SimulatedLauncher launcher(clock);
  Exits exits;
  ProcessSpec long_spec;
  long_spec.simulate_duration = Seconds(10);
  ProcessSpec short_spec;
  short_spec.simulate_duration = Seconds(5);
  auto a = launcher.Start(long_spec, exits.Callback());
  auto b = launcher.Start(short_spec, exits.Callback());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(launcher.running(), 2);
  clock.Advance(Seconds(4));
  EXPECT_EQ(launcher.Poll(), 0);
  clock.Advance(Seconds(1));
  EXPECT_EQ(launcher.Poll(), 1);
  EXPECT_EQ(exits.Wait(*b, milliseconds(0)), 0);
  EXPECT_EQ(launcher.ExitCode(*b), 0);
  EXPECT_EQ(launcher.ExitCode(*a), std::nullopt);

  EXPECT_TRUE(launcher.Signal(*a, SIGUSR1).ok());  // ignored
  EXPECT_EQ(launcher.Poll(), 0);
  EXPECT_TRUE(launcher.Stop(*a, Seconds(30)).ok());
  EXPECT_EQ(exits.count(), 1u);  // never from inside Stop
  EXPECT_EQ(launcher.Poll(), 1);
  EXPECT_EQ(exits.Wait(*a, milliseconds(0)), 128 + SIGTERM);
  EXPECT_EQ(launcher.running(), 0);
  EXPECT_EQ(launcher.Signal(999, SIGTERM).code(), StatusCode::kNotFound);
}

TEST(SimulatedLauncherTest, TimerThreadDrivesRealTime) {
  SystemClock clock;
  TimerThread timers;
  SimulatedLauncher launcher(clock, &timers);
  Exits exits;
  ProcessSpec spec;
  spec.simulate_duration = milliseconds(20);
  auto a = launcher.Start(spec, exits.Callback());
  spec.simulate_duration = Seconds(3600);
  auto b = launcher.Start(spec, exits.Callback());
  EXPECT_EQ(exits.Wait(*a), 0);
  ASSERT_TRUE(launcher.Stop(*b, Seconds(1)).ok());
  EXPECT_EQ(exits.Wait(*b), 128 + SIGTERM);
}

TEST(TimerThreadTest, RunsInDeadlineOrderAndCancels) {
  TimerThread timers;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  auto push = [&](int v) {
    return [&, v] {
      std::lock_guard lock(mu);
      order.push_back(v);
      cv.notify_all();
    };
  };
  auto now = std::chrono::steady_clock::now();
  timers.ScheduleAt(now + milliseconds(30), push(3));
  auto cancelled = timers.ScheduleAt(now + milliseconds(20), push(99));
  timers.ScheduleAt(now + milliseconds(10), push(1));
  timers.ScheduleAt(now + milliseconds(10), push(2));
  timers.Cancel(cancelled);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, milliseconds(4000), [&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

}  // namespace
}  // namespace baton::agent
