#include <cstdlib>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/gpu/nvml_gpu_discovery.h"

namespace baton::agent {
namespace {

using ::testing::HasSubstr;

#ifdef BATON_FAKE_NVML_PATH
constexpr const char* kFakeNvml = BATON_FAKE_NVML_PATH;
#else
constexpr const char* kFakeNvml = nullptr;
#endif

std::string Fixture(const std::string& name) {
  return std::string(BATON_SOURCE_DIR) + "/testing/fake_nvml/fixtures/" + name;
}

// Points the fake library at a fixture and discovers through it.
class NvmlGpuDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kFakeNvml == nullptr) GTEST_SKIP() << "fake_nvml was not built";
  }
  void TearDown() override { unsetenv("BATON_FAKE_NVML_FIXTURE"); }

  Inventory DiscoverWith(const std::string& fixture_path) {
    setenv("BATON_FAKE_NVML_FIXTURE", fixture_path.c_str(), 1);
    NvmlGpuDiscovery discovery(kFakeNvml);
    Result<Inventory> inv = discovery.Discover();
    EXPECT_TRUE(inv.ok()) << inv.status().ToString();
    return inv.ok() ? *inv : Inventory{};
  }
};

TEST_F(NvmlGpuDiscoveryTest, DgxH100) {
  const Inventory inv = DiscoverWith(Fixture("dgx_h100.txt"));
  EXPECT_EQ(inv.driver_version, "550.54.15");
  EXPECT_EQ(inv.note, "");
  ASSERT_EQ(inv.gpus.size(), 8u);
  std::set<std::string> uuids;
  for (int i = 0; i < 8; ++i) {
    const DiscoveredGpu& g = inv.gpus[i];
    EXPECT_EQ(g.index, i);
    EXPECT_EQ(g.name, "NVIDIA H100 80GB HBM3");
    EXPECT_THAT(g.uuid, ::testing::StartsWith("GPU-6d1c7e2a-4b3f-"));
    EXPECT_EQ(g.memory_mib, 81559);
    EXPECT_EQ(g.cc_major, 9);
    EXPECT_EQ(g.cc_minor, 0);
    EXPECT_EQ(g.power_limit_mw, 700000);
    EXPECT_FALSE(g.mig_enabled);
    EXPECT_TRUE(g.healthy) << g.error;
    EXPECT_EQ(g.error, "");
    uuids.insert(g.uuid);
  }
  EXPECT_EQ(uuids.size(), 8u);
  EXPECT_EQ(inv.gpus[0].uuid, "GPU-6d1c7e2a-4b3f-1000-9c1e-0a8d5f3b2c00");
  EXPECT_EQ(inv.gpus[0].pci_bus_id, "00000000:18:00.0");
  EXPECT_EQ(inv.gpus[7].pci_bus_id, "00000000:DB:00.0");
}

TEST_F(NvmlGpuDiscoveryTest, PcieA100Pairs) {
  const Inventory inv = DiscoverWith(Fixture("pcie_a100_pairs.txt"));
  EXPECT_EQ(inv.driver_version, "535.129.03");
  ASSERT_EQ(inv.gpus.size(), 4u);
  for (const DiscoveredGpu& g : inv.gpus) {
    EXPECT_EQ(g.name, "NVIDIA A100 80GB PCIe");
    EXPECT_EQ(g.memory_mib, 81920);
    EXPECT_EQ(g.cc_major, 8);
    EXPECT_EQ(g.cc_minor, 0);
    EXPECT_EQ(g.power_limit_mw, 300000);
    EXPECT_TRUE(g.healthy);
  }
  EXPECT_FALSE(inv.gpus[2].mig_enabled);
  EXPECT_TRUE(inv.gpus[3].mig_enabled);
  EXPECT_EQ(inv.gpus[2].pci_bus_id, "00000000:B1:00.0");
}

TEST_F(NvmlGpuDiscoveryTest, OneDeviceCallFailsMarksOnlyThatGpuUnhealthy) {
  const Inventory inv = DiscoverWith(Fixture("one_gpu_lost.txt"));
  ASSERT_EQ(inv.gpus.size(), 2u);
  EXPECT_TRUE(inv.gpus[0].healthy);
  EXPECT_EQ(inv.gpus[0].uuid, "GPU-10570000-0000-4000-8000-000000000000");
  const DiscoveredGpu& lost = inv.gpus[1];
  EXPECT_FALSE(lost.healthy);
  EXPECT_EQ(lost.index, 1);
  EXPECT_EQ(lost.error, "nvmlDeviceGetUUID: GPU is lost");
  EXPECT_EQ(lost.uuid, "");
  EXPECT_EQ(lost.name, "NVIDIA H100 80GB HBM3");  // other queries still ran
  EXPECT_EQ(lost.memory_mib, 81559);
}

TEST_F(NvmlGpuDiscoveryTest, MissingLibraryGivesZeroGpusAndNote) {
  setenv("BATON_FAKE_NVML_FIXTURE", Fixture("dgx_h100.txt").c_str(), 1);
  NvmlGpuDiscovery discovery("/nonexistent/libnvidia-ml.so.1");
  Result<Inventory> inv = discovery.Discover();
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->gpus.empty());
  EXPECT_THAT(inv->note, HasSubstr("/nonexistent/libnvidia-ml.so.1"));
  EXPECT_THAT(inv->note, HasSubstr("could not be loaded"));
}

TEST_F(NvmlGpuDiscoveryTest, LibraryWithoutNvmlSymbolsGivesZeroGpusAndNote) {
  // libc is a real shared library without any NVML entry point.
  NvmlGpuDiscovery discovery("libc.so.6");
  Result<Inventory> inv = discovery.Discover();
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->gpus.empty());
  EXPECT_THAT(inv->note, HasSubstr("lacks nvmlInit_v2"));
}

TEST_F(NvmlGpuDiscoveryTest, InitFailureGivesZeroGpusAndNote) {
  const Inventory inv = DiscoverWith(Fixture("driver_not_loaded.txt"));
  EXPECT_TRUE(inv.gpus.empty());
  EXPECT_THAT(inv.note, HasSubstr("nvmlInit_v2 failed"));
  EXPECT_THAT(inv.note, HasSubstr("Driver Not Loaded"));
}

TEST_F(NvmlGpuDiscoveryTest, GarbageFixtureGivesClearNote) {
  const Inventory inv = DiscoverWith(Fixture("broken.txt"));
  EXPECT_TRUE(inv.gpus.empty());
  EXPECT_THAT(inv.note, HasSubstr("broken.txt line 3"));
  EXPECT_THAT(inv.note, HasSubstr("memory_mib"));
}

TEST_F(NvmlGpuDiscoveryTest, MissingFixtureGivesClearNote) {
  const Inventory inv = DiscoverWith(Fixture("no_such_fixture.txt"));
  EXPECT_TRUE(inv.gpus.empty());
  EXPECT_THAT(inv.note, HasSubstr("cannot open fixture"));
}

TEST_F(NvmlGpuDiscoveryTest, RediscoverSeesNewFixture) {
  EXPECT_EQ(DiscoverWith(Fixture("dgx_h100.txt")).gpus.size(), 8u);
  EXPECT_EQ(DiscoverWith(Fixture("pcie_a100_pairs.txt")).gpus.size(), 4u);
  EXPECT_EQ(DiscoverWith(Fixture("dgx_h100.txt")).gpus.size(), 8u);
}

TEST(FakeGpuDiscoveryTest, EightH100) {
  Result<FakeGpuDiscovery> fake = FakeGpuDiscovery::FromSpec("8xH100");
  ASSERT_TRUE(fake.ok()) << fake.status().ToString();
  Result<Inventory> inv = fake->Discover();
  ASSERT_TRUE(inv.ok());
  ASSERT_EQ(inv->gpus.size(), 8u);
  std::set<std::string> uuids;
  for (int i = 0; i < 8; ++i) {
    const DiscoveredGpu& g = inv->gpus[i];
    EXPECT_EQ(g.index, i);
    EXPECT_EQ(g.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(g.memory_mib, 81559);
    EXPECT_EQ(g.cc_major, 9);
    EXPECT_TRUE(g.healthy);
    EXPECT_THAT(g.uuid, ::testing::MatchesRegex(
                            "GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
    uuids.insert(g.uuid);
  }
  EXPECT_EQ(uuids.size(), 8u);
  // Deterministic: the same spec gives the same inventory.
  EXPECT_EQ(*FakeGpuDiscovery::FromSpec("8xH100")->Discover(), *inv);
}

TEST(FakeGpuDiscoveryTest, TwoA100_80GB) {
  Result<FakeGpuDiscovery> fake = FakeGpuDiscovery::FromSpec("2xA100-80GB");
  ASSERT_TRUE(fake.ok()) << fake.status().ToString();
  const Inventory inv = *fake->Discover();
  ASSERT_EQ(inv.gpus.size(), 2u);
  EXPECT_EQ(inv.gpus[1].name, "NVIDIA A100-SXM4-80GB");
  EXPECT_EQ(inv.gpus[1].memory_mib, 81920);
  EXPECT_EQ(inv.gpus[1].cc_major, 8);
  EXPECT_NE(inv.gpus[0].uuid, FakeGpuDiscovery::FromSpec("2xH100")->Discover()->gpus[0].uuid);
}

TEST(FakeGpuDiscoveryTest, BadSpecsAreInvalidArgumentNamingTheSpec) {
  for (const char* spec : {"8x", "0xH100", "abc", "", "x", "-1xH100", "8xB9000", "8 xH100"}) {
    Result<FakeGpuDiscovery> fake = FakeGpuDiscovery::FromSpec(spec);
    ASSERT_FALSE(fake.ok()) << spec;
    EXPECT_EQ(fake.status().code(), StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(fake.status().message(), HasSubstr(std::string("\"") + spec + "\"")) << spec;
  }
  EXPECT_THAT(FakeGpuDiscovery::FromSpec("8xB9000").status().message(),
              HasSubstr("known: H100"));
}

}  // namespace
}  // namespace baton::agent
