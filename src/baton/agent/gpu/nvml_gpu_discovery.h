// NvmlGpuDiscovery: GpuDiscovery backed by NVIDIA's NVML, opened with dlopen at run time.
//
// Nothing from NVIDIA is needed to build baton: the entry points are declared in
// nvml_types.h and looked up with dlsym. Each Discover() opens the library, calls
// nvmlInit_v2, queries every device, calls nvmlShutdown and closes the library again,
// so a driver installed (or reloaded) after the agent started is picked up next time.
//
// Failure handling (see docs/nvml.md):
//   - library missing, a required symbol missing, nvmlInit_v2 or nvmlDeviceGetCount_v2
//     failing: an Inventory with zero GPUs and `note` quoting dlerror() or
//     nvmlErrorString(). Never a non-OK Result: an agent on a GPU-less machine still runs.
//   - a per-device call failing: that GPU is reported with healthy == false and
//     `error` = "<function>: <nvmlErrorString>"; the other GPUs are unaffected.
//     NVML_ERROR_NOT_SUPPORTED from an optional query (PCI info, compute capability,
//     power limit, MIG mode) only leaves that field at its default.
//
// Thread-safety: one thread at a time per object. NVML itself is process-global, so two
// objects discovering concurrently is safe only because NVML reference-counts init.
#pragma once

#include <string>

#include "baton/agent/gpu/gpu_discovery.h"

namespace baton::agent {

class NvmlGpuDiscovery : public GpuDiscovery {
 public:
  // `library` is passed to dlopen as is: a soname searched the usual way, or a path.
  explicit NvmlGpuDiscovery(std::string library = "libnvidia-ml.so.1")
      : library_(std::move(library)) {}

  Result<Inventory> Discover() override;

  const std::string& library() const { return library_; }

 private:
  std::string library_;
};

}  // namespace baton::agent
