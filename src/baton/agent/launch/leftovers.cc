#include "baton/agent/launch/leftovers.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace baton::agent {
namespace {

// Whether /proc/<pid>/environ holds `marker` ("BATON_AGENT=name") as a whole entry.
bool HasMarker(const std::filesystem::path& environ, const std::string& marker) {
  std::ifstream in(environ, std::ios::binary);
  if (!in) return false;
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    if (entry == marker) return true;
  }
  return false;
}

// Running (not a zombie) per /proc/<pid>/stat.
bool Alive(const std::filesystem::path& proc_root, pid_t pid) {
  std::ifstream in(proc_root / std::to_string(pid) / "stat");
  if (!in) return false;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  return stat[close + 2] != 'Z' && stat[close + 2] != 'X';
}

std::set<pid_t> FindMarked(const std::filesystem::path& proc_root, const std::string& marker) {
  std::set<pid_t> out;
  std::error_code ec;
  const pid_t self = getpid();
  for (const auto& e : std::filesystem::directory_iterator(proc_root, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == self) continue;
    if (HasMarker(e.path() / "environ", marker) && Alive(proc_root, pid)) out.insert(pid);
  }
  return out;
}

}  // namespace

std::string AgentMarker(const std::string& node_name, const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(data_dir, ec);
  return fmt::format("{}@{}", node_name, (ec ? data_dir : abs).lexically_normal().string());
}

Result<int> KillLeftoverTasks(const std::string& agent_id, Duration wait,
                              const std::string& proc_root) {
  const std::string marker = fmt::format("{}={}", kAgentMarkerEnv, agent_id);
  std::set<pid_t> found = FindMarked(proc_root, marker);
  if (found.empty()) return 0;
  spdlog::warn(
      "agent {}: {} process(es) left by an earlier run of this agent still run; "
      "killing them before registering (their GPUs must be free)",
      agent_id, found.size());
  for (pid_t pid : found) {
    const pid_t pgid = getpgid(pid);
    if (pgid > 0 && pgid != getpgrp()) ::kill(-pgid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    std::set<pid_t> left;
    for (pid_t pid : found) {
      if (Alive(proc_root, pid)) left.insert(pid);
    }
    if (left.empty()) return static_cast<int>(found.size());
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(StatusCode::kUnavailable,
                    fmt::format("{} leftover task process(es) did not die within {}", left.size(),
                                FormatDuration(wait)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the OS, not a test
  }
}

}  // namespace baton::agent
