#include "baton/agent/task_env.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace baton::agent {

void AddTaskEnvironment(const v1::StartTask& start, const std::vector<std::string>& visible,
                        const TaskCredentials* creds, const std::string& task_dir,
                        std::map<std::string, std::string>* env) {
  (*env)["CUDA_VISIBLE_DEVICES"] = fmt::format("{}", fmt::join(visible, ","));
  (*env)["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
  // UUIDs when the control plane sent one per GPU, else the indices; "void" = no GPU.
  if (start.gpu_indices().empty()) {
    (*env)["NVIDIA_VISIBLE_DEVICES"] = "void";
  } else if (start.gpu_uuids_size() == start.gpu_indices_size()) {
    (*env)["NVIDIA_VISIBLE_DEVICES"] = fmt::format("{}", fmt::join(start.gpu_uuids(), ","));
  } else {
    std::vector<std::string> indices;
    for (int idx : start.gpu_indices()) indices.push_back(std::to_string(idx));
    (*env)["NVIDIA_VISIBLE_DEVICES"] = fmt::format("{}", fmt::join(indices, ","));
  }
  if (creds == nullptr) return;
  const auto& job_env = start.env();
  if (!creds->user.empty()) {
    if (!job_env.contains("USER")) (*env)["USER"] = creds->user;
    if (!job_env.contains("LOGNAME")) (*env)["LOGNAME"] = creds->user;
  }
  if (!job_env.contains("HOME")) {
    struct stat st;
    const bool home_ok = !creds->home.empty() && ::stat(creds->home.c_str(), &st) == 0 &&
                         S_ISDIR(st.st_mode) && (st.st_uid == creds->uid || !creds->switch_user);
    (*env)["HOME"] = home_ok ? creds->home : task_dir;
  }
}

}  // namespace baton::agent
