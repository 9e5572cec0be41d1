// GPU health end to end: batond, one agent on the fake NVML (the real NvmlGpuDiscovery
// path, loaded by --nvml-lib) and one agent with made-up GPUs, real processes. An Xid 79
// injected into the fake drains the first node and the job restarts on the second.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/grpc_agent.h"
#include "baton/auth/token.h"
#include "baton/server/batond.h"

namespace baton {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

#ifdef BATON_FAKE_NVML_PATH
constexpr const char* kFakeNvml = BATON_FAKE_NVML_PATH;
#else
constexpr const char* kFakeNvml = nullptr;
#endif

// Waits until `pred` holds or 20 s pass; checks every 20 ms (a condition with a deadline).
template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class AgentThread {
 public:
  explicit AgentThread(agent::AgentProcessOptions o)
      : thread_([o = std::move(o), this](std::stop_token) {
          result_ = agent::RunAgentProcess(o, stop_.get_token());
        }) {}
  ~AgentThread() {
    stop_.request_stop();
    thread_.join();
  }

 private:
  std::stop_source stop_;
  Status result_;
  std::jthread thread_;
};

class GpuHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kFakeNvml == nullptr) GTEST_SKIP() << "fake_nvml was not built";
    dir_ = fs::temp_directory_path() / ("baton-gpu-health-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fixture_ = (dir_ / "nvml.txt").string();
    std::ifstream in(std::string(BATON_SOURCE_DIR) + "/testing/fake_nvml/fixtures/dgx_h100.txt");
    dgx_ = std::string(std::istreambuf_iterator<char>(in), {});
    WriteFixture(dgx_);
    server::BatondOptions bo;
    bo.store = "memory";
    bo.listen = "127.0.0.1:0";
    bo.http_listen = "";
    bo.tick = std::chrono::milliseconds(50);
    bo.control_plane.heartbeat_interval = std::chrono::milliseconds(100);
    bo.control_plane.stop_grace = std::chrono::seconds(1);
    bo.admin_token_file = (dir_ / "admin.token").string();
    bo.agent_token_file = (dir_ / "agent.token").string();
    auto b = server::Batond::Start(bo);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    batond_ = std::move(*b);
  }
  void TearDown() override {
    agents_.clear();
    if (batond_) batond_->Shutdown();
    unsetenv("BATON_FAKE_NVML_FIXTURE");
    fs::remove_all(dir_);
  }
  void WriteFixture(const std::string& text) {
    std::ofstream(fixture_ + ".tmp") << text;
    fs::rename(fixture_ + ".tmp", fixture_);
    setenv("BATON_FAKE_NVML_FIXTURE", fixture_.c_str(), 1);
  }
  void StartAgent(const std::string& name, bool nvml) {
    agent::AgentProcessOptions o;
    o.server = batond_->grpc_address();
    o.token = auth::ReadTokenFile((dir_ / "agent.token").string()).value();
    o.name = name;
    o.data_dir = (dir_ / name).string();
    o.log_listen = "";
    o.shutdown_grace = std::chrono::seconds(1);
    if (nvml) {
      o.nvml_lib = kFakeNvml;
    } else {
      o.fake_gpus = "8xH100";
    }
    agents_.push_back(std::make_unique<AgentThread>(o));
  }
  server::ControlPlane& cp() { return batond_->control_plane(); }
  std::optional<v1::Node> Node(const std::string& name) {
    for (const v1::Node& n : cp().Nodes(std::nullopt)) {
      if (n.name() == name) return n;
    }
    return std::nullopt;
  }

  fs::path dir_;
  std::string fixture_;
  std::string dgx_;
  std::unique_ptr<server::Batond> batond_;
  std::vector<std::unique_ptr<AgentThread>> agents_;
};

TEST_F(GpuHealthTest, Xid79DrainsTheNodeAndTheJobRestartsElsewhere) {
  StartAgent("dgx-a", /*nvml=*/true);
  ASSERT_TRUE(Eventually([&] {
    auto n = Node("dgx-a");
    return n && n->state() == v1::NODE_STATE_READY && n->gpus_size() == 8 &&
           n->gpus(0).has_stats();
  }));
  // Telemetry from the fixture reached the control plane.
  const v1::Node a = *Node("dgx-a");
  EXPECT_EQ(a.gpus(0).stats().temperature_c(), 31);
  EXPECT_EQ(a.gpus(0).stats().sm_clock_mhz(), 345);
  EXPECT_EQ(a.gpus(5).numa_node(), 1);

  model::JobSpec spec;
  spec.name = "train";
  spec.tasks = 1;
  spec.gpus_per_task = Quantity::Whole(8);
  spec.command = {"sleep", "60"};
  spec.max_attempts = 3;
  std::promise<Result<v1::Job>> submitted;
  cp().Submit(spec, [&](Result<v1::Job> j) { submitted.set_value(std::move(j)); });
  Result<v1::Job> job = submitted.get_future().get();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const JobId id(std::stoull(job->id()));
  // The reasons the job went through (the failed attempt's reason names the Xid).
  std::mutex reasons_mu;
  std::vector<std::string> reasons;
  server::JobFilter filter;
  filter.job = id;
  const int64_t watch = cp().Watch(filter, [&](const v1::JobEvent& ev) {
    std::lock_guard lock(reasons_mu);
    reasons.push_back(ev.job().reason());
  });
  ASSERT_TRUE(Eventually([&] {
    auto j = cp().Get(id);
    return j.ok() && j->state() == v1::JOB_STATE_RUNNING;
  }));
  EXPECT_EQ(cp().Get(id)->attempts(0).assignments(0).node(), "dgx-a");

  // The second node arrives, then GPU 3 of the first falls off the bus.
  StartAgent("spare", /*nvml=*/false);
  ASSERT_TRUE(Eventually([&] {
    auto n = Node("spare");
    return n && n->state() == v1::NODE_STATE_READY;
  }));
  WriteFixture(dgx_ + "event id=1 gpu=3 xid=79\n");

  ASSERT_TRUE(Eventually([&] {
    auto j = cp().Get(id);
    return j.ok() && j->attempts_size() == 2 && j->state() == v1::JOB_STATE_RUNNING;
  })) << cp().Get(id)->DebugString();
  const v1::Job j = *cp().Get(id);
  EXPECT_EQ(j.attempts(1).assignments(0).node(), "spare");
  EXPECT_EQ(j.attempts(0).end_reason(), "task-failed");
  {
    std::lock_guard lock(reasons_mu);
    EXPECT_THAT(reasons, ::testing::Contains(HasSubstr("Xid 79: GPU has fallen off the bus")));
  }
  cp().Unwatch(watch);
  const v1::Node drained = *Node("dgx-a");
  EXPECT_EQ(drained.state(), v1::NODE_STATE_DRAINED);
  EXPECT_THAT(drained.reason(), HasSubstr("GPU has fallen off the bus"));
  EXPECT_TRUE(drained.gpus(3).drained());
  EXPECT_FALSE(drained.gpus(2).drained());
}

}  // namespace
}  // namespace baton
