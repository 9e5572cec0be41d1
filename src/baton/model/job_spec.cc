#include "baton/model/job_spec.h"

#include <algorithm>

#include <fmt/format.h>

#include "baton/model/mig.h"

namespace baton::model {

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
  if (spec.queue.empty()) return InvalidArgument("queue: must not be empty");
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
    return InvalidArgument(fmt::format("command: at most {} arguments", kMaxCommandArgs));
  }
  if (spec.env.size() > kMaxEnvVars) {
    return InvalidArgument(fmt::format("env: at most {} variables", kMaxEnvVars));
  }
  for (const auto& [name, value] : spec.env) {
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
  return Status::Ok();
}

}  // namespace baton::model
