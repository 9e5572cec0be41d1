#include "baton/model/cluster.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace baton::model {
namespace {

uint64_t MaskOfFirst(int n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string PoolPath(const NodePoolSpec& pool, size_t i) {
  std::string where = pool.line > 0 ? fmt::format("line {}: ", pool.line) : "";
  return fmt::format("{}pools[{}]", where, i);
}

Status ValidatePool(const NodePoolSpec& p, size_t i) {
  const std::string at = PoolPath(p, i);
  if (p.name.empty()) return InvalidArgument(at + ".name: must not be empty");
  if (p.count <= 0 || p.count > 1000000) {
    return InvalidArgument(fmt::format("{}.count: must be between 1 and 1000000, got {}", at,
                                       p.count));
  }
  if (p.gpu_type.empty()) return InvalidArgument(at + ".gpu_type: must not be empty");
  if (p.gpus_per_node < 1 || p.gpus_per_node > kMaxGpusPerNode) {
    return InvalidArgument(fmt::format("{}.gpus_per_node: must be between 1 and {}, got {}", at,
                                       kMaxGpusPerNode, p.gpus_per_node));
  }
  const int rack = p.nodes_per_rack == 0 ? p.count : p.nodes_per_rack;
  if (rack < 1) {
    return InvalidArgument(
        fmt::format("{}.nodes_per_rack: must be positive, got {}", at, p.nodes_per_rack));
  }
  const int dom = p.nvlink_domain_gpus == 0 ? p.gpus_per_node : p.nvlink_domain_gpus;
  if (dom < 1) {
    return InvalidArgument(fmt::format("{}.nvlink_domain_gpus: must be positive, got {}", at,
                                       p.nvlink_domain_gpus));
  }
  if (dom <= p.gpus_per_node) {
    if (p.gpus_per_node % dom != 0) {
      return InvalidArgument(fmt::format(
          "{}.nvlink_domain_gpus: {} does not divide gpus_per_node {}", at, dom,
          p.gpus_per_node));
    }
  } else {
    if (dom % p.gpus_per_node != 0) {
      return InvalidArgument(fmt::format(
          "{}.nvlink_domain_gpus: {} spans nodes but is not a multiple of gpus_per_node {}", at,
          dom, p.gpus_per_node));
    }
    const int nodes_per_domain = dom / p.gpus_per_node;
    if (rack % nodes_per_domain != 0 || p.count % nodes_per_domain != 0) {
      return InvalidArgument(fmt::format(
          "{}.nvlink_domain_gpus: a domain of {} nodes must divide both nodes_per_rack ({}) "
          "and count ({})",
          at, nodes_per_domain, rack, p.count));
    }
  }
  if (p.gpu_memory_mib < 0) return InvalidArgument(at + ".gpu_memory: must not be negative");
  return Status::Ok();
}

}  // namespace

int64_t DefaultGpuMemoryMib(std::string_view t) {
  struct Entry {
    const char* name;
    int64_t gib;
  };
  static constexpr Entry kTable[] = {
      {"K80", 12},   {"P100", 16},   {"P40", 24},   {"V100", 32},  {"T4", 16},
      {"A10", 24},   {"A100", 80},   {"A100-40GB", 40}, {"A100-80GB", 80}, {"L4", 24},
      {"L40S", 48},  {"H100", 80},   {"H200", 141}, {"B200", 180}, {"GB200", 186},
      {"MI300X", 192},
  };
  for (const auto& e : kTable) {
    if (EqualsIgnoreCase(t, e.name)) return e.gib * 1024;
  }
  return 0;
}

Status CheckNvLinkDomains(const std::vector<int>& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const int d = labels[i];
    if (d < 0 || static_cast<size_t>(d) > i) {
      return InvalidArgument(fmt::format(
          "gpus[{}].nvlink_domain: {} is not a GPU index between 0 and {} (a domain is named "
          "by its lowest GPU index)",
          i, d, i));
    }
    if (labels[static_cast<size_t>(d)] != d) {
      return InvalidArgument(fmt::format(
          "gpus[{}].nvlink_domain: {} names GPU {}, which is in domain {}; a domain is named "
          "by its lowest GPU index",
          i, d, d, labels[static_cast<size_t>(d)]));
    }
  }
  return Status::Ok();
}

Result<Cluster> Cluster::Build(const ClusterSpec& spec) {
  if (spec.pools.empty()) return InvalidArgument("pools: a cluster needs at least one pool");
  Cluster c;
  c.name_ = spec.name;
  c.queues_ = spec.queues;
  for (size_t i = 0; i < spec.pools.size(); ++i) {
    const NodePoolSpec& p = spec.pools[i];
    BATON_RETURN_IF_ERROR(ValidatePool(p, i));
    for (size_t j = 0; j < i; ++j) {
      if (spec.pools[j].name == p.name) {
        return InvalidArgument(fmt::format("{}.name: '{}' is already used by pools[{}]",
                                           PoolPath(p, i), p.name, j));
      }
    }
    GpuTypeId type = c.FindGpuType(p.gpu_type);
    if (!type.valid()) {
      if (c.gpu_types_.size() >= static_cast<size_t>(kMaxGpuTypes)) {
        return InvalidArgument(fmt::format("{}.gpu_type: more than {} GPU types",
                                           PoolPath(p, i), kMaxGpuTypes));
      }
      type = GpuTypeId(static_cast<uint16_t>(c.gpu_types_.size()));
      int64_t mem = p.gpu_memory_mib > 0 ? p.gpu_memory_mib : DefaultGpuMemoryMib(p.gpu_type);
      c.gpu_types_.push_back({p.gpu_type, mem});
      c.gpus_by_type_.push_back(0);
      c.max_gpus_by_type_.push_back(0);
    }
    const int64_t mem = p.gpu_memory_mib > 0 ? p.gpu_memory_mib
                                              : c.gpu_types_[type.value()].memory_mib;
    const int per_rack = p.nodes_per_rack == 0 ? p.count : p.nodes_per_rack;
    const int dom = p.nvlink_domain_gpus == 0 ? p.gpus_per_node : p.nvlink_domain_gpus;
    const bool spans = dom > p.gpus_per_node;
    const int nodes_per_domain = spans ? dom / p.gpus_per_node : 1;
    const int domains_per_node = spans ? 1 : p.gpus_per_node / dom;
    for (int n = 0; n < p.count; ++n) {
      if (n % per_rack == 0) {
        Rack r;
        r.id = RackId(static_cast<uint32_t>(c.racks_.size()));
        r.name = fmt::format("{}-rack{}", p.name, n / per_rack);
        r.gpu_type = type;
        c.racks_.push_back(std::move(r));
      }
      Node node;
      node.id = NodeId(static_cast<uint32_t>(c.nodes_.size()));
      node.name = fmt::format("{}-{}", p.name, n);
      node.pool = p.name;
      node.rack = c.racks_.back().id;
      node.gpu_type = type;
      node.cpus = p.cpus_per_node;
      node.memory_mib = p.memory_mib_per_node;
      if (spans && n % nodes_per_domain == 0) {
        Domain d;
        d.id = DomainId(static_cast<uint32_t>(c.domains_.size()));
        d.gpu_type = type;
        d.spans_nodes = true;
        c.domains_.push_back(std::move(d));
      }
      std::vector<DomainId> local;
      if (spans) {
        node.multi_node_domain = c.domains_.back().id;
        c.domains_.back().nodes.push_back(node.id);
        c.domains_.back().gpus += p.gpus_per_node;
        local.push_back(node.multi_node_domain);
        node.domain_masks.push_back(MaskOfFirst(p.gpus_per_node));
      } else {
        for (int d = 0; d < domains_per_node; ++d) {
          Domain dm;
          dm.id = DomainId(static_cast<uint32_t>(c.domains_.size()));
          dm.gpu_type = type;
          dm.nodes.push_back(node.id);
          dm.gpus = dom;
          local.push_back(dm.id);
          c.domains_.push_back(std::move(dm));
          uint64_t mask = 0;
          for (int g = d * dom; g < (d + 1) * dom; ++g) mask |= uint64_t{1} << g;
          node.domain_masks.push_back(mask);
        }
      }
      for (int g = 0; g < p.gpus_per_node; ++g) {
        GpuDevice dev;
        dev.index = g;
        dev.uuid = fmt::format("GPU-{}-{}", node.name, g);
        dev.type = type;
        dev.memory_mib = mem;
        dev.domain = spans ? local[0] : local[g / dom];
        node.gpus.push_back(std::move(dev));
      }
      c.racks_.back().nodes.push_back(node.id);
      c.total_gpus_ += p.gpus_per_node;
      c.gpus_by_type_[type.value()] += p.gpus_per_node;
      c.max_gpus_by_type_[type.value()] =
          std::max(c.max_gpus_by_type_[type.value()], p.gpus_per_node);
      c.nodes_.push_back(std::move(node));
    }
  }
  return c;
}

Result<Cluster> Cluster::FromNodes(const std::vector<NodeInventory>& nodes) {
  Cluster c;
  c.name_ = "fleet";
  std::vector<std::pair<std::string, RackId>> racks;  // label -> id, in first-seen order
  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeInventory& in = nodes[i];
    if (in.name.empty()) return InvalidArgument(fmt::format("nodes[{}]: name is empty", i));
    for (size_t j = 0; j < i; ++j) {
      if (nodes[j].name == in.name) {
        return InvalidArgument(fmt::format("node {}: registered twice", in.name));
      }
    }
    if (in.gpus.empty() || in.gpus.size() > static_cast<size_t>(kMaxGpusPerNode)) {
      return InvalidArgument(fmt::format("node {}: has {} GPUs; a schedulable node has 1 to {}",
                                         in.name, in.gpus.size(), kMaxGpusPerNode));
    }
    if (in.gpu_model.empty()) {
      return InvalidArgument(fmt::format("node {}: GPU model is empty", in.name));
    }
    GpuTypeId type = c.FindGpuType(in.gpu_model);
    if (!type.valid()) {
      if (c.gpu_types_.size() >= static_cast<size_t>(kMaxGpuTypes)) {
        return InvalidArgument(fmt::format("node {}: more than {} GPU types in the fleet",
                                           in.name, kMaxGpuTypes));
      }
      type = GpuTypeId(static_cast<uint16_t>(c.gpu_types_.size()));
      int64_t mem = in.gpus[0].memory_mib > 0 ? in.gpus[0].memory_mib
                                              : DefaultGpuMemoryMib(in.gpu_model);
      c.gpu_types_.push_back({in.gpu_model, mem});
      c.gpus_by_type_.push_back(0);
      c.max_gpus_by_type_.push_back(0);
    }
    const std::string rack_name = in.rack.empty() ? "default" : in.rack;
    // A scheduler rack holds one GPU type (sched::ClusterState sizes its per-rack books by
    // the rack's type), so a label shared by nodes of several models is one rack per model.
    RackId rack;
    for (const auto& [name, id] : racks) {
      if (name == rack_name && c.racks_[id.value()].gpu_type == type) rack = id;
    }
    if (!rack.valid()) {
      Rack r;
      r.id = RackId(static_cast<uint32_t>(c.racks_.size()));
      r.name = rack_name;
      r.gpu_type = type;
      racks.emplace_back(rack_name, r.id);
      rack = r.id;
      c.racks_.push_back(std::move(r));
    }
    Node node;
    node.id = NodeId(static_cast<uint32_t>(c.nodes_.size()));
    node.name = in.name;
    node.pool = "agents";
    node.rack = rack;
    node.gpu_type = type;
    node.cpus = in.cpus;
    node.memory_mib = in.memory_mib;
    std::vector<int> labels;
    for (const auto& g : in.gpus) labels.push_back(g.nvlink_domain);
    if (Status st = CheckNvLinkDomains(labels); !st.ok()) {
      return InvalidArgument(fmt::format("node {}: {}", in.name, st.message()));
    }
    // One domain per distinct label; labels are GPU indices, so index order is label order.
    std::vector<DomainId> domain_of_label(in.gpus.size());
    for (size_t g = 0; g < in.gpus.size(); ++g) {
      if (labels[g] != static_cast<int>(g)) continue;
      Domain dm;
      dm.id = DomainId(static_cast<uint32_t>(c.domains_.size()));
      dm.gpu_type = type;
      dm.nodes.push_back(node.id);
      domain_of_label[g] = dm.id;
      c.domains_.push_back(std::move(dm));
      node.domain_masks.push_back(0);
    }
    const uint32_t first_domain = domain_of_label[0].value();
    for (size_t g = 0; g < in.gpus.size(); ++g) {
      GpuDevice dev;
      dev.index = static_cast<int>(g);
      dev.uuid = in.gpus[g].uuid;
      dev.type = type;
      dev.memory_mib = in.gpus[g].memory_mib;
      dev.domain = domain_of_label[static_cast<size_t>(labels[g])];
      c.domains_[dev.domain.value()].gpus++;
      node.domain_masks[dev.domain.value() - first_domain] |= uint64_t{1} << g;
      node.gpus.push_back(std::move(dev));
    }
    c.racks_[rack.value()].nodes.push_back(node.id);
    const int n = node.gpu_count();
    c.total_gpus_ += n;
    c.gpus_by_type_[type.value()] += n;
    c.max_gpus_by_type_[type.value()] = std::max(c.max_gpus_by_type_[type.value()], n);
    c.nodes_.push_back(std::move(node));
  }
  return c;
}

Result<Cluster> Cluster::Homogeneous(int32_t nodes, int32_t gpus_per_node, std::string gpu_type,
                                     int32_t nodes_per_rack) {
  ClusterSpec spec;
  spec.name = "homogeneous";
  NodePoolSpec pool;
  pool.name = "node";
  pool.count = nodes;
  pool.gpu_type = std::move(gpu_type);
  pool.gpus_per_node = gpus_per_node;
  pool.nodes_per_rack = nodes_per_rack;
  spec.pools.push_back(std::move(pool));
  return Build(spec);
}

GpuTypeId Cluster::FindGpuType(std::string_view name) const {
  for (size_t i = 0; i < gpu_types_.size(); ++i) {
    if (EqualsIgnoreCase(gpu_types_[i].name, name)) return GpuTypeId(static_cast<uint16_t>(i));
  }
  return GpuTypeId::Invalid();
}

std::string Cluster::GpuTypeNames() const {
  std::vector<std::string> names;
  for (const auto& t : gpu_types_) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, ", "));
}

GpuTypeMask Cluster::all_types_mask() const {
  return gpu_types_.size() >= 64 ? kAllGpuTypes : (GpuTypeMask{1} << gpu_types_.size()) - 1;
}

int Cluster::max_gpus_per_node() const {
  return max_gpus_by_type_.empty()
             ? 0
             : *std::max_element(max_gpus_by_type_.begin(), max_gpus_by_type_.end());
}

}  // namespace baton::model
