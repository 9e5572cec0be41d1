// NvmlGpuDiscovery: GpuDiscovery backed by NVIDIA's NVML, opened with dlopen at run time.
//
// Nothing from NVIDIA is needed to build baton: the entry points are declared in
// nvml_types.h and looked up with dlsym (NvmlLibrary). Each Discover() opens the library,
// calls nvmlInit_v2, queries every device, calls nvmlShutdown and closes the library
// again, so a driver installed (or reloaded) after the agent started is picked up next
// time. Sample() and WaitForEvents() share one long-lived session (opened on first use,
// reopened after the driver reported it is gone), since telemetry every second must not
// pay for nvmlInit_v2 each time.
//
// Discovery per device: index, UUID, name, memory, PCI bus id, compute capability, power
// limit, MIG mode and MIG devices (UUID, profile from the name NVML gives them), host NUMA
// node (nvmlDeviceGetNumaNodeId, else sysfs), active NVLinks and their far ends; then for
// the whole machine the NVLink domains (GPUs joined by NVLink directly or through
// NVSwitches) and the PCIe path between every two GPUs
// (nvmlDeviceGetTopologyCommonAncestor).
//
// Failure handling (see docs/nvml.md):
//   - library missing, a required symbol missing, nvmlInit_v2 or nvmlDeviceGetCount_v2
//     failing: an Inventory with zero GPUs and `note` quoting dlerror() or
//     nvmlErrorString(). Never a non-OK Result: an agent on a GPU-less machine still runs.
//   - a per-device call failing: that GPU is reported with healthy == false and
//     `error` = "<function>: <nvmlErrorString>"; the other GPUs are unaffected.
//     NVML_ERROR_NOT_SUPPORTED from an optional query only leaves that field at its
//     default; topology and MIG queries never mark a GPU unhealthy.
//   - Sample(): a failing call sets that GPU's sample `error`; UNINITIALIZED,
//     DRIVER_NOT_LOADED or an RM version mismatch also drop the session.
//   - WaitForEvents(): a failing wait is reported once as kWatchFailed and the event set
//     is rebuilt on a later call (after waiting out the timeout).
//
// Thread-safety: Discover()/Sample() from one thread at a time, WaitForEvents() from
// another; NVML itself is thread-safe and reference-counts init.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baton/agent/gpu/gpu_discovery.h"
#include "baton/agent/gpu/nvml_library.h"

namespace baton::agent {

class NvmlGpuDiscovery : public GpuDiscovery {
 public:
  // `library` is passed to dlopen as is: a soname searched the usual way, or a path.
  explicit NvmlGpuDiscovery(std::string library = "libnvidia-ml.so.1")
      : library_(std::move(library)) {}
  ~NvmlGpuDiscovery() override;

  Result<Inventory> Discover() override;
  // One sample per GPU the last Discover() found.
  std::vector<GpuSample> Sample() override;
  // True once a Discover() found the event entry points.
  bool WatchesEvents() const override;
  std::vector<GpuEventReport> WaitForEvents(std::chrono::milliseconds timeout) override;

  const std::string& library() const { return library_; }

 private:
  struct EventDevice {
    nvmlDevice_t handle;
    int index;
    std::string uuid;
  };
  // The shared long-lived session, opened if need be; null with `why` set on failure.
  std::shared_ptr<NvmlLibrary> Session(std::string* why);
  // Forgets `lib` as the session (if it still is) so the next user opens a fresh one.
  void DropSession(const std::shared_ptr<NvmlLibrary>& lib);
  void CloseEventsLocked();  // events_mu_ held

  std::string library_;

  mutable std::mutex mu_;  // guards the fields below
  std::shared_ptr<NvmlLibrary> session_;
  int gpu_count_ = 0;
  bool events_supported_ = false;

  std::mutex events_mu_;  // guards the event set; held by WaitForEvents
  std::shared_ptr<NvmlLibrary> event_lib_;
  nvmlEventSet_t event_set_ = nullptr;
  std::vector<EventDevice> event_devices_;
  bool event_failed_ = false;
};

}  // namespace baton::agent
