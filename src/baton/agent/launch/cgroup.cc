#include "baton/agent/launch/cgroup.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace baton::agent {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  if (!out) return FailedPrecondition(fmt::format("open {}: {}", path, std::strerror(errno)));
  out << value;
  out.flush();
  if (!out) return FailedPrecondition(fmt::format("write {} to {}: {}", value, path,
                                                  std::strerror(errno)));
  return Status::Ok();
}

bool HasWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

}  // namespace

CgroupV2 CgroupV2::Detect(const std::string& root_override) {
  CgroupV2 cg;
  // The cgroup2 mount point: field 5 of a mountinfo line whose fstype (after " - ") is
  // cgroup2.
  std::string mount;
  {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      auto dash = line.find(" - ");
      if (dash == std::string::npos) continue;
      std::istringstream rest(line.substr(dash + 3));
      std::string fstype;
      rest >> fstype;
      if (fstype != "cgroup2") continue;
      std::istringstream fields(line);
      std::string f[5];
      for (auto& x : f) fields >> x;
      mount = f[4];
      break;
    }
  }
  if (mount.empty()) {
    cg.reason_ = "no cgroup2 filesystem is mounted";
    return cg;
  }
  std::string controllers = ReadFile(mount + "/cgroup.controllers");
  if (!HasWord(controllers, "memory") || !HasWord(controllers, "cpu")) {
    cg.reason_ = fmt::format(
        "cgroup2 at {} lacks the memory and cpu controllers (has \"{}\"; hybrid mode?)", mount,
        controllers.empty() ? "" : controllers.substr(0, controllers.find('\n')));
    return cg;
  }
  std::string parent = root_override;
  if (parent.empty()) {
    std::string own;
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("0::", 0) == 0) own = line.substr(3);
    }
    parent = mount + own;
  }
  std::string root = fmt::format("{}/baton-{}", parent, getpid());
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    cg.reason_ = fmt::format("cannot create {}: {}", root, ec.message());
    return cg;
  }
  // Children of `root` get memory and cpu; this needs `parent` to delegate them too.
  Status s = WriteFile(parent + "/cgroup.subtree_control", "+memory +cpu");
  if (s.ok()) s = WriteFile(root + "/cgroup.subtree_control", "+memory +cpu");
  if (!s.ok()) {
    std::filesystem::remove(root, ec);
    cg.reason_ = fmt::format("cannot enable memory/cpu controllers: {}", s.message());
    return cg;
  }
  cg.available_ = true;
  cg.root_ = root;
  return cg;
}

CgroupV2 CgroupV2::AtDirectory(const std::string& dir) {
  CgroupV2 cg;
  cg.available_ = true;
  cg.root_ = dir;
  return cg;
}

Result<std::string> CgroupV2::Create(const std::string& name,
                                     const ProcessLimits& limits) const {
  if (!available_) return FailedPrecondition("cgroups unavailable: " + reason_);
  std::string dir = root_ + "/" + name;
  std::error_code ec;
  std::filesystem::create_directory(dir, ec);
  if (ec) return FailedPrecondition(fmt::format("mkdir {}: {}", dir, ec.message()));
  if (limits.memory_max_bytes > 0) {
    BATON_RETURN_IF_ERROR(WriteFile(dir + "/memory.max", std::to_string(limits.memory_max_bytes)));
  }
  if (limits.cpu_max_cores > 0) {
    constexpr int64_t kPeriodUs = 100000;
    auto quota = static_cast<int64_t>(std::llround(limits.cpu_max_cores * kPeriodUs));
    BATON_RETURN_IF_ERROR(WriteFile(dir + "/cpu.max", fmt::format("{} {}", quota, kPeriodUs)));
  }
  return dir;
}

void CgroupV2::Remove(const std::string& dir) const {
  if (dir.empty()) return;
  (void)WriteFile(dir + "/cgroup.kill", "1");
  ::rmdir(dir.c_str());
}

}  // namespace baton::agent
