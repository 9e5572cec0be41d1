// CgroupV2: per-process cgroup v2 groups with memory.max / cpu.max, where the machine
// lets the agent have them.
//
// Detection (Detect): find the cgroup2 mount in /proc/self/mountinfo, the agent's own
// group in /proc/self/cgroup, and make "<own group>/baton-<pid>" with the memory and cpu
// controllers enabled for its children. Any step failing (no cgroup2 mount, hybrid mode
// without the controllers, a read-only or undelegated tree) leaves the object
// unavailable with `reason()` saying why; callers then run processes without limits.
// Never an error for the task: missing cgroups is a likely machine state.
//
// Thread-safety: immutable after Detect; Create/Remove may be called concurrently.
#pragma once

#include <string>

#include "baton/agent/launch/launcher.h"
#include "baton/common/status.h"

namespace baton::agent {

class CgroupV2 {
 public:
  // Probes the machine. `root_override`, when set, is used as the parent directory
  // instead of the agent's own group (for tests and for operators with a delegated tree).
  static CgroupV2 Detect(const std::string& root_override = "");
  // Uses `dir` as the parent of the groups without probing anything: for tests, where a
  // plain directory stands in for a delegated cgroup2 tree and the files written
  // (memory.max, cpu.max, cgroup.procs) can be read back.
  static CgroupV2 AtDirectory(const std::string& dir);

  bool available() const { return available_; }
  // Why cgroups are unavailable ("cgroup2 at /sys/fs/cgroup/unified lacks ...").
  const std::string& reason() const { return reason_; }
  const std::string& root() const { return root_; }

  // Creates <root>/<name> with the limits applied; returns its directory.
  Result<std::string> Create(const std::string& name, const ProcessLimits& limits) const;
  // Kills everything left in the group (cgroup.kill) and removes it. Best effort.
  void Remove(const std::string& dir) const;

 private:
  bool available_ = false;
  std::string reason_;
  std::string root_;
};

}  // namespace baton::agent
