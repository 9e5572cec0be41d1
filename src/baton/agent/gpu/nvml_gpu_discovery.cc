#include "baton/agent/gpu/nvml_gpu_discovery.h"

#include <dlfcn.h>

#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "baton/agent/gpu/nvml_types.h"

namespace baton::agent {
namespace {

// Owns a dlopen handle.
class Library {
 public:
  explicit Library(void* handle) : handle_(handle) {}
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  void* get() const { return handle_; }

 private:
  void* handle_;
};

// The NVML entry points, resolved from one library. Optional ones may be null.
struct NvmlApi {
  nvmlInit_v2_fn init = nullptr;
  nvmlShutdown_fn shutdown = nullptr;
  nvmlErrorString_fn error_string = nullptr;
  nvmlDeviceGetCount_v2_fn get_count = nullptr;
  nvmlDeviceGetHandleByIndex_v2_fn get_handle = nullptr;
  nvmlDeviceGetName_fn get_name = nullptr;
  nvmlDeviceGetUUID_fn get_uuid = nullptr;
  nvmlDeviceGetMemoryInfo_fn get_memory = nullptr;
  // Optional: older drivers or exotic builds may lack them.
  nvmlSystemGetDriverVersion_fn get_driver_version = nullptr;
  nvmlDeviceGetPciInfo_v3_fn get_pci = nullptr;
  nvmlDeviceGetCudaComputeCapability_fn get_cc = nullptr;
  nvmlDeviceGetPowerManagementLimit_fn get_power_limit = nullptr;
  nvmlDeviceGetMigMode_fn get_mig_mode = nullptr;

  std::string ErrorText(nvmlReturn_t rc) const {
    const char* s = error_string != nullptr ? error_string(rc) : nullptr;
    if (s == nullptr || *s == '\0') return fmt::format("NVML error {}", rc);
    return s;
  }
};

template <typename Fn>
void Resolve(void* lib, const char* symbol, Fn* out) {
  dlerror();  // clear
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

// Copies a NUL-terminated string out of a fixed buffer that NVML may not terminate.
std::string FromBuffer(const char* buf, size_t size) {
  return std::string(buf, strnlen(buf, size));
}

// Queries one device; failures mark it unhealthy (first failure wins) and go on.
DiscoveredGpu QueryDevice(const NvmlApi& api, unsigned int index) {
  DiscoveredGpu gpu;
  gpu.index = static_cast<int>(index);
  // Returns true when the call succeeded. NOT_SUPPORTED from an optional query is fine.
  const auto check = [&](nvmlReturn_t rc, std::string_view fn, bool optional) {
    if (rc == NVML_SUCCESS) return true;
    if (optional && rc == NVML_ERROR_NOT_SUPPORTED) return false;
    if (gpu.healthy) {
      gpu.healthy = false;
      gpu.error = fmt::format("{}: {}", fn, api.ErrorText(rc));
    }
    return false;
  };

  nvmlDevice_t dev = nullptr;
  if (!check(api.get_handle(index, &dev), "nvmlDeviceGetHandleByIndex_v2", false)) {
    return gpu;
  }
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
  return gpu;
}

}  // namespace

Result<Inventory> NvmlGpuDiscovery::Discover() {
  Inventory inv;
  dlerror();
  Library lib(dlopen(library_.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (lib.get() == nullptr) {
    const char* err = dlerror();
    inv.note = fmt::format("NVML library {} could not be loaded ({}); no GPUs reported",
                           library_, err != nullptr ? err : "unknown dlopen error");
    return inv;
  }
  NvmlApi api;
  if (std::string missing = ResolveAll(lib.get(), &api); !missing.empty()) {
    inv.note = fmt::format("NVML library {} lacks {}; no GPUs reported", library_, missing);
    return inv;
  }
  if (nvmlReturn_t rc = api.init(); rc != NVML_SUCCESS) {
    inv.note = fmt::format("nvmlInit_v2 failed in {}: {}; no GPUs reported", library_,
                           api.ErrorText(rc));
    return inv;
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
                           library_, api.ErrorText(rc));
  } else {
    for (unsigned int i = 0; i < count; ++i) inv.gpus.push_back(QueryDevice(api, i));
    if (count == 0) inv.note = fmt::format("NVML ({}) reports no GPUs", library_);
  }
  api.shutdown();
  return inv;
}

}  // namespace baton::agent
