// Authorization: who may do what, decided from an authenticated Identity, a Permission
// and the queue path of the object (docs/security.md has the table).
//
// Roles: per queue (a binding on a queue covers its whole subtree; "*" covers every
// queue; a top-level queue is a tenant) viewer < submitter < queue-admin; cluster-wide
// cluster-admin (everything) and agent (connect as a node agent, report checkpoints).
//
// Decide() is a pure function (no I/O, no locks) so the tenant x action x resource
// matrix test can call it directly; Access (access.h) applies it to requests and records
// denials.
//
// Thread-safety: values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/v1/auth.pb.h"

namespace baton::server {

// The caller of one request, as authentication established it.
struct Identity {
  std::string user;
  std::string token_id;
  // Where the request came from ("ipv4:127.0.0.1:4711"); for the audit log.
  std::string peer;
  std::vector<v1::RoleBinding> bindings;
  std::optional<Time> token_expires;

  bool cluster_admin() const;
  bool agent() const;
};

enum class Permission {
  kViewJobs,          // see a queue's jobs, their logs and events (viewer)
  kSubmit,            // submit to a queue (submitter)
  kCancelJob,         // cancel a job: its submitter (submitter role), or a queue-admin
  kReportCheckpoint,  // as kCancelJob, or an agent
  kUpdateQueue,       // change a queue: queue-admin of its parent (top level: cluster-admin)
  kViewCluster,       // nodes, queues' existence, overview counts: any user
  kViewMetrics,       // Prometheus /metrics, every queue's counts: viewer on "*"
  kManageNodes,       // drain / undrain: cluster-admin
  kConnectAgent,      // the Agent stream: agent (or cluster-admin)
  kManageAuth,        // users, bindings, other users' tokens: cluster-admin
  kReadAudit,         // the audit log: cluster-admin
};

// "view jobs of", "submit to", ... for messages.
std::string_view PermissionVerb(Permission p);
// "viewer", "submitter", "queue-admin", "cluster-admin", "agent".
std::string_view RoleName(v1::Role role);
// The inverse of RoleName; nullopt for anything else.
std::optional<v1::Role> ParseRole(std::string_view name);
// "submitter@team-a", "cluster-admin".
std::string BindingName(const v1::RoleBinding& b);
// Checks a binding as CreateUser/Bind take it: queue roles need a queue, cluster roles
// none; queue names as QueueTree accepts them, or "*". Errors name `field`.
Status ValidateBinding(const v1::RoleBinding& b, std::string_view field);

// What a request is about.
struct Resource {
  // Root first, the object's queue last (QueueTree::Path); empty for cluster objects.
  std::vector<std::string> queue_path;
  // The job's submitter, for kCancelJob / kReportCheckpoint.
  std::string owner;
  // For messages: "job 42", "queue team-a", "node n1".
  std::string describe;
};

// OK, or PermissionDenied saying who may not do what and which role would allow it.
Status Decide(const Identity& who, Permission p, const Resource& r);

// The subtrees whose jobs `who` may see: nullopt = every queue (cluster-admin, viewer on
// "*"); else the bound queues (possibly none).
std::optional<std::vector<std::string>> ViewableSubtrees(const Identity& who);

}  // namespace baton::server
