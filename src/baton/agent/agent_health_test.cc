// The agent with NVML (the fake library, through the real NvmlGpuDiscovery): what Register
// and Heartbeat carry, and health events from NVML and the health-check command.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/agent.h"
#include "baton/agent/gpu/nvml_gpu_discovery.h"
#include "baton/agent/health_monitor.h"
#include "baton/agent/launch/process_launcher.h"

namespace baton::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

#ifdef BATON_FAKE_NVML_PATH
constexpr const char* kFakeNvml = BATON_FAKE_NVML_PATH;
#else
constexpr const char* kFakeNvml = nullptr;
#endif

// Records what the agent sends; waits for a GpuEvent with a deadline.
class Events {
 public:
  Agent::SendFn Fn() {
    return [this](const v1::AgentMessage& m) {
      std::lock_guard lock(mu_);
      if (m.has_gpu_event()) events_.push_back(m.gpu_event());
      cv_.notify_all();
    };
  }
  std::vector<v1::GpuEvent> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::GpuEvent> events_;
};

class AgentHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kFakeNvml == nullptr) GTEST_SKIP() << "fake_nvml was not built";
    dir_ = fs::temp_directory_path() /
           ("baton-agent-health-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    fixture_ = (dir_ / "fixture.txt").string();
  }
  void TearDown() override {
    unsetenv("BATON_FAKE_NVML_FIXTURE");
    fs::remove_all(dir_);
  }
  void WriteFixture(const std::string& text) {
    std::ofstream(fixture_ + ".tmp") << text;
    fs::rename(fixture_ + ".tmp", fixture_);
    setenv("BATON_FAKE_NVML_FIXTURE", fixture_.c_str(), 1);
  }
  AgentOptions Options() {
    AgentOptions o;
    o.node_name = "n1";
    o.data_dir = dir_ / "data";
    return o;
  }

  fs::path dir_;
  std::string fixture_;
  SystemClock clock_;
  ProcessLauncher launcher_{ProcessLauncher::Options{.use_cgroups = false}};
};

const char kTwoGpus[] =
    "system driver=550.54.15\n"
    "gpu name=\"NVIDIA H100 80GB HBM3\" uuid=GPU-a memory_mib=81559 pci=00000000:18:00.0 "
    "numa=0 nvlink=00000000:2A:00.0*18 util=42 mem_used_mib=1000 temp_c=61 "
    "power_draw_mw=300000 sm_clock=1980 mem_clock=2619 throttle=0x4\n"
    "gpu name=\"NVIDIA H100 80GB HBM3\" uuid=GPU-b memory_mib=81559 pci=00000000:2A:00.0 "
    "numa=1 nvlink=00000000:18:00.0*18\n";

TEST_F(AgentHealthTest, RegisterCarriesTopologyAndHeartbeatCarriesTelemetry) {
  WriteFixture(kTwoGpus);
  NvmlGpuDiscovery nvml(kFakeNvml);
  Events events;
  Agent agent(Options(), nvml, launcher_, clock_, events.Fn());
  const v1::Register reg = agent.BuildRegister().register_();
  EXPECT_EQ(reg.inventory().driver_version(), "550.54.15");
  ASSERT_EQ(reg.inventory().gpus_size(), 2);
  const v1::AgentGpu& g1 = reg.inventory().gpus(1);
  EXPECT_EQ(g1.numa_node(), 1);
  EXPECT_EQ(g1.nvlink_domain(), 0);
  EXPECT_THAT(g1.nvlink_peers(), ElementsAre(0));
  EXPECT_EQ(g1.nvlink_links(), 18);
  EXPECT_THAT(g1.pcie_path(), ElementsAre("SYS", "X"));
  EXPECT_EQ(g1.pci_bus_id(), "00000000:2A:00.0");
  EXPECT_EQ(g1.error(), "");

  const v1::Heartbeat hb = agent.BuildHeartbeat().heartbeat();
  ASSERT_EQ(hb.gpus_size(), 2);
  const v1::GpuTelemetry& t = hb.gpus(0);
  EXPECT_EQ(t.uuid(), "GPU-a");
  EXPECT_EQ(t.utilization_percent(), 42);
  EXPECT_EQ(t.memory_used_mib(), 1000);
  EXPECT_EQ(t.temperature_c(), 61);
  EXPECT_EQ(t.power_w(), 300);
  EXPECT_EQ(t.sm_clock_mhz(), 1980);
  EXPECT_EQ(t.throttle_reasons(), 0x4u);
  EXPECT_EQ(t.error(), "");
}

TEST_F(AgentHealthTest, AgentWithoutNvmlSaysWhyItHasNoGpus) {
  NvmlGpuDiscovery nvml("/nonexistent/libnvidia-ml.so.1");
  Events events;
  Agent agent(Options(), nvml, launcher_, clock_, events.Fn());
  const v1::Register reg = agent.BuildRegister().register_();
  EXPECT_EQ(reg.inventory().gpus_size(), 0);
  EXPECT_THAT(reg.inventory().gpu_note(), HasSubstr("could not be loaded"));
}

TEST_F(AgentHealthTest, InjectedXidReachesTheControlPlaneAndMarksTheGpu) {
  WriteFixture(kTwoGpus);
  NvmlGpuDiscovery nvml(kFakeNvml);
  Events events;
  Agent agent(Options(), nvml, launcher_, clock_, events.Fn());
  HealthMonitor monitor(agent, nvml, {});
  WriteFixture(std::string(kTwoGpus) + "event id=1 gpu=1 xid=79\n");
  const std::vector<v1::GpuEvent> got = events.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind(), v1::GpuEvent::KIND_XID);
  EXPECT_EQ(got[0].xid(), 79);
  EXPECT_EQ(got[0].index(), 1);
  EXPECT_EQ(got[0].uuid(), "GPU-b");
  EXPECT_EQ(got[0].action(), v1::GPU_ACTION_DRAIN_NODE);
  EXPECT_FALSE(agent.inventory().gpus[1].healthy);
  EXPECT_TRUE(agent.inventory().gpus[0].healthy);
}

TEST_F(AgentHealthTest, FailingHealthCheckDrainsTheNode) {
  WriteFixture(kTwoGpus);
  NvmlGpuDiscovery nvml(kFakeNvml);
  Events events;
  Agent agent(Options(), nvml, launcher_, clock_, events.Fn());
  HealthMonitorOptions hm;
  hm.check_command = "echo 'ib0 down'; exit 3";
  HealthMonitor monitor(agent, nvml, hm);
  const std::vector<v1::GpuEvent> got = events.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind(), v1::GpuEvent::KIND_HEALTH_CHECK);
  EXPECT_EQ(got[0].action(), v1::GPU_ACTION_DRAIN_NODE);
  EXPECT_THAT(got[0].description(), HasSubstr("exit code 3: ib0 down"));
  EXPECT_THAT(agent.BuildHeartbeat().heartbeat().health_check_error(), HasSubstr("ib0 down"));
}

TEST(RunHealthCheckTest, PassesFailsAndTimesOut) {
  EXPECT_EQ(RunHealthCheck("true", std::chrono::seconds(5)), "");
  EXPECT_THAT(RunHealthCheck("echo nope >&2; exit 1", std::chrono::seconds(5)),
              HasSubstr("exit code 1: nope"));
  EXPECT_THAT(RunHealthCheck("sleep 10", std::chrono::milliseconds(100)),
              HasSubstr("timed out after 100 ms"));
}

}  // namespace
}  // namespace baton::agent
