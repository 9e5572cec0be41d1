// SimulatedGpuSamples: made-up but plausible telemetry for the GPUs of simulated agents
// (`baton-agent --simulate N`), so that the dashboard's charts, `baton top` and /metrics
// show something that moves with the work placed on a simulated fleet.
//
// A GPU that a task holds is busy: utilization swings between 45% and 95% over a minute
// (each GPU and node out of phase with the others), and memory, temperature and power follow
// it. A free GPU idles: 0%, 1% of its memory, 30 °C, a tenth of its power limit (as
// FakeGpuDiscovery::Sample). The values are a pure function of (node, GPU, busy, time), so a run
// with a ManualClock is reproducible; clocks, ECC counts and throttling are left unknown
// (-1 / 0), as no simulated GPU has them.
//
// Not responsible for: anything a real GPU reports (NVML does that), health events.
// Thread-safety: a free function with no state.
#pragma once

#include <set>
#include <string_view>
#include <vector>

#include "baton/agent/gpu/gpu_discovery.h"
#include "baton/common/time.h"

namespace baton::agent {

// One sample per GPU of `inventory`, in its order; `busy` holds the indices of the GPUs
// a task holds now. `node` shifts the phase (a stable hash), so nodes differ too.
std::vector<GpuSample> SimulatedGpuSamples(const Inventory& inventory, const std::set<int>& busy,
                                           Time now, std::string_view node = "");

}  // namespace baton::agent
