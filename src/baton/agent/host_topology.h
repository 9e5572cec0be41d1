// HostTopology: the machine's CPU and memory layout (sockets, cores, NUMA nodes), read with
// hwloc, and the choice of CPUs a GPU task's ranks are pinned to.
//
// DiscoverHostTopology asks hwloc (libhwloc, linked directly: Debian's libhwloc-dev) once
// at agent start. PinCpusForGpus is pure: given a topology, the NUMA nodes of a task's GPUs
// and the CPUs the agent itself may use, it returns the CPUs to pin to (the CPUs of those
// NUMA nodes), or none with the reason.
//
// Not responsible for: applying the pinning (ProcessLauncher does, via
// ProcessSpec::cpu_affinity), GPU discovery (GpuDiscovery gives each GPU's NUMA node).
// Thread-safety: plain values and free functions; DiscoverHostTopology may be called from
// any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"

namespace baton::agent {

struct HostNumaNode {
  int id = 0;               // the OS NUMA node number (/sys/devices/system/node/node<id>)
  std::vector<int> cpus;    // OS CPU numbers, ascending
  int64_t memory_mib = 0;   // local memory; 0 when unknown
  friend bool operator==(const HostNumaNode&, const HostNumaNode&) = default;
};

struct HostTopology {
  int sockets = 0;
  int cores = 0;            // physical cores
  int pus = 0;              // hardware threads (what the OS calls CPUs)
  std::vector<HostNumaNode> numa_nodes;  // ascending id
  friend bool operator==(const HostTopology&, const HostTopology&) = default;
};

// The topology of this machine. An error (hwloc could not load the topology) names the
// hwloc call that failed; the agent then reports no host topology and pins nothing.
Result<HostTopology> DiscoverHostTopology();

// "0-3,8,10-11" for {0,1,2,3,8,10,11} (the Linux cpulist format); "" for none. The input
// need not be sorted; duplicates are ignored.
std::string FormatCpuList(std::vector<int> cpus);
// The inverse of FormatCpuList (whitespace around the text is ignored). Errors quote the
// bad part: "cpu list \"3-1\": range 3-1 runs backwards".
Result<std::vector<int>> ParseCpuList(std::string_view text);

// The CPUs the ranks of a task whose GPUs sit on `gpu_numa_nodes` (-1 = unknown) should
// run on: the union of those NUMA nodes' CPUs, restricted to `allowed` (the agent's own
// CPU affinity; empty = no restriction). `cpus` is empty and `reason` says why when
// nothing should be pinned: no GPUs, a GPU's NUMA node unknown, a NUMA node the topology
// lacks, or none of the node's CPUs allowed. `numa_nodes` lists the nodes used.
struct CpuPinning {
  std::vector<int> cpus;
  std::vector<int> numa_nodes;
  std::string reason;
};
CpuPinning PinCpusForGpus(const HostTopology& topology, const std::vector<int>& gpu_numa_nodes,
                          const std::vector<int>& allowed);

// The CPUs this process may run on (sched_getaffinity); empty when unknown.
std::vector<int> CurrentCpuAffinity();

}  // namespace baton::agent
