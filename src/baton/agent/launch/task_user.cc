#include "baton/agent/launch/task_user.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace baton::agent {
namespace {

constexpr uid_t kNobodyUid = 65534;
constexpr size_t kMaxUserName = 32;

// POSIX-portable account names (plus '.'), as useradd accepts them by default.
bool IsUserName(const std::string& s) {
  if (s.empty() || s.size() > kMaxUserName || s[0] == '-') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Looks an account up by name or uid; nullopt-like (ok=false) when there is none.
struct Account {
  bool found = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  std::string home;
};

Account Lookup(const std::string* name, uid_t uid) {
  struct passwd pw;
  struct passwd* out = nullptr;
  std::vector<char> buf(16384);
  int rc = name ? getpwnam_r(name->c_str(), &pw, buf.data(), buf.size(), &out)
                : getpwuid_r(uid, &pw, buf.data(), buf.size(), &out);
  Account a;
  if (rc != 0 || out == nullptr) return a;
  a.found = true;
  a.uid = pw.pw_uid;
  a.gid = pw.pw_gid;
  a.name = pw.pw_name;
  a.home = pw.pw_dir ? pw.pw_dir : "";
  return a;
}

std::vector<gid_t> GroupsOf(const Account& a) {
  if (a.name.empty()) return {};
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(a.name.c_str(), a.gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (getgrouplist(a.name.c_str(), a.gid, groups.data(), &n) < 0) return {a.gid};
  }
  groups.resize(static_cast<size_t>(n));
  return groups;
}

TaskCredentials FromAccount(const Account& a) {
  TaskCredentials c;
  c.uid = a.uid;
  c.gid = a.gid;
  c.user = a.name;
  c.home = a.home;
  c.groups = GroupsOf(a);
  return c;
}

// The service user: a name, a number, or "" for nobody.
Result<TaskCredentials> ServiceUser(const std::string& spec) {
  const std::string name = spec.empty() ? "nobody" : spec;
  uid_t uid = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), uid);
  if (ec == std::errc() && p == name.data() + name.size()) {
    Account a = Lookup(nullptr, uid);
    if (a.found) return FromAccount(a);
    TaskCredentials c;  // a bare uid: its own group, no supplementary groups
    c.uid = uid;
    c.gid = static_cast<gid_t>(uid);
    return c;
  }
  if (!IsUserName(name)) {
    return InvalidArgument(fmt::format("--task-user: '{}' is not a user name or uid", name));
  }
  Account a = Lookup(&name, 0);
  if (a.found) return FromAccount(a);
  if (spec.empty()) {  // no "nobody" account: the conventional overflow uid
    TaskCredentials c;
    c.uid = kNobodyUid;
    c.gid = kNobodyUid;
    c.user = "nobody";
    return c;
  }
  return Status(StatusCode::kNotFound,
                fmt::format("--task-user: user '{}' does not exist on this node", name));
}

// Whether the directory open at `fd` has no entries besides . and ..
bool EmptyDir(int fd) {
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return false;
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return false;
  }
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

Result<TaskCredentials> ResolveTaskUser(const TaskUserPolicy& policy,
                                        const std::string& run_as_user) {
  if (::geteuid() != 0) {
    // Cannot switch: run as the agent's own (unprivileged) user.
    Account self = Lookup(nullptr, ::geteuid());
    TaskCredentials c;
    c.uid = ::geteuid();
    c.gid = ::getegid();
    c.user = self.name;
    c.home = self.home;
    c.switch_user = false;
    return c;
  }
  TaskCredentials creds;
  if (policy.map_users && !run_as_user.empty()) {
    if (!IsUserName(run_as_user)) {
      return InvalidArgument(
          fmt::format("run_as_user: '{}' is not a valid user name", run_as_user.substr(0, 64)));
    }
    Account a = Lookup(&run_as_user, 0);
    if (!a.found) {
      return Status(StatusCode::kNotFound,
                    fmt::format("user '{}' (the job's submitter) has no account on this node",
                                run_as_user));
    }
    creds = FromAccount(a);
  } else {
    BATON_ASSIGN_OR_RETURN(creds, ServiceUser(policy.service_user));
  }
  if (creds.uid == 0 && !policy.allow_root) {
    return Status(StatusCode::kFailedPrecondition,
                  fmt::format("tasks may not run as root on this node (user '{}'); the agent "
                              "allows it only with --allow-root-tasks",
                              creds.user.empty() ? "0" : creds.user));
  }
  return creds;
}

Status CheckTaskUserPolicy(const TaskUserPolicy& policy) {
  if (::geteuid() != 0) return Status::Ok();
  auto c = ServiceUser(policy.service_user);
  if (!c.ok()) return c.status();
  if (c->uid == 0 && !policy.allow_root) {
    return InvalidArgument(
        "--task-user: tasks would run as root; pass --allow-root-tasks to allow it");
  }
  return Status::Ok();
}

Status PrivateDir(const std::string& dir, const TaskCredentials& creds) {
  namespace fs = std::filesystem;
  const fs::path path(dir);
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) return Internal(fmt::format("create {}: {}", path.parent_path().string(), ec.message()));
  const bool created = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) {
    return Internal(fmt::format("mkdir {}: {}", dir, std::strerror(errno)));
  }
  // O_NOFOLLOW: a symlink at the leaf is refused, not followed.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return FailedPrecondition(fmt::format("{}: not a directory the agent can use ({})", dir,
                                          std::strerror(errno)));
  }
  struct stat st;
  Status result = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    result = Internal(fmt::format("stat {}: {}", dir, std::strerror(errno)));
  } else if (!created && st.st_uid != creds.uid &&
             (st.st_uid != ::geteuid() || !EmptyDir(fd))) {
    // Someone else's directory, or one of the agent's own with content (not made for this
    // task, e.g. /etc named by a hostile directive): never given away.
    result = FailedPrecondition(fmt::format(
        "{} exists and belongs to uid {}, not to the task's uid {}{}", dir, st.st_uid,
        creds.uid, st.st_uid == ::geteuid() ? " (and is not empty)" : ""));
  } else {
    if (creds.switch_user && (st.st_uid != creds.uid || st.st_gid != creds.gid) &&
        ::fchown(fd, creds.uid, creds.gid) != 0) {
      result = Internal(fmt::format("chown {}: {}", dir, std::strerror(errno)));
    } else if ((st.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0) {
      result = Internal(fmt::format("chmod {}: {}", dir, std::strerror(errno)));
    }
  }
  ::close(fd);
  return result;
}

}  // namespace baton::agent
