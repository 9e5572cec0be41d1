#include "baton/server/authz.h"

#include <fmt/format.h>

#include <algorithm>

namespace baton::server {
namespace {

constexpr std::pair<v1::Role, std::string_view> kRoles[] = {
    {v1::ROLE_VIEWER, "viewer"},
    {v1::ROLE_SUBMITTER, "submitter"},
    {v1::ROLE_QUEUE_ADMIN, "queue-admin"},
    {v1::ROLE_CLUSTER_ADMIN, "cluster-admin"},
    {v1::ROLE_AGENT, "agent"},
};

bool IsQueueRole(v1::Role r) {
  return r == v1::ROLE_VIEWER || r == v1::ROLE_SUBMITTER || r == v1::ROLE_QUEUE_ADMIN;
}

bool HasClusterRole(const Identity& who, v1::Role role) {
  return std::any_of(who.bindings.begin(), who.bindings.end(),
                     [&](const v1::RoleBinding& b) { return b.role() == role; });
}

// Whether `who` holds `min` (or a stronger queue role) on a queue of `path` (the queue or
// an ancestor), or on "*". `skip_last` leaves the queue itself out (parents only).
bool HasQueueRole(const Identity& who, v1::Role min, const std::vector<std::string>& path,
                  bool skip_last = false) {
  const size_t n = skip_last && !path.empty() ? path.size() - 1 : path.size();
  for (const v1::RoleBinding& b : who.bindings) {
    if (!IsQueueRole(b.role()) || b.role() < min) continue;
    if (b.queue() == "*") return true;
    for (size_t i = 0; i < n; ++i) {
      if (path[i] == b.queue()) return true;
    }
  }
  return false;
}

Status Deny(const Identity& who, Permission p, const Resource& r, std::string_view needs) {
  return PermissionDenied(fmt::format("{} may not {} {} (needs {})", who.user, PermissionVerb(p),
                                      r.describe.empty() ? "this" : r.describe, needs));
}

std::string QueueOf(const Resource& r) {
  return r.queue_path.empty() ? std::string("?") : r.queue_path.back();
}

}  // namespace

bool Identity::cluster_admin() const { return HasClusterRole(*this, v1::ROLE_CLUSTER_ADMIN); }
bool Identity::agent() const { return HasClusterRole(*this, v1::ROLE_AGENT); }

std::string_view PermissionVerb(Permission p) {
  switch (p) {
    case Permission::kViewJobs:
      return "view";
    case Permission::kSubmit:
      return "submit to";
    case Permission::kCancelJob:
      return "cancel";
    case Permission::kReportCheckpoint:
      return "report checkpoints for";
    case Permission::kUpdateQueue:
      return "change";
    case Permission::kViewCluster:
      return "view";
    case Permission::kViewMetrics:
      return "read the metrics of";
    case Permission::kManageNodes:
      return "drain or undrain";
    case Permission::kConnectAgent:
      return "connect as an agent to";
    case Permission::kManageAuth:
      return "manage";
    case Permission::kReadAudit:
      return "read";
  }
  return "use";
}

std::string_view RoleName(v1::Role role) {
  for (const auto& [r, name] : kRoles) {
    if (r == role) return name;
  }
  return "unspecified";
}

std::optional<v1::Role> ParseRole(std::string_view name) {
  for (const auto& [r, n] : kRoles) {
    if (n == name) return r;
  }
  return std::nullopt;
}

std::string BindingName(const v1::RoleBinding& b) {
  if (b.queue().empty()) return std::string(RoleName(b.role()));
  return fmt::format("{}@{}", RoleName(b.role()), b.queue());
}

Status ValidateBinding(const v1::RoleBinding& b, std::string_view field) {
  if (!v1::Role_IsValid(b.role()) || b.role() == v1::ROLE_UNSPECIFIED) {
    return InvalidArgument(fmt::format(
        "{}.role: must be viewer, submitter, queue-admin, cluster-admin or agent", field));
  }
  if (IsQueueRole(b.role())) {
    if (b.queue().empty()) {
      return InvalidArgument(fmt::format("{}.queue: {} is a queue role: name a queue (or *)", field,
                                         RoleName(b.role())));
    }
    if (b.queue() == "*") return Status::Ok();
    const bool ok =
        b.queue().size() <= 253 && std::all_of(b.queue().begin(), b.queue().end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
    if (!ok) {
      return InvalidArgument(fmt::format(
          "{}.queue: must be letters, digits, '-', '_' and '.' (at most 253), or *", field));
    }
  } else if (!b.queue().empty()) {
    return InvalidArgument(fmt::format("{}.queue: {} is a cluster role: it takes no queue", field,
                                       RoleName(b.role())));
  }
  return Status::Ok();
}

Status Decide(const Identity& who, Permission p, const Resource& r) {
  if (who.cluster_admin()) return Status::Ok();
  switch (p) {
    case Permission::kViewJobs:
      if (HasQueueRole(who, v1::ROLE_VIEWER, r.queue_path)) return Status::Ok();
      return Deny(who, p, r, fmt::format("viewer on queue {} or above", QueueOf(r)));
    case Permission::kSubmit:
      if (HasQueueRole(who, v1::ROLE_SUBMITTER, r.queue_path)) return Status::Ok();
      return Deny(who, p, r, fmt::format("submitter on queue {} or above", QueueOf(r)));
    case Permission::kReportCheckpoint:
      if (who.agent()) return Status::Ok();
      [[fallthrough]];
    case Permission::kCancelJob:
      if (HasQueueRole(who, v1::ROLE_QUEUE_ADMIN, r.queue_path)) return Status::Ok();
      if (!r.owner.empty() && r.owner == who.user &&
          HasQueueRole(who, v1::ROLE_SUBMITTER, r.queue_path)) {
        return Status::Ok();
      }
      return Deny(who, p, r,
                  fmt::format("to be its submitter with submitter on queue {}, or queue-admin "
                              "there",
                              QueueOf(r)));
    case Permission::kUpdateQueue:
      if (r.queue_path.size() > 1 &&
          HasQueueRole(who, v1::ROLE_QUEUE_ADMIN, r.queue_path, /*skip_last=*/true)) {
        return Status::Ok();
      }
      return Deny(who, p, r,
                  r.queue_path.size() > 1
                      ? fmt::format("queue-admin on its parent {} or above, or cluster-admin",
                                    r.queue_path[r.queue_path.size() - 2])
                      : std::string("cluster-admin: it is a top-level queue"));
    case Permission::kViewCluster:
      if (!who.user.empty()) return Status::Ok();
      return Deny(who, p, r, "a user");
    case Permission::kViewMetrics:
      // An empty path matches only a binding on "*".
      if (HasQueueRole(who, v1::ROLE_VIEWER, {})) return Status::Ok();
      return Deny(who, p, r, "viewer on * or cluster-admin");
    case Permission::kConnectAgent:
      if (who.agent()) return Status::Ok();
      return Deny(who, p, r, "the agent role");
    case Permission::kManageNodes:
    case Permission::kManageAuth:
    case Permission::kReadAudit:
      return Deny(who, p, r, "cluster-admin");
  }
  return Deny(who, p, r, "cluster-admin");
}

std::optional<std::vector<std::string>> ViewableSubtrees(const Identity& who) {
  if (who.cluster_admin()) return std::nullopt;
  std::vector<std::string> out;
  for (const v1::RoleBinding& b : who.bindings) {
    if (!IsQueueRole(b.role())) continue;
    if (b.queue() == "*") return std::nullopt;
    if (std::find(out.begin(), out.end(), b.queue()) == out.end()) out.push_back(b.queue());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace baton::server
