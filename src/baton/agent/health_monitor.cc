#include "baton/agent/health_monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace baton::agent {
namespace {

constexpr size_t kMaxOutput = 512;  // the last bytes of output kept as the reason

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == '\n' || s[start] == ' ')) ++start;
  return s.substr(start);
}

}  // namespace

std::string RunHealthCheck(const std::string& command, std::chrono::milliseconds timeout) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return fmt::format("pipe: {}", std::strerror(errno));
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return fmt::format("fork: {}", std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls. Own process group, so a timeout kills it all.
    ::setpgid(0, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execv("/bin/sh", const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;  // timeout is handled at the top
    char buf[4096];
    ssize_t got = ::read(out[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the command (and its children) closed the pipe
    output.append(buf, static_cast<size_t>(got));
    if (output.size() > 4 * kMaxOutput) output.erase(0, output.size() - kMaxOutput);
  }
  ::close(out[0]);
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  output = Trim(output.size() > kMaxOutput ? output.substr(output.size() - kMaxOutput) : output);
  if (timed_out) {
    return fmt::format("`{}` timed out after {} ms{}{}", command, timeout.count(),
                       output.empty() ? "" : ": ", output);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  const std::string how = WIFEXITED(status)
                              ? fmt::format("exit code {}", WEXITSTATUS(status))
                              : fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("`{}`: {}{}{}", command, how, output.empty() ? "" : ": ", output);
}

HealthMonitor::HealthMonitor(Agent& agent, GpuDiscovery& discovery,
                             HealthMonitorOptions options)
    : agent_(agent),
      discovery_(discovery),
      options_(std::move(options)),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

HealthMonitor::~HealthMonitor() {
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthMonitor::Run(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  const bool events = discovery_.WatchesEvents();
  if (!events && options_.check_command.empty()) return;  // nothing to watch
  auto next_check = Clock::now();
  while (!stop.stop_requested()) {
    if (!options_.check_command.empty() && Clock::now() >= next_check) {
      agent_.SetHealthCheckResult(RunHealthCheck(options_.check_command, options_.check_timeout));
      next_check = Clock::now() + options_.check_interval;
    }
    if (events) {
      for (const GpuEventReport& r : discovery_.WaitForEvents(std::chrono::milliseconds(500))) {
        agent_.OnGpuEvent(r);
      }
    } else {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, stop, next_check, [] { return false; });
    }
  }
}

}  // namespace baton::agent
