#include "baton/model/cluster.h"

#include <algorithm>
#include <bit>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "baton/model/mig.h"

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
      node.physical_gpus = p.gpus_per_node;
      node.kinds.push_back({type, node.all_gpus_mask()});
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
  // The type named `name`, added on first sight (MIG types carry their profile).
  auto type_of = [&c](const std::string& name, int64_t memory_mib, const std::string& profile,
                      const std::string& node) -> Result<GpuTypeId> {
    GpuTypeId type = c.FindGpuType(name);
    if (type.valid()) return type;
    if (c.gpu_types_.size() >= static_cast<size_t>(kMaxGpuTypes)) {
      return InvalidArgument(fmt::format("node {}: more than {} GPU types in the fleet (MIG "
                                         "profiles count as types)",
                                         node, kMaxGpuTypes));
    }
    type = GpuTypeId(static_cast<uint16_t>(c.gpu_types_.size()));
    c.gpu_types_.push_back({name, memory_mib, profile});
    c.gpus_by_type_.push_back(0);
    c.max_gpus_by_type_.push_back(0);
    if (!profile.empty()) c.mig_types_ |= GpuTypeMask{1} << type.value();
    return type;
  };
  std::vector<std::pair<std::string, RackId>> racks;  // label -> id, in first-seen order
  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeInventory& in = nodes[i];
    if (in.name.empty()) return InvalidArgument(fmt::format("nodes[{}]: name is empty", i));
    for (size_t j = 0; j < i; ++j) {
      if (nodes[j].name == in.name) {
        return InvalidArgument(fmt::format("node {}: registered twice", in.name));
      }
    }
    size_t devices = in.gpus.size();
    for (const auto& g : in.gpus) devices += g.mig_enabled ? g.mig.size() : 0;
    if (in.gpus.empty() || devices > static_cast<size_t>(kMaxGpusPerNode)) {
      return InvalidArgument(fmt::format(
          "node {}: has {} GPUs and {} MIG instances; a schedulable node has 1 to {} devices",
          in.name, in.gpus.size(), devices - in.gpus.size(), kMaxGpusPerNode));
    }
    if (in.gpu_model.empty()) {
      return InvalidArgument(fmt::format("node {}: GPU model is empty", in.name));
    }
    BATON_ASSIGN_OR_RETURN(
        GpuTypeId type,
        type_of(in.gpu_model,
                in.gpus[0].memory_mib > 0 ? in.gpus[0].memory_mib
                                          : DefaultGpuMemoryMib(in.gpu_model),
                "", in.name));
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
    node.physical_gpus = static_cast<int>(in.gpus.size());
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
    uint64_t whole = 0;
    for (size_t g = 0; g < in.gpus.size(); ++g) {
      GpuDevice dev;
      dev.index = static_cast<int>(g);
      dev.uuid = in.gpus[g].uuid;
      dev.type = type;
      dev.memory_mib = in.gpus[g].memory_mib;
      dev.domain = domain_of_label[static_cast<size_t>(labels[g])];
      dev.mig_enabled = in.gpus[g].mig_enabled;
      c.domains_[dev.domain.value()].gpus++;
      node.domain_masks[dev.domain.value() - first_domain] |= uint64_t{1} << g;
      if (!dev.mig_enabled) whole |= uint64_t{1} << g;
      node.gpus.push_back(std::move(dev));
    }
    if (whole != 0) node.kinds.push_back({type, whole});
    // MIG instances, after the GPUs, in GPU order.
    for (size_t g = 0; g < in.gpus.size(); ++g) {
      if (!in.gpus[g].mig_enabled) continue;
      for (size_t m = 0; m < in.gpus[g].mig.size(); ++m) {
        const NodeInventory::MigInstance& mi = in.gpus[g].mig[m];
        if (!IsMigProfile(mi.profile)) {
          return InvalidArgument(fmt::format(
              "node {}: gpus[{}].mig[{}].profile: '{}' is not a MIG profile (like 1g.10gb)",
              in.name, g, m, mi.profile));
        }
        if (mi.uuid.empty()) {
          return InvalidArgument(
              fmt::format("node {}: gpus[{}].mig[{}].uuid: must not be empty", in.name, g, m));
        }
        BATON_ASSIGN_OR_RETURN(
            GpuTypeId mig_type,
            type_of(MigTypeName(in.gpu_model, mi.profile), mi.memory_mib, mi.profile, in.name));
        GpuDevice dev;
        dev.index = static_cast<int>(node.gpus.size());
        dev.uuid = mi.uuid;
        dev.type = mig_type;
        dev.memory_mib = mi.memory_mib;
        dev.domain = node.gpus[g].domain;
        dev.parent = static_cast<int>(g);
        node.domain_masks[dev.domain.value() - first_domain] |= uint64_t{1} << dev.index;
        const uint64_t bit = uint64_t{1} << dev.index;
        auto kind = std::find_if(node.kinds.begin(), node.kinds.end(),
                                 [&](const DeviceKind& k) { return k.type == mig_type; });
        if (kind == node.kinds.end()) {
          node.kinds.push_back({mig_type, bit});
        } else {
          kind->mask |= bit;
        }
        node.gpus.push_back(std::move(dev));
      }
    }
    std::sort(node.kinds.begin(), node.kinds.end(),
              [](const DeviceKind& a, const DeviceKind& b) { return a.type < b.type; });
    c.racks_[rack.value()].nodes.push_back(node.id);
    c.total_gpus_ += node.physical_gpus;
    for (const DeviceKind& k : node.kinds) {
      const int n = std::popcount(k.mask);
      c.gpus_by_type_[k.type.value()] += n;
      c.max_gpus_by_type_[k.type.value()] = std::max(c.max_gpus_by_type_[k.type.value()], n);
    }
    c.nodes_.push_back(std::move(node));
  }
  return c;
}

uint64_t Node::WithMigInstances(uint64_t physical) const {
  uint64_t out = physical;
  for (size_t d = static_cast<size_t>(physical_gpus); d < gpus.size(); ++d) {
    const int p = gpus[d].parent;
    if (p >= 0 && p < 64 && ((physical >> p) & 1)) out |= uint64_t{1} << d;
  }
  return out;
}

GpuTypeMask Cluster::MigTypes(std::string_view profile) const {
  GpuTypeMask out = 0;
  for (size_t i = 0; i < gpu_types_.size(); ++i) {
    if (gpu_types_[i].is_mig() && SameMigProfile(gpu_types_[i].mig_profile, profile)) {
      out |= GpuTypeMask{1} << i;
    }
  }
  return out;
}

std::string Cluster::MigProfileNames() const {
  std::vector<std::string> names;
  for (const auto& t : gpu_types_) {
    if (t.is_mig()) names.push_back(t.mig_profile);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
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

namespace {

// Lower-cased words of a GPU model name, split at spaces, '-' and '_'.
std::vector<std::string> ModelWords(std::string_view name) {
  std::vector<std::string> words(1);
  for (char c : name) {
    if (c == ' ' || c == '-' || c == '_') {
      if (!words.back().empty()) words.emplace_back();
    } else {
      words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

std::vector<GpuTypeId> Cluster::MatchGpuTypes(std::string_view name) const {
  std::vector<GpuTypeId> out;
  if (GpuTypeId exact = FindGpuType(name); exact.valid()) {
    if (!gpu_types_[exact.value()].is_mig()) out.push_back(exact);
    return out;
  }
  const std::vector<std::string> want = ModelWords(name);
  if (want.empty()) return out;
  for (size_t i = 0; i < gpu_types_.size(); ++i) {
    if (gpu_types_[i].is_mig()) continue;
    const std::vector<std::string> have = ModelWords(gpu_types_[i].name);
    // `want` as a contiguous run of `have`'s words.
    for (size_t start = 0; start + want.size() <= have.size(); ++start) {
      if (std::equal(want.begin(), want.end(), have.begin() + static_cast<ptrdiff_t>(start))) {
        out.push_back(GpuTypeId(static_cast<uint16_t>(i)));
        break;
      }
    }
  }
  return out;
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
