#include "baton/agent/launch/process_launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace baton::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The merged environment: ours, overridden by `extra`.
std::map<std::string, std::string> MergedEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

// Finds `name` the way execvp would, in the child's PATH. Returns the path or an errno.
Result<std::string> ResolveProgram(const std::string& name,
                                   const std::map<std::string, std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  auto it = env.find("PATH");
  std::string path = it != env.end() ? it->second : "/usr/local/bin:/usr/bin:/bin";
  int err = ENOENT;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      err = EACCES;
    }
    start = end + 1;
  }
  return Status(StatusCode::kNotFound, fmt::format("exec {}: {}", name, std::strerror(err)));
}

int ExitCodeOf(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;  // CLD_KILLED, CLD_DUMPED
}

// Appends a line to the log so that `baton logs` shows why a start failed.
void NoteInLog(const std::string& log_path, const std::string& line) {
  if (log_path.empty()) return;
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string text = "baton-agent: " + line + "\n";
  ssize_t n = ::write(fd, text.data(), text.size());
  (void)n;
  ::close(fd);
}

}  // namespace

ProcessLauncher::ProcessLauncher() : ProcessLauncher(Options{}) {}

ProcessLauncher::ProcessLauncher(Options options) {
  if (options.cgroups) {
    cgroups_ = *options.cgroups;
  } else if (options.use_cgroups) {
    cgroups_ = CgroupV2::Detect(options.cgroup_root);
    if (cgroups_.available()) {
      spdlog::info("launcher: cgroup v2 limits under {}", cgroups_.root());
    } else {
      spdlog::warn("launcher: cgroup v2 unavailable ({}); running tasks without limits",
                   cgroups_.reason());
    }
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  reaper_ = std::thread([this] { ReaperLoop(); });
}

ProcessLauncher::~ProcessLauncher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, p] : procs_) {
      p.on_exit = nullptr;
      if (!p.exit_code) ::kill(-p.pid, SIGKILL);
    }
  }
  Wake();
  reaper_.join();
  for (auto& [id, p] : procs_) {
    if (p.pidfd >= 0) ::close(p.pidfd);
    cgroups_.Remove(p.cgroup_dir);
  }
  if (cgroups_.available()) ::rmdir(cgroups_.root().c_str());
  ::close(wake_fd_);
}

void ProcessLauncher::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;
}

Result<ProcessId> ProcessLauncher::Start(const ProcessSpec& spec, ExitCallback on_exit) {
  if (spec.argv.empty() || spec.argv[0].empty()) return InvalidArgument("empty command");
  auto env = MergedEnv(spec.env);
  auto program = ResolveProgram(spec.argv[0], env);
  if (!program.ok()) {
    NoteInLog(spec.log_path, program.status().message());
    return program.status();
  }

  // Everything the child needs is built before fork: after fork only async-signal-safe
  // calls are allowed (the agent has other threads).
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::string log_path = spec.log_path.empty() ? "/dev/null" : spec.log_path;
  if (!spec.log_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(log_path).parent_path(), ec);
  }
  // 0600: the agent (root) reads it; the task writes through the inherited descriptor.
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return FailedPrecondition(fmt::format("open log {}: {}", log_path, std::strerror(errno)));
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!spec.log_note.empty()) NoteInLog(spec.log_path, spec.log_note);
  // The affinity mask, built before fork. CPUs beyond the mask's size are dropped (the
  // child's log says so if nothing is left).
  const bool pin = !spec.cpu_affinity.empty();
  cpu_set_t affinity;
  CPU_ZERO(&affinity);
  for (int c : spec.cpu_affinity) {
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &affinity);
  }
  static constexpr char kPinFailed[] =
      "baton-agent: sched_setaffinity failed; running without CPU pinning\n";

  ProcessId id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
  }
  std::string cgroup_dir;
  int procs_fd = -1;
  if (cgroups_.available()) {
    std::string name = spec.cgroup_name.empty() ? fmt::format("p{}", id) : spec.cgroup_name;
    auto dir = cgroups_.Create(name, spec.limits);
    if (dir.ok()) {
      cgroup_dir = *dir;
      procs_fd = ::open((cgroup_dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    } else {
      spdlog::warn("launcher: {}; running {} without limits", dir.status().message(),
                   spec.argv[0]);
    }
  }

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    if (procs_fd >= 0) ::close(procs_fd);
    return Internal(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const char* workdir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  const char* exe = program->c_str();
  // The user to become, prepared before fork (the child may only make syscalls).
  const bool switch_user = spec.run_as.has_value();
  std::vector<gid_t> groups;
  if (switch_user) groups.assign(spec.run_as->groups.begin(), spec.run_as->groups.end());
  const uid_t run_uid = switch_user ? static_cast<uid_t>(spec.run_as->uid) : 0;
  const gid_t run_gid = switch_user ? static_cast<gid_t>(spec.run_as->gid) : 0;

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child. Report (stage, errno) through the pipe on failure, then _exit(127).
    auto fail = [&](int stage) {
      int msg[2] = {stage, errno};
      ssize_t n = ::write(err_pipe[1], msg, sizeof(msg));
      (void)n;
      ::_exit(127);
    };
    ::setpgid(0, 0);
    if (procs_fd >= 0) {
      ssize_t n = ::write(procs_fd, "0", 1);
      (void)n;
    }
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Groups first, then gid, then uid (after setuid the others are no longer allowed);
    // before chdir, so the working directory is entered with the task's permissions.
    if (switch_user) {
      if (::setgroups(groups.size(), groups.data()) != 0) fail(4);
      if (::setgid(run_gid) != 0) fail(4);
      if (::setuid(run_uid) != 0) fail(4);
    }
    if (workdir != nullptr && ::chdir(workdir) != 0) fail(1);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) fail(2);
    if (pin && ::sched_setaffinity(0, sizeof(affinity), &affinity) != 0) {
      ssize_t n = ::write(2, kPinFailed, sizeof(kPinFailed) - 1);
      (void)n;
    }
    ::execve(exe, argv.data(), envp.data());
    fail(3);
  }
  int fork_errno = errno;
  ::close(err_pipe[1]);
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (procs_fd >= 0) ::close(procs_fd);
  if (pid < 0) {
    ::close(err_pipe[0]);
    cgroups_.Remove(cgroup_dir);
    return ResourceExhausted(fmt::format("fork: {}", std::strerror(fork_errno)));
  }
  // Also in the parent, so the group exists before anyone signals it.
  ::setpgid(pid, pid);

  int msg[2];
  ssize_t n;
  do {
    n = ::read(err_pipe[0], msg, sizeof(msg));
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof(msg)) {
    ::waitpid(pid, nullptr, 0);
    cgroups_.Remove(cgroup_dir);
    std::string what = msg[0] == 1   ? fmt::format("chdir {}", spec.working_dir)
                       : msg[0] == 2 ? std::string("redirect output")
                       : msg[0] == 4 ? fmt::format("switch to uid {} gid {}", run_uid, run_gid)
                                     : fmt::format("exec {}", spec.argv[0]);
    std::string text = fmt::format("{}: {}", what, std::strerror(msg[1]));
    NoteInLog(spec.log_path, text);
    return FailedPrecondition(text);
  }

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    // Cannot watch it: do not leave an unmanaged process behind.
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    cgroups_.Remove(cgroup_dir);
    return Internal(fmt::format("pidfd_open: {}", std::strerror(errno)));
  }
  {
    std::lock_guard lock(mu_);
    Proc& p = procs_[id];
    p.pid = pid;
    p.pidfd = pidfd;
    p.on_exit = std::move(on_exit);
    p.cgroup_dir = std::move(cgroup_dir);
  }
  Wake();
  return id;
}

Status ProcessLauncher::Stop(ProcessId id, Duration grace) {
  {
    std::lock_guard lock(mu_);
    auto it = procs_.find(id);
    if (it == procs_.end() || it->second.exit_code) return Status::Ok();
    Proc& p = it->second;
    ::kill(-p.pid, SIGTERM);
    auto at = SteadyClock::now() + grace;
    if (!p.kill_at || at < *p.kill_at) p.kill_at = at;
  }
  Wake();
  return Status::Ok();
}

Status ProcessLauncher::Signal(ProcessId id, int signal) {
  std::lock_guard lock(mu_);
  auto it = procs_.find(id);
  if (it == procs_.end()) return NotFound(fmt::format("no process {}", id));
  if (it->second.exit_code) return Status::Ok();
  if (::kill(-it->second.pid, signal) != 0 && errno != ESRCH) {
    return InvalidArgument(fmt::format("signal {}: {}", signal, std::strerror(errno)));
  }
  return Status::Ok();
}

std::optional<int> ProcessLauncher::ExitCode(ProcessId id) {
  std::lock_guard lock(mu_);
  auto it = procs_.find(id);
  if (it == procs_.end()) return std::nullopt;
  return it->second.exit_code;
}

std::optional<pid_t> ProcessLauncher::Pid(ProcessId id) {
  std::lock_guard lock(mu_);
  auto it = procs_.find(id);
  if (it == procs_.end()) return std::nullopt;
  return it->second.pid;
}

void ProcessLauncher::ReaperLoop() {
  std::vector<pollfd> fds;
  std::vector<ProcessId> ids;
  while (true) {
    int timeout_ms = -1;
    fds.clear();
    ids.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    {
      std::lock_guard lock(mu_);
      auto now = SteadyClock::now();
      bool running = false;
      for (auto& [id, p] : procs_) {
        if (p.exit_code) continue;
        running = true;
        fds.push_back({p.pidfd, POLLIN, 0});
        ids.push_back(id);
        if (p.kill_at) {
          if (*p.kill_at <= now) {
            ::kill(-p.pid, SIGKILL);
            p.kill_at.reset();
            continue;
          }
          auto ms = std::chrono::ceil<std::chrono::milliseconds>(*p.kill_at - now).count();
          timeout_ms = timeout_ms < 0 ? static_cast<int>(ms)
                                      : std::min(timeout_ms, static_cast<int>(ms));
        }
      }
      if (stopping_ && !running) return;
    }
    int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0) continue;  // EINTR
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      ssize_t n = ::read(wake_fd_, &v, sizeof(v));
      (void)n;
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ProcessId id = ids[i - 1];
      siginfo_t info;
      std::memset(&info, 0, sizeof(info));
      if (::waitid(P_PIDFD, fds[i].fd, &info, WEXITED) != 0) continue;
      int code = ExitCodeOf(info);
      ExitCallback cb;
      {
        std::lock_guard lock(mu_);
        Proc& p = procs_[id];
        p.exit_code = code;
        p.kill_at.reset();
        // The task is over when its leader is: clear out whatever it left behind.
        ::kill(-p.pid, SIGKILL);
        ::close(p.pidfd);
        p.pidfd = -1;
        cgroups_.Remove(p.cgroup_dir);
        p.cgroup_dir.clear();
        cb = std::move(p.on_exit);
        p.on_exit = nullptr;
      }
      if (cb) cb(id, code);
    }
  }
}

}  // namespace baton::agent
