#include "baton/agent/gpu/fake_gpu_discovery.h"

#include <array>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace baton::agent {
namespace {

struct FakeModel {
  std::string_view key;   // spec spelling
  std::string_view name;  // what NVML would report
  int64_t memory_mib;
  int cc_major;
  int cc_minor;
  int64_t power_limit_mw;
  unsigned pci_bus_base;  // first PCI bus number; later GPUs step by 0x10
};

constexpr std::array kModels = {
    FakeModel{"H100", "NVIDIA H100 80GB HBM3", 81559, 9, 0, 700000, 0x18},
    FakeModel{"H200", "NVIDIA H200", 143771, 9, 0, 700000, 0x18},
    FakeModel{"A100-80GB", "NVIDIA A100-SXM4-80GB", 81920, 8, 0, 400000, 0x07},
    FakeModel{"A100-40GB", "NVIDIA A100-SXM4-40GB", 40960, 8, 0, 400000, 0x07},
    FakeModel{"L40S", "NVIDIA L40S", 46068, 8, 9, 350000, 0x01},
    FakeModel{"A10", "NVIDIA A10", 23028, 8, 6, 150000, 0x01},
};

constexpr int kMaxFakeGpus = 1024;

uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string FakeUuid(std::string_view model, int index) {
  const uint64_t a = Fnv1a(fmt::format("{}#{}", model, index));
  const uint64_t b = Fnv1a("baton-fake-gpu", a);
  return fmt::format("GPU-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                     a & 0xffff, b >> 48, b & 0xffffffffffffull);
}

}  // namespace

std::vector<std::string> KnownFakeGpuModels() {
  std::vector<std::string> out;
  for (const FakeModel& m : kModels) out.emplace_back(m.key);
  return out;
}

Result<FakeGpuDiscovery> FakeGpuDiscovery::FromSpec(std::string_view spec) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("fake GPU spec \"{}\": {}", spec, why));
  };
  const size_t x = spec.find('x');
  if (x == std::string_view::npos || x == 0) {
    return bad("want <count>x<model>, e.g. 8xH100");
  }
  const std::string_view count_text = spec.substr(0, x);
  const std::string_view model_text = spec.substr(x + 1);
  int count = 0;
  const auto [end, ec] =
      std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc() || end != count_text.data() + count_text.size()) {
    return bad("want <count>x<model>, e.g. 8xH100");
  }
  if (count < 1 || count > kMaxFakeGpus) {
    return bad(fmt::format("count must be 1..{}", kMaxFakeGpus));
  }
  if (model_text.empty()) return bad("missing model after 'x'");
  const FakeModel* model = nullptr;
  for (const FakeModel& m : kModels) {
    if (m.key == model_text) model = &m;
  }
  if (model == nullptr) {
    return bad(fmt::format("unknown model \"{}\"; known: {}", model_text,
                           fmt::join(KnownFakeGpuModels(), ", ")));
  }
  Inventory inv;
  inv.driver_version = "fake";
  for (int i = 0; i < count; ++i) {
    DiscoveredGpu g;
    g.index = i;
    g.uuid = FakeUuid(model->key, i);
    g.name = std::string(model->name);
    g.pci_bus_id = fmt::format("00000000:{:02X}:00.0", (model->pci_bus_base + 0x10 * i) & 0xff);
    g.memory_mib = model->memory_mib;
    g.cc_major = model->cc_major;
    g.cc_minor = model->cc_minor;
    g.power_limit_mw = model->power_limit_mw;
    inv.gpus.push_back(std::move(g));
  }
  return FakeGpuDiscovery(std::move(inv));
}

std::vector<GpuSample> FakeGpuDiscovery::Sample() {
  std::vector<GpuSample> out;
  for (const DiscoveredGpu& g : inventory_.gpus) {
    GpuSample s;
    s.index = g.index;
    s.uuid = g.uuid;
    s.utilization_percent = 0;
    s.memory_utilization_percent = 0;
    s.memory_used_mib = g.memory_mib / 100;
    s.temperature_c = 30;
    s.power_w = static_cast<double>(g.power_limit_mw) / 10000.0;
    s.ecc_corrected = 0;
    s.ecc_uncorrected = 0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace baton::agent
