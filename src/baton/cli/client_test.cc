// The client commands end to end: cli::Main against an in-process fake control plane
// (testing/fake_control_plane.h) over real gRPC on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "baton/cli/client.h"
#include "baton/cli/main.h"
#include "testing/fake_control_plane.h"

namespace baton::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using google::protobuf::util::TimeUtil;

constexpr std::chrono::seconds kWatchTimeout{5};

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// A port on 127.0.0.1 that nothing listens on: bound, read back and released.
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 1;
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> items;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    items.push_back(nlohmann::json::parse(line));
  }
  return items;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("BATON_SERVER");
    auto fake = testing::FakeControlPlane::Start();
    ASSERT_TRUE(fake.ok()) << fake.status().ToString();
    fake_ = std::move(fake).value();
  }

  // Runs `baton CMD --server FAKE ARGS...`.
  Outcome Baton(const std::string& cmd, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"baton", cmd, "--server", fake_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return BatonRaw(argv);
  }

  static Outcome BatonRaw(const std::vector<std::string>& argv) {
    std::ostringstream out, err;
    Outcome o;
    o.code = Main(argv, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::path(::testing::TempDir()) / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // A job in `state` submitted `age_s` seconds ago.
  std::string AddJob(const std::string& name, v1::JobState state,
                     const std::string& queue = "default", int64_t age_s = 0) {
    v1::Job job;
    job.mutable_spec()->set_name(name);
    job.mutable_spec()->set_queue(queue);
    job.mutable_spec()->set_tasks(2);
    job.mutable_spec()->set_gpus_per_task("4");
    job.set_state(state);
    *job.mutable_submit_time() =
        TimeUtil::GetCurrentTime() - TimeUtil::SecondsToDuration(age_s);
    return fake_->AddJob(job);
  }

  std::unique_ptr<testing::FakeControlPlane> fake_;
};

TEST_F(ClientTest, SubmitOneJobPrintsItsId) {
  const std::string file = WriteFile(
      "one.yaml", "name: train\ntasks: 2\ngpus: 8\ngpu_type: H100\ncommand: python train.py\n");
  Outcome o = Baton("submit", {file});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "submitted job 1 (train)\n");
  auto job = fake_->job("1");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->spec().tasks(), 2);
  EXPECT_EQ(job->spec().gpus_per_task(), "8");
  EXPECT_EQ(job->spec().command_size(), 2);
}

TEST_F(ClientTest, SubmitJobListSubmitsEachAsJson) {
  const std::string file = WriteFile(
      "list.yaml", "jobs:\n  - {name: a, gpus: 1}\n  - {name: b, gpus: 4, queue: team-b}\n");
  Outcome o = Baton("submit", {file, "--output", "json"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto items = JsonLines(o.out);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["id"], "1");
  EXPECT_EQ(items[0]["spec"]["name"], "a");
  EXPECT_EQ(items[1]["id"], "2");
  EXPECT_EQ(items[1]["spec"]["queue"], "team-b");
  EXPECT_EQ(items[1]["spec"]["gpus_per_task"], "4");  // proto field names, not camelCase
  EXPECT_EQ(items[1]["state"], "JOB_STATE_PENDING");
}

TEST_F(ClientTest, SubmitBadFileNamesFileAndLine) {
  const std::string file = WriteFile("bad.yaml", "name: x\ngpus: 0\n");
  Outcome o = Baton("submit", {file});
  EXPECT_EQ(o.code, 1);
  EXPECT_THAT(o.err, StartsWith("baton: submit: "));
  EXPECT_THAT(o.err, HasSubstr("bad.yaml:2: gpus"));
  EXPECT_EQ(o.out, "");
}

TEST_F(ClientTest, SubmitMissingFile) {
  Outcome o = Baton("submit", {"/nonexistent/job.yaml"});
  EXPECT_EQ(o.code, 1);
  EXPECT_THAT(o.err, HasSubstr("/nonexistent/job.yaml"));
}

TEST_F(ClientTest, RunBuildsSpecFromFlags) {
  Outcome o = Baton("run", {"--gpus", "4", "--gpu-type", "H100", "--nodes", "2",
                            "--ranks-per-task", "4", "--name", "ddp", "--queue", "team-a",
                            "--priority", "5", "--env", "A=1", "--env", "B=x=y",
                            "--max-attempts", "3", "--cpus", "12.5", "--memory", "64Gi",
                            "-o", "json", "--", "torchrun",
                            "train.py", "--lr", "3"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto items = JsonLines(o.out);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["id"], "1");
  auto job = fake_->job("1");
  ASSERT_TRUE(job.has_value());
  const v1::JobSpec& s = job->spec();
  EXPECT_EQ(s.name(), "ddp");
  EXPECT_EQ(s.queue(), "team-a");
  EXPECT_EQ(s.priority(), 5);
  EXPECT_EQ(s.tasks(), 2);
  EXPECT_EQ(s.gpus_per_task(), "4");
  ASSERT_EQ(s.gpu_types_size(), 1);
  EXPECT_EQ(s.gpu_types(0), "H100");
  EXPECT_EQ(s.ranks_per_task(), 4);
  EXPECT_EQ(s.max_attempts(), 3);
  EXPECT_EQ(s.cpus_per_task(), "12.5");
  EXPECT_EQ(s.memory_bytes_per_task(), int64_t{64} << 30);
  EXPECT_EQ(s.env().at("A"), "1");
  EXPECT_EQ(s.env().at("B"), "x=y");
  ASSERT_EQ(s.command_size(), 4);
  EXPECT_EQ(s.command(2), "--lr");
}

TEST_F(ClientTest, RunTakesTheRestartScopeAndNoGang) {
  Outcome o = Baton("run", {"--nodes", "4", "--no-gang", "--restart-scope", "failed-tasks",
                            "--", "/bin/true"});
  ASSERT_EQ(o.code, 0) << o.err;
  const v1::JobSpec& s = fake_->job("1")->spec();
  EXPECT_TRUE(s.has_gang());
  EXPECT_FALSE(s.gang());
  EXPECT_EQ(s.restart_scope(), v1::RESTART_SCOPE_FAILED_TASKS);
  Outcome bad = Baton("run", {"--restart-scope", "some", "--", "/bin/true"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--restart-scope: 'some' is not a restart scope"));
}

TEST_F(ClientTest, RunRefusesABadMemorySize) {
  Outcome o = Baton("run", {"--memory", "lots", "--", "/bin/true"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("--memory: 'lots' is not a byte size"));
  EXPECT_FALSE(fake_->job("1").has_value());
}

TEST_F(ClientTest, RunNamesJobAfterCommandAndReturnsAtOnce) {
  Outcome o = Baton("run", {"--", "/usr/bin/python3", "x.py"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "submitted job 1 (python3)\n");
  EXPECT_EQ(fake_->job("1")->state(), v1::JOB_STATE_PENDING);
}

TEST_F(ClientTest, RunRepeatableFlagsTakeOneValueEach) {
  Outcome o = Baton("run", {"--env", "A=1", "--gpu-type", "H100", "python", "x.py"});
  ASSERT_EQ(o.code, 0) << o.err;
  const v1::JobSpec s = fake_->job("1")->spec();
  EXPECT_EQ(s.env_size(), 1);
  EXPECT_EQ(s.gpu_types_size(), 1);
  ASSERT_EQ(s.command_size(), 2);
  EXPECT_EQ(s.command(0), "python");
}

TEST_F(ClientTest, RunBadEnvIsUsageError) {
  Outcome o = Baton("run", {"--env", "NOEQUALS", "--", "true"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("--env 'NOEQUALS': expected NAME=VALUE"));
  EXPECT_FALSE(fake_->job("1").has_value());
}

TEST_F(ClientTest, RunServerRejectionShowsCodeAndField) {
  Outcome o = Baton("run", {"--gpus", "0", "--", "true"});
  EXPECT_EQ(o.code, 1);
  EXPECT_THAT(o.err, StartsWith("baton: run: INVALID_ARGUMENT: spec.gpus_per_task: "));
}

TEST_F(ClientTest, RunWithoutCommandIsUsageError) {
  Outcome o = Baton("run", {"--gpus", "1"});
  EXPECT_EQ(o.code, 2);
}

TEST_F(ClientTest, RunWaitExitStatusFollowsJob) {
  auto result = std::async(std::launch::async,
                           [&] { return Baton("run", {"--wait", "--", "false"}); });
  ASSERT_TRUE(fake_->WaitForWatchers(1, kWatchTimeout));
  ASSERT_TRUE(fake_->SetJobState("1", v1::JOB_STATE_RUNNING, "").ok());
  ASSERT_TRUE(fake_->FinishJob("1", v1::JOB_STATE_FAILED, 3, "task-failed").ok());
  Outcome o = result.get();
  EXPECT_EQ(o.code, 3) << o.err;
  EXPECT_EQ(o.out, "submitted job 1 (false)\njob 1 failed: exit code 3 (task-failed)\n");
}

TEST_F(ClientTest, WaitSucceeded) {
  const std::string id = AddJob("a", v1::JOB_STATE_RUNNING);
  auto result = std::async(std::launch::async, [&] { return Baton("wait", {id}); });
  ASSERT_TRUE(fake_->WaitForWatchers(1, kWatchTimeout));
  ASSERT_TRUE(fake_->FinishJob(id, v1::JOB_STATE_SUCCEEDED, 0, "succeeded").ok());
  Outcome o = result.get();
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "job 1 succeeded\n");
}

TEST_F(ClientTest, WaitNoticesEndWithoutAnEvent) {
  // The job ends but the watch says nothing: wait's periodic re-read must catch it.
  fake_->set_drop_watch_events(true);
  const std::string id = AddJob("a", v1::JOB_STATE_RUNNING);
  auto result = std::async(std::launch::async, [&] { return Baton("wait", {id}); });
  ASSERT_TRUE(fake_->WaitForWatchers(1, kWatchTimeout));
  ASSERT_TRUE(fake_->WaitForCalls("Get", 1, kWatchTimeout));  // wait saw it running
  ASSERT_TRUE(fake_->FinishJob(id, v1::JOB_STATE_FAILED, 42, "task-failed").ok());
  Outcome o = result.get();
  EXPECT_EQ(o.code, 42) << o.err;
  EXPECT_EQ(o.out, "job 1 failed: exit code 42 (task-failed)\n");
}

TEST_F(ClientTest, WaitOnFinishedJobReturnsAtOnce) {
  const std::string id = AddJob("a", v1::JOB_STATE_RUNNING);
  ASSERT_TRUE(fake_->FinishJob(id, v1::JOB_STATE_FAILED, 300, "task-failed").ok());
  Outcome o = Baton("wait", {id, "-o", "json"});
  EXPECT_EQ(o.code, 1) << o.err;  // 300 is no exit status: plain failure
  auto items = JsonLines(o.out);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["state"], "JOB_STATE_FAILED");
}

TEST_F(ClientTest, WaitCancelledIs130) {
  const std::string id = AddJob("a", v1::JOB_STATE_PENDING);
  auto result = std::async(std::launch::async, [&] { return Baton("wait", {id}); });
  ASSERT_TRUE(fake_->WaitForWatchers(1, kWatchTimeout));
  Outcome c = Baton("cancel", {id});
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "job 1 cancelled\n");
  Outcome o = result.get();
  EXPECT_EQ(o.code, 130) << o.err;
  EXPECT_EQ(o.out, "job 1 cancelled: cancelled by user\n");
}

TEST_F(ClientTest, WaitTimesOut) {
  const std::string id = AddJob("a", v1::JOB_STATE_RUNNING);
  Outcome o = Baton("wait", {id, "--timeout", "0.3"});
  EXPECT_EQ(o.code, 124);
  EXPECT_THAT(o.err, HasSubstr("baton: wait: timed out after 0.3s waiting for job 1"));
}

TEST_F(ClientTest, UnknownJobIsNotFound) {
  for (const std::string cmd : {"show", "cancel", "wait", "logs"}) {
    Outcome o = Baton(cmd, {"42"});
    EXPECT_EQ(o.code, 1) << cmd;
    EXPECT_EQ(o.err, "baton: " + cmd + ": NOT_FOUND: job 42 not found\n") << cmd;
    EXPECT_EQ(o.out, "") << cmd;
  }
}

TEST_F(ClientTest, PsShowsLiveJobsByDefault) {
  AddJob("old", v1::JOB_STATE_SUCCEEDED, "default", 7200);
  AddJob("waiting", v1::JOB_STATE_PENDING, "team-a", 192);
  ASSERT_TRUE(fake_->SetJobState("2", v1::JOB_STATE_PENDING, "waiting: no node has 8 free H100").ok());
  Outcome o = Baton("ps");
  ASSERT_EQ(o.code, 0) << o.err;
  std::istringstream lines(o.out);
  std::string header, row, extra;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_FALSE(std::getline(lines, extra)) << o.out;
  EXPECT_THAT(header, StartsWith("ID  NAME     QUEUE   STATE    GPUS  AGE"));
  EXPECT_THAT(row, StartsWith("2   waiting  team-a  pending  8     3m1"));
  EXPECT_THAT(row, HasSubstr("waiting: no node has 8 free H100"));

  Outcome all = Baton("ps", {"--all"});
  EXPECT_THAT(all.out, HasSubstr("succeeded"));
  EXPECT_THAT(all.out, HasSubstr("2h00m"));
}

TEST_F(ClientTest, PsFiltersAndJson) {
  AddJob("a", v1::JOB_STATE_PENDING, "team-a");
  AddJob("b", v1::JOB_STATE_RUNNING, "team-b");
  AddJob("c", v1::JOB_STATE_FAILED, "team-a");
  Outcome o = Baton("ps", {"--queue", "team-a", "--all", "-o", "json"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto items = JsonLines(o.out);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["id"], "3");  // newest first
  EXPECT_EQ(items[1]["id"], "1");

  Outcome running = Baton("ps", {"--state", "failed", "-o", "json"});
  items = JsonLines(running.out);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["spec"]["name"], "c");

  EXPECT_EQ(Baton("ps", {"--state", "bogus"}).code, 2);
}

TEST_F(ClientTest, PsFollowsPageTokens) {
  fake_->set_default_page_size(2);
  for (int i = 0; i < 5; ++i) AddJob("j" + std::to_string(i), v1::JOB_STATE_PENDING);
  Outcome o = Baton("ps", {"-o", "json"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto items = JsonLines(o.out);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0]["id"], "5");
  EXPECT_EQ(items[4]["id"], "1");
  EXPECT_EQ(fake_->calls("List"), 3);
}

TEST_F(ClientTest, ShowPrintsSpecAndAttempts) {
  v1::Job job;
  job.mutable_spec()->set_name("train");
  job.mutable_spec()->set_queue("team-a");
  job.mutable_spec()->set_tasks(2);
  job.mutable_spec()->set_gpus_per_task("2");
  job.mutable_spec()->add_command("python");
  job.mutable_spec()->add_command("train.py");
  (*job.mutable_spec()->mutable_env())["LR"] = "3";
  job.set_state(v1::JOB_STATE_FAILED);
  job.set_reason("task 1 exited 7");
  v1::Attempt* a = job.add_attempts();
  a->set_number(1);
  for (int t = 0; t < 2; ++t) {
    v1::TaskAssignment* ta = a->add_assignments();
    ta->set_task_index(t);
    ta->set_node(t == 0 ? "node-a" : "node-b");
    ta->add_gpu_indices(0);
    ta->add_gpu_indices(1);
  }
  *a->mutable_start_time() = TimeUtil::SecondsToTimestamp(1'700'000'000);
  *a->mutable_end_time() = TimeUtil::SecondsToTimestamp(1'700'000'192);
  a->set_exit_code(7);
  a->set_end_reason("task-failed");
  const std::string id = fake_->AddJob(job);

  Outcome o = Baton("show", {id});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("State:        failed\n"));
  EXPECT_THAT(o.out, HasSubstr("Reason:       task 1 exited 7\n"));
  EXPECT_THAT(o.out, HasSubstr("2 task(s) x 2 GPU(s) = 4 GPU(s)"));
  EXPECT_THAT(o.out, HasSubstr("Command:      python train.py\n"));
  EXPECT_THAT(o.out, HasSubstr("Env:          LR=3\n"));
  EXPECT_THAT(o.out, HasSubstr("2023-11-14 22:13:20  2023-11-14 22:16:32  7     task-failed  "
                               "0s         -             node-a:0,1 node-b:0,1\n"));

  EXPECT_THAT(o.out, HasSubstr("Restarts:     all-tasks (default for a gang)\n"));
  EXPECT_THAT(o.out, Not(HasSubstr("Task runs:")));

  // A job whose failed task restarted on its own lists each task's runs.
  job.mutable_spec()->set_gang(false);
  v1::TaskRun* r = job.add_task_runs();
  r->set_task_index(1);
  r->set_attempt(1);
  r->set_node("node-b");
  *r->mutable_start_time() = TimeUtil::SecondsToTimestamp(1'700'000'000);
  *r->mutable_end_time() = TimeUtil::SecondsToTimestamp(1'700'000'192);
  r->set_exit_code(7);
  r->set_how_ended("exited with code 7");
  const std::string id2 = fake_->AddJob(job);
  Outcome runs = Baton("show", {id2});
  EXPECT_THAT(runs.out, HasSubstr("Restarts:     failed-tasks (default without gang)\n"));
  EXPECT_THAT(runs.out, HasSubstr("Task runs:\n"));
  EXPECT_THAT(runs.out, HasSubstr("1     1        node-b  2023-11-14 22:13:20  2023-11-14 22:16:32  "
                                  "7     exited with code 7"));

  Outcome j = Baton("show", {id, "--output", "json"});
  auto items = JsonLines(j.out);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["attempts"][0]["end_reason"], "task-failed");
  EXPECT_EQ(items[0]["attempts"][0]["assignments"][1]["node"], "node-b");
}

TEST_F(ClientTest, LogsWritesRawBytes) {
  const std::string id = AddJob("a", v1::JOB_STATE_RUNNING);
  fake_->SetLogs(id, 0, 0, {"hello ", std::string("wor\0ld\n", 7)});
  fake_->SetLogs(id, 1, 2, {"rank two\n"});
  Outcome o = Baton("logs", {id});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, std::string("hello wor\0ld\n", 13));

  Outcome f = Baton("logs", {"-f", id, "--task", "1", "--rank", "2", "--attempt", "1"});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(f.out, "rank two\n");
  auto req = fake_->last_logs_request();
  ASSERT_TRUE(req.has_value());
  EXPECT_TRUE(req->follow());
  EXPECT_EQ(req->task_index(), 1);
  EXPECT_EQ(req->rank(), 2);
  EXPECT_EQ(req->attempt(), 1);

  Outcome missing = Baton("logs", {id, "--task", "5"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "baton: logs: NOT_FOUND: job 1 has no task 5 rank 0\n");
}

TEST_F(ClientTest, CancelFinishedJobIsNoOp) {
  const std::string id = AddJob("a", v1::JOB_STATE_RUNNING);
  ASSERT_TRUE(fake_->FinishJob(id, v1::JOB_STATE_SUCCEEDED, 0, "succeeded").ok());
  Outcome o = Baton("cancel", {id});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "job 1 already succeeded; nothing to cancel\n");
  Outcome j = Baton("cancel", {id, "-o", "json"});
  EXPECT_EQ(JsonLines(j.out).at(0)["state"], "JOB_STATE_SUCCEEDED");
}

TEST_F(ClientTest, NodesTableAndJson) {
  v1::Node n;
  n.set_name("gpu-01");
  n.set_state(v1::NODE_STATE_READY);
  n.set_rack("r1");
  n.set_address("10.0.0.1");
  n.set_gpus_allocated(3);
  for (int i = 0; i < 8; ++i) {
    v1::Gpu* g = n.add_gpus();
    g->set_index(i);
    g->set_model("H100");
  }
  fake_->AddNode(n);
  v1::Node lost;
  lost.set_name("gpu-02");
  lost.set_state(v1::NODE_STATE_LOST);
  lost.set_reason("no heartbeat for 12s");
  fake_->AddNode(lost);

  Outcome o = Baton("nodes");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME    STATE  GPUS  MODEL  RACK  ADDRESS   REASON\n"
            "gpu-01  ready  3/8   H100   r1    10.0.0.1  -\n"
            "gpu-02  lost   0/0   -      -     -         no heartbeat for 12s\n");
  auto items = JsonLines(Baton("nodes", {"-o", "json"}).out);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["gpus_allocated"], 3);
  EXPECT_EQ(items[1]["state"], "NODE_STATE_LOST");
}

TEST_F(ClientTest, QueuesTableAndJson) {
  v1::Queue q;
  q.set_name("team-a");
  q.set_quota_gpus("16");
  q.set_limit_gpus("32");
  q.set_weight(2);
  q.set_pending_jobs(4);
  q.set_running_jobs(1);
  q.set_gpus_in_use("8");
  fake_->AddQueue(q);
  v1::Queue child;
  child.set_name("team-a-dev");
  child.set_parent("team-a");
  child.set_weight(1);
  fake_->AddQueue(child);

  Outcome o = Baton("queues");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME        PARENT  QUOTA  LIMIT  WEIGHT  PENDING  RUNNING  GPUS-IN-USE\n"
            "team-a      -       16     32     2       4        1        8\n"
            "team-a-dev  team-a  -      -      1       0        0        0\n");
  auto items = JsonLines(Baton("queues", {"--output", "json"}).out);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["quota_gpus"], "16");
  EXPECT_EQ(items[1]["parent"], "team-a");
}

TEST_F(ClientTest, UnreachableServerNamesAddress) {
  const std::string addr = "127.0.0.1:" + std::to_string(UnusedPort());
  const auto start = std::chrono::steady_clock::now();
  for (const std::string cmd : {"ps", "nodes"}) {
    Outcome o = BatonRaw({"baton", cmd, "--server", addr});
    EXPECT_EQ(o.code, 1) << cmd;
    EXPECT_THAT(o.err, StartsWith("baton: cannot reach the control plane at " + addr + ": "))
        << cmd;
    EXPECT_THAT(o.err, Not(HasSubstr("no connection within"))) << o.err;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(ClientTest, ServerFromEnvironment) {
  AddJob("a", v1::JOB_STATE_PENDING);
  setenv("BATON_SERVER", fake_->address().c_str(), 1);
  Outcome o = BatonRaw({"baton", "ps", "-o", "json"});
  unsetenv("BATON_SERVER");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(JsonLines(o.out).size(), 1u);
}

TEST_F(ClientTest, BadOutputFormatIsUsageError) {
  EXPECT_EQ(Baton("ps", {"--output", "yaml"}).code, 2);
}

TEST(ClientHelpersTest, ExitStatusAndStates) {
  v1::Job job;
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(JobExitStatus(job), 0);
  job.set_state(v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(JobExitStatus(job), 130);
  job.set_state(v1::JOB_STATE_FAILED);
  EXPECT_EQ(JobExitStatus(job), 1);
  job.add_attempts()->set_exit_code(255);
  EXPECT_EQ(JobExitStatus(job), 255);
  job.mutable_attempts(0)->set_exit_code(-9);
  EXPECT_EQ(JobExitStatus(job), 1);
  for (const auto& name : JobStateNames()) {
    EXPECT_EQ(JobStateName(*ParseJobState(name)), name);
  }
  EXPECT_EQ(JobGpus(v1::JobSpec()), "1");
}

}  // namespace
}  // namespace baton::cli
