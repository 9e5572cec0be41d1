#include "baton/agent/gpu/nvml_library.h"

#include <dlfcn.h>

#include <utility>

#include <fmt/format.h>

namespace baton::agent {
namespace {

template <typename Fn>
void Resolve(void* lib, const char* symbol, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(lib, symbol));
}

// Resolves every entry point; returns the name of the first missing required one, or "".
std::string ResolveAll(void* lib, NvmlApi* api) {
  Resolve(lib, "nvmlInit_v2", &api->init);
  Resolve(lib, "nvmlShutdown", &api->shutdown);
  Resolve(lib, "nvmlErrorString", &api->error_string);
  Resolve(lib, "nvmlDeviceGetCount_v2", &api->get_count);
  Resolve(lib, "nvmlDeviceGetHandleByIndex_v2", &api->get_handle);
  Resolve(lib, "nvmlDeviceGetName", &api->get_name);
  Resolve(lib, "nvmlDeviceGetUUID", &api->get_uuid);
  Resolve(lib, "nvmlDeviceGetMemoryInfo", &api->get_memory);
  Resolve(lib, "nvmlSystemGetDriverVersion", &api->get_driver_version);
  Resolve(lib, "nvmlDeviceGetPciInfo_v3", &api->get_pci);
  Resolve(lib, "nvmlDeviceGetCudaComputeCapability", &api->get_cc);
  Resolve(lib, "nvmlDeviceGetPowerManagementLimit", &api->get_power_limit);
  Resolve(lib, "nvmlDeviceGetMigMode", &api->get_mig_mode);
  Resolve(lib, "nvmlDeviceGetNumaNodeId", &api->get_numa_node);
  Resolve(lib, "nvmlDeviceGetNvLinkState", &api->get_nvlink_state);
  Resolve(lib, "nvmlDeviceGetNvLinkRemotePciInfo_v2", &api->get_nvlink_remote_pci);
  Resolve(lib, "nvmlDeviceGetNvLinkRemoteDeviceType", &api->get_nvlink_remote_type);
  Resolve(lib, "nvmlDeviceGetTopologyCommonAncestor", &api->get_common_ancestor);
  Resolve(lib, "nvmlDeviceGetMaxMigDeviceCount", &api->get_max_mig_count);
  Resolve(lib, "nvmlDeviceGetMigDeviceHandleByIndex", &api->get_mig_handle);
  Resolve(lib, "nvmlDeviceGetGpuInstanceId", &api->get_gpu_instance_id);
  Resolve(lib, "nvmlDeviceGetComputeInstanceId", &api->get_compute_instance_id);
  Resolve(lib, "nvmlDeviceGetUtilizationRates", &api->get_utilization);
  Resolve(lib, "nvmlDeviceGetTemperature", &api->get_temperature);
  Resolve(lib, "nvmlDeviceGetPowerUsage", &api->get_power_usage);
  Resolve(lib, "nvmlDeviceGetClockInfo", &api->get_clock);
  Resolve(lib, "nvmlDeviceGetTotalEccErrors", &api->get_ecc_errors);
  Resolve(lib, "nvmlDeviceGetCurrentClocksThrottleReasons", &api->get_throttle_reasons);
  Resolve(lib, "nvmlDeviceGetRetiredPagesPendingStatus", &api->get_retired_pending);
  Resolve(lib, "nvmlDeviceGetComputeRunningProcesses_v3", &api->get_processes);
  Resolve(lib, "nvmlEventSetCreate", &api->event_set_create);
  Resolve(lib, "nvmlDeviceRegisterEvents", &api->register_events);
  Resolve(lib, "nvmlDeviceGetSupportedEventTypes", &api->get_supported_events);
  Resolve(lib, "nvmlEventSetWait_v2", &api->event_set_wait);
  Resolve(lib, "nvmlEventSetFree", &api->event_set_free);
  const std::pair<const char*, const void*> required[] = {
      {"nvmlInit_v2", reinterpret_cast<const void*>(api->init)},
      {"nvmlShutdown", reinterpret_cast<const void*>(api->shutdown)},
      {"nvmlErrorString", reinterpret_cast<const void*>(api->error_string)},
      {"nvmlDeviceGetCount_v2", reinterpret_cast<const void*>(api->get_count)},
      {"nvmlDeviceGetHandleByIndex_v2", reinterpret_cast<const void*>(api->get_handle)},
      {"nvmlDeviceGetName", reinterpret_cast<const void*>(api->get_name)},
      {"nvmlDeviceGetUUID", reinterpret_cast<const void*>(api->get_uuid)},
      {"nvmlDeviceGetMemoryInfo", reinterpret_cast<const void*>(api->get_memory)},
  };
  for (const auto& [name, fn] : required) {
    if (fn == nullptr) return name;
  }
  return "";
}

}  // namespace

std::unique_ptr<NvmlLibrary> NvmlLibrary::Open(const std::string& path, std::string* why) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    *why = fmt::format("NVML library {} could not be loaded ({}); no GPUs reported", path,
                       err != nullptr ? err : "unknown dlopen error");
    return nullptr;
  }
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary(handle, path));
  if (std::string missing = ResolveAll(handle, &lib->api_); !missing.empty()) {
    *why = fmt::format("NVML library {} lacks {}; no GPUs reported", path, missing);
    return nullptr;
  }
  if (nvmlReturn_t rc = lib->api_.init(); rc != NVML_SUCCESS) {
    *why = fmt::format("nvmlInit_v2 failed in {}: {}; no GPUs reported", path,
                       lib->ErrorText(rc));
    return nullptr;
  }
  lib->initialized_ = true;
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (initialized_) api_.shutdown();
  if (handle_ != nullptr) dlclose(handle_);
}

std::string NvmlLibrary::ErrorText(nvmlReturn_t rc) const {
  const char* s = api_.error_string != nullptr ? api_.error_string(rc) : nullptr;
  if (s == nullptr || *s == '\0') return fmt::format("NVML error {}", rc);
  return s;
}

}  // namespace baton::agent
