#include "baton/agent/agent.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/launch/process_launcher.h"
#include "baton/agent/launch/simulated_launcher.h"

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

// The agent's `send`: records every message; tests wait for one with a deadline.
class Outbox {
 public:
  Agent::SendFn Fn() {
    return [this](const v1::AgentMessage& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
      cv_.notify_all();
    };
  }
  // The first task status at or after index `from` matching `pred`.
  std::optional<v1::TaskStatus> WaitStatus(std::function<bool(const v1::TaskStatus&)> pred,
                                           milliseconds timeout = milliseconds(4000)) {
    std::unique_lock lock(mu_);
    std::optional<v1::TaskStatus> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& m : messages_) {
        if (m.has_task_status() && pred(m.task_status())) {
          found = m.task_status();
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::optional<v1::TaskStatus> WaitState(v1::TaskState state, const std::string& job = "") {
    return WaitStatus([&](const v1::TaskStatus& s) {
      return s.state() == state && (job.empty() || s.job_id() == job);
    });
  }
  std::vector<v1::AgentMessage> Messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<v1::TaskStatus> Statuses() {
    std::lock_guard lock(mu_);
    std::vector<v1::TaskStatus> out;
    for (const auto& m : messages_) {
      if (m.has_task_status()) out.push_back(m.task_status());
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::AgentMessage> messages_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `pred` until true or 4 s pass (waits on a condition; no timing assumptions).
template <typename Pred>
bool WaitFor(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

v1::Directive Start(const std::string& job, std::vector<std::string> command, int ranks = 1) {
  v1::Directive d;
  auto* s = d.mutable_start_task();
  s->set_job_id(job);
  s->set_attempt(1);
  s->set_task_index(0);
  for (auto& c : command) s->add_command(c);
  s->set_ranks(ranks);
  return d;
}

v1::Directive Stop(const std::string& job, int grace_s) {
  v1::Directive d;
  auto* s = d.mutable_stop_task();
  s->set_job_id(job);
  s->set_attempt(1);
  s->set_task_index(0);
  s->set_grace_period_s(grace_s);
  return d;
}

// A launcher that records every ProcessSpec and runs it with a real launcher.
class RecordingLauncher final : public Launcher {
 public:
  explicit RecordingLauncher(Launcher& inner) : inner_(inner) {}
  Result<ProcessId> Start(const ProcessSpec& spec, ExitCallback on_exit) override {
    {
      std::lock_guard lock(mu_);
      specs_.push_back(spec);
    }
    return inner_.Start(spec, std::move(on_exit));
  }
  Status Stop(ProcessId id, Duration grace) override { return inner_.Stop(id, grace); }
  Status Signal(ProcessId id, int signal) override { return inner_.Signal(id, signal); }
  std::optional<int> ExitCode(ProcessId id) override { return inner_.ExitCode(id); }
  std::vector<ProcessSpec> specs() {
    std::lock_guard lock(mu_);
    return specs_;
  }

 private:
  Launcher& inner_;
  std::mutex mu_;
  std::vector<ProcessSpec> specs_;
};

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("baton-agent-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    // Tasks run as the service user (nobody), not root: what they write for the test goes
    // to a directory anyone may write, like /tmp.
    shared_ = dir_ / "shared";
    fs::create_directories(shared_);
    fs::permissions(shared_, fs::perms::all | fs::perms::sticky_bit);
    AgentOptions o;
    o.node_name = "n1";
    o.data_dir = dir_;
    o.sibling_stop_grace = Seconds(2);
    agent_ = std::make_unique<Agent>(o, gpus_, launcher_, clock_, outbox_.Fn());
  }
  void TearDown() override {
    agent_->StopAll(Duration(0));
    agent_->WaitForNoTasks(std::chrono::steady_clock::now() + Seconds(3));
    fs::remove_all(dir_);
  }
  fs::path Log(const std::string& job, int rank) {
    return dir_ / "tasks" / job / "1" / "task-0" / ("rank-" + std::to_string(rank) + ".log");
  }

  fs::path dir_;
  fs::path shared_;  // world-writable (1777): where tasks leave markers for the test
  FakeGpuDiscovery gpus_ = FakeGpuDiscovery::FromSpec("8xH100").value();
  ProcessLauncher launcher_{ProcessLauncher::Options{.use_cgroups = false}};
  SystemClock clock_;
  Outbox outbox_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(AgentTest, StartRunsEveryRankWithItsEnvironment) {
  auto d = Start("j1", {"/bin/sh", "-c", "env | sort"}, 2);
  auto* s = d.mutable_start_task();
  (*s->mutable_env())["NODE_RANK"] = "1";
  (*s->mutable_env())["WORLD_SIZE"] = "4";
  s->add_gpu_indices(2);
  s->add_gpu_indices(3);
  s->set_checkpoint_dir((dir_ / "ckpt" / "j1").string());
  agent_->HandleDirective(d);

  auto running = outbox_.WaitState(v1::TASK_STATE_RUNNING);
  ASSERT_TRUE(running);
  auto exited = outbox_.WaitState(v1::TASK_STATE_EXITED);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code(), 0);
  EXPECT_EQ(exited->job_id(), "j1");
  auto statuses = outbox_.Statuses();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].state(), v1::TASK_STATE_RUNNING);  // RUNNING comes first

  std::string r0 = ReadAll(Log("j1", 0));
  EXPECT_THAT(r0, HasSubstr("\nRANK=2\n"));
  EXPECT_THAT(r0, HasSubstr("\nLOCAL_RANK=0\n"));
  EXPECT_THAT(r0, HasSubstr("\nCUDA_VISIBLE_DEVICES=2,3\n"));
  EXPECT_THAT(r0, HasSubstr("\nCUDA_DEVICE_ORDER=PCI_BUS_ID\n"));
  EXPECT_THAT(r0, HasSubstr("\nWORLD_SIZE=4\n"));
  std::string r1 = ReadAll(Log("j1", 1));
  EXPECT_THAT(r1, HasSubstr("\nRANK=3\n"));
  EXPECT_THAT(r1, HasSubstr("\nLOCAL_RANK=1\n"));
  EXPECT_TRUE(fs::is_directory(dir_ / "ckpt" / "j1"));
  EXPECT_EQ(agent_->running_tasks(), 0);
}

TEST_F(AgentTest, DuplicateStartReReportsAndNeverStartsTwice) {
  auto marker = shared_ / "starts";
  auto d = Start("j2", {"/bin/sh", "-c", "echo x >> " + marker.string() + "; exec sleep 30"});
  agent_->HandleDirective(d);
  ASSERT_TRUE(outbox_.WaitState(v1::TASK_STATE_RUNNING));
  ASSERT_TRUE(WaitFor([&] { return ReadAll(marker) == "x\n"; }));
  agent_->HandleDirective(d);
  auto statuses = outbox_.Statuses();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[1].state(), v1::TASK_STATE_RUNNING);
  EXPECT_EQ(agent_->Tasks().size(), 1u);

  agent_->HandleDirective(Stop("j2", 5));
  auto stopped = outbox_.WaitState(v1::TASK_STATE_STOPPED);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->exit_code(), 128 + SIGTERM);
  EXPECT_EQ(ReadAll(marker), "x\n");
  // A duplicate after the end re-reports the end.
  agent_->HandleDirective(d);
  EXPECT_EQ(outbox_.Statuses().back().state(), v1::TASK_STATE_STOPPED);
  EXPECT_EQ(ReadAll(marker), "x\n");
}

TEST_F(AgentTest, FailedRankStopsItsSiblings) {
  auto d = Start("j3",
                 {"/bin/sh", "-c", "if [ \"$LOCAL_RANK\" = 1 ]; then exit 3; fi; exec sleep 30"},
                 3);
  auto start = std::chrono::steady_clock::now();
  agent_->HandleDirective(d);
  auto exited = outbox_.WaitState(v1::TASK_STATE_EXITED);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code(), 3);  // the first non-zero code, not the siblings' 143
  EXPECT_THAT(exited->message(), HasSubstr("rank 1 exited with code 3"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, Seconds(2));
}

TEST_F(AgentTest, RefusesGpusTheNodeDoesNotHave) {
  auto d = Start("j4", {"/bin/true"});
  d.mutable_start_task()->add_gpu_indices(9);
  agent_->HandleDirective(d);
  auto failed = outbox_.WaitState(v1::TASK_STATE_FAILED_TO_START);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->message(), "gpu index 9 is not on node n1 (it has GPUs 0,1,2,3,4,5,6,7)");
}

TEST_F(AgentTest, ExecFailureIsFailedToStart) {
  agent_->HandleDirective(Start("j5", {"baton-no-such-program"}, 2));
  auto failed = outbox_.WaitState(v1::TASK_STATE_FAILED_TO_START);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->message(), "rank 0: exec baton-no-such-program: No such file or directory");
  EXPECT_EQ(agent_->running_tasks(), 0);
}

TEST_F(AgentTest, RegisterReportsRunningAndRecentlyEndedTasks) {
  agent_->HandleDirective(Start("run", {"/bin/sh", "-c", "exec sleep 30"}));
  agent_->HandleDirective(Start("quick", {"/bin/sh", "-c", "exit 5"}));
  ASSERT_TRUE(outbox_.WaitState(v1::TASK_STATE_EXITED, "quick"));

  auto reg = agent_->BuildRegister();
  ASSERT_TRUE(reg.has_register_());
  EXPECT_EQ(reg.register_().node_name(), "n1");
  EXPECT_EQ(reg.register_().agent_version(), "0.1.0");
  EXPECT_EQ(reg.register_().address(), "127.0.0.1");
  EXPECT_EQ(reg.register_().inventory().gpus_size(), 8);
  EXPECT_EQ(reg.register_().inventory().gpus(3).index(), 3);
  EXPECT_GT(reg.register_().inventory().cpus(), 0);
  EXPECT_GT(reg.register_().inventory().memory_mib(), 0);
  ASSERT_EQ(reg.register_().tasks_size(), 2);
  EXPECT_EQ(reg.register_().tasks(0).job_id(), "quick");
  EXPECT_EQ(reg.register_().tasks(0).state(), v1::TASK_STATE_EXITED);
  EXPECT_EQ(reg.register_().tasks(0).exit_code(), 5);
  EXPECT_EQ(reg.register_().tasks(1).job_id(), "run");
  EXPECT_EQ(reg.register_().tasks(1).state(), v1::TASK_STATE_RUNNING);

  // The next Register: the ended task was reported already; the running one again.
  reg = agent_->BuildRegister();
  ASSERT_EQ(reg.register_().tasks_size(), 1);
  EXPECT_EQ(reg.register_().tasks(0).job_id(), "run");

  auto hb = agent_->BuildHeartbeat();
  EXPECT_EQ(hb.heartbeat().sequence(), 1);
  EXPECT_EQ(hb.heartbeat().gpus_size(), 8);
  EXPECT_EQ(agent_->BuildHeartbeat().heartbeat().sequence(), 2);
}

TEST_F(AgentTest, SignalReachesEveryRank) {
  agent_->HandleDirective(Start("sig", {"/bin/sh", "-c", "exec sleep 30"}, 2));
  ASSERT_TRUE(outbox_.WaitState(v1::TASK_STATE_RUNNING));
  v1::Directive d;
  d.mutable_signal()->set_job_id("sig");
  d.mutable_signal()->set_attempt(1);
  d.mutable_signal()->set_signal_number(SIGUSR1);
  agent_->HandleDirective(d);
  auto exited = outbox_.WaitState(v1::TASK_STATE_EXITED);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code(), 128 + SIGUSR1);
}

TEST_F(AgentTest, StopOfAnUnknownTaskSaysSo) {
  agent_->HandleDirective(Stop("ghost", 1));
  auto s = outbox_.WaitState(v1::TASK_STATE_STOPPED);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->message(), "task not running on node n1");
}

// Simulated agents: ManualClock + SimulatedLauncher, all on the test's thread.
class SimulatedAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AgentOptions o;
    o.node_name = "sim-0";
    o.simulated = true;
    o.orphan_grace = Seconds(600);
    agent_ = std::make_unique<Agent>(o, gpus_, launcher_, clock_, outbox_.Fn());
  }
  ManualClock clock_{TimeFromSeconds(1'000'000)};
  SimulatedLauncher launcher_{clock_};
  FakeGpuDiscovery gpus_ = FakeGpuDiscovery::FromSpec("8xH100").value();
  Outbox outbox_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(SimulatedAgentTest, TaskExitsAfterItsSimulatedDuration) {
  auto d = Start("s1", {"train"}, 4);
  d.mutable_start_task()->set_simulate_duration_ms(5000);
  agent_->HandleDirective(d);
  EXPECT_EQ(outbox_.Statuses().back().state(), v1::TASK_STATE_RUNNING);
  clock_.Advance(Seconds(4));
  launcher_.Poll();
  EXPECT_EQ(outbox_.Statuses().size(), 1u);
  clock_.Advance(Seconds(1));
  EXPECT_EQ(launcher_.Poll(), 4);
  ASSERT_EQ(outbox_.Statuses().size(), 2u);
  EXPECT_EQ(outbox_.Statuses().back().state(), v1::TASK_STATE_EXITED);
  EXPECT_EQ(outbox_.Statuses().back().exit_code(), 0);
  EXPECT_EQ(agent_->FindLog("s1", 1, 0, 0).status().code(), StatusCode::kNotFound);
}

TEST_F(SimulatedAgentTest, OrphanedTasksAreStoppedAfterTheGrace) {
  auto d = Start("s2", {"train"});
  d.mutable_start_task()->set_simulate_duration_ms(3'600'000);
  agent_->HandleDirective(d);
  agent_->OnConnected();
  agent_->OnDisconnected();
  clock_.Advance(Seconds(599));
  agent_->Tick();
  launcher_.Poll();
  EXPECT_EQ(outbox_.Statuses().back().state(), v1::TASK_STATE_RUNNING);
  clock_.Advance(Seconds(1));
  agent_->Tick();
  launcher_.Poll();
  auto last = outbox_.Statuses().back();
  EXPECT_EQ(last.state(), v1::TASK_STATE_STOPPED);
  EXPECT_THAT(last.message(), HasSubstr("orphaned"));

  // Reconnected in time: nothing is stopped.
  auto d2 = Start("s3", {"train"});
  d2.mutable_start_task()->set_simulate_duration_ms(3'600'000);
  agent_->HandleDirective(d2);
  agent_->OnConnected();
  agent_->OnDisconnected();
  clock_.Advance(Seconds(300));
  agent_->OnConnected();
  clock_.Advance(Seconds(600));
  agent_->Tick();
  launcher_.Poll();
  EXPECT_EQ(agent_->running_tasks(), 1);
}

// A simulated agent's heartbeats carry made-up telemetry: the GPUs its tasks hold are
// busy (45..95%, warmer, more power), the others idle; the values follow the clock.
TEST_F(SimulatedAgentTest, HeartbeatsShowTheTasksGpusBusyAndTheRestIdle) {
  auto d = Start("busy", {"train"});
  d.mutable_start_task()->add_gpu_indices(2);
  d.mutable_start_task()->add_gpu_indices(5);
  d.mutable_start_task()->set_simulate_duration_ms(60'000);
  agent_->HandleDirective(d);
  ASSERT_EQ(outbox_.Statuses().back().state(), v1::TASK_STATE_RUNNING);
  const v1::Heartbeat hb = agent_->BuildHeartbeat().heartbeat();
  ASSERT_EQ(hb.gpus_size(), 8);
  for (const v1::GpuTelemetry& g : hb.gpus()) {
    SCOPED_TRACE(g.index());
    if (g.index() == 2 || g.index() == 5) {
      EXPECT_GE(g.utilization_percent(), 45);
      EXPECT_LE(g.utilization_percent(), 95);
      EXPECT_GT(g.temperature_c(), 50);
      EXPECT_GT(g.memory_used_mib(), 80 * 1024 / 2);
    } else {
      EXPECT_EQ(g.utilization_percent(), 0);
      EXPECT_EQ(g.temperature_c(), 30);
    }
    EXPECT_EQ(g.sm_clock_mhz(), -1);  // unknown, as on NVML without clocks
    EXPECT_EQ(g.error(), "");
  }
  // The swing moves with time (a quarter minute later GPU 2 is elsewhere on its wave)...
  clock_.Advance(Seconds(15));
  const v1::Heartbeat later = agent_->BuildHeartbeat().heartbeat();
  EXPECT_NE(later.gpus(2).utilization_percent(), hb.gpus(2).utilization_percent());
  // ... and the GPUs idle again once the task has ended.
  clock_.Advance(Seconds(60));
  launcher_.Poll();
  ASSERT_EQ(outbox_.Statuses().back().state(), v1::TASK_STATE_EXITED);
  const v1::Heartbeat idle = agent_->BuildHeartbeat().heartbeat();
  EXPECT_EQ(idle.gpus(2).utilization_percent(), 0);
  EXPECT_EQ(idle.gpus(5).utilization_percent(), 0);
}

// The task's CPU and memory limits reach the launcher, shared evenly by its ranks.
TEST(AgentLimitsTest, TaskLimitsAreSplitAcrossRanks) {
  ManualClock clock(TimeFromSeconds(1'000'000));
  SimulatedLauncher sim(clock);
  RecordingLauncher launcher(sim);
  FakeGpuDiscovery gpus = FakeGpuDiscovery::FromSpec("8xH100").value();
  Outbox outbox;
  AgentOptions o;
  o.node_name = "sim-0";
  o.simulated = true;
  Agent agent(o, gpus, launcher, clock, outbox.Fn());

  auto d = Start("lim", {"train"}, 2);
  d.mutable_start_task()->set_cpus("3");
  d.mutable_start_task()->set_memory_bytes(int64_t{2} << 30);
  agent.HandleDirective(d);
  ASSERT_TRUE(outbox.WaitState(v1::TASK_STATE_RUNNING, "lim"));
  auto specs = launcher.specs();
  ASSERT_EQ(specs.size(), 2u);
  for (const auto& s : specs) {
    EXPECT_DOUBLE_EQ(s.limits.cpu_max_cores, 1.5);
    EXPECT_EQ(s.limits.memory_max_bytes, int64_t{1} << 30);
  }

  auto bad = Start("bad", {"train"});
  bad.mutable_start_task()->set_cpus("lots");
  agent.HandleDirective(bad);
  auto failed = outbox.WaitState(v1::TASK_STATE_FAILED_TO_START, "bad");
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->message(), HasSubstr("invalid cpus \"lots\""));
  EXPECT_EQ(launcher.specs().size(), 2u);  // nothing started for it
  agent.StopAll(Duration(0));
  sim.Poll();
}

// The preemption protocol end to end on one agent: the task's checkpoints are reported
// while it runs; on StopTask it gets SIGTERM, writes a last checkpoint within its notice
// and exits, and that checkpoint is reported before the task's final status.
TEST_F(AgentTest, ReportsCheckpointsAndTheOneWrittenInTheStopGraceBeforeTheExit) {
  const fs::path ck = dir_ / "ckpt" / "j7";
  const fs::path go = shared_ / "go";
  auto d = Start("j7", {"/bin/sh", "-c",
                        "trap 'echo 2 > $BATON_CHECKPOINT_DIR/.s2.tmp && "
                        "mv $BATON_CHECKPOINT_DIR/.s2.tmp $BATON_CHECKPOINT_DIR/step-2; exit 0' "
                        "TERM; echo 1 > $BATON_CHECKPOINT_DIR/step-1; touch " +
                            go.string() + "; while :; do sleep 0.05; done"});
  d.mutable_start_task()->set_checkpoint_dir(ck.string());
  d.mutable_start_task()->set_watch_checkpoints(true);
  (*d.mutable_start_task()->mutable_env())["BATON_CHECKPOINT_DIR"] = ck.string();
  agent_->OnConnected();
  agent_->HandleDirective(d);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(go); }));
  agent_->Tick();
  auto checkpoints = [&] {
    std::vector<std::string> out;
    for (const auto& m : outbox_.Messages()) {
      if (m.has_checkpoint()) out.push_back(fs::path(m.checkpoint().path()).filename());
    }
    return out;
  };
  EXPECT_EQ(checkpoints(), std::vector<std::string>{"step-1"});
  agent_->Tick();  // nothing new: nothing reported twice
  EXPECT_EQ(checkpoints().size(), 1u);
  // After a reconnect the newest is reported again (a report sent into a broken stream
  // may be lost; the control plane ignores what it already has).
  agent_->OnDisconnected();
  agent_->OnConnected();
  agent_->Tick();
  EXPECT_EQ(checkpoints(), (std::vector<std::string>{"step-1", "step-1"}));

  agent_->HandleDirective(Stop("j7", 10));
  ASSERT_TRUE(outbox_.WaitState(v1::TASK_STATE_STOPPED));
  EXPECT_EQ(checkpoints(), (std::vector<std::string>{"step-1", "step-1", "step-2"}));
  // Order: the last checkpoint, then the final status.
  int ck_index = -1, stop_index = -1, i = 0;
  for (const auto& m : outbox_.Messages()) {
    if (m.has_checkpoint() && m.checkpoint().path() == (ck / "step-2").string()) ck_index = i;
    if (m.has_task_status() && m.task_status().state() == v1::TASK_STATE_STOPPED) stop_index = i;
    ++i;
  }
  EXPECT_LT(ck_index, stop_index);
}

TEST(CheckpointWatchTest, NewestCompleteEntryWins) {
  const fs::path dir = fs::temp_directory_path() / ("baton-ckw-" + std::to_string(getpid()));
  fs::remove_all(dir);
  EXPECT_EQ(NewestCheckpoint(dir), std::nullopt);  // no directory yet
  fs::create_directories(dir / "step-20");
  std::ofstream(dir / "step-10") << "x";
  std::ofstream(dir / "step-30.tmp") << "partial";
  std::ofstream(dir / ".writing") << "partial";
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir / "step-10", now - std::chrono::seconds(20));
  fs::last_write_time(dir / "step-20", now - std::chrono::seconds(10));
  fs::last_write_time(dir / "step-30.tmp", now);
  fs::last_write_time(dir / ".writing", now);
  auto newest = NewestCheckpoint(dir);
  ASSERT_TRUE(newest);
  EXPECT_EQ(fs::path(newest->path).filename(), "step-20");
  EXPECT_TRUE(IsPartialCheckpointName("x.partial"));
  EXPECT_FALSE(IsPartialCheckpointName("model.pt"));
  fs::remove_all(dir);
}

// GPUs on NUMA nodes 0 and 1, one whose NUMA node NVML could not tell, and one on a node
// the host topology lacks.
class NumaGpus final : public GpuDiscovery {
 public:
  Result<Inventory> Discover() override {
    Inventory inv;
    for (int i = 0; i < 4; ++i) {
      DiscoveredGpu g;
      g.index = i;
      g.uuid = "GPU-numa-" + std::to_string(i);
      g.name = "NVIDIA A100 80GB PCIe";
      g.memory_mib = 81920;
      g.numa_node = i < 2 ? i : i == 2 ? -1 : 7;
      g.nvlink_domain = i;
      inv.gpus.push_back(std::move(g));
    }
    return inv;
  }
};

// The Cpus_allowed_list line a process started by the agent saw.
std::string CpusAllowedIn(const std::string& log) {
  const std::string key = "Cpus_allowed_list:";
  auto at = log.find(key);
  if (at == std::string::npos) return "";
  auto end = log.find('\n', at);
  std::string v = log.substr(at + key.size(), end - at - key.size());
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

TEST(AgentCpuPinningTest, RanksRunOnTheirGpusNumaNodeAndTheLogSaysSo) {
  const std::vector<int> mine = CurrentCpuAffinity();
  ASSERT_FALSE(mine.empty());
  // A made-up two-node host over the CPUs this test may use: node 0 gets the first, node
  // 1 the last (the same CPU on a one-CPU machine).
  HostTopology host;
  host.sockets = 2;
  host.cores = host.pus = static_cast<int>(mine.size());
  host.numa_nodes = {{0, {mine.front()}, 1024}, {1, {mine.back()}, 2048}};
  const fs::path dir = fs::temp_directory_path() /
                       ("baton-agent-pin-" + std::to_string(getpid()));
  fs::remove_all(dir);
  AgentOptions o;
  o.node_name = "n1";
  o.data_dir = dir;
  o.host_topology = host;
  NumaGpus gpus;
  ProcessLauncher launcher{ProcessLauncher::Options{.use_cgroups = false}};
  SystemClock clock;
  Outbox outbox;
  Agent agent(o, gpus, launcher, clock, outbox.Fn());

  v1::AgentMessage reg = agent.BuildRegister();
  ASSERT_TRUE(reg.register_().inventory().has_host());
  const v1::HostTopology& h = reg.register_().inventory().host();
  EXPECT_EQ(h.sockets(), 2);
  ASSERT_EQ(h.numa_nodes_size(), 2);
  EXPECT_EQ(h.numa_nodes(1).id(), 1);
  EXPECT_EQ(h.numa_nodes(1).cpus(), std::to_string(mine.back()));
  EXPECT_EQ(h.numa_nodes(1).memory_mib(), 2048);

  const std::vector<std::string> show = {"/bin/sh", "-c",
                                         "exec grep Cpus_allowed_list /proc/self/status"};
  auto log = [&](const std::string& job) {
    return ReadAll(dir / "tasks" / job / "1" / "task-0" / "rank-0.log");
  };
  auto run = [&](const std::string& job, std::vector<int> gpu_indices) {
    auto d = Start(job, show);
    for (int g : gpu_indices) d.mutable_start_task()->add_gpu_indices(g);
    agent.HandleDirective(d);
    auto exited = outbox.WaitState(v1::TASK_STATE_EXITED, job);
    ASSERT_TRUE(exited) << job;
    EXPECT_EQ(exited->exit_code(), 0);
  };
  run("on-gpu1", {1});
  EXPECT_THAT(log("on-gpu1"), HasSubstr("baton-agent: CPUs pinned to " +
                                        std::to_string(mine.back()) +
                                        " (NUMA node 1 of GPUs 1)\n"));
  EXPECT_EQ(CpusAllowedIn(log("on-gpu1")), std::to_string(mine.back()));
  run("on-gpu0", {0});
  EXPECT_EQ(CpusAllowedIn(log("on-gpu0")), std::to_string(mine.front()));
  // GPUs on both nodes: both nodes' CPUs.
  run("on-both", {0, 1});
  EXPECT_EQ(CpusAllowedIn(log("on-both")), FormatCpuList({mine.front(), mine.back()}));
  // NUMA node unknown: not pinned, the process keeps the agent's CPUs, nothing is said.
  run("unknown", {2});
  EXPECT_THAT(log("unknown"), Not(HasSubstr("baton-agent:")));
  EXPECT_EQ(CpusAllowedIn(log("unknown")), FormatCpuList(mine));
  // A NUMA node hwloc does not know: not pinned, and the log says why.
  run("bad-node", {3});
  EXPECT_THAT(log("bad-node"),
              HasSubstr("baton-agent: CPUs not pinned: NUMA node 7 is not in the host "
                        "topology\n"));
  EXPECT_EQ(CpusAllowedIn(log("bad-node")), FormatCpuList(mine));
  // No GPUs: nothing pinned, nothing said.
  run("cpu-only", {});
  EXPECT_THAT(log("cpu-only"), Not(HasSubstr("baton-agent:")));
  EXPECT_EQ(CpusAllowedIn(log("cpu-only")), FormatCpuList(mine));
  agent.StopAll(Duration(0));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace baton::agent
