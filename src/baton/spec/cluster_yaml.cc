#include "baton/spec/cluster_yaml.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "baton/common/limits.h"
#include "baton/spec/yaml_util.h"

namespace baton::spec {
namespace {

using model::ClusterSpec;
using model::NodePoolSpec;
using model::QueueSpec;

const std::vector<std::string_view> kClusterFields = {"name", "pools", "queues"};
const std::vector<std::string_view> kPoolFields = {
    "name",           "count",          "gpu_type",      "gpus_per_node",      "nvlink_domain_gpus",
    "nodes_per_rack", "gpu_memory_gib", "cpus_per_node", "memory_gib_per_node"};
const std::vector<std::string_view> kQueueFields = {"name",       "parent", "quota_gpus",
                                                    "limit_gpus", "weight", "priority"};

// Ranges. Pool sizes are bounded so products (count x gpus) fit comfortably in int32.
constexpr int64_t kMaxNodesPerPool = 100000;
constexpr int64_t kMaxGpusPerNode = 64;
constexpr int64_t kMaxGpuMemoryGib = 4096;
constexpr int64_t kMaxCpusPerNode = 65536;
constexpr int64_t kMaxMemoryGibPerNode = 1 << 20;
constexpr int64_t kMaxQueueWeight = 1000000;
constexpr int64_t kMaxQueuePriority = 1000;
constexpr int64_t kMebibytesPerGibibyte = 1024;

// Pool names become node names ("<pool>-<index>"), so they stay DNS-label-like.
constexpr size_t kMaxPoolNameLength = 63;
bool IsPoolName(std::string_view s) {
  return !s.empty() && s.size() <= kMaxPoolNameLength && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Queue names also arrive from traces (Philly's virtual cluster ids), so a little wider.
bool IsQueueName(std::string_view s) {
  return !s.empty() && s.size() <= limits::kMaxNameLength && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// A required field that was left out (or given as null), reported at its parent's line.
Status Missing(const SpecReader& r, const Field& parent, std::string_view key,
               std::string_view hint = "") {
  return r.Error(parent.line, JoinPath(parent.path, key),
                 hint.empty() ? std::string("is required") : fmt::format("is required; {}", hint));
}

// Parses one entry of `pools:` and checks its own fields and their combination.
Result<NodePoolSpec> ParsePool(const SpecReader& r, const Field& item) {
  NodePoolSpec pool;
  pool.line = item.line;
  BATON_ASSIGN_OR_RETURN(std::vector<Field> entries, r.Entries(item, kPoolFields));
  std::map<std::string, Field> given;  // non-null fields, for cross-field messages
  for (const Field& f : entries) {
    if (f.is_null()) continue;  // null = not given
    given.emplace(f.key, f);
    if (f.key == "name") {
      BATON_ASSIGN_OR_RETURN(pool.name, r.String(f));
      if (!IsPoolName(pool.name)) {
        return r.Error(f, fmt::format("must be 1 to {} lowercase letters, digits and '-', got '{}'",
                                      kMaxPoolNameLength, pool.name.substr(0, 100)));
      }
    } else if (f.key == "count") {
      BATON_ASSIGN_OR_RETURN(pool.count, r.Int(f, 1, kMaxNodesPerPool));
    } else if (f.key == "gpu_type") {
      BATON_ASSIGN_OR_RETURN(pool.gpu_type, r.String(f));
      if (pool.gpu_type.empty()) return r.Error(f, "must not be empty");
      if (pool.gpu_type.size() > limits::kMaxNameLength) {
        return r.Error(f, fmt::format("{} bytes; at most {}", pool.gpu_type.size(),
                                      limits::kMaxNameLength));
      }
    } else if (f.key == "gpus_per_node") {
      BATON_ASSIGN_OR_RETURN(pool.gpus_per_node, r.Int(f, 1, kMaxGpusPerNode));
    } else if (f.key == "nvlink_domain_gpus") {
      BATON_ASSIGN_OR_RETURN(pool.nvlink_domain_gpus,
                             r.Int(f, 1, kMaxNodesPerPool * kMaxGpusPerNode));
    } else if (f.key == "nodes_per_rack") {
      BATON_ASSIGN_OR_RETURN(pool.nodes_per_rack, r.Int(f, 1, kMaxNodesPerPool));
    } else if (f.key == "gpu_memory_gib") {
      BATON_ASSIGN_OR_RETURN(int64_t gib, r.Int(f, 1, kMaxGpuMemoryGib));
      pool.gpu_memory_mib = gib * kMebibytesPerGibibyte;
    } else if (f.key == "cpus_per_node") {
      BATON_ASSIGN_OR_RETURN(pool.cpus_per_node, r.Int(f, 1, kMaxCpusPerNode));
    } else if (f.key == "memory_gib_per_node") {
      BATON_ASSIGN_OR_RETURN(int64_t gib, r.Int(f, 1, kMaxMemoryGibPerNode));
      pool.memory_mib_per_node = gib * kMebibytesPerGibibyte;
    }
  }
  for (std::string_view key : {"name", "count", "gpu_type", "gpus_per_node"}) {
    if (!given.count(std::string(key))) return Missing(r, item, key);
  }

  // Racks: at most the whole pool; the default is one rack holding every node.
  if (pool.nodes_per_rack == 0) {
    pool.nodes_per_rack = pool.count;
  } else if (pool.nodes_per_rack > pool.count) {
    return r.Error(given.at("nodes_per_rack"), fmt::format("must be at most count ({}), got {}",
                                                           pool.count, pool.nodes_per_rack));
  }

  // NVLink domains: part of a node (dividing it evenly), one node, or several whole nodes
  // of one rack (dividing the rack evenly), as NVL72 racks do.
  if (pool.nvlink_domain_gpus == 0) {
    pool.nvlink_domain_gpus = pool.gpus_per_node;
  } else {
    const int32_t g = pool.gpus_per_node;
    const int32_t d = pool.nvlink_domain_gpus;
    const int64_t rack_gpus = int64_t{pool.nodes_per_rack} * g;
    bool ok = d <= g ? g % d == 0 : (d % g == 0 && rack_gpus % d == 0);
    if (!ok) {
      return r.Error(given.at("nvlink_domain_gpus"),
                     fmt::format("must divide gpus_per_node ({}), or be a multiple of it that "
                                 "divides the GPUs of a rack ({} nodes x {} = {}), got {}",
                                 g, pool.nodes_per_rack, g, rack_gpus, d));
    }
    // A domain of several nodes must not be cut by a short last rack either (count not a
    // multiple of nodes_per_rack): model::Cluster::Build refuses such a pool.
    const int32_t nodes_per_domain = d / g;
    if (d > g && pool.count % nodes_per_domain != 0) {
      return r.Error(given.at("nvlink_domain_gpus"),
                     fmt::format("a domain of {} GPUs spans {} nodes, which must also divide "
                                 "count ({}): a short last rack would split a domain",
                                 d, nodes_per_domain, pool.count));
    }
  }
  return pool;
}

// Lines of the queue fields that cross-queue checks point at.
struct QueueLines {
  int name = 0;
  int parent = 0;
  int quota = 0;
};

// Parses one entry of `queues:` and checks its own fields.
Result<QueueSpec> ParseQueue(const SpecReader& r, const Field& item, QueueLines* lines) {
  QueueSpec queue;
  queue.line = item.line;
  *lines = QueueLines{item.line, item.line, item.line};
  BATON_ASSIGN_OR_RETURN(std::vector<Field> entries, r.Entries(item, kQueueFields));
  std::map<std::string, Field> given;
  for (const Field& f : entries) {
    if (f.is_null()) continue;
    given.emplace(f.key, f);
    if (f.key == "name") {
      BATON_ASSIGN_OR_RETURN(queue.name, r.String(f));
      if (!IsQueueName(queue.name)) {
        return r.Error(f, fmt::format("must be 1 to {} letters, digits, '-', '_' and '.', got '{}'",
                                      limits::kMaxNameLength, queue.name.substr(0, 100)));
      }
      lines->name = f.line;
    } else if (f.key == "parent") {
      BATON_ASSIGN_OR_RETURN(queue.parent, r.String(f));
      if (queue.parent.empty()) return r.Error(f, "must not be empty (leave it out instead)");
      if (queue.parent.size() > limits::kMaxNameLength) {
        return r.Error(f, fmt::format("{} bytes; at most {}", queue.parent.size(),
                                      limits::kMaxNameLength));
      }
      lines->parent = f.line;
    } else if (f.key == "quota_gpus" || f.key == "limit_gpus") {
      BATON_ASSIGN_OR_RETURN(Quantity q, r.QuantityValue(f));
      if (q < Quantity()) return r.Error(f, fmt::format("must be >= 0, got {}", q.ToString()));
      if (f.key == "quota_gpus") {
        queue.quota_gpus = q;
        lines->quota = f.line;
      } else {
        queue.limit_gpus = q;
      }
    } else if (f.key == "weight") {
      BATON_ASSIGN_OR_RETURN(queue.weight, r.Int(f, 1, kMaxQueueWeight));
    } else if (f.key == "priority") {
      BATON_ASSIGN_OR_RETURN(queue.priority, r.Int(f, -kMaxQueuePriority, kMaxQueuePriority));
    }
  }
  if (!given.count("name")) return Missing(r, item, "name");
  if (queue.quota_gpus && queue.limit_gpus && *queue.limit_gpus < *queue.quota_gpus) {
    return r.Error(given.at("limit_gpus"),
                   fmt::format("must be >= quota_gpus ({}), got {}", queue.quota_gpus->ToString(),
                               queue.limit_gpus->ToString()));
  }
  return queue;
}

// Checks the queue tree: unique names, parents that exist, no cycles, and children whose
// guaranteed GPUs fit in their parent's guarantee. Queues are visited in file order so the
// first problem in the file is the one reported.
Status ValidateQueueTree(const SpecReader& r, const std::vector<QueueSpec>& queues,
                         const std::vector<QueueLines>& lines) {
  std::map<std::string, size_t> index;
  std::vector<std::string_view> names;
  for (size_t i = 0; i < queues.size(); ++i) {
    auto [pos, inserted] = index.emplace(queues[i].name, i);
    if (!inserted) {
      return r.Error(lines[i].name, fmt::format("queues[{}].name", i),
                     fmt::format("duplicate queue name '{}' (first at line {})", queues[i].name,
                                 lines[pos->second].name));
    }
    names.push_back(queues[i].name);
  }
  for (size_t i = 0; i < queues.size(); ++i) {
    const std::string& parent = queues[i].parent;
    if (parent.empty() || index.count(parent)) continue;
    std::string suggestion = SuggestName(parent, names);
    return r.Error(
        lines[i].parent, fmt::format("queues[{}].parent", i),
        fmt::format("no queue named '{}'{}", parent,
                    suggestion.empty() ? "" : fmt::format("; did you mean {}?", suggestion)));
  }

  // Each queue has at most one parent, so following parents from every queue finds every
  // cycle. `acyclic[i]` marks queues already known to lead to a root.
  std::vector<bool> acyclic(queues.size(), false);
  for (size_t start = 0; start < queues.size(); ++start) {
    std::vector<size_t> walk;
    size_t at = start;
    while (true) {
      if (acyclic[at]) break;
      auto seen = std::find(walk.begin(), walk.end(), at);
      if (seen != walk.end()) {
        // Report the cycle starting from its member that comes first in the file.
        std::vector<size_t> cycle(seen, walk.end());
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        std::string text;
        for (size_t q : cycle) text += queues[q].name + " -> ";
        text += queues[cycle.front()].name;
        return r.Error(lines[cycle.front()].parent, "queues", fmt::format("cycle {}", text));
      }
      walk.push_back(at);
      if (queues[at].parent.empty()) break;
      at = index.at(queues[at].parent);
    }
    for (size_t q : walk) acyclic[q] = true;
  }

  // Children's guarantees must fit in the parent's guarantee, when it has one. The error
  // points at the last child with a quota: the one that completes the over-commitment.
  for (size_t p = 0; p < queues.size(); ++p) {
    if (!queues[p].quota_gpus) continue;
    Quantity sum;
    std::optional<size_t> last_child;
    for (size_t c = 0; c < queues.size(); ++c) {
      if (queues[c].parent != queues[p].name || !queues[c].quota_gpus) continue;
      sum += *queues[c].quota_gpus;
      last_child = c;
    }
    if (last_child && sum > *queues[p].quota_gpus) {
      return r.Error(lines[*last_child].quota, fmt::format("queues[{}].quota_gpus", *last_child),
                     fmt::format("children of {} guarantee {} GPUs but {} has {}", queues[p].name,
                                 sum.ToString(), queues[p].name, queues[p].quota_gpus->ToString()));
    }
  }
  return Status::Ok();
}

Result<ClusterSpec> ParseCluster(const SpecReader& r, std::string_view text,
                                 bool require_pools = true) {
  BATON_ASSIGN_OR_RETURN(Field root,
                         r.ParseDocument(text, "a cluster spec (a mapping with pools:)"));
  BATON_ASSIGN_OR_RETURN(std::vector<Field> entries, r.Entries(root, kClusterFields));
  ClusterSpec spec;
  bool has_pools = false;
  std::vector<QueueLines> queue_lines;
  for (const Field& f : entries) {
    if (f.is_null()) continue;
    if (f.key == "name") {
      BATON_ASSIGN_OR_RETURN(spec.name, r.String(f));
      if (spec.name.size() > limits::kMaxNameLength) {
        return r.Error(f, fmt::format("{} bytes; at most {}", spec.name.size(),
                                      limits::kMaxNameLength));
      }
    } else if (f.key == "pools") {
      has_pools = true;
      BATON_ASSIGN_OR_RETURN(std::vector<Field> items, r.Items(f));
      if (items.empty()) return r.Error(f, "must list at least one node pool");
      if (items.size() > limits::kMaxPools) {
        return r.Error(f, fmt::format("{} node pools; at most {}", items.size(),
                                      limits::kMaxPools));
      }
      int64_t nodes = 0;
      std::map<std::string, int> first_line;
      for (const Field& item : items) {
        BATON_ASSIGN_OR_RETURN(NodePoolSpec pool, ParsePool(r, item));
        nodes += pool.count;
        if (nodes > limits::kMaxClusterNodes) {
          return r.Error(pool.line, JoinPath(item.path, "count"),
                         fmt::format("the pools hold more than {} nodes in all",
                                     limits::kMaxClusterNodes));
        }
        auto [pos, inserted] = first_line.emplace(pool.name, pool.line);
        if (!inserted) {
          return r.Error(
              pool.line, JoinPath(item.path, "name"),
              fmt::format("duplicate pool name '{}' (first at line {})", pool.name, pos->second));
        }
        spec.pools.push_back(std::move(pool));
      }
    } else if (f.key == "queues") {
      BATON_ASSIGN_OR_RETURN(std::vector<Field> items, r.Items(f));
      if (items.size() > limits::kMaxQueues) {
        return r.Error(f, fmt::format("{} queues; at most {}", items.size(), limits::kMaxQueues));
      }
      for (const Field& item : items) {
        QueueLines lines;
        BATON_ASSIGN_OR_RETURN(QueueSpec queue, ParseQueue(r, item, &lines));
        spec.queues.push_back(std::move(queue));
        queue_lines.push_back(lines);
      }
    }
  }
  if (!has_pools && require_pools) {
    return Missing(r, root, "pools", "list at least one node pool");
  }
  BATON_RETURN_IF_ERROR(ValidateQueueTree(r, spec.queues, queue_lines));
  return spec;
}

}  // namespace

Result<ClusterSpec> ParseClusterYaml(std::string_view text, std::string_view source) {
  SpecReader reader(source);
  ClusterSpec spec;
  Status status = GuardYaml(source, [&]() -> Status {
    BATON_ASSIGN_OR_RETURN(spec, ParseCluster(reader, text));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return spec;
}

Result<ClusterSpec> LoadClusterYaml(const std::string& path) {
  BATON_ASSIGN_OR_RETURN(std::string text, ReadFileText(path));
  return ParseClusterYaml(text, path);
}

Result<std::vector<model::QueueSpec>> LoadQueuesYaml(const std::string& path) {
  BATON_ASSIGN_OR_RETURN(std::string text, ReadFileText(path));
  SpecReader reader(path);
  ClusterSpec spec;
  Status status = GuardYaml(path, [&]() -> Status {
    BATON_ASSIGN_OR_RETURN(spec, ParseCluster(reader, text, /*require_pools=*/false));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return spec.queues;
}

}  // namespace baton::spec
