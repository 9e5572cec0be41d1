#include "baton/agent/log_service.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/launch/process_launcher.h"
#include "baton/auth/credentials.h"

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// The secret batond learns from Register.logs_token.
constexpr char kSecret[] = "0123456789abcdef";

class LogServiceTest : public ::testing::Test {
 protected:
  std::string Address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("baton-logs-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    AgentOptions o;
    o.node_name = "n1";
    o.data_dir = dir_;
    agent_ = std::make_unique<Agent>(o, gpus_, launcher_, clock_,
                                     [this](const v1::AgentMessage& m) {
                                       std::lock_guard lock(mu_);
                                       if (m.has_task_status()) states_.push_back(m.task_status().state());
                                       cv_.notify_all();
                                     });
    auto server = LogServer::Start("127.0.0.1:0", *agent_, kSecret);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    channel_ = auth::CreateChannel(Address(), kSecret);
    stub_ = v1::AgentLogs::NewStub(channel_);
  }
  void TearDown() override {
    agent_->StopAll(Duration(0));
    agent_->WaitForNoTasks(std::chrono::steady_clock::now() + Seconds(3));
    server_->Shutdown();
    fs::remove_all(dir_);
  }

  void StartTask(const std::string& job, const std::string& script,
                 std::map<std::string, std::string> env = {}) {
    v1::Directive d;
    auto* s = d.mutable_start_task();
    s->set_job_id(job);
    s->set_attempt(1);
    s->add_command("/bin/sh");
    s->add_command("-c");
    s->add_command(script);
    for (auto& [k, v] : env) (*s->mutable_env())[k] = v;
    agent_->HandleDirective(d);
  }
  bool WaitState(v1::TaskState state) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(4), [&] {
      return std::find(states_.begin(), states_.end(), state) != states_.end();
    });
  }
  // Reads a whole (non-follow or finishing) stream.
  std::pair<grpc::Status, std::string> ReadAll(const v1::LogsRequest& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(4));
    auto reader = stub_->Read(&ctx, req);
    v1::LogChunk chunk;
    std::string data;
    while (reader->Read(&chunk)) data += chunk.data();
    return {reader->Finish(), data};
  }

  fs::path dir_;
  FakeGpuDiscovery gpus_ = FakeGpuDiscovery::FromSpec("1xH100").value();
  ProcessLauncher launcher_{ProcessLauncher::Options{.use_cgroups = false}};
  SystemClock clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::TaskState> states_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<LogServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentLogs::Stub> stub_;
};

// Task output is a tenant's data: only the control plane (holding the secret) may read.
TEST_F(LogServiceTest, OnlyTheHolderOfTheSecretMayRead) {
  StartTask("j9", "echo private");
  ASSERT_TRUE(WaitState(v1::TASK_STATE_EXITED));
  v1::LogsRequest req;
  req.set_job_id("j9");
  req.set_attempt(1);
  for (const std::string& token :
       {std::string(), std::string("wrong"), std::string(kSecret) + "x"}) {
    auto stub = v1::AgentLogs::NewStub(auth::CreateChannel(Address(), token));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(4));
    auto reader = stub->Read(&ctx, req);
    v1::LogChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk)) << "token '" << token << "' read " << chunk.data();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED) << token;
  }
  EXPECT_EQ(ReadAll(req).second, "private\n");
}

TEST_F(LogServiceTest, UnknownTaskIsNotFound) {
  v1::LogsRequest req;
  req.set_job_id("nope");
  auto [status, data] = ReadAll(req);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no log for job nope"));
  EXPECT_EQ(data, "");
}

TEST_F(LogServiceTest, ReadsFromAnOffset) {
  StartTask("j1", "echo hello; echo world >&2");
  ASSERT_TRUE(WaitState(v1::TASK_STATE_EXITED));
  v1::LogsRequest req;
  req.set_job_id("j1");  // attempt 0 = the latest
  auto [status, data] = ReadAll(req);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(data, "hello\nworld\n");
  req.set_offset(2);
  req.set_follow(true);  // ended already: follow ends at once
  auto [status2, data2] = ReadAll(req);
  EXPECT_TRUE(status2.ok());
  EXPECT_EQ(data2, "llo\nworld\n");
  req.set_rank(3);
  EXPECT_EQ(ReadAll(req).first.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(LogServiceTest, FollowStreamsUntilTheTaskEnds) {
  fs::path go = dir_ / "go";
  StartTask("j2", "echo first; while [ ! -f \"$GO\" ]; do sleep 0.02; done; echo second",
            {{"GO", go.string()}});
  ASSERT_TRUE(WaitState(v1::TASK_STATE_RUNNING));
  v1::LogsRequest req;
  req.set_job_id("j2");
  req.set_attempt(1);
  req.set_follow(true);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(4));
  auto reader = stub_->Read(&ctx, req);
  std::string data;
  v1::LogChunk chunk;
  while (data != "first\n" && reader->Read(&chunk)) {
    EXPECT_EQ(chunk.offset(), static_cast<int64_t>(data.size()));
    data += chunk.data();
  }
  ASSERT_EQ(data, "first\n");
  std::ofstream(go) << "";  // let the task finish
  while (reader->Read(&chunk)) data += chunk.data();
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(data, "first\nsecond\n");
}

}  // namespace
}  // namespace baton::agent
