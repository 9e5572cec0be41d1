#include "baton/agent/start_task_check.h"

#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "baton/common/limits.h"
#include "baton/model/cluster.h"
#include "baton/model/job_spec.h"

namespace baton::agent {
namespace {

// Environment entries the control plane adds to a job's own (BATON_*, WORLD_SIZE, ...).
constexpr size_t kAddedEnvVars = 64;

}  // namespace

Status CheckStartTask(const v1::StartTask& st) {
  if (st.job_id().size() > limits::kMaxNameLength) {
    return InvalidArgument(fmt::format("job_id: {} bytes; at most {}", st.job_id().size(),
                                       limits::kMaxNameLength));
  }
  if (st.ranks() < 0 || st.ranks() > model::kMaxRanksPerTask) {
    return InvalidArgument(
        fmt::format("ranks: {}; must be 0 to {}", st.ranks(), model::kMaxRanksPerTask));
  }
  if (st.command_size() > static_cast<int>(model::kMaxCommandArgs)) {
    return InvalidArgument(fmt::format("command: {} arguments; at most {}", st.command_size(),
                                       model::kMaxCommandArgs));
  }
  size_t bytes = 0;
  for (int i = 0; i < st.command_size(); ++i) {
    if (st.command(i).size() > limits::kMaxArgBytes) {
      return InvalidArgument(fmt::format("command[{}]: {} bytes; at most {}", i,
                                         st.command(i).size(), limits::kMaxArgBytes));
    }
    bytes += st.command(i).size() + 1;
  }
  if (st.env_size() > static_cast<int>(model::kMaxEnvVars + kAddedEnvVars)) {
    return InvalidArgument(fmt::format("env: {} variables; at most {}", st.env_size(),
                                       model::kMaxEnvVars + kAddedEnvVars));
  }
  for (const auto& [k, v] : st.env()) {
    if (k.size() > limits::kMaxEnvNameLength || v.size() > limits::kMaxArgBytes) {
      return InvalidArgument(fmt::format(
          "env: '{}' is too long (names at most {} bytes, values at most {})",
          k.substr(0, 64), limits::kMaxEnvNameLength, limits::kMaxArgBytes));
    }
    bytes += k.size() + v.size() + 2;
  }
  // The job's own limit plus room for what the control plane adds.
  if (bytes > limits::kMaxArgvEnvBytes + 64 * 1024) {
    return InvalidArgument(fmt::format("command and env: {} bytes; at most {}", bytes,
                                       limits::kMaxArgvEnvBytes + 64 * 1024));
  }
  if (st.gpu_indices_size() > model::kMaxGpusPerNode ||
      st.gpu_uuids_size() > model::kMaxGpusPerNode) {
    return InvalidArgument(
        fmt::format("gpu_indices: more than {} GPUs", model::kMaxGpusPerNode));
  }
  const std::string& dir = st.checkpoint_dir();
  if (!dir.empty()) {
    if (dir.size() > limits::kMaxPathLength) {
      return InvalidArgument(fmt::format("checkpoint_dir: {} bytes; at most {}", dir.size(),
                                         limits::kMaxPathLength));
    }
    const std::filesystem::path p(dir);
    if (!p.is_absolute() || dir.find('\0') != std::string::npos) {
      return InvalidArgument("checkpoint_dir: must be an absolute path");
    }
    for (const auto& part : p) {
      if (part == "..") return InvalidArgument("checkpoint_dir: must not contain '..'");
    }
  }
  // A century, as the API allows; larger would overflow when converted to microseconds.
  constexpr int64_t kMaxSimulateMs = int64_t{100} * 365 * 24 * 3600 * 1000;
  if (st.simulate_duration_ms() < 0 || st.simulate_duration_ms() > kMaxSimulateMs) {
    return InvalidArgument(fmt::format("simulate_duration_ms: {}; must be 0 to {}",
                                       st.simulate_duration_ms(), kMaxSimulateMs));
  }
  return Status::Ok();
}

}  // namespace baton::agent
