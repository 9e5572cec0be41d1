// NvmlGpuDiscovery against the fake NVML: topology (NVLink domains, PCIe paths, NUMA),
// MIG devices, telemetry, events, and a fixture changed while in use.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/gpu/nvml_gpu_discovery.h"
#include "baton/agent/gpu/xid.h"

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

std::string Fixture(const std::string& name) {
  return std::string(BATON_SOURCE_DIR) + "/testing/fake_nvml/fixtures/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class NvmlTopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kFakeNvml == nullptr) GTEST_SKIP() << "fake_nvml was not built";
    dir_ = fs::temp_directory_path() /
           ("baton-nvml-topo-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "fixture.txt").string();
  }
  void TearDown() override {
    unsetenv("BATON_FAKE_NVML_FIXTURE");
    fs::remove_all(dir_);
  }
  // Replaces the fixture atomically (write + rename), as docs/nvml.md says to.
  void WriteFixture(const std::string& text) {
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, path_);
    setenv("BATON_FAKE_NVML_FIXTURE", path_.c_str(), 1);
  }
  Inventory Discover(NvmlGpuDiscovery& d) {
    Result<Inventory> inv = d.Discover();
    EXPECT_TRUE(inv.ok());
    return inv.ok() ? *inv : Inventory{};
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(NvmlTopologyTest, DgxH100IsOneNvSwitchDomainAcrossTwoNumaNodes) {
  WriteFixture(ReadFile(Fixture("dgx_h100.txt")));
  NvmlGpuDiscovery d(kFakeNvml);
  const Inventory inv = Discover(d);
  ASSERT_EQ(inv.gpus.size(), 8u);
  for (const DiscoveredGpu& g : inv.gpus) {
    EXPECT_EQ(g.nvlink_links, 18) << g.index;
    EXPECT_EQ(g.nvlink_domain, 0) << g.index;
    EXPECT_EQ(g.nvlink_peers.size(), 7u) << g.index;
    EXPECT_EQ(g.numa_node, g.index < 4 ? 0 : 1);
  }
  EXPECT_THAT(inv.gpus[0].pcie_path,
              ElementsAre("X", "NODE", "NODE", "NODE", "SYS", "SYS", "SYS", "SYS"));
  EXPECT_THAT(inv.gpus[5].nvlink_peers, ElementsAre(0, 1, 2, 3, 4, 6, 7));
}

TEST_F(NvmlTopologyTest, PcieBoxHasTwoNvLinkPairs) {
  WriteFixture(ReadFile(Fixture("pcie_a100_pairs.txt")));
  NvmlGpuDiscovery d(kFakeNvml);
  const Inventory inv = Discover(d);
  ASSERT_EQ(inv.gpus.size(), 4u);
  EXPECT_EQ(inv.gpus[0].nvlink_domain, 0);
  EXPECT_EQ(inv.gpus[1].nvlink_domain, 0);
  EXPECT_EQ(inv.gpus[2].nvlink_domain, 2);
  EXPECT_EQ(inv.gpus[3].nvlink_domain, 2);
  EXPECT_THAT(inv.gpus[0].nvlink_peers, ElementsAre(1));
  EXPECT_THAT(inv.gpus[3].nvlink_peers, ElementsAre(2));
  EXPECT_EQ(inv.gpus[0].nvlink_links, 12);
  EXPECT_THAT(inv.gpus[0].pcie_path, ElementsAre("X", "PIX", "SYS", "SYS"));
  EXPECT_THAT(inv.gpus[2].pcie_path, ElementsAre("SYS", "SYS", "X", "PIX"));
  // MIG on, but no MIG device created.
  EXPECT_TRUE(inv.gpus[3].mig_enabled);
  EXPECT_TRUE(inv.gpus[3].mig_devices.empty());
}

TEST_F(NvmlTopologyTest, GpuWithoutNvLinkIsItsOwnDomain) {
  WriteFixture(
      "gpu uuid=GPU-a memory_mib=1 pci=00000000:01:00.0\n"
      "gpu uuid=GPU-b memory_mib=1 pci=00000000:02:00.0 nvlink=00000000:03:00.0*2\n"
      "gpu uuid=GPU-c memory_mib=1 pci=00000000:03:00.0 nvlink=00000000:02:00.0*2\n");
  NvmlGpuDiscovery d(kFakeNvml);
  const Inventory inv = Discover(d);
  ASSERT_EQ(inv.gpus.size(), 3u);
  EXPECT_EQ(inv.gpus[0].nvlink_domain, 0);
  EXPECT_TRUE(inv.gpus[0].nvlink_peers.empty());
  EXPECT_EQ(inv.gpus[0].nvlink_links, 0);
  EXPECT_EQ(inv.gpus[0].numa_node, -1);  // fixture says nothing; sysfs has no such device
  EXPECT_EQ(inv.gpus[1].nvlink_domain, 1);
  EXPECT_EQ(inv.gpus[2].nvlink_domain, 1);
  EXPECT_TRUE(inv.gpus[0].healthy);
}

TEST_F(NvmlTopologyTest, A100MigDevicesWithProfilesAndUuids) {
  WriteFixture(ReadFile(Fixture("a100_mig.txt")));
  NvmlGpuDiscovery d(kFakeNvml);
  const Inventory inv = Discover(d);
  ASSERT_EQ(inv.gpus.size(), 2u);
  const DiscoveredGpu& g = inv.gpus[0];
  EXPECT_TRUE(g.mig_enabled);
  ASSERT_EQ(g.mig_devices.size(), 4u);
  EXPECT_EQ(g.mig_devices[0].uuid, "MIG-0a0a0a0a-0001-5000-8000-000000000001");
  EXPECT_EQ(g.mig_devices[0].profile, "3g.40gb");
  EXPECT_EQ(g.mig_devices[0].memory_mib, 40192);
  EXPECT_EQ(g.mig_devices[0].gpu_instance_id, 2);
  EXPECT_EQ(g.mig_devices[0].compute_instance_id, 0);
  EXPECT_EQ(g.mig_devices[1].profile, "2g.20gb");
  EXPECT_EQ(g.mig_devices[2].profile, "1g.10gb");
  EXPECT_EQ(g.mig_devices[3].profile, "1g.10gb");
  EXPECT_EQ(g.mig_devices[3].gpu_instance_id, 10);
  EXPECT_FALSE(inv.gpus[1].mig_enabled);
  EXPECT_TRUE(inv.gpus[1].mig_devices.empty());
  // Both reach the same NVSwitch.
  EXPECT_EQ(inv.gpus[1].nvlink_domain, 0);
}

TEST_F(NvmlTopologyTest, TelemetryFollowsTheFixtureWhileInUse) {
  WriteFixture(
      "gpu uuid=GPU-a memory_mib=81920 util=37 mem_util=12 mem_used_mib=2048 temp_c=55 "
      "power_draw_mw=250500 sm_clock=1410 mem_clock=1593 ecc_sbe=3 ecc_dbe=0 throttle=0x4 "
      "procs=4242:1024,4343:512\n"
      "gpu uuid=GPU-b memory_mib=81920\n");
  NvmlGpuDiscovery d(kFakeNvml);
  ASSERT_EQ(Discover(d).gpus.size(), 2u);
  std::vector<GpuSample> s = d.Sample();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].uuid, "GPU-a");
  EXPECT_EQ(s[0].error, "");
  EXPECT_EQ(s[0].utilization_percent, 37);
  EXPECT_EQ(s[0].memory_utilization_percent, 12);
  EXPECT_EQ(s[0].memory_used_mib, 2048);
  EXPECT_EQ(s[0].temperature_c, 55);
  EXPECT_DOUBLE_EQ(s[0].power_w, 250.5);
  EXPECT_EQ(s[0].sm_clock_mhz, 1410);
  EXPECT_EQ(s[0].memory_clock_mhz, 1593);
  EXPECT_EQ(s[0].ecc_corrected, 3);
  EXPECT_EQ(s[0].ecc_uncorrected, 0);
  EXPECT_EQ(s[0].throttle_reasons, 0x4u);
  ASSERT_EQ(s[0].processes.size(), 2u);
  EXPECT_EQ(s[0].processes[0], (GpuProcessUsage{4242, 1024}));
  EXPECT_EQ(s[1].uuid, "GPU-b");
  EXPECT_EQ(s[1].memory_used_mib, 819);  // 1% by default

  // A new fixture while the session is open: the next sample sees it.
  WriteFixture(
      "gpu uuid=GPU-a memory_mib=81920 util=99 temp_c=83 throttle=0x40 ecc_dbe=1\n"
      "gpu uuid=GPU-b memory_mib=81920 fail=temp:GPU_IS_LOST\n");
  s = d.Sample();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].utilization_percent, 99);
  EXPECT_EQ(s[0].temperature_c, 83);
  EXPECT_EQ(s[0].throttle_reasons, 0x40u);
  EXPECT_EQ(s[0].ecc_uncorrected, 1);
  EXPECT_EQ(s[1].error, "nvmlDeviceGetTemperature: GPU is lost");
  EXPECT_EQ(s[1].temperature_c, -1);
  EXPECT_EQ(s[1].utilization_percent, 0);  // other calls still ran

  // Garbage: every GPU's sample says why; nothing crashes.
  WriteFixture("gpu uuid=GPU-a memory_mib=lots\n");
  s = d.Sample();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_THAT(s[0].error, HasSubstr("line 1"));
  EXPECT_THAT(s[1].error, HasSubstr("memory_mib"));
}

TEST_F(NvmlTopologyTest, SampleWithoutLibraryReportsWhy) {
  NvmlGpuDiscovery d("/nonexistent/libnvidia-ml.so.1");
  EXPECT_TRUE(d.Sample().empty());  // no GPUs discovered: nothing to sample
  EXPECT_FALSE(d.WatchesEvents());
}

TEST_F(NvmlTopologyTest, InjectedXidAndEccEventsArriveOnce) {
  const std::string gpus =
      "gpu uuid=GPU-a memory_mib=1\n"
      "gpu uuid=GPU-b memory_mib=1\n";
  WriteFixture(gpus);
  NvmlGpuDiscovery d(kFakeNvml);
  ASSERT_EQ(Discover(d).gpus.size(), 2u);
  ASSERT_TRUE(d.WatchesEvents());
  EXPECT_TRUE(d.WaitForEvents(std::chrono::milliseconds(0)).empty());
  WriteFixture(gpus + "event id=1 gpu=1 xid=79\nevent id=2 gpu=0 type=ecc_dbe\n");
  std::vector<GpuEventReport> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    for (auto& e : d.WaitForEvents(std::chrono::milliseconds(200))) got.push_back(e);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, GpuEventReport::Kind::kXid);
  EXPECT_EQ(got[0].xid, 79u);
  EXPECT_EQ(got[0].index, 1);
  EXPECT_EQ(got[0].uuid, "GPU-b");
  EXPECT_EQ(got[1].kind, GpuEventReport::Kind::kEccDoubleBit);
  EXPECT_EQ(got[1].index, 0);
  // Delivered once.
  EXPECT_TRUE(d.WaitForEvents(std::chrono::milliseconds(0)).empty());

  const v1::GpuEvent xid = ToGpuEvent(got[0]);
  EXPECT_EQ(xid.action(), v1::GPU_ACTION_DRAIN_NODE);
  EXPECT_EQ(xid.description(), "Xid 79: GPU has fallen off the bus");
  EXPECT_EQ(ToGpuEvent(got[1]).action(), v1::GPU_ACTION_DRAIN_GPU);
}

TEST_F(NvmlTopologyTest, EventWatchFailureIsReportedNotFatal) {
  WriteFixture("system fail=events:GPU_IS_LOST\ngpu uuid=GPU-a memory_mib=1\n");
  NvmlGpuDiscovery d(kFakeNvml);
  ASSERT_EQ(Discover(d).gpus.size(), 1u);
  std::vector<GpuEventReport> got = d.WaitForEvents(std::chrono::milliseconds(0));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, GpuEventReport::Kind::kWatchFailed);
  EXPECT_THAT(got[0].detail, HasSubstr("GPU is lost"));
}

TEST(XidTableTest, CatalogActions) {
  EXPECT_EQ(ClassifyXid(79).action, v1::GPU_ACTION_DRAIN_NODE);
  EXPECT_EQ(ClassifyXid(48).action, v1::GPU_ACTION_DRAIN_GPU);
  EXPECT_EQ(ClassifyXid(13).action, v1::GPU_ACTION_RESTART_TASK);
  EXPECT_EQ(ClassifyXid(31).action, v1::GPU_ACTION_RESTART_TASK);
  EXPECT_EQ(ClassifyXid(63).action, v1::GPU_ACTION_IGNORE);
  EXPECT_EQ(ClassifyXid(74).action, v1::GPU_ACTION_DRAIN_GPU);
  EXPECT_EQ(ClassifyXid(12345).action, v1::GPU_ACTION_IGNORE);
  EXPECT_EQ(ClassifyXid(12345).meaning, "unknown Xid");
}

}  // namespace
}  // namespace baton::agent
