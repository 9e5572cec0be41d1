#include "baton/agent/grpc_agent.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/launch/process_launcher.h"
#include "baton/agent/launch/simulated_launcher.h"
#include "baton/auth/credentials.h"

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A control plane double: answers Register with Registered, then sends the directives it
// was given, and records everything the agent sends. With end_first_stream it closes the
// first stream once a task ended (to make the agent reconnect).
class FakeAgentService final : public v1::Agent::Service {
 public:
  std::vector<v1::Directive> directives;
  bool end_first_stream = false;

  grpc::Status Connect(grpc::ServerContext* ctx,
                       grpc::ServerReaderWriter<v1::Directive, v1::AgentMessage>* stream)
      override {
    {
      std::lock_guard lock(mu_);
      auto it = ctx->client_metadata().find("authorization");
      authorizations_.push_back(it == ctx->client_metadata().end()
                                    ? std::string()
                                    : std::string(it->second.data(), it->second.size()));
    }
    v1::AgentMessage m;
    if (!stream->Read(&m) || !m.has_register_()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "Register first");
    }
    int n;
    {
      std::lock_guard lock(mu_);
      registers_.push_back(m.register_());
      n = ++per_node_[m.register_().node_name()];
      order_.push_back("register " + std::to_string(n));
      cv_.notify_all();
    }
    v1::Directive reg;
    reg.mutable_registered()->set_node_name(m.register_().node_name());
    reg.mutable_registered()->set_heartbeat_interval_ms(20);
    stream->Write(reg);
    if (n == 1) {
      for (const auto& d : directives) stream->Write(d);
    }
    while (stream->Read(&m)) {
      std::lock_guard lock(mu_);
      if (m.has_heartbeat()) ++heartbeats_;
      bool ended = false;
      if (m.has_task_status()) {
        statuses_.push_back(m.task_status());
        ended = m.task_status().state() == v1::TASK_STATE_EXITED;
      }
      cv_.notify_all();
      if (ended && n == 1 && end_first_stream) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away");
      }
    }
    std::lock_guard lock(mu_);
    order_.push_back("end " + std::to_string(n));
    cv_.notify_all();
    return grpc::Status::OK;
  }

  template <typename Pred>
  bool Wait(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(4), [&] { return pred(*this); });
  }
  // Only under Wait's predicate (mu_ held).
  std::vector<v1::Register> registers_;
  std::vector<std::string> authorizations_;  // each stream's "authorization" metadata
  std::vector<v1::TaskStatus> statuses_;
  int heartbeats_ = 0;
  std::vector<std::string> order_;  // "register N" / "end N" (N: the node's Nth stream)

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> per_node_;  // Registers seen per node
};

// A made-up agent token (the fake control plane accepts anything).
constexpr char kAgentToken[] =
    "baton_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

bool Has(const std::vector<v1::TaskStatus>& v, v1::TaskState state) {
  for (const auto& s : v) {
    if (s.state() == state) return true;
  }
  return false;
}

class GrpcAgentTest : public ::testing::Test {
 protected:
  void StartServer() {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(port_, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + milliseconds(500));
  }

  FakeAgentService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GrpcAgentTest, RegistersRunsATaskAndReconnects) {
  fs::path dir = fs::temp_directory_path() / ("baton-grpc-agent-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  v1::Directive d;
  auto* s = d.mutable_start_task();
  s->set_job_id("j1");
  s->set_attempt(1);
  s->add_command("/bin/sh");
  s->add_command("-c");
  s->add_command("exit 7");
  service_.directives.push_back(d);
  service_.end_first_stream = true;
  StartServer();

  TimerThread timers;
  ConnectionOptions co;
  co.initial_backoff = milliseconds(10);
  co.tick_interval = milliseconds(50);
  auto conn = AgentConnection::Create(channel_, timers, co);
  FakeGpuDiscovery gpus = FakeGpuDiscovery::FromSpec("2xH100").value();
  ProcessLauncher launcher(ProcessLauncher::Options{.use_cgroups = false});
  SystemClock clock;
  AgentOptions ao;
  ao.node_name = "n1";
  ao.data_dir = dir;
  ao.log_endpoint = "127.0.0.1:1234";
  Agent agent(ao, gpus, launcher, clock, [conn](const v1::AgentMessage& m) { conn->Send(m); });
  conn->Start(&agent);

  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) {
    return Has(f.statuses_, v1::TASK_STATE_RUNNING) && Has(f.statuses_, v1::TASK_STATE_EXITED);
  }));
  // The first stream ended: the agent comes back and reports the task that ended.
  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) {
    return f.registers_.size() >= 2 && f.heartbeats_ >= 1;
  }));
  ASSERT_TRUE(service_.Wait([&](FakeAgentService& f) {
    const auto& first = f.registers_[0];
    EXPECT_EQ(first.node_name(), "n1");
    EXPECT_EQ(first.inventory().gpus_size(), 2);
    EXPECT_EQ(first.log_endpoint(), "127.0.0.1:1234");
    EXPECT_EQ(first.tasks_size(), 0);
    const auto& second = f.registers_[1];
    EXPECT_EQ(second.tasks_size(), 1);
    if (second.tasks_size() == 1) {
      EXPECT_EQ(second.tasks(0).state(), v1::TASK_STATE_EXITED);
      EXPECT_EQ(second.tasks(0).exit_code(), 7);
    }
    for (const auto& st : f.statuses_) {
      if (st.state() == v1::TASK_STATE_EXITED) {
        EXPECT_EQ(st.exit_code(), 7);
      }
    }
    return true;
  }));
  // The server saw the second Register; the agent sees the answer a moment later.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (conn->registrations() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(conn->registrations(), 2);
  EXPECT_TRUE(conn->registered());
  conn->Shutdown();
  fs::remove_all(dir);
}

// A renewed certificate means a new channel: the agent registers on it before it lets the
// old stream go, so the control plane never sees the node without a stream.
TEST_F(GrpcAgentTest, RotateRegistersOnTheNewChannelBeforeClosingTheOld) {
  StartServer();
  TimerThread timers;
  ConnectionOptions co;
  co.tick_interval = milliseconds(50);
  auto conn = AgentConnection::Create(channel_, timers, co);
  FakeGpuDiscovery gpus = FakeGpuDiscovery::FromSpec("1xH100").value();
  SystemClock clock;
  SimulatedLauncher launcher(clock, &timers);
  AgentOptions ao;
  ao.node_name = "n1";
  ao.simulated = true;
  Agent agent(ao, gpus, launcher, clock, [conn](const v1::AgentMessage& m) { conn->Send(m); });
  conn->Start(&agent);
  // Registered on both ends (the agent has seen batond's answer).
  auto registered = [&](int n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (conn->registrations() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return conn->registrations() == n;
  };
  ASSERT_TRUE(registered(1));

  conn->Rotate(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) { return f.order_.size() >= 3; }));
  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) {
    EXPECT_EQ(f.order_, (std::vector<std::string>{"register 1", "register 2", "end 1"}));
    return true;
  }));
  // Heartbeats go on, on the new stream.
  int before = 0;
  service_.Wait([&](FakeAgentService& f) { before = f.heartbeats_; return true; });
  ASSERT_TRUE(service_.Wait([&](FakeAgentService& f) { return f.heartbeats_ > before + 2; }));
  EXPECT_TRUE(registered(2));
  EXPECT_TRUE(conn->registered());
  conn->Shutdown();
}

TEST_F(GrpcAgentTest, ManySimulatedAgentsShareOneTimerThread) {
  v1::Directive d;
  auto* s = d.mutable_start_task();
  s->set_job_id("sim");
  s->set_attempt(1);
  s->add_command("train");
  s->set_simulate_duration_ms(30);
  service_.directives.push_back(d);
  StartServer();

  // BATON_SIM_AGENTS=1000 checks the --simulate scale by hand; 50 keeps the test fast.
  const char* env = std::getenv("BATON_SIM_AGENTS");
  const int kAgents = env != nullptr ? std::atoi(env) : 50;
  SystemClock clock;
  auto timers = std::make_unique<TimerThread>();
  SimulatedLauncher launcher(clock, timers.get());
  FakeGpuDiscovery gpus = FakeGpuDiscovery::FromSpec("8xH100").value();
  std::vector<std::shared_ptr<AgentConnection>> conns;
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 0; i < kAgents; ++i) {
    auto conn = AgentConnection::Create(channel_, *timers);
    AgentOptions ao;
    ao.node_name = "sim-" + std::to_string(i);
    ao.simulated = true;
    agents.push_back(std::make_unique<Agent>(
        ao, gpus, launcher, clock, [conn](const v1::AgentMessage& m) { conn->Send(m); }));
    conn->Start(agents.back().get());
    conns.push_back(conn);
  }
  ASSERT_TRUE(service_.Wait([&](FakeAgentService& f) {
    int exited = 0;
    if (env != nullptr) {
      std::fprintf(stderr, "registers %zu statuses %zu heartbeats %d\n", f.registers_.size(),
                   f.statuses_.size(), f.heartbeats_);
    }
    for (const auto& st : f.statuses_) exited += st.state() == v1::TASK_STATE_EXITED;
    return static_cast<int>(f.registers_.size()) == kAgents && exited == kAgents;
  }));
  for (auto& c : conns) c->Shutdown();
  timers.reset();
}

TEST_F(GrpcAgentTest, RunAgentProcessServesLogsAndStopsCleanly) {
  fs::path dir = fs::temp_directory_path() / ("baton-run-agent-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  v1::Directive d;
  auto* s = d.mutable_start_task();
  s->set_job_id("j1");
  s->set_attempt(1);
  s->add_command("/bin/sh");
  s->add_command("-c");
  s->add_command("echo hi; exec sleep 30");
  service_.directives.push_back(d);
  StartServer();

  AgentProcessOptions o;
  o.server = "127.0.0.1:" + std::to_string(port_);
  o.token = kAgentToken;
  o.name = "real";
  o.fake_gpus = "2xH100";
  o.data_dir = dir.string();
  o.log_listen = "127.0.0.1:0";
  o.shutdown_grace = Seconds(2);
  Status result;
  std::jthread run([&](std::stop_token stop) { result = RunAgentProcess(o, stop); });
  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) {
    return !f.registers_.empty() && Has(f.statuses_, v1::TASK_STATE_RUNNING);
  }));
  std::string endpoint, logs_token;
  service_.Wait([&](FakeAgentService& f) {
    endpoint = f.registers_[0].log_endpoint();
    logs_token = f.registers_[0].logs_token();
    // The agent authenticates with its token on every stream.
    EXPECT_EQ(f.authorizations_.at(0), "Bearer " + std::string(kAgentToken));
    return true;
  });
  ASSERT_EQ(endpoint.rfind("127.0.0.1:", 0), 0u) << endpoint;
  // A fresh 256-bit secret per agent run guards its logs.
  EXPECT_EQ(logs_token.size(), 64u);
  auto logs = v1::AgentLogs::NewStub(auth::CreateChannel(endpoint, logs_token));
  std::string data;
  {
    // follow: waits for the output instead of polling; cancelled once it arrived.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(4));
    v1::LogsRequest req;
    req.set_job_id("j1");
    req.set_follow(true);
    auto reader = logs->Read(&ctx, req);
    v1::LogChunk chunk;
    while (data != "hi\n" && reader->Read(&chunk)) data += chunk.data();
    ctx.TryCancel();
    while (reader->Read(&chunk)) {
    }
    (void)reader->Finish();
  }
  EXPECT_EQ(data, "hi\n");

  run.request_stop();  // stops the task (SIGTERM), reports it, disconnects
  run.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) {
    return Has(f.statuses_, v1::TASK_STATE_STOPPED);
  }));
  fs::remove_all(dir);
}

TEST_F(GrpcAgentTest, RunAgentProcessSimulatesNAgents) {
  StartServer();
  AgentProcessOptions o;
  o.server = "127.0.0.1:" + std::to_string(port_);
  o.token = kAgentToken;
  o.name = "sim";
  o.simulate = 3;
  Status result;
  std::jthread run([&](std::stop_token stop) { result = RunAgentProcess(o, stop); });
  ASSERT_TRUE(service_.Wait([](FakeAgentService& f) { return f.registers_.size() == 3; }));
  service_.Wait([](FakeAgentService& f) {
    std::set<std::string> names;
    for (const auto& r : f.registers_) {
      names.insert(r.node_name());
      EXPECT_EQ(r.log_endpoint(), "");
      EXPECT_EQ(r.inventory().gpus_size(), 8);
    }
    EXPECT_EQ(names, (std::set<std::string>{"sim-0", "sim-1", "sim-2"}));
    return true;
  });
  run.request_stop();
  run.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
}

}  // namespace
}  // namespace baton::agent
