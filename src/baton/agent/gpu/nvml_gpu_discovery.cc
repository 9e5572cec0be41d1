#include "baton/agent/gpu/nvml_gpu_discovery.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "baton/agent/gpu/nvml_types.h"

namespace baton::agent {
namespace {

// Copies a NUL-terminated string out of a fixed buffer that NVML may not terminate.
std::string FromBuffer(const char* buf, size_t size) {
  return std::string(buf, strnlen(buf, size));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The host NUMA node of a PCI device from sysfs ("00000000:18:00.0" -> 0), or -1. Used
// when the driver lacks nvmlDeviceGetNumaNodeId.
int SysfsNumaNode(const std::string& nvml_bus_id) {
  if (nvml_bus_id.size() < 12) return -1;
  // NVML writes an 8-digit PCI domain; sysfs uses 4 digits, lower case.
  const std::string id = Lower(nvml_bus_id.substr(nvml_bus_id.size() - 12));
  std::ifstream in("/sys/bus/pci/devices/" + id + "/numa_node");
  int node = -1;
  if (!(in >> node)) return -1;
  return node;
}

const char* TopologyName(int level) {
  switch (level) {
    case kNvmlTopologyInternal: return "INT";
    case kNvmlTopologySingle: return "PIX";
    case kNvmlTopologyMultiple: return "PXB";
    case kNvmlTopologyHostbridge: return "PHB";
    case kNvmlTopologyNode: return "NODE";
    case kNvmlTopologySystem: return "SYS";
    default: return "";
  }
}

// "NVIDIA A100-SXM4-80GB MIG 1g.10gb" -> "1g.10gb"; "" when the name carries no profile.
std::string MigProfileFromName(std::string_view name) {
  const size_t at = name.find("MIG ");
  if (at == std::string_view::npos) return "";
  std::string_view rest = name.substr(at + 4);
  const size_t end = rest.find(' ');
  return std::string(rest.substr(0, end));
}

// Queries one device; failures mark it unhealthy (first failure wins) and go on.
DiscoveredGpu QueryDevice(const NvmlLibrary& lib, unsigned int index, nvmlDevice_t* out) {
  const NvmlApi& api = lib.api();
  DiscoveredGpu gpu;
  gpu.index = static_cast<int>(index);
  // Returns true when the call succeeded. NOT_SUPPORTED from an optional query is fine.
  const auto check = [&](nvmlReturn_t rc, std::string_view fn, bool optional) {
    if (rc == NVML_SUCCESS) return true;
    if (optional && rc == NVML_ERROR_NOT_SUPPORTED) return false;
    if (gpu.healthy) {
      gpu.healthy = false;
      gpu.error = fmt::format("{}: {}", fn, lib.ErrorText(rc));
    }
    return false;
  };

  nvmlDevice_t dev = nullptr;
  if (!check(api.get_handle(index, &dev), "nvmlDeviceGetHandleByIndex_v2", false)) {
    return gpu;
  }
  *out = dev;
  char name[kNvmlDeviceNameBufferSize] = {};
  if (check(api.get_name(dev, name, sizeof(name)), "nvmlDeviceGetName", false)) {
    gpu.name = FromBuffer(name, sizeof(name));
  }
  char uuid[kNvmlDeviceUuidBufferSize] = {};
  if (check(api.get_uuid(dev, uuid, sizeof(uuid)), "nvmlDeviceGetUUID", false)) {
    gpu.uuid = FromBuffer(uuid, sizeof(uuid));
  }
  nvmlMemory_t mem = {};
  if (check(api.get_memory(dev, &mem), "nvmlDeviceGetMemoryInfo", false)) {
    gpu.memory_mib = static_cast<int64_t>(mem.total / (1024 * 1024));
  }
  if (api.get_pci != nullptr) {
    nvmlPciInfo_t pci = {};
    if (check(api.get_pci(dev, &pci), "nvmlDeviceGetPciInfo_v3", true)) {
      gpu.pci_bus_id = FromBuffer(pci.busId, sizeof(pci.busId));
    }
  }
  if (api.get_cc != nullptr) {
    int major = 0, minor = 0;
    if (check(api.get_cc(dev, &major, &minor), "nvmlDeviceGetCudaComputeCapability", true)) {
      gpu.cc_major = major;
      gpu.cc_minor = minor;
    }
  }
  if (api.get_power_limit != nullptr) {
    unsigned int mw = 0;
    if (check(api.get_power_limit(dev, &mw), "nvmlDeviceGetPowerManagementLimit", true)) {
      gpu.power_limit_mw = mw;
    }
  }
  if (api.get_mig_mode != nullptr) {
    unsigned int current = 0, pending = 0;
    if (check(api.get_mig_mode(dev, &current, &pending), "nvmlDeviceGetMigMode", true)) {
      gpu.mig_enabled = current == kNvmlMigEnabled;
    }
  }
  // Topology: never marks the GPU unhealthy (many GPUs have no NVLink, many drivers no
  // NUMA query); what cannot be learnt stays unknown.
  unsigned int numa = 0;
  if (api.get_numa_node != nullptr && api.get_numa_node(dev, &numa) == NVML_SUCCESS) {
    gpu.numa_node = static_cast<int>(numa);
  } else if (!gpu.pci_bus_id.empty()) {
    gpu.numa_node = SysfsNumaNode(gpu.pci_bus_id);
  }
  if (api.get_nvlink_state != nullptr && api.get_nvlink_remote_pci != nullptr) {
    for (unsigned int link = 0; link < kNvmlNvLinkMaxLinks; ++link) {
      int active = kNvmlFeatureDisabled;
      if (api.get_nvlink_state(dev, link, &active) != NVML_SUCCESS) continue;
      if (active != kNvmlFeatureEnabled) continue;
      gpu.nvlink_links++;
      nvmlPciInfo_t remote = {};
      if (api.get_nvlink_remote_pci(dev, link, &remote) == NVML_SUCCESS) {
        gpu.nvlink_remotes.push_back(FromBuffer(remote.busId, sizeof(remote.busId)));
      }
    }
  }
  if (gpu.mig_enabled && api.get_max_mig_count != nullptr && api.get_mig_handle != nullptr) {
    unsigned int max = 0;
    if (api.get_max_mig_count(dev, &max) == NVML_SUCCESS) {
      for (unsigned int k = 0; k < max; ++k) {
        nvmlDevice_t mig = nullptr;
        if (api.get_mig_handle(dev, k, &mig) != NVML_SUCCESS) continue;  // empty slot
        DiscoveredGpu::MigDevice m;
        char mig_uuid[kNvmlDeviceUuidBufferSize] = {};
        if (api.get_uuid(mig, mig_uuid, sizeof(mig_uuid)) != NVML_SUCCESS) continue;
        m.uuid = FromBuffer(mig_uuid, sizeof(mig_uuid));
        char mig_name[kNvmlDeviceNameBufferSize] = {};
        if (api.get_name(mig, mig_name, sizeof(mig_name)) == NVML_SUCCESS) {
          m.profile = MigProfileFromName(FromBuffer(mig_name, sizeof(mig_name)));
        }
        nvmlMemory_t mm = {};
        if (api.get_memory(mig, &mm) == NVML_SUCCESS) {
          m.memory_mib = static_cast<int64_t>(mm.total / (1024 * 1024));
        }
        unsigned int id = 0;
        if (api.get_gpu_instance_id != nullptr && api.get_gpu_instance_id(mig, &id) == NVML_SUCCESS) {
          m.gpu_instance_id = static_cast<int>(id);
        }
        if (api.get_compute_instance_id != nullptr &&
            api.get_compute_instance_id(mig, &id) == NVML_SUCCESS) {
          m.compute_instance_id = static_cast<int>(id);
        }
        gpu.mig_devices.push_back(std::move(m));
      }
    }
  }
  return gpu;
}

// Union-find over GPU indices and NVSwitch bus ids: NVLink domains.
void ComputeNvLinkDomains(std::vector<DiscoveredGpu>& gpus) {
  const int n = static_cast<int>(gpus.size());
  std::map<std::string, int> node_of;  // lower-case bus id -> union-find node
  for (int i = 0; i < n; ++i) {
    if (!gpus[i].pci_bus_id.empty()) node_of.emplace(Lower(gpus[i].pci_bus_id), i);
  }
  std::vector<int> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  const auto find = [&](int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (int i = 0; i < n; ++i) {
    for (const std::string& r : gpus[i].nvlink_remotes) {
      auto [it, added] = node_of.emplace(Lower(r), static_cast<int>(parent.size()));
      if (added) parent.push_back(static_cast<int>(parent.size()));  // an NVSwitch
      const int a = find(i), b = find(it->second);
      // The lower root wins, so a domain is named by its lowest GPU index.
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  }
  for (int i = 0; i < n; ++i) {
    gpus[i].nvlink_domain = find(i);
    gpus[i].nvlink_peers.clear();
    for (int j = 0; j < n; ++j) {
      if (j != i && find(j) == find(i)) gpus[i].nvlink_peers.push_back(j);
    }
  }
}

}  // namespace

Result<Inventory> NvmlGpuDiscovery::Discover() {
  Inventory inv;
  std::string why;
  std::unique_ptr<NvmlLibrary> lib = NvmlLibrary::Open(library_, &why);
  if (!lib) {
    inv.note = why;
    return inv;
  }
  const NvmlApi& api = lib->api();
  {
    std::lock_guard lock(mu_);
    events_supported_ = api.event_set_create != nullptr && api.register_events != nullptr &&
                        api.event_set_wait != nullptr && api.event_set_free != nullptr;
  }
  if (api.get_driver_version != nullptr) {
    char version[kNvmlDriverVersionBufferSize] = {};
    if (api.get_driver_version(version, sizeof(version)) == NVML_SUCCESS) {
      inv.driver_version = FromBuffer(version, sizeof(version));
    }
  }
  unsigned int count = 0;
  if (nvmlReturn_t rc = api.get_count(&count); rc != NVML_SUCCESS) {
    inv.note = fmt::format("nvmlDeviceGetCount_v2 failed in {}: {}; no GPUs reported",
                           library_, lib->ErrorText(rc));
    return inv;
  }
  std::vector<nvmlDevice_t> handles(count, nullptr);
  for (unsigned int i = 0; i < count; ++i) inv.gpus.push_back(QueryDevice(*lib, i, &handles[i]));
  if (count == 0) inv.note = fmt::format("NVML ({}) reports no GPUs", library_);
  ComputeNvLinkDomains(inv.gpus);
  for (unsigned int i = 0; i < count; ++i) {
    DiscoveredGpu& g = inv.gpus[i];
    g.pcie_path.assign(count, "");
    g.pcie_path[i] = "X";
    if (api.get_common_ancestor == nullptr || handles[i] == nullptr) continue;
    for (unsigned int j = 0; j < count; ++j) {
      if (j == i || handles[j] == nullptr) continue;
      int level = 0;
      if (api.get_common_ancestor(handles[i], handles[j], &level) == NVML_SUCCESS) {
        g.pcie_path[j] = TopologyName(level);
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    gpu_count_ = static_cast<int>(count);
  }
  return inv;
}

std::shared_ptr<NvmlLibrary> NvmlGpuDiscovery::Session(std::string* why) {
  std::lock_guard lock(mu_);
  if (!session_) {
    session_ = std::shared_ptr<NvmlLibrary>(NvmlLibrary::Open(library_, why).release());
  }
  return session_;
}

void NvmlGpuDiscovery::DropSession(const std::shared_ptr<NvmlLibrary>& lib) {
  std::lock_guard lock(mu_);
  if (session_ == lib) session_.reset();
}

std::vector<GpuSample> NvmlGpuDiscovery::Sample() {
  int count = 0;
  {
    std::lock_guard lock(mu_);
    count = gpu_count_;
  }
  std::vector<GpuSample> out(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) out[static_cast<size_t>(i)].index = i;
  if (count == 0) return out;
  std::string why;
  std::shared_ptr<NvmlLibrary> lib = Session(&why);
  if (!lib) {
    for (GpuSample& s : out) s.error = why;
    return out;
  }
  const NvmlApi& api = lib->api();
  bool lost = false;  // the driver went away: open a fresh session next time
  for (GpuSample& s : out) {
    const auto check = [&](nvmlReturn_t rc, std::string_view fn) {
      if (rc == NVML_SUCCESS) return true;
      if (rc == NVML_ERROR_NOT_SUPPORTED) return false;
      if (rc == NVML_ERROR_UNINITIALIZED || rc == NVML_ERROR_DRIVER_NOT_LOADED ||
          rc == NVML_ERROR_LIB_RM_VERSION_MISMATCH) {
        lost = true;
      }
      if (s.error.empty()) s.error = fmt::format("{}: {}", fn, lib->ErrorText(rc));
      return false;
    };
    nvmlDevice_t dev = nullptr;
    if (!check(api.get_handle(static_cast<unsigned int>(s.index), &dev),
               "nvmlDeviceGetHandleByIndex_v2")) {
      continue;
    }
    char uuid[kNvmlDeviceUuidBufferSize] = {};
    if (check(api.get_uuid(dev, uuid, sizeof(uuid)), "nvmlDeviceGetUUID")) {
      s.uuid = FromBuffer(uuid, sizeof(uuid));
    }
    nvmlMemory_t mem = {};
    if (check(api.get_memory(dev, &mem), "nvmlDeviceGetMemoryInfo")) {
      s.memory_used_mib = static_cast<int64_t>(mem.used / (1024 * 1024));
    }
    if (api.get_utilization != nullptr) {
      nvmlUtilization_t u = {};
      if (check(api.get_utilization(dev, &u), "nvmlDeviceGetUtilizationRates")) {
        s.utilization_percent = u.gpu;
        s.memory_utilization_percent = u.memory;
      }
    }
    unsigned int v = 0;
    if (api.get_temperature != nullptr &&
        check(api.get_temperature(dev, kNvmlTemperatureGpu, &v), "nvmlDeviceGetTemperature")) {
      s.temperature_c = v;
    }
    if (api.get_power_usage != nullptr &&
        check(api.get_power_usage(dev, &v), "nvmlDeviceGetPowerUsage")) {
      s.power_w = v / 1000.0;
    }
    if (api.get_clock != nullptr) {
      if (check(api.get_clock(dev, kNvmlClockSm, &v), "nvmlDeviceGetClockInfo")) {
        s.sm_clock_mhz = static_cast<int>(v);
      }
      if (check(api.get_clock(dev, kNvmlClockMem, &v), "nvmlDeviceGetClockInfo")) {
        s.memory_clock_mhz = static_cast<int>(v);
      }
    }
    if (api.get_ecc_errors != nullptr) {
      unsigned long long n = 0;
      // ECC off or unsupported answers NOT_SUPPORTED: counts stay unknown.
      if (check(api.get_ecc_errors(dev, kNvmlMemoryErrorCorrected, kNvmlVolatileEcc, &n),
                "nvmlDeviceGetTotalEccErrors")) {
        s.ecc_corrected = static_cast<int64_t>(n);
      }
      if (check(api.get_ecc_errors(dev, kNvmlMemoryErrorUncorrected, kNvmlVolatileEcc, &n),
                "nvmlDeviceGetTotalEccErrors")) {
        s.ecc_uncorrected = static_cast<int64_t>(n);
      }
    }
    if (api.get_throttle_reasons != nullptr) {
      unsigned long long reasons = 0;
      if (check(api.get_throttle_reasons(dev, &reasons),
                "nvmlDeviceGetCurrentClocksThrottleReasons")) {
        s.throttle_reasons = reasons;
      }
    }
    if (api.get_retired_pending != nullptr) {
      int pending = 0;
      if (check(api.get_retired_pending(dev, &pending), "nvmlDeviceGetRetiredPagesPendingStatus")) {
        s.retired_pages_pending = pending == kNvmlFeatureEnabled;
      }
    }
    if (api.get_processes != nullptr) {
      nvmlProcessInfo_t procs[64];
      unsigned int n = 64;
      nvmlReturn_t rc = api.get_processes(dev, &n, procs);
      // INSUFFICIENT_SIZE: more than 64 processes; the first 64 are what we report.
      if (rc == NVML_ERROR_INSUFFICIENT_SIZE) rc = NVML_SUCCESS, n = 64;
      if (check(rc, "nvmlDeviceGetComputeRunningProcesses_v3")) {
        for (unsigned int k = 0; k < std::min(n, 64u); ++k) {
          GpuProcessUsage p;
          p.pid = static_cast<int>(procs[k].pid);
          if (procs[k].usedGpuMemory != kNvmlValueNotAvailable) {
            p.used_memory_mib = static_cast<int64_t>(procs[k].usedGpuMemory / (1024 * 1024));
          }
          s.processes.push_back(p);
        }
      }
    }
  }
  if (lost) DropSession(lib);
  return out;
}

bool NvmlGpuDiscovery::WatchesEvents() const {
  std::lock_guard lock(mu_);
  return events_supported_;
}

void NvmlGpuDiscovery::CloseEventsLocked() {
  if (event_set_ != nullptr && event_lib_) event_lib_->api().event_set_free(event_set_);
  event_set_ = nullptr;
  event_lib_.reset();
  event_devices_.clear();
}

std::vector<GpuEventReport> NvmlGpuDiscovery::WaitForEvents(std::chrono::milliseconds timeout) {
  std::vector<GpuEventReport> out;
  std::lock_guard events_lock(events_mu_);
  if (event_set_ == nullptr) {
    // After a failure, wait out the timeout before trying again: no busy loop on a
    // machine whose driver is gone.
    if (event_failed_) std::this_thread::sleep_for(timeout);
    std::string why;
    std::shared_ptr<NvmlLibrary> lib = Session(&why);
    if (!lib) {
      if (!event_failed_) out.push_back({GpuEventReport::Kind::kWatchFailed, -1, "", 0, why});
      event_failed_ = true;
      return out;
    }
    const NvmlApi& api = lib->api();
    if (api.event_set_create == nullptr || api.register_events == nullptr ||
        api.event_set_wait == nullptr || api.event_set_free == nullptr) {
      return out;
    }
    nvmlEventSet_t set = nullptr;
    if (nvmlReturn_t rc = api.event_set_create(&set); rc != NVML_SUCCESS) {
      if (!event_failed_) {
        out.push_back({GpuEventReport::Kind::kWatchFailed, -1, "", 0,
                       fmt::format("nvmlEventSetCreate: {}", lib->ErrorText(rc))});
      }
      event_failed_ = true;
      return out;
    }
    event_lib_ = lib;
    event_set_ = set;
    unsigned int count = 0;
    if (api.get_count(&count) != NVML_SUCCESS) count = 0;
    const unsigned long long wanted = kNvmlEventTypeXidCriticalError |
                                      kNvmlEventTypeSingleBitEccError |
                                      kNvmlEventTypeDoubleBitEccError;
    for (unsigned int i = 0; i < count; ++i) {
      nvmlDevice_t dev = nullptr;
      if (api.get_handle(i, &dev) != NVML_SUCCESS) continue;
      unsigned long long types = wanted;
      if (api.get_supported_events != nullptr &&
          api.get_supported_events(dev, &types) == NVML_SUCCESS) {
        types &= wanted;
      }
      if (types == 0) continue;
      if (api.register_events(dev, types, set) != NVML_SUCCESS) continue;
      char uuid[kNvmlDeviceUuidBufferSize] = {};
      api.get_uuid(dev, uuid, sizeof(uuid));
      event_devices_.push_back({dev, static_cast<int>(i), FromBuffer(uuid, sizeof(uuid))});
    }
    event_failed_ = false;
  }
  const NvmlApi& api = event_lib_->api();
  unsigned int wait_ms = static_cast<unsigned int>(std::max<int64_t>(0, timeout.count()));
  while (true) {
    nvmlEventData_t data = {};
    nvmlReturn_t rc = api.event_set_wait(event_set_, &data, wait_ms);
    if (rc == NVML_ERROR_TIMEOUT) break;
    if (rc != NVML_SUCCESS) {
      out.push_back({GpuEventReport::Kind::kWatchFailed, -1, "", 0,
                     fmt::format("nvmlEventSetWait_v2: {}", event_lib_->ErrorText(rc))});
      std::shared_ptr<NvmlLibrary> lib = event_lib_;
      CloseEventsLocked();
      DropSession(lib);
      event_failed_ = true;
      break;
    }
    GpuEventReport r;
    for (const EventDevice& d : event_devices_) {
      if (d.handle == data.device) {
        r.index = d.index;
        r.uuid = d.uuid;
      }
    }
    if (data.eventType & kNvmlEventTypeXidCriticalError) {
      r.kind = GpuEventReport::Kind::kXid;
      r.xid = data.eventData;
    } else if (data.eventType & kNvmlEventTypeDoubleBitEccError) {
      r.kind = GpuEventReport::Kind::kEccDoubleBit;
    } else if (data.eventType & kNvmlEventTypeSingleBitEccError) {
      r.kind = GpuEventReport::Kind::kEccSingleBit;
    } else {
      continue;
    }
    out.push_back(std::move(r));
    wait_ms = 0;  // collect what else is queued, then return
  }
  return out;
}

NvmlGpuDiscovery::~NvmlGpuDiscovery() {
  std::lock_guard events_lock(events_mu_);
  CloseEventsLocked();
}

}  // namespace baton::agent
