#include "baton/spec/job_yaml.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "baton/common/limits.h"
#include "baton/spec/yaml_util.h"

namespace baton::spec {
namespace {

using model::JobSpec;

const std::vector<std::string_view> kJobFields = {"name",    "queue",    "priority",       "tasks",
                                                  "gpus",    "mig",      "gpu_type",
                                                  "gpu_preference", "gang",
                                                  "runtime", "command",
                                                  "env",     "ranks_per_task", "max_attempts",
                                                  "simulate_duration", "cpus", "memory",
                                                  "restart_backoff", "preempt_notice",
                                                  "restart_scope"};

// Bounds for the integer fields before ValidateJobSpec sees them: the parser reports the
// same ranges itself so the error points at the field's own line.
constexpr int64_t kMaxTasks = model::kMaxTasksPerJob;

// Parses one job mapping. `item.path` is "" for a single-job file, else "jobs[i]".
Result<JobSpec> ParseJob(const SpecReader& r, const Field& item) {
  JobSpec job;
  BATON_ASSIGN_OR_RETURN(std::vector<Field> entries, r.Entries(item, kJobFields));
  std::map<std::string, Field> given;  // fields present, to place ValidateJobSpec's errors
  for (const Field& f : entries) {
    if (f.is_null()) continue;  // null = not given: keep the default
    given.emplace(f.key, f);
    if (f.key == "name") {
      BATON_ASSIGN_OR_RETURN(job.name, r.String(f));
    } else if (f.key == "queue") {
      BATON_ASSIGN_OR_RETURN(job.queue, r.String(f));
    } else if (f.key == "priority") {
      BATON_ASSIGN_OR_RETURN(job.priority, r.Int(f, model::kMinPriority, model::kMaxPriority));
    } else if (f.key == "tasks") {
      BATON_ASSIGN_OR_RETURN(job.tasks, r.Int(f, 1, kMaxTasks));
    } else if (f.key == "gpus") {
      BATON_ASSIGN_OR_RETURN(job.gpus_per_task, r.QuantityValue(f));
    } else if (f.key == "mig") {
      BATON_ASSIGN_OR_RETURN(job.mig_profile, r.String(f));
      if (job.mig_profile.empty()) return r.Error(f, "must name a MIG profile (like 1g.10gb)");
    } else if (f.key == "gpu_type") {
      BATON_ASSIGN_OR_RETURN(job.gpu_types, r.StringList(f, SpecReader::ScalarForm::kOneItem));
      if (job.gpu_types.empty()) return r.Error(f, "must name at least one GPU type");
    } else if (f.key == "gpu_preference") {
      BATON_ASSIGN_OR_RETURN(job.gpu_preference, r.StringList(f, SpecReader::ScalarForm::kOneItem));
    } else if (f.key == "gang") {
      BATON_ASSIGN_OR_RETURN(job.gang, r.Bool(f));
    } else if (f.key == "runtime") {
      BATON_ASSIGN_OR_RETURN(job.estimated_runtime, r.DurationValue(f));
    } else if (f.key == "command") {
      BATON_ASSIGN_OR_RETURN(job.command,
                             r.StringList(f, SpecReader::ScalarForm::kSplitOnWhitespace));
    } else if (f.key == "env") {
      BATON_ASSIGN_OR_RETURN(std::vector<Field> vars, r.Entries(f, {}));
      for (const Field& v : vars) {
        BATON_ASSIGN_OR_RETURN(job.env[v.key], r.String(v));
      }
    } else if (f.key == "ranks_per_task") {
      BATON_ASSIGN_OR_RETURN(job.ranks_per_task, r.Int(f, 1, model::kMaxRanksPerTask));
    } else if (f.key == "max_attempts") {
      BATON_ASSIGN_OR_RETURN(job.max_attempts, r.Int(f, 1, model::kMaxAttemptsLimit));
    } else if (f.key == "simulate_duration") {
      BATON_ASSIGN_OR_RETURN(job.simulate_duration, r.DurationValue(f));
    } else if (f.key == "cpus") {
      BATON_ASSIGN_OR_RETURN(job.cpus_per_task, r.QuantityValue(f));
    } else if (f.key == "memory") {
      BATON_ASSIGN_OR_RETURN(job.memory_bytes_per_task, r.ByteSizeValue(f));
    } else if (f.key == "restart_backoff") {
      BATON_ASSIGN_OR_RETURN(job.restart_backoff, r.DurationValue(f));
    } else if (f.key == "preempt_notice") {
      BATON_ASSIGN_OR_RETURN(job.preempt_notice, r.DurationValue(f));
    } else if (f.key == "restart_scope") {
      BATON_ASSIGN_OR_RETURN(std::string scope, r.String(f));
      auto parsed = model::ParseRestartScope(scope);
      if (!parsed.ok()) return r.Error(f, parsed.status().message());
      job.restart_scope = *parsed;
    }
  }

  // The model's own checks. Its messages start with the field name ("gpus: ..."); point
  // at that field's line when the field was given, else at the job.
  Status valid = model::ValidateJobSpec(job);
  if (!valid.ok()) {
    const std::string& message = valid.message();
    size_t colon = message.find(": ");
    if (colon != std::string::npos) {
      std::string key = message.substr(0, colon);
      if (key == "name" || key == "gpus" || key == "mig" || key == "tasks" || key == "priority" || key == "queue" ||
          key == "runtime" || key == "gpu_preference" || key == "gpu_type" ||
          key == "env" || key == "command" || key == "ranks_per_task" ||
          key == "max_attempts" || key == "simulate_duration" || key == "cpus" ||
          key == "memory" || key == "restart_backoff" || key == "preempt_notice" ||
          key == "restart_scope") {
        auto it = given.find(key);
        int line = it != given.end() ? it->second.line : item.line;
        return r.Error(line, JoinPath(item.path, key), message.substr(colon + 2));
      }
    }
    return r.Error(item, message);
  }
  return job;
}

Result<std::vector<JobSpec>> ParseJobs(const SpecReader& r, std::string_view text) {
  BATON_ASSIGN_OR_RETURN(Field root,
                         r.ParseDocument(text, "a job (a mapping of job fields) or jobs:"));
  // "jobs" is known in both forms so that a typo such as `job:` gets a suggestion.
  std::vector<std::string_view> known = kJobFields;
  known.push_back("jobs");
  BATON_ASSIGN_OR_RETURN(std::vector<Field> entries, r.Entries(root, known));
  auto list =
      std::find_if(entries.begin(), entries.end(), [](const Field& f) { return f.key == "jobs"; });
  std::vector<JobSpec> jobs;
  if (list == entries.end()) {  // a single job
    BATON_ASSIGN_OR_RETURN(JobSpec job, ParseJob(r, root));
    jobs.push_back(std::move(job));
    return jobs;
  }
  // A list file: `jobs:` is its only field.
  for (const Field& f : entries) {
    if (f.key != "jobs") {
      return r.Error(f, "not allowed next to jobs:; set it inside each job of the list");
    }
  }
  if (list->is_null()) return r.Error(*list, "must list at least one job");
  BATON_ASSIGN_OR_RETURN(std::vector<Field> items, r.Items(*list));
  if (items.empty()) return r.Error(*list, "must list at least one job");
  if (items.size() > limits::kMaxJobsPerFile) {
    return r.Error(*list, fmt::format("{} jobs; at most {} per file", items.size(),
                                      limits::kMaxJobsPerFile));
  }
  for (const Field& item : items) {
    BATON_ASSIGN_OR_RETURN(JobSpec job, ParseJob(r, item));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace

Result<std::vector<JobSpec>> ParseJobYaml(std::string_view text, std::string_view source) {
  SpecReader reader(source);
  std::vector<JobSpec> jobs;
  Status status = GuardYaml(source, [&]() -> Status {
    BATON_ASSIGN_OR_RETURN(jobs, ParseJobs(reader, text));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return jobs;
}

const std::vector<std::string_view>& JobFieldNames() { return kJobFields; }

Result<std::vector<JobSpec>> LoadJobYaml(const std::string& path) {
  BATON_ASSIGN_OR_RETURN(std::string text, ReadFileText(path));
  return ParseJobYaml(text, path);
}

}  // namespace baton::spec
