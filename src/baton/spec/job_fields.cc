#include "baton/spec/job_fields.h"

#include <fmt/format.h>

namespace baton::spec {

const std::vector<JobFieldDoc>& JobFieldDocs() {
  // Durations: whole seconds (3600) or <n><unit> pieces with units s, m, h, d (90s, 1h30m).
  static const std::vector<JobFieldDoc> kDocs = {
      {"name", "string", "none", "A label for people (`baton ps`, the dashboard); need not be unique.",
       "train-llm"},
      {"queue", "string", "`default`",
       "The queue (tenant) the job is charged to, and whose roles decide who may see and "
       "act on it (docs/security.md). Quotas come from batond's `--queues` file and `baton "
       "queue set`; `baton sim` applies the same quotas, fair share and reclaim "
       "(docs/shared-cluster.md).",
       "research"},
      {"priority", "integer -1000..1000", "`0`",
       "Higher goes first under `order/priority` (`batond --policy priority+binpack`); in "
       "`baton sim --preempt-priority` it may also preempt lower priorities.",
       "10"},
      {"tasks", "integer 1..100000", "`1`",
       "Replicas. Each task gets `gpus` GPUs on one node; tasks share a node or spread over "
       "several as the placement policy (`batond --policy`) decides.",
       "2"},
      {"gpus", "whole number 1..64, or a fraction 0.001..0.999", "`1`",
       "GPUs per task, all on one node. Below 1 the task gets a share of one GPU: shares "
       "pack onto shared GPUs (never more than 1 in all), a shared GPU takes no whole-GPU "
       "task, and the task sees `BATON_GPU_FRACTION` and `CUDA_MPS_ACTIVE_THREAD_PERCENTAGE` "
       "(enforced only where the node runs an MPS daemon). With `mig`: MIG instances per "
       "task.",
       "8"},
      {"mig", "MIG profile such as `1g.10gb`", "none (whole GPUs)",
       "Run on MIG instances of this profile instead of whole GPUs, on any GPU model that "
       "offers it; the task gets `CUDA_VISIBLE_DEVICES=MIG-<uuid>`. Not with `gpu_type`, "
       "`gpu_preference` or a fractional `gpus`. A profile no GPU offers is refused at "
       "submit.",
       "1g.10gb"},
      {"gpu_type", "string or list of strings", "any type",
       "The GPU models the job may run on, as agents report them (the MODEL column of "
       "`baton nodes`; on NVIDIA machines NVML's name, e.g. `NVIDIA H100 80GB HBM3`) or any "
       "whole words of that name (`H100` matches every model with the word H100, "
       "`A100-SXM4` matches `NVIDIA A100-SXM4-80GB`). A list means \"any of these\" and "
       "must not be empty. A job no node could ever hold is refused at submit.",
       "[H100, NVIDIA A100-SXM4-80GB]"},
      {"gpu_preference", "string or list of strings", "none",
       "The order to try GPU types in, first to last, then any other allowed type. Each must be "
       "among `gpu_type` when that is given.",
       "[NVIDIA H100 80GB HBM3]"},
      {"gang", "boolean", "`true`",
       "All tasks start together or none does. `false` is accepted but still placed as a gang "
       "today.",
       "true"},
      {"runtime", "duration", "unknown",
       "Your estimate of the run time, if you have one (must be positive). `order/sjf` and "
       "`order/srtf` rank jobs by it and backfill (`baton sim --backfill`) plans with it.",
       "2h"},
      {"command", "list of strings, or one string split on whitespace", "none",
       "What every rank of every task runs (argv; no shell unless you run one: "
       "`[sh, -c, \"...\"]`). Real agents refuse a task without one.",
       "[python, train.py, --epochs, \"3\"]"},
      {"env", "mapping of string to string", "none",
       "Extra environment for every rank. Names are shell identifiers and must not start with "
       "`BATON_` (the agent sets those).",
       "{NCCL_DEBUG: INFO}"},
      {"ranks_per_task", "integer 1..1024", "`1`",
       "Processes per task (torchrun-style ranks), each with its own `RANK` and `LOCAL_RANK`; "
       "`WORLD_SIZE` = tasks x ranks_per_task.",
       "8"},
      {"max_attempts", "integer 1..1000", "`1`",
       "Attempts allowed to fail before the job fails. Task failures, start timeouts and nodes "
       "lost after start count; preemptions, drains and cancellations do not.",
       "3"},
      {"cpus", "number >= 0, up to 3 decimals", "no limit",
       "CPU limit per task (all its ranks together), enforced with cgroup v2 `cpu.max` where "
       "the agent's machine allows; `0` = no limit. Not used for placement yet.",
       "16"},
      {"memory", "byte size (bytes, or k/M/G/T, Ki/Mi/Gi/Ti)", "no limit",
       "Memory limit per task, enforced with cgroup v2 `memory.max` where the agent's machine "
       "allows; `0` = no limit, at most 1Pi. Not used for placement yet.",
       "64Gi"},
      {"restart_backoff", "duration 0..1h", "`0`",
       "Wait before retrying after a counted failure, doubling with each further one (at most "
       "an hour); `0` = retry at once.",
       "30s"},
      {"preempt_notice", "duration 0..1h", "batond's default (10s)",
       "On preemption, drain or cancel: SIGTERM, then this long (`BATON_PREEMPT_NOTICE`) to "
       "write a checkpoint and exit before SIGKILL. `0` = batond's default.",
       "2m"},
      {"restart_scope", "`all-tasks` or `failed-tasks`",
       "`all-tasks` for a gang or a one-task job, `failed-tasks` with `gang: false`",
       "What a task failure restarts: `all-tasks` stops every task and places the job again "
       "as a new attempt (preferring the nodes it ran on, minus the failed one); "
       "`failed-tasks` restarts only the failed task in place while the others keep running "
       "(needs `gang: false`). Either way `max_attempts` bounds the restarts.",
       "failed-tasks"},
      {"simulate_duration", "duration", "`0`",
       "For simulated agents only (`baton-agent --simulate N`): how long each task \"runs\" "
       "before it exits 0. Real agents ignore it.",
       "30s"},
  };
  return kDocs;
}

std::string JobFieldsMarkdown() {
  std::string out =
      "| Key | Type | Default | Meaning | Example |\n"
      "|---|---|---|---|---|\n";
  for (const JobFieldDoc& d : JobFieldDocs()) {
    std::string example(d.example);
    // A '|' would end the Markdown cell.
    for (size_t p = 0; (p = example.find('|', p)) != std::string::npos; p += 2) {
      example.replace(p, 1, "\\|");
    }
    out += fmt::format("| `{}` | {} | {} | {} | `{}` |\n", d.key, d.type, d.fallback, d.meaning,
                       example);
  }
  return out;
}

}  // namespace baton::spec
