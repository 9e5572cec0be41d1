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
// Thread-safety: a GpuDiscovery object is used from one thread at a time.
#pragma once

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

  friend bool operator==(const DiscoveredGpu&, const DiscoveredGpu&) = default;
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
};

}  // namespace baton::agent
