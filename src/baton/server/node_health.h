// Node health: which silent nodes become not-ready or lost, and when to hold back.
//
// A node whose agent has not been heard from for `not_ready_after` takes no new work; for
// `lost_after` it is lost and the attempts on it end. Two things make silence lie:
//  - the control plane's own trouble: its network, or its process being paused or its
//    clock stepped. If more than `mass_silence_fraction` of the fleet (and at least
//    `mass_silence_min_nodes` nodes) fall silent at once, it is far likelier that we are
//    cut off than that they all died, so nobody is declared lost: the nodes stay not-ready
//    (no new work) and their tasks keep running until the silence ends or an operator acts.
//  - a stall of the control loop itself (SIGSTOP, a long GC-like pause, a forward clock
//    jump): time that passed while we were not looking is not the agents' silence. The
//    caller detects the gap between two checks (`DetectStall`) and credits it to every
//    node's last-heard time.
//
// EvaluateNodeHealth is pure (no clock, no I/O): the control plane gathers each node's
// silence, applies the verdict and logs it. Thread-safety: value types and free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "baton/common/time.h"

namespace baton::server {

struct NodeHealthOptions {
  Duration not_ready_after = std::chrono::seconds(3);
  Duration lost_after = std::chrono::seconds(8);
  // Lost nodes are not evicted when more than this share of the fleet would be lost at
  // once (0..1; 1 = never hold back).
  double mass_silence_fraction = 0.5;
  // ... and at least this many nodes: fewer silent nodes are always real failures.
  int32_t mass_silence_min_nodes = 3;
  // A gap this long between two health checks is a stall of the control plane (or a
  // clock jump), not silence of the agents. 0 = never.
  Duration stall_after = std::chrono::seconds(2);
};

// Validates the options; errors name the flag-like field ("lost_after: ...").
std::string NodeHealthOptionsError(const NodeHealthOptions& o);  // "" when valid

// One node as the health check sees it.
struct NodeSilence {
  std::string name;
  Duration silent{0};  // since the agent was last heard from (negative = clock step back)
  bool ready = false;  // currently ready (not-ready / drained nodes are not "ready")
  bool lost = false;   // already lost: not part of the live fleet
};

struct HealthVerdict {
  std::vector<std::string> not_ready;  // ready nodes that should take no new work now
  std::vector<std::string> lost;       // nodes to declare lost (empty when suspended)
  // More than the allowed share fell silent: the would-be lost nodes are in `held`.
  bool evictions_suspended = false;
  std::vector<std::string> held;
  std::string why;  // for the log and the nodes' reason when suspended
};

HealthVerdict EvaluateNodeHealth(const std::vector<NodeSilence>& nodes,
                                 const NodeHealthOptions& options);

// The time between two health checks that counts as a stall (0 when `gap` is normal).
Duration DetectStall(Duration gap, const NodeHealthOptions& options);

}  // namespace baton::server
