// NvmlLibrary: one dlopen'ed NVML library with its entry points resolved and NVML
// initialised; shut down and closed when the object goes.
//
// It is what NvmlGpuDiscovery's Discover(), Sample() and WaitForEvents() call through.
// Required entry points (a library without them is refused): nvmlInit_v2, nvmlShutdown,
// nvmlErrorString, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2,
// nvmlDeviceGetName, nvmlDeviceGetUUID, nvmlDeviceGetMemoryInfo. Every other pointer in
// NvmlApi may be null (older drivers lack newer calls); callers check before calling.
//
// Thread-safety: the entry points may be called from any thread (NVML is thread-safe);
// the object itself is immutable after Open.
#pragma once

#include <memory>
#include <string>

#include "baton/agent/gpu/nvml_types.h"

namespace baton::agent {

struct NvmlApi {
  nvmlInit_v2_fn init = nullptr;
  nvmlShutdown_fn shutdown = nullptr;
  nvmlErrorString_fn error_string = nullptr;
  nvmlDeviceGetCount_v2_fn get_count = nullptr;
  nvmlDeviceGetHandleByIndex_v2_fn get_handle = nullptr;
  nvmlDeviceGetName_fn get_name = nullptr;
  nvmlDeviceGetUUID_fn get_uuid = nullptr;
  nvmlDeviceGetMemoryInfo_fn get_memory = nullptr;
  // Optional from here on.
  nvmlSystemGetDriverVersion_fn get_driver_version = nullptr;
  nvmlDeviceGetPciInfo_v3_fn get_pci = nullptr;
  nvmlDeviceGetCudaComputeCapability_fn get_cc = nullptr;
  nvmlDeviceGetPowerManagementLimit_fn get_power_limit = nullptr;
  nvmlDeviceGetMigMode_fn get_mig_mode = nullptr;
  nvmlDeviceGetNumaNodeId_fn get_numa_node = nullptr;
  nvmlDeviceGetNvLinkState_fn get_nvlink_state = nullptr;
  nvmlDeviceGetNvLinkRemotePciInfo_v2_fn get_nvlink_remote_pci = nullptr;
  nvmlDeviceGetNvLinkRemoteDeviceType_fn get_nvlink_remote_type = nullptr;
  nvmlDeviceGetTopologyCommonAncestor_fn get_common_ancestor = nullptr;
  nvmlDeviceGetMaxMigDeviceCount_fn get_max_mig_count = nullptr;
  nvmlDeviceGetMigDeviceHandleByIndex_fn get_mig_handle = nullptr;
  nvmlDeviceGetGpuInstanceId_fn get_gpu_instance_id = nullptr;
  nvmlDeviceGetComputeInstanceId_fn get_compute_instance_id = nullptr;
  nvmlDeviceGetUtilizationRates_fn get_utilization = nullptr;
  nvmlDeviceGetTemperature_fn get_temperature = nullptr;
  nvmlDeviceGetPowerUsage_fn get_power_usage = nullptr;
  nvmlDeviceGetClockInfo_fn get_clock = nullptr;
  nvmlDeviceGetTotalEccErrors_fn get_ecc_errors = nullptr;
  nvmlDeviceGetCurrentClocksThrottleReasons_fn get_throttle_reasons = nullptr;
  nvmlDeviceGetRetiredPagesPendingStatus_fn get_retired_pending = nullptr;
  nvmlDeviceGetComputeRunningProcesses_v3_fn get_processes = nullptr;
  nvmlEventSetCreate_fn event_set_create = nullptr;
  nvmlDeviceRegisterEvents_fn register_events = nullptr;
  nvmlDeviceGetSupportedEventTypes_fn get_supported_events = nullptr;
  nvmlEventSetWait_v2_fn event_set_wait = nullptr;
  nvmlEventSetFree_fn event_set_free = nullptr;
};

class NvmlLibrary {
 public:
  // Opens `path` (a soname or a path), resolves the entry points and calls nvmlInit_v2.
  // On failure returns null and sets `*why` to a sentence for the operator (quoting
  // dlerror() or nvmlErrorString()).
  static std::unique_ptr<NvmlLibrary> Open(const std::string& path, std::string* why);
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  const NvmlApi& api() const { return api_; }
  const std::string& path() const { return path_; }
  // nvmlErrorString(rc), or "NVML error <rc>" when it has nothing to say.
  std::string ErrorText(nvmlReturn_t rc) const;

 private:
  NvmlLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}

  void* handle_;
  std::string path_;
  NvmlApi api_;
  bool initialized_ = false;
};

}  // namespace baton::agent
