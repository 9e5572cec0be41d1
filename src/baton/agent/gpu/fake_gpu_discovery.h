// FakeGpuDiscovery: a GpuDiscovery that reports a fixed, made-up inventory.
//
// A product feature, not only a test double: `baton-agent --dev --fake-gpus 8xH100` and
// the simulator's agents use it. Specs are "<count>x<model>", e.g. "8xH100",
// "2xA100-80GB"; see KnownFakeGpuModels() for the models. UUIDs are deterministic
// (a function of model and index) so runs are reproducible.
//
// Thread-safety: immutable after construction; Discover() may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "baton/agent/gpu/gpu_discovery.h"
#include "baton/common/status.h"

namespace baton::agent {

class FakeGpuDiscovery : public GpuDiscovery {
 public:
  explicit FakeGpuDiscovery(Inventory inventory) : inventory_(std::move(inventory)) {}

  // Parses "<count>x<model>" (count 1..1024). A malformed spec or an unknown model is
  // InvalidArgument naming the spec.
  static Result<FakeGpuDiscovery> FromSpec(std::string_view spec);

  Result<Inventory> Discover() override { return inventory_; }
  // Idle GPUs: 0% busy, 1% of memory used, 30 C, 10% of the power limit, no errors.
  std::vector<GpuSample> Sample() override;

 private:
  Inventory inventory_;
};

// The model names FromSpec accepts, e.g. "H100", "A100-80GB".
std::vector<std::string> KnownFakeGpuModels();

}  // namespace baton::agent
