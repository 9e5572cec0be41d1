// Who a task runs as, and its private directories (docs/isolation.md).
//
// TaskUserPolicy is the node's rule, from baton-agent's flags:
//   - a job's tasks run as the local account named like the job's submitter
//     (StartTask.run_as_user) when the operator allows mapping (--map-users) and the
//     submitter is known;
//   - otherwise as the service user (--task-user, a name or a numeric uid; default
//     "nobody", uid 65534 where the system has no such account);
//   - never as root unless the operator opted in (--allow-root-tasks).
// A mapped user that does not exist on the node, or a service user that does not exist,
// is an error naming the user: the task fails to start with that message.
//
// An agent that is not root cannot change users: its tasks run as the agent's own user,
// whatever the policy (that user is not root, so "never root by default" still holds).
//
// PrivateDir makes a directory that belongs to the task: created if missing (parents
// root-owned 0755 as usual), the leaf owned by the task's uid/gid with mode 0700. It
// never follows a symlink at the leaf and never takes over a directory that exists and
// belongs to someone else (an error naming the owner), so a checkpoint_dir such as /etc
// cannot be handed to a task.
//
// Not responsible for switching users (ProcessLauncher does, in the child before exec,
// with ProcessSpec::run_as). Thread-safety: pure functions apart from the system's user
// database (getpwnam_r and friends are thread-safe).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::agent {

struct TaskUserPolicy {
  // A user name or a numeric uid; "" = "nobody" (65534 when the system has none).
  std::string service_user;
  bool map_users = false;
  bool allow_root = false;
};

struct TaskCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string user;           // account name ("" for a uid without an account)
  std::string home;           // its home directory ("" when unknown)
  // False when the agent cannot switch users (not root): the task runs as the agent.
  bool switch_user = true;
};

// The credentials a task of a job submitted by `run_as_user` ("" = unknown) runs with.
Result<TaskCredentials> ResolveTaskUser(const TaskUserPolicy& policy,
                                        const std::string& run_as_user);

// Validates a policy at agent start: the service user exists (or is a number) and is not
// root without allow_root. Errors name the flag.
Status CheckTaskUserPolicy(const TaskUserPolicy& policy);

// Creates (or adopts) `dir` as a directory private to the task: mode 0700, owned by
// `creds` (when they switch users). Errors: a path component is a symlink at the leaf, the
// leaf exists and is not a directory, or belongs to another uid.
Status PrivateDir(const std::string& dir, const TaskCredentials& creds);

}  // namespace baton::agent
