#include "baton/server/queue_tree.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "baton/common/quantity.h"

namespace baton::server {
namespace {

constexpr int32_t kMaxWeight = 1000000;
constexpr int32_t kMaxPriority = 1000;

Result<std::optional<Quantity>> ParseGpus(const std::string& text, std::string_view field) {
  if (text.empty()) return std::optional<Quantity>();
  auto q = Quantity::Parse(text);
  if (!q.ok()) return InvalidArgument(fmt::format("{}: {}", field, q.status().message()));
  if (*q < Quantity()) return InvalidArgument(fmt::format("{}: must be >= 0", field));
  return std::optional<Quantity>(*q);
}

}  // namespace

bool IsQueueName(std::string_view name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string QueueKey(std::string_view name) { return fmt::format("queues/{}", name); }

v1::Queue QueueToProto(const model::QueueSpec& q) {
  v1::Queue p;
  p.set_name(q.name);
  p.set_parent(q.parent);
  if (q.quota_gpus) p.set_quota_gpus(q.quota_gpus->ToString());
  if (q.limit_gpus) p.set_limit_gpus(q.limit_gpus->ToString());
  p.set_weight(q.weight);
  p.set_priority(q.priority);
  return p;
}

Result<model::QueueSpec> QueueFromProto(const v1::Queue& p) {
  model::QueueSpec q;
  q.name = p.name();
  q.parent = p.parent();
  BATON_ASSIGN_OR_RETURN(q.quota_gpus, ParseGpus(p.quota_gpus(), "quota_gpus"));
  BATON_ASSIGN_OR_RETURN(q.limit_gpus, ParseGpus(p.limit_gpus(), "limit_gpus"));
  q.weight = p.weight() == 0 ? 1 : p.weight();
  q.priority = p.priority();
  return q;
}

Status QueueTree::Validate(const std::vector<model::QueueSpec>& specs) {
  if (specs.size() > kMaxQueues) {
    return InvalidArgument(fmt::format("queues: at most {}", kMaxQueues));
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < specs.size(); ++i) {
    const model::QueueSpec& s = specs[i];
    if (!IsQueueName(s.name)) {
      return InvalidArgument(
          fmt::format("queues[{}].name: '{}' must be 1 to 253 letters, digits, '-', '_' and '.'", i,
                      s.name.substr(0, 64)));
    }
    if (!index.emplace(s.name, i).second) {
      return InvalidArgument(fmt::format("queues[{}].name: duplicate queue name '{}'", i, s.name));
    }
    if (s.weight < 1 || s.weight > kMaxWeight) {
      return InvalidArgument(fmt::format("queues[{}].weight: must be between 1 and {}, got {}", i,
                                         kMaxWeight, s.weight));
    }
    if (s.priority < -kMaxPriority || s.priority > kMaxPriority) {
      return InvalidArgument(fmt::format("queues[{}].priority: must be between {} and {}, got {}",
                                         i, -kMaxPriority, kMaxPriority, s.priority));
    }
    for (auto [q, field] :
         {std::pair{&s.quota_gpus, "quota_gpus"}, std::pair{&s.limit_gpus, "limit_gpus"}}) {
      if (*q && **q < Quantity()) {
        return InvalidArgument(fmt::format("queues[{}].{}: must be >= 0", i, field));
      }
    }
    if (s.quota_gpus && s.limit_gpus && *s.limit_gpus < *s.quota_gpus) {
      return InvalidArgument(
          fmt::format("queues[{}].limit_gpus: must be >= quota_gpus ({}), got {}", i,
                      s.quota_gpus->ToString(), s.limit_gpus->ToString()));
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!specs[i].parent.empty() && !index.count(specs[i].parent)) {
      return InvalidArgument(
          fmt::format("queues[{}].parent: no queue named '{}'", i, specs[i].parent));
    }
  }
  for (size_t start = 0; start < specs.size(); ++start) {
    std::vector<size_t> walk;
    for (size_t at = start;;) {
      if (std::find(walk.begin(), walk.end(), at) != walk.end()) {
        std::string text;
        for (auto it = std::find(walk.begin(), walk.end(), at); it != walk.end(); ++it) {
          text += specs[*it].name + " -> ";
        }
        return InvalidArgument(fmt::format("queues: cycle {}{}", text, specs[at].name));
      }
      walk.push_back(at);
      if (specs[at].parent.empty()) break;
      at = index.at(specs[at].parent);
    }
  }
  for (size_t p = 0; p < specs.size(); ++p) {
    if (!specs[p].quota_gpus) continue;
    Quantity sum;
    std::optional<size_t> last;
    for (size_t c = 0; c < specs.size(); ++c) {
      if (specs[c].parent != specs[p].name || !specs[c].quota_gpus) continue;
      sum += *specs[c].quota_gpus;
      last = c;
    }
    if (last && *specs[p].quota_gpus < sum) {
      return InvalidArgument(fmt::format(
          "queues[{}].quota_gpus: children of {} guarantee {} GPUs but {} has {}", *last,
          specs[p].name, sum.ToString(), specs[p].name, specs[p].quota_gpus->ToString()));
    }
  }
  return Status::Ok();
}

Status QueueTree::Set(std::vector<model::QueueSpec> specs) {
  BATON_RETURN_IF_ERROR(Validate(specs));
  std::lock_guard<std::mutex> lock(mu_);
  parent_.clear();
  for (const auto& s : specs) parent_[s.name] = s.parent;
  specs_ = std::move(specs);
  return Status::Ok();
}

std::vector<model::QueueSpec> QueueTree::Specs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return specs_;
}

std::optional<model::QueueSpec> QueueTree::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : specs_) {
    if (s.name == name) return s;
  }
  return std::nullopt;
}

std::vector<std::string> QueueTree::PathLocked(std::string_view queue) const {
  std::vector<std::string> path;
  std::string at(queue.empty() ? std::string_view("default") : queue);
  // The tree is validated acyclic; the bound only guards against a bug.
  for (size_t i = 0; i <= parent_.size(); ++i) {
    path.push_back(at);
    auto it = parent_.find(at);
    if (it == parent_.end() || it->second.empty()) break;
    at = it->second;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::vector<std::string> QueueTree::Path(std::string_view queue) const {
  std::lock_guard<std::mutex> lock(mu_);
  return PathLocked(queue);
}

std::vector<std::string> QueueTree::PathUnder(std::string_view parent,
                                              std::string_view queue) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> path;
  if (!parent.empty()) path = PathLocked(parent);
  path.emplace_back(queue);
  return path;
}

bool QueueTree::Within(std::string_view queue, const std::vector<std::string>& subtrees) const {
  if (subtrees.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  std::string_view at = queue.empty() ? std::string_view("default") : queue;
  for (size_t i = 0; i <= parent_.size(); ++i) {
    if (std::find(subtrees.begin(), subtrees.end(), at) != subtrees.end()) return true;
    auto it = parent_.find(at);
    if (it == parent_.end() || it->second.empty()) return false;
    at = it->second;
  }
  return false;
}

Result<std::vector<model::QueueSpec>> QueueTree::Updated(const v1::UpdateQueueRequest& req) const {
  if (!IsQueueName(req.name())) {
    return InvalidArgument(fmt::format(
        "name: '{}' must be 1 to 253 letters, digits, '-', '_' and '.'", req.name().substr(0, 64)));
  }
  std::vector<model::QueueSpec> specs = Specs();
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&](const model::QueueSpec& s) { return s.name == req.name(); });
  if (it == specs.end()) {
    model::QueueSpec fresh;
    fresh.name = req.name();
    fresh.parent = req.has_parent() ? req.parent() : "";
    specs.push_back(std::move(fresh));
    it = specs.end() - 1;
  } else if (req.has_parent() && req.parent() != it->parent) {
    return InvalidArgument(
        fmt::format("parent: queue {} already has parent '{}'; a queue's "
                    "parent does not change",
                    req.name(), it->parent));
  }
  if (req.has_quota_gpus()) {
    BATON_ASSIGN_OR_RETURN(it->quota_gpus, ParseGpus(req.quota_gpus(), "quota_gpus"));
  }
  if (req.has_limit_gpus()) {
    BATON_ASSIGN_OR_RETURN(it->limit_gpus, ParseGpus(req.limit_gpus(), "limit_gpus"));
  }
  if (req.has_weight()) it->weight = req.weight();
  if (req.has_priority()) it->priority = req.priority();
  const size_t index = static_cast<size_t>(it - specs.begin());
  Status s = Validate(specs);
  if (!s.ok()) {
    // "queues[3].weight: ..." names an index the caller never saw: say the queue instead.
    std::string msg = s.message();
    const std::string own = fmt::format("queues[{}].", index);
    if (msg.rfind(own, 0) == 0) msg = msg.substr(own.size());
    return InvalidArgument(msg);
  }
  return specs;
}

}  // namespace baton::server
