// Tests for job spec parsing: the example files, both file forms, every field's accepted
// spellings, and bad input (whole messages, so line and field path are pinned).
#include "baton/spec/job_yaml.h"

#include <gtest/gtest.h>

#include <string>

namespace baton::spec {
namespace {

using model::JobSpec;
using Strings = std::vector<std::string>;

// The single job a text must parse into.
JobSpec ParseOne(const std::string& yaml) {
  Result<std::vector<JobSpec>> r = ParseJobYaml(yaml, "j.yaml");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || r->size() != 1) {
    ADD_FAILURE() << "expected exactly one job";
    return JobSpec{};
  }
  return r->front();
}

// The error message of a parse that must fail, or "OK" so a wrong success shows plainly.
std::string ParseError(const std::string& yaml) {
  Result<std::vector<JobSpec>> r = ParseJobYaml(yaml, "j.yaml");
  if (r.ok()) return "OK";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(JobExamplesTest, Train) {
  Result<std::vector<JobSpec>> r = LoadJobYaml(BATON_SOURCE_DIR "/examples/jobs/train.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const JobSpec& j = r->front();
  EXPECT_EQ(j.name, "train-llm");
  EXPECT_EQ(j.queue, "team-a");
  EXPECT_EQ(j.priority, 10);
  EXPECT_EQ(j.tasks, 2);
  EXPECT_EQ(j.gpus_per_task, Quantity::Whole(8));
  EXPECT_EQ(j.gpu_types, Strings{"H100"});
  EXPECT_TRUE(j.gpu_preference.empty());
  EXPECT_TRUE(j.gang);
  EXPECT_EQ(j.estimated_runtime, Seconds(7200));
  EXPECT_EQ(j.command, (Strings{"python", "train.py", "--config", "configs/llm-7b.yaml"}));
}

TEST(JobExamplesTest, Batch) {
  Result<std::vector<JobSpec>> r = LoadJobYaml(BATON_SOURCE_DIR "/examples/jobs/batch.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  const JobSpec& debug = (*r)[0];
  EXPECT_EQ(debug.name, "debug-notebook");
  EXPECT_EQ(debug.queue, "default");
  EXPECT_EQ(debug.tasks, 1);
  EXPECT_EQ(debug.gpus_per_task, Quantity::Whole(1));
  EXPECT_TRUE(debug.gpu_types.empty());
  EXPECT_EQ(debug.estimated_runtime, Seconds(900));
  EXPECT_EQ(debug.command, (Strings{"jupyter", "lab", "--no-browser"}));

  const JobSpec& finetune = (*r)[1];
  EXPECT_EQ(finetune.name, "finetune");
  EXPECT_EQ(finetune.queue, "team-b");
  EXPECT_EQ(finetune.priority, 5);
  EXPECT_EQ(finetune.tasks, 4);
  EXPECT_EQ(finetune.gpus_per_task, Quantity::Whole(4));
  EXPECT_EQ(finetune.gpu_types, (Strings{"A100", "H100"}));
  EXPECT_EQ(finetune.gpu_preference, (Strings{"H100", "A100"}));
  EXPECT_EQ(finetune.estimated_runtime, Seconds(5400));

  const JobSpec& eval = (*r)[2];
  EXPECT_EQ(eval.name, "eval-sweep");
  EXPECT_EQ(eval.priority, -5);
  EXPECT_EQ(eval.tasks, 8);
  EXPECT_FALSE(eval.gang);
  EXPECT_EQ(eval.gpu_types, Strings{"A100"});
  EXPECT_EQ(eval.estimated_runtime, Seconds(3600));
}

TEST(JobLoadTest, MissingFileIsNotFound) {
  Result<std::vector<JobSpec>> r = LoadJobYaml("/nonexistent/job.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "/nonexistent/job.yaml: no such file");
}

TEST(JobParseTest, DefaultsForAnAlmostEmptyJob) {
  JobSpec j = ParseOne("gpus: 2\n");
  EXPECT_EQ(j.name, "");
  EXPECT_EQ(j.queue, "default");
  EXPECT_EQ(j.priority, 0);
  EXPECT_EQ(j.tasks, 1);
  EXPECT_EQ(j.gpus_per_task, Quantity::Whole(2));
  EXPECT_TRUE(j.gpu_types.empty());
  EXPECT_TRUE(j.gang);
  EXPECT_FALSE(j.estimated_runtime.has_value());
  EXPECT_TRUE(j.command.empty());
  // Null values keep the defaults too.
  JobSpec k = ParseOne("name: x\nqueue:\nruntime: ~\n");
  EXPECT_EQ(k.queue, "default");
  EXPECT_FALSE(k.estimated_runtime.has_value());
}

TEST(JobParseTest, RuntimeSpellings) {
  EXPECT_EQ(ParseOne("runtime: 90s\n").estimated_runtime, Seconds(90));
  EXPECT_EQ(ParseOne("runtime: 15m\n").estimated_runtime, Seconds(900));
  EXPECT_EQ(ParseOne("runtime: 2h\n").estimated_runtime, Seconds(7200));
  EXPECT_EQ(ParseOne("runtime: 1d\n").estimated_runtime, Seconds(86400));
  EXPECT_EQ(ParseOne("runtime: 1h30m\n").estimated_runtime, Seconds(5400));
  EXPECT_EQ(ParseOne("runtime: 3600\n").estimated_runtime, Seconds(3600));
  EXPECT_EQ(ParseOne("runtime: '45'\n").estimated_runtime, Seconds(45));
}

TEST(JobParseTest, CpuAndMemoryLimits) {
  JobSpec j = ParseOne("cpus: 4\nmemory: 16Gi\n");
  EXPECT_EQ(j.cpus_per_task, Quantity::Whole(4));
  EXPECT_EQ(j.memory_bytes_per_task, int64_t{16} << 30);
  EXPECT_EQ(ParseOne("cpus: 0.5\nmemory: 1.5Gi\n").memory_bytes_per_task, int64_t{3} << 29);
  EXPECT_EQ(ParseOne("memory: 2G\n").memory_bytes_per_task, 2000000000);
  EXPECT_EQ(ParseOne("memory: 4096\n").memory_bytes_per_task, 4096);
  JobSpec none = ParseOne("name: x\n");
  EXPECT_EQ(none.cpus_per_task, Quantity());
  EXPECT_EQ(none.memory_bytes_per_task, 0);
  EXPECT_EQ(ParseError("memory: 16GB\n"),
            "j.yaml:1: memory: '16GB' is not a byte size; use bytes or a suffix Ki, Mi, Gi, Ti "
            "(or k, M, G, T): 512Mi, 16Gi");
  EXPECT_EQ(ParseError("memory: 0.3\n"), "j.yaml:1: memory: '0.3' is not a whole number of bytes");
  EXPECT_EQ(ParseError("name: x\ncpus: -2\n"),
            "j.yaml:2: cpus: must be between 0 and 4096 (0 = no limit), got -2");
  EXPECT_EQ(ParseError("memory: 2Pi\n"),
            "j.yaml:1: memory: must be between 0 and 1Pi (0 = no limit), got 2251799813685248");
}

TEST(JobParseTest, RestartBackoffAndPreemptNotice) {
  JobSpec j = ParseOne("restart_backoff: 30s\npreempt_notice: 2m\nmax_attempts: 4\n");
  EXPECT_EQ(j.restart_backoff, Seconds(30));
  EXPECT_EQ(j.preempt_notice, Seconds(120));
  EXPECT_EQ(ParseOne("gpus: 1\n").restart_backoff, Duration(0));
  EXPECT_EQ(ParseOne("gpus: 1\n").restart_scope, model::RestartScope::kDefault);
  EXPECT_EQ(ParseOne("tasks: 4\ngang: false\nrestart_scope: failed-tasks\n").restart_scope,
            model::RestartScope::kFailedTasks);
  EXPECT_EQ(ParseOne("tasks: 4\nrestart_scope: all-tasks\n").restart_scope,
            model::RestartScope::kAllTasks);
  EXPECT_EQ(ParseError("name: x\nrestart_backoff: 2d\n"),
            "j.yaml:2: restart_backoff: must be between 0 and 1h00m");
}

TEST(JobParseTest, GpuTypeAndCommandForms) {
  JobSpec j = ParseOne("gpu_type: A100-80GB\ncommand: python  -m  train\n");
  EXPECT_EQ(j.gpu_types, Strings{"A100-80GB"});
  EXPECT_EQ(j.command, (Strings{"python", "-m", "train"}));
  JobSpec k = ParseOne(
      "gpu_type:\n  - H100\n  - A100\ngpu_preference: H100\n"
      "command:\n  - bash\n  - -c\n  - echo hi there\n");
  EXPECT_EQ(k.gpu_types, (Strings{"H100", "A100"}));
  EXPECT_EQ(k.gpu_preference, Strings{"H100"});
  EXPECT_EQ(k.command, (Strings{"bash", "-c", "echo hi there"}));
  // A preference without a type list orders the types it names and allows any other.
  EXPECT_EQ(ParseOne("gpu_preference: [H100, L40S]\n").gpu_preference, (Strings{"H100", "L40S"}));
}

TEST(JobParseTest, JobsListKeepsFileOrder) {
  Result<std::vector<JobSpec>> r = ParseJobYaml(
      "jobs:\n  - {name: a, gpus: 1}\n  - {name: b, gpus: 2}\n  - {name: c, gpus: 3}\n", "j.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "a");
  EXPECT_EQ((*r)[2].name, "c");
  EXPECT_EQ((*r)[2].gpus_per_task, Quantity::Whole(3));
}

TEST(JobErrorTest, ValidateJobSpecMessagesGetPathAndLine) {
  const std::string list =
      "jobs:\n"
      "  - {name: a, gpus: 1}\n"
      "  - {name: b, gpus: 1}\n"
      "  - name: c\n"
      "    tasks: 2\n"
      "    gpus: 0\n";
  EXPECT_EQ(ParseError(list),
            "j.yaml:6: jobs[2].gpus: must be more than 0 (whole GPUs, or a fraction of one "
            "such as 0.5), got 0");
  EXPECT_EQ(ParseError("gpus: 1.5\n"),
            "j.yaml:1: gpus: 1.5 is neither a whole number of GPUs nor a fraction of one GPU "
            "(below 1); a task shares at most one GPU");
  EXPECT_EQ(ParseError("gpus: -4\n"),
            "j.yaml:1: gpus: must be more than 0 (whole GPUs, or a fraction of one such as "
            "0.5), got -4");
  EXPECT_EQ(ParseError("gpus: 0.0001\n"),
            "j.yaml:1: gpus: expected a number with at most 3 decimals, got '0.0001'");
  EXPECT_EQ(ParseError("name: x\n\ngpus: 65\n"),
            "j.yaml:3: gpus: at most 64 GPUs per task (one node), got 65");
  EXPECT_EQ(ParseError("name: x\nruntime: 0\n"), "j.yaml:2: runtime: must be positive");
  EXPECT_EQ(ParseError("name: x\nqueue: ''\n"), "j.yaml:2: queue: must not be empty");
  EXPECT_EQ(ParseError("jobs:\n  - name: x\n    gpu_type: [A100]\n    gpu_preference: [H100]\n"),
            "j.yaml:4: jobs[0].gpu_preference: 'H100' is not among the allowed gpu_types");
}

TEST(JobYamlTest, FractionsAndMigProfiles) {
  auto half = ParseJobYaml("name: x\ngpus: 0.5\n", "j.yaml");
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  EXPECT_EQ((*half)[0].gpus_per_task, Quantity::FromMilli(500));
  auto mig = ParseJobYaml("name: x\nmig: 1g.10gb\ngpus: 2\n", "j.yaml");
  ASSERT_TRUE(mig.ok()) << mig.status().ToString();
  EXPECT_EQ((*mig)[0].mig_profile, "1g.10gb");
  EXPECT_EQ((*mig)[0].gpus_per_task, Quantity::Whole(2));
}

TEST(JobErrorTest, MigErrorsNameTheField) {
  EXPECT_EQ(ParseError("name: x\nmig: 1g10gb\n"),
            "j.yaml:2: mig: '1g10gb' is not a MIG profile (written like 1g.10gb or 3g.40gb)");
  EXPECT_EQ(ParseError("name: x\nmig: ''\n"), "j.yaml:2: mig: must name a MIG profile (like 1g.10gb)");
  EXPECT_EQ(ParseError("name: x\nmig: 1g.10gb\ngpu_type: A100\n"),
            "j.yaml:2: mig: cannot be combined with gpu_type or gpu_preference (a MIG profile "
            "picks its GPUs)");
  EXPECT_EQ(ParseError("name: x\nmig: 1g.10gb\ngpus: 0.5\n"),
            "j.yaml:3: gpus: a MIG job asks for whole MIG instances per task (1 or more), got "
            "0.5");
}

TEST(JobErrorTest, RangesAndTypes) {
  EXPECT_EQ(ParseError("name: x\ntasks: 0\n"),
            "j.yaml:2: tasks: must be between 1 and 100000, got 0");
  EXPECT_EQ(ParseError("jobs:\n  - {name: x, priority: 5000}\n"),
            "j.yaml:2: jobs[0].priority: must be between -1000 and 1000, got 5000");
  EXPECT_EQ(ParseError("tasks: four\n"), "j.yaml:1: tasks: expected an integer, got 'four'");
  EXPECT_EQ(ParseError("gpus: eight\n"), "j.yaml:1: gpus: expected a number, got 'eight'");
  EXPECT_EQ(ParseError("gpus: \"8\"\n"), "j.yaml:1: gpus: expected a number, got the string \"8\"");
  EXPECT_EQ(ParseError("gang: yes\n"), "j.yaml:1: gang: expected true or false, got 'yes'");
  EXPECT_EQ(ParseError("runtime: 2 hours\n"),
            "j.yaml:1: runtime: '2 hours' is not a duration; use seconds (3600) or units s, m, "
            "h, d (90s, 1h30m, 2d)");
  EXPECT_EQ(ParseError("runtime: -5\n"), "j.yaml:1: runtime: must be positive, got -5");
  EXPECT_EQ(ParseError("command: {run: x}\n"),
            "j.yaml:1: command: expected a list of strings, got a mapping");
  EXPECT_EQ(ParseError("command: [python, [x]]\n"),
            "j.yaml:1: command[1]: expected a string, got a list");
  EXPECT_EQ(ParseError("gpu_type: []\n"), "j.yaml:1: gpu_type: must name at least one GPU type");
  EXPECT_EQ(ParseError("name: {a: 1}\n"), "j.yaml:1: name: expected a string, got a mapping");
}

TEST(JobErrorTest, UnknownFields) {
  EXPECT_EQ(ParseError("name: x\ngpu_types: [H100]\n"),
            "j.yaml:2: gpu_types: unknown field; did you mean gpu_type?");
  EXPECT_EQ(ParseError("jobs:\n  - name: x\n    task: 2\n"),
            "j.yaml:3: jobs[0].task: unknown field; did you mean tasks?");
  EXPECT_EQ(ParseError("job:\n  - name: x\n"), "j.yaml:1: job: unknown field; did you mean jobs?");
  EXPECT_EQ(ParseError("name: x\nimage: ubuntu\n"),
            "j.yaml:2: image: unknown field; expected one of: name, queue, priority, tasks, "
            "gpus, mig, gpu_type, gpu_preference, gang, runtime, command, env, ranks_per_task, "
            "max_attempts, simulate_duration, cpus, memory, restart_backoff, preempt_notice, "
            "restart_scope, jobs");
}

TEST(JobErrorTest, RestartScope) {
  EXPECT_EQ(ParseError("command: x\nrestart_scope: some\n"),
            "j.yaml:2: restart_scope: 'some' is not a restart scope; use all-tasks or "
            "failed-tasks");
  EXPECT_EQ(ParseError("command: x\ntasks: 2\nrestart_scope: failed-tasks\n"),
            "j.yaml:3: restart_scope: failed-tasks needs gang: false (a gang's tasks start "
            "and restart together)");
}

TEST(JobErrorTest, ListFileShape) {
  EXPECT_EQ(ParseError("queue: a\njobs:\n  - name: x\n"),
            "j.yaml:1: queue: not allowed next to jobs:; set it inside each job of the list");
  EXPECT_EQ(ParseError("jobs: []\n"), "j.yaml:1: jobs: must list at least one job");
  EXPECT_EQ(ParseError("jobs:\n"), "j.yaml:1: jobs: must list at least one job");
  EXPECT_EQ(ParseError("jobs:\n  name: x\n"), "j.yaml:1: jobs: expected a list, got a mapping");
  EXPECT_EQ(ParseError("jobs:\n  - {name: a}\n  - 7\n"),
            "j.yaml:3: jobs[1]: expected a mapping, got '7'");
}

TEST(JobErrorTest, DocumentShape) {
  EXPECT_EQ(ParseError(""),
            "j.yaml:1: empty document; expected a job (a mapping of job fields) or jobs:");
  EXPECT_EQ(ParseError("[1, 2]\n"),
            "j.yaml:1: expected a job (a mapping of job fields) or jobs: at the top level, got "
            "a list");
  std::string e = ParseError("name: x\ngpus: [1\n");
  EXPECT_EQ(e.rfind("j.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find(": invalid YAML: "), std::string::npos) << e;
  EXPECT_EQ(ParseError("name: x\n  bad: 1\n"),
            "j.yaml:2: invalid YAML: illegal map value (column 6)");
  EXPECT_EQ(ParseError("name: x\n\tgpus: 2\n"),
            "j.yaml:2: invalid YAML: illegal tab when looking for indentation (column 1)");
}

}  // namespace
}  // namespace baton::spec
