#include "baton/model/job_spec.h"

#include <algorithm>

#include <fmt/format.h>

#include "baton/model/mig.h"
#include "baton/common/limits.h"

namespace baton::model {
namespace {

// Queue names match what cluster specs allow (spec/cluster_yaml.cc), so a job can only
// name a queue that could exist.
bool IsQueueName(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  });
}

// Job names are labels shown in lists and logs: no control characters.
bool IsPrintable(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

Status CheckGpuTypes(const std::vector<std::string>& types, std::string_view field) {
  if (types.size() > limits::kMaxGpuTypes) {
    return InvalidArgument(fmt::format("{}: {} entries; at most {}", field, types.size(),
                                       limits::kMaxGpuTypes));
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i].size() > limits::kMaxNameLength) {
      return InvalidArgument(fmt::format("{}: entry {} is {} bytes; at most {}", field, i,
                                         types[i].size(), limits::kMaxNameLength));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view RestartScopeName(RestartScope scope) {
  switch (scope) {
    case RestartScope::kDefault: return "default";
    case RestartScope::kAllTasks: return "all-tasks";
    case RestartScope::kFailedTasks: return "failed-tasks";
  }
  return "unknown";
}

Result<RestartScope> ParseRestartScope(std::string_view name) {
  if (name == "all-tasks") return RestartScope::kAllTasks;
  if (name == "failed-tasks") return RestartScope::kFailedTasks;
  return InvalidArgument(
      fmt::format("'{}' is not a restart scope; use all-tasks or failed-tasks", name));
}

RestartScope EffectiveRestartScope(const JobSpec& spec) {
  if (spec.restart_scope != RestartScope::kDefault) return spec.restart_scope;
  return spec.gang || spec.tasks == 1 ? RestartScope::kAllTasks : RestartScope::kFailedTasks;
}

Status ValidateJobSpec(const JobSpec& spec) {
  if (spec.tasks <= 0 || spec.tasks > kMaxTasksPerJob) {
    return InvalidArgument(fmt::format("tasks: must be between 1 and {}, got {}",
                                       kMaxTasksPerJob, spec.tasks));
  }
  if (spec.gpus_per_task <= Quantity()) {
    return InvalidArgument(fmt::format(
        "gpus: must be more than 0 (whole GPUs, or a fraction of one such as 0.5), got {}",
        spec.gpus_per_task.ToString()));
  }
  if (spec.gpus_per_task > Quantity::Whole(1) && !spec.gpus_per_task.is_whole()) {
    return InvalidArgument(fmt::format(
        "gpus: {} is neither a whole number of GPUs nor a fraction of one GPU (below 1); a "
        "task shares at most one GPU",
        spec.gpus_per_task.ToString()));
  }
  if (spec.gpus_per_task > Quantity::Whole(64)) {
    return InvalidArgument(fmt::format("gpus: at most 64 GPUs per task (one node), got {}",
                                       spec.gpus_per_task.ToString()));
  }
  if (!spec.mig_profile.empty()) {
    if (!IsMigProfile(spec.mig_profile)) {
      return InvalidArgument(fmt::format(
          "mig: '{}' is not a MIG profile (written like 1g.10gb or 3g.40gb)",
          spec.mig_profile));
    }
    if (!spec.gpus_per_task.is_whole()) {
      return InvalidArgument(fmt::format(
          "gpus: a MIG job asks for whole MIG instances per task (1 or more), got {}",
          spec.gpus_per_task.ToString()));
    }
    if (!spec.gpu_types.empty() || !spec.gpu_preference.empty()) {
      return InvalidArgument(
          "mig: cannot be combined with gpu_type or gpu_preference (a MIG profile picks its "
          "GPUs)");
    }
  }
  if (spec.priority < kMinPriority || spec.priority > kMaxPriority) {
    return InvalidArgument(fmt::format("priority: must be between {} and {}, got {}",
                                       kMinPriority, kMaxPriority, spec.priority));
  }
  if (spec.name.size() > limits::kMaxNameLength) {
    return InvalidArgument(fmt::format("name: {} bytes; at most {}", spec.name.size(),
                                       limits::kMaxNameLength));
  }
  if (!IsPrintable(spec.name)) {
    return InvalidArgument("name: must not contain control characters");
  }
  if (spec.queue.empty()) return InvalidArgument("queue: must not be empty");
  if (spec.queue.size() > limits::kMaxNameLength) {
    return InvalidArgument(fmt::format("queue: {} bytes; at most {}", spec.queue.size(),
                                       limits::kMaxNameLength));
  }
  if (!IsQueueName(spec.queue)) {
    return InvalidArgument(fmt::format(
        "queue: '{}' may only hold letters, digits, '-', '_' and '.'", spec.queue));
  }
  if (Status st = CheckGpuTypes(spec.gpu_types, "gpu_type"); !st.ok()) return st;
  if (Status st = CheckGpuTypes(spec.gpu_preference, "gpu_preference"); !st.ok()) return st;
  if (spec.estimated_runtime && *spec.estimated_runtime <= Duration::zero()) {
    return InvalidArgument("runtime: must be positive");
  }
  if (!spec.gpu_types.empty()) {
    for (const auto& p : spec.gpu_preference) {
      if (std::find(spec.gpu_types.begin(), spec.gpu_types.end(), p) == spec.gpu_types.end()) {
        return InvalidArgument(fmt::format(
            "gpu_preference: '{}' is not among the allowed gpu_types", p));
      }
    }
  }
  if (spec.ranks_per_task < 1 || spec.ranks_per_task > kMaxRanksPerTask) {
    return InvalidArgument(fmt::format("ranks_per_task: must be between 1 and {}, got {}",
                                       kMaxRanksPerTask, spec.ranks_per_task));
  }
  if (spec.max_attempts < 1 || spec.max_attempts > kMaxAttemptsLimit) {
    return InvalidArgument(fmt::format("max_attempts: must be between 1 and {}, got {}",
                                       kMaxAttemptsLimit, spec.max_attempts));
  }
  if (spec.cpus_per_task < Quantity() || spec.cpus_per_task > Quantity::Whole(kMaxCpusPerTask)) {
    return InvalidArgument(fmt::format("cpus: must be between 0 and {} (0 = no limit), got {}",
                                       kMaxCpusPerTask, spec.cpus_per_task.ToString()));
  }
  if (spec.memory_bytes_per_task < 0 || spec.memory_bytes_per_task > kMaxMemoryBytesPerTask) {
    return InvalidArgument(fmt::format("memory: must be between 0 and 1Pi (0 = no limit), got {}",
                                       spec.memory_bytes_per_task));
  }
  if (spec.restart_backoff < Duration::zero() || spec.restart_backoff > kMaxRestartBackoff) {
    return InvalidArgument(fmt::format("restart_backoff: must be between 0 and {}",
                                       FormatDuration(kMaxRestartBackoff)));
  }
  if (spec.restart_scope == RestartScope::kFailedTasks && spec.gang && spec.tasks > 1) {
    return InvalidArgument(
        "restart_scope: failed-tasks needs gang: false (a gang's tasks start and restart "
        "together)");
  }
  if (spec.preempt_notice < Duration::zero() || spec.preempt_notice > kMaxPreemptNotice) {
    return InvalidArgument(fmt::format("preempt_notice: must be between 0 and {}",
                                       FormatDuration(kMaxPreemptNotice)));
  }
  if (spec.simulate_duration < Duration::zero()) {
    return InvalidArgument("simulate_duration: must not be negative");
  }
  if (spec.command.size() > kMaxCommandArgs) {
    return InvalidArgument(fmt::format("command: {} arguments; at most {}", spec.command.size(),
                                       kMaxCommandArgs));
  }
  size_t argv_env_bytes = 0;
  for (size_t i = 0; i < spec.command.size(); ++i) {
    const std::string& arg = spec.command[i];
    if (arg.size() > limits::kMaxArgBytes) {
      return InvalidArgument(fmt::format("command: argument {} is {} bytes; at most {}", i,
                                         arg.size(), limits::kMaxArgBytes));
    }
    if (arg.find('\0') != std::string::npos) {
      return InvalidArgument(fmt::format("command: argument {} contains a NUL byte", i));
    }
    argv_env_bytes += arg.size() + 1;
  }
  if (spec.env.size() > kMaxEnvVars) {
    return InvalidArgument(fmt::format("env: {} variables; at most {}", spec.env.size(),
                                       kMaxEnvVars));
  }
  for (const auto& [name, value] : spec.env) {
    if (name.size() > limits::kMaxEnvNameLength) {
      return InvalidArgument(fmt::format("env: a variable name is {} bytes; at most {}",
                                         name.size(), limits::kMaxEnvNameLength));
    }
    if (value.size() > limits::kMaxArgBytes) {
      return InvalidArgument(fmt::format("env: value of '{}' is {} bytes; at most {}", name,
                                         value.size(), limits::kMaxArgBytes));
    }
    argv_env_bytes += name.size() + value.size() + 2;
    bool ok = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
    for (char c : name) {
      ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_');
    }
    if (!ok) return InvalidArgument(fmt::format("env: '{}' is not a valid variable name", name));
    if (name.rfind("BATON_", 0) == 0) {
      return InvalidArgument(fmt::format("env: '{}' is reserved (BATON_* is set by baton)", name));
    }
    if (value.find('\0') != std::string::npos) {
      return InvalidArgument(fmt::format("env: value of '{}' contains a NUL byte", name));
    }
  }
  if (argv_env_bytes > limits::kMaxArgvEnvBytes) {
    return InvalidArgument(fmt::format(
        "command: the command and env together are {} bytes; at most {}", argv_env_bytes,
        limits::kMaxArgvEnvBytes));
  }
  return Status::Ok();
}

}  // namespace baton::model
