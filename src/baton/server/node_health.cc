#include "baton/server/node_health.h"

#include <fmt/format.h>

namespace baton::server {

std::string NodeHealthOptionsError(const NodeHealthOptions& o) {
  if (o.not_ready_after <= Duration(0)) return "not_ready_after: must be positive";
  if (o.lost_after < o.not_ready_after) {
    return fmt::format("lost_after: {} is shorter than not_ready_after ({})",
                       FormatDuration(o.lost_after), FormatDuration(o.not_ready_after));
  }
  if (!(o.mass_silence_fraction > 0 && o.mass_silence_fraction <= 1)) {
    return fmt::format("mass_silence_fraction: {} is not in (0, 1]", o.mass_silence_fraction);
  }
  if (o.mass_silence_min_nodes < 1) return "mass_silence_min_nodes: must be at least 1";
  if (o.stall_after < Duration(0)) return "stall_after: must not be negative";
  return "";
}

HealthVerdict EvaluateNodeHealth(const std::vector<NodeSilence>& nodes,
                                 const NodeHealthOptions& options) {
  HealthVerdict v;
  int32_t live = 0;
  std::vector<std::string> candidates;
  for (const NodeSilence& n : nodes) {
    if (n.lost) continue;
    ++live;
    if (n.silent >= options.lost_after) {
      candidates.push_back(n.name);
    } else if (n.silent >= options.not_ready_after && n.ready) {
      v.not_ready.push_back(n.name);
    }
  }
  const auto silent = static_cast<int32_t>(candidates.size());
  if (silent >= options.mass_silence_min_nodes &&
      static_cast<double>(silent) > options.mass_silence_fraction * live) {
    v.evictions_suspended = true;
    v.why = fmt::format(
        "{} of {} nodes silent at once (more than {:.0f}%): evictions suspended, assuming the "
        "control plane is cut off rather than the nodes dead",
        silent, live, options.mass_silence_fraction * 100);
    v.held = std::move(candidates);
    // Held nodes take no new work either.
    for (const NodeSilence& n : nodes) {
      if (!n.lost && n.ready && n.silent >= options.lost_after) v.not_ready.push_back(n.name);
    }
    return v;
  }
  v.lost = std::move(candidates);
  return v;
}

Duration DetectStall(Duration gap, const NodeHealthOptions& options) {
  if (options.stall_after <= Duration(0) || gap < options.stall_after) return Duration(0);
  return gap;
}

}  // namespace baton::server
