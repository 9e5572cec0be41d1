// GpuDiscovery: the seam through which a node agent learns which GPUs its machine has.
//
// Implementations: NvmlGpuDiscovery (the NVIDIA driver's libnvidia-ml, opened at run
// time) and FakeGpuDiscovery (a made-up inventory for `--dev` and the simulator).
//
// Error policy: a machine without a driver, or a GPU that misbehaves, is a likely state,
// not an error. Discover() then returns an Inventory with zero GPUs and a `note` saying
// why, or a DiscoveredGpu with healthy == false and `error` set. A non-OK Result is kept
// for failures that should stop the caller (a malformed fake spec, say).
//
// Besides the inventory, the seam carries what the agent watches while it runs:
// Sample() (telemetry, once per heartbeat) and WaitForEvents() (Xid and ECC events, on a
// thread of its own). Implementations without them keep the defaults.
//
// Thread-safety: Discover() and Sample() are called from one thread at a time;
// WaitForEvents() may run concurrently with them on another thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::agent {

struct DiscoveredGpu {
  int index = 0;            // the driver's device index (0-based)
  std::string uuid;         // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  std::string name;         // marketing name, e.g. "NVIDIA H100 80GB HBM3"
  std::string pci_bus_id;   // "00000000:18:00.0"; empty when unknown
  int64_t memory_mib = 0;   // total framebuffer memory
  int cc_major = 0;         // CUDA compute capability
  int cc_minor = 0;
  int64_t power_limit_mw = 0;  // power management limit; 0 when unknown
  bool mig_enabled = false;
  bool healthy = true;
  std::string error;        // why !healthy: "nvmlDeviceGetUUID: GPU is lost"

  int numa_node = -1;       // the host NUMA node closest to the GPU; -1 = unknown
  int nvlink_links = 0;     // active NVLinks
  // PCI bus ids at the far end of the active links (a GPU or an NVSwitch), one per link.
  std::vector<std::string> nvlink_remotes;
  // Filled by the discovery from all GPUs' links: GPUs connected through NVLink (directly
  // or through NVSwitches) share a domain, numbered by the lowest GPU index in it. A GPU
  // without NVLink is a domain of its own.
  int nvlink_domain = 0;
  std::vector<int> nvlink_peers;  // other GPU indices of the same domain
  // pcie_path[j]: how this GPU reaches GPU j over PCIe, in nvidia-smi's words: "X" (self),
  // "PIX" (one PCIe switch), "PXB" (several switches), "PHB" (a host bridge), "NODE"
  // (host bridges of one NUMA node), "SYS" (across NUMA nodes), "INT" (same board),
  // "" (unknown).
  std::vector<std::string> pcie_path;
  struct MigDevice {
    std::string uuid;       // "MIG-..."
    std::string profile;    // "1g.10gb"; from the device name NVML reports
    int64_t memory_mib = 0;
    int gpu_instance_id = -1;
    int compute_instance_id = -1;
    friend bool operator==(const MigDevice&, const MigDevice&) = default;
  };
  std::vector<MigDevice> mig_devices;  // when mig_enabled

  friend bool operator==(const DiscoveredGpu&, const DiscoveredGpu&) = default;
};

// One process using a GPU, as NVML reports it.
struct GpuProcessUsage {
  int pid = 0;
  int64_t used_memory_mib = -1;  // -1 = NVML cannot say (e.g. without permission)
  friend bool operator==(const GpuProcessUsage&, const GpuProcessUsage&) = default;
};

// Telemetry of one GPU at one moment. Fields NVML does not support stay at -1.
struct GpuSample {
  int index = 0;
  std::string uuid;
  double utilization_percent = -1;
  double memory_utilization_percent = -1;
  int64_t memory_used_mib = -1;
  double temperature_c = -1;
  double power_w = -1;
  int sm_clock_mhz = -1;
  int memory_clock_mhz = -1;
  int64_t ecc_corrected = -1;    // volatile counts (since the driver loaded)
  int64_t ecc_uncorrected = -1;
  uint64_t throttle_reasons = 0;  // kNvmlThrottle* bits
  bool retired_pages_pending = false;
  std::vector<GpuProcessUsage> processes;
  // Empty when every call worked; else "<function>: <nvmlErrorString>" of the first
  // call that failed with something other than NOT_SUPPORTED.
  std::string error;
};

// Something NVML told about a GPU through its event API.
struct GpuEventReport {
  enum class Kind { kXid, kEccSingleBit, kEccDoubleBit, kWatchFailed };
  Kind kind = Kind::kXid;
  int index = -1;          // GPU index; -1 = unknown device
  std::string uuid;
  uint64_t xid = 0;        // kXid
  std::string detail;      // kWatchFailed: what broke ("nvmlEventSetWait_v2: GPU is lost")
};

struct Inventory {
  std::string driver_version;      // empty when unknown
  std::vector<DiscoveredGpu> gpus;  // in device-index order
  std::string note;                // why there are zero GPUs (or other caveats)

  friend bool operator==(const Inventory&, const Inventory&) = default;
};

class GpuDiscovery {
 public:
  virtual ~GpuDiscovery() = default;

  // Queries the machine now. Each call sees the current state (GPUs can fall off the bus).
  virtual Result<Inventory> Discover() = 0;

  // Telemetry of every GPU now, in index order. Never fails as a whole: a GPU whose
  // calls fail has `error` set. Default: nothing to report.
  virtual std::vector<GpuSample> Sample() { return {}; }

  // Whether WaitForEvents can report anything; when false the agent does not call it.
  virtual bool WatchesEvents() const { return false; }
  // Blocks up to `timeout` for health events and returns those that arrived (possibly
  // none). Default: none, at once.
  virtual std::vector<GpuEventReport> WaitForEvents(std::chrono::milliseconds timeout) {
    (void)timeout;
    return {};
  }
};

}  // namespace baton::agent
