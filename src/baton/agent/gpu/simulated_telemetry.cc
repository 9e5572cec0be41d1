#include "baton/agent/gpu/simulated_telemetry.h"

#include <cmath>
#include <cstdint>
#include <numbers>

namespace baton::agent {

std::vector<GpuSample> SimulatedGpuSamples(const Inventory& inventory, const std::set<int>& busy,
                                           Time now, std::string_view node) {
  // Power limit of a GPU whose inventory does not say (W): an H100 SXM's.
  constexpr double kDefaultPowerLimitW = 700;
  // FNV-1a of the node name: a phase in [0, 2 pi) that is the same on every run.
  uint32_t h = 2166136261u;
  for (unsigned char c : node) h = (h ^ c) * 16777619u;
  const double node_phase = 2 * std::numbers::pi * (h % 1000) / 1000.0;
  const double t = ToSeconds(now);
  std::vector<GpuSample> out;
  out.reserve(inventory.gpus.size());
  for (const DiscoveredGpu& g : inventory.gpus) {
    GpuSample s;
    s.index = g.index;
    s.uuid = g.uuid;
    const double limit_w =
        g.power_limit_mw > 0 ? static_cast<double>(g.power_limit_mw) / 1000.0 : kDefaultPowerLimitW;
    const double mem = static_cast<double>(g.memory_mib);
    if (busy.contains(g.index)) {
      // One swing a minute; GPU i is i radians out of phase, so neighbours differ.
      const double wave = std::sin(2 * std::numbers::pi * t / 60.0 + g.index + node_phase);
      const double util = std::round(70 + 25 * wave);  // 45..95 %
      s.utilization_percent = util;
      s.memory_utilization_percent = std::round(util * 0.6);
      s.memory_used_mib = static_cast<int64_t>(mem * (0.55 + 0.3 * util / 100));
      s.temperature_c = std::round(40 + 0.4 * util);  // 58..78 °C
      s.power_w = std::round(limit_w * (0.25 + 0.65 * util / 100));
    } else {
      s.utilization_percent = 0;
      s.memory_utilization_percent = 0;
      s.memory_used_mib = static_cast<int64_t>(mem / 100);
      s.temperature_c = 30;
      s.power_w = std::round(limit_w / 10);
    }
    s.ecc_corrected = 0;
    s.ecc_uncorrected = 0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace baton::agent
