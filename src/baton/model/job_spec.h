// JobSpec: what a person submits, as plain data.
//
// Produced by the YAML/JSON job spec parser (spec/job_yaml.h), by trace readers (sim/),
// and later by the API. Validation of ranges lives with the parser so errors can name
// the field path and line; ValidateJobSpec (below) repeats the checks that every
// producer must pass, for callers that build specs in code.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/quantity.h"
#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton::model {

constexpr int32_t kMinPriority = -1000;
constexpr int32_t kMaxPriority = 1000;
constexpr int32_t kMaxTasksPerJob = 100000;
constexpr int32_t kMaxRanksPerTask = 1024;
constexpr int32_t kMaxAttemptsLimit = 1000;
constexpr Duration kMaxRestartBackoff = std::chrono::hours(1);
constexpr Duration kMaxPreemptNotice = std::chrono::hours(1);
constexpr size_t kMaxCommandArgs = 4096;
constexpr size_t kMaxEnvVars = 4096;
constexpr int64_t kMaxCpusPerTask = 4096;
constexpr int64_t kMaxMemoryBytesPerTask = int64_t{1} << 50;  // 1 PiB

// What a failed task restarts (the restart policy's scope).
enum class RestartScope {
  kDefault,      // kAllTasks for gangs and one-task jobs, kFailedTasks for other jobs
  kAllTasks,     // a new attempt of the whole job, placed anew ("all-tasks")
  kFailedTasks,  // only the failed task, in place; the others keep running
                 // ("failed-tasks"; jobs with gang: false only)
};
// "default", "all-tasks", "failed-tasks".
std::string_view RestartScopeName(RestartScope scope);
// "all-tasks" | "failed-tasks"; InvalidArgument naming the choices otherwise.
Result<RestartScope> ParseRestartScope(std::string_view name);

struct JobSpec {
  std::string name;                  // a person's label; need not be unique
  std::string queue = "default";
  int32_t priority = 0;              // higher runs first under order/priority
  int32_t tasks = 1;                 // replicas; > 0
  // Whole GPUs (1..64), or a fraction of one GPU (0.001..0.999: the task shares a GPU
  // with other fractional tasks; docs/specs.md, "Fractional GPUs"). With mig_profile:
  // MIG instances per task (whole).
  Quantity gpus_per_task = Quantity::Whole(1);
  // MIG profile ("1g.10gb"): the job runs on MIG instances of this profile, never on
  // whole GPUs; "" = whole GPUs (or a share of one). Excludes gpu_types.
  std::string mig_profile;
  // GPU types the job may run on (any of them); empty = any type.
  std::vector<std::string> gpu_types;
  // Preference order among the allowed types: tried first to last, then the rest.
  std::vector<std::string> gpu_preference;
  // All tasks start together or none does. A job with one task is trivially a gang.
  bool gang = true;
  std::optional<Duration> estimated_runtime;
  std::vector<std::string> command;  // argv each rank of each task runs
  // Extra environment for every process; names are shell identifiers not starting with
  // BATON_ (those are the agent's).
  std::map<std::string, std::string> env;
  int32_t ranks_per_task = 1;        // processes per task; WORLD_SIZE = tasks * ranks
  int32_t max_attempts = 1;          // failed attempts allowed before the job fails
  // Restart policy: wait this long before the retry after a counted failure, doubling
  // with every further counted failure (at most kMaxRestartBackoff); 0 = retry at once.
  Duration restart_backoff{0};
  // Restart policy: what a task failure restarts (see RestartScope, EffectiveRestartScope).
  RestartScope restart_scope = RestartScope::kDefault;
  // Graceful stop: SIGTERM, then this long (BATON_PREEMPT_NOTICE, seconds) to write a
  // checkpoint and exit before SIGKILL; 0 = the control plane's default grace.
  Duration preempt_notice{0};
  // Simulated agents only: how long each task "runs" before exiting 0.
  Duration simulate_duration{0};
  // Limits on each task (all its ranks together), enforced by the agent with cgroup v2
  // (cpu.max, memory.max) where the machine allows; zero = no limit.
  Quantity cpus_per_task;
  int64_t memory_bytes_per_task = 0;
};

// Checks ranges and consistency; the message names the field ("tasks: must be > 0").
Status ValidateJobSpec(const JobSpec& spec);

// The scope a task failure of this job actually has (kDefault resolved): a gang restarts
// all its tasks together; a job whose tasks need not start together restarts only the
// failed ones. Never kDefault.
RestartScope EffectiveRestartScope(const JobSpec& spec);

}  // namespace baton::model
