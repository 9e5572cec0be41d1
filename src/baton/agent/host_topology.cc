#include "baton/agent/host_topology.h"

#include <hwloc.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iterator>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace baton::agent {
namespace {

struct TopologyCloser {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};

std::vector<int> CpusOf(hwloc_const_cpuset_t set) {
  std::vector<int> out;
  if (set == nullptr) return out;
  for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i)) out.push_back(i);
  return out;
}

int CountOf(hwloc_topology_t t, hwloc_obj_type_t type) {
  return std::max(0, hwloc_get_nbobjs_by_type(t, type));
}

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
}

}  // namespace

Result<HostTopology> DiscoverHostTopology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("hwloc_topology_init: {}", std::strerror(errno)));
  }
  std::unique_ptr<hwloc_topology, TopologyCloser> topo(raw);
  if (hwloc_topology_load(raw) != 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("hwloc_topology_load: {}", std::strerror(errno)));
  }
  HostTopology h;
  h.sockets = CountOf(raw, HWLOC_OBJ_PACKAGE);
  h.cores = CountOf(raw, HWLOC_OBJ_CORE);
  h.pus = CountOf(raw, HWLOC_OBJ_PU);
  const int numa = CountOf(raw, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < numa; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(raw, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    if (obj == nullptr) continue;
    HostNumaNode n;
    n.id = static_cast<int>(obj->os_index);
    n.cpus = CpusOf(obj->cpuset);
    if (obj->attr != nullptr) {
      n.memory_mib = static_cast<int64_t>(obj->attr->numanode.local_memory / (1024 * 1024));
    }
    h.numa_nodes.push_back(std::move(n));
  }
  std::sort(h.numa_nodes.begin(), h.numa_nodes.end(),
            [](const HostNumaNode& a, const HostNumaNode& b) { return a.id < b.id; });
  return h;
}

std::string FormatCpuList(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

Result<std::vector<int>> ParseCpuList(std::string_view text) {
  const std::string whole(text);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  constexpr int kMaxCpu = 1 << 20;
  std::vector<int> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t dash = part.find('-');
    int lo = 0, hi = 0;
    const bool ok = dash == std::string_view::npos
                        ? ParseInt(part, &lo) && ParseInt(part, &hi)
                        : ParseInt(part.substr(0, dash), &lo) &&
                              ParseInt(part.substr(dash + 1), &hi);
    if (!ok || hi > kMaxCpu) {
      return InvalidArgument(fmt::format("cpu list \"{}\": \"{}\" is not a CPU number or range",
                                         whole, part));
    }
    if (lo > hi) {
      return InvalidArgument(
          fmt::format("cpu list \"{}\": range {}-{} runs backwards", whole, lo, hi));
    }
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    if (comma != std::string_view::npos && text.empty()) {
      return InvalidArgument(fmt::format("cpu list \"{}\": ends with ','", whole));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

CpuPinning PinCpusForGpus(const HostTopology& topology, const std::vector<int>& gpu_numa_nodes,
                          const std::vector<int>& allowed) {
  CpuPinning p;
  if (gpu_numa_nodes.empty()) {
    p.reason = "the task has no GPUs";
    return p;
  }
  std::vector<int> nodes = gpu_numa_nodes;
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  if (nodes.front() < 0) {
    p.reason = "the NUMA node of a GPU is unknown";
    return p;
  }
  std::vector<int> cpus;
  for (int id : nodes) {
    auto it = std::find_if(topology.numa_nodes.begin(), topology.numa_nodes.end(),
                           [id](const HostNumaNode& n) { return n.id == id; });
    if (it == topology.numa_nodes.end()) {
      p.reason = fmt::format("NUMA node {} is not in the host topology", id);
      return p;
    }
    cpus.insert(cpus.end(), it->cpus.begin(), it->cpus.end());
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  if (!allowed.empty()) {
    std::vector<int> sorted_allowed = allowed;
    std::sort(sorted_allowed.begin(), sorted_allowed.end());
    std::vector<int> both;
    std::set_intersection(cpus.begin(), cpus.end(), sorted_allowed.begin(),
                          sorted_allowed.end(), std::back_inserter(both));
    cpus = std::move(both);
  }
  if (cpus.empty()) {
    p.reason = fmt::format("the agent may use none of the CPUs of NUMA node(s) {}",
                           fmt::join(nodes, ","));
    return p;
  }
  p.cpus = std::move(cpus);
  p.numa_nodes = std::move(nodes);
  return p;
}

std::vector<int> CurrentCpuAffinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

}  // namespace baton::agent
