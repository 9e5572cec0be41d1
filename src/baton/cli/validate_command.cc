#include "baton/cli/validate_command.h"

#include <fmt/format.h>

#include "baton/model/cluster.h"
#include "baton/sim/report.h"
#include "baton/spec/cluster_yaml.h"
#include "baton/spec/job_fields.h"
#include "baton/spec/job_yaml.h"

namespace baton::cli {

CLI::App* AddValidateCommand(CLI::App& app, ValidateFlags& f) {
  CLI::App* cmd = app.add_subcommand("validate", "Check cluster and job spec files (YAML)");
  cmd->add_option("--cluster", f.cluster_files, "Cluster spec files");
  cmd->add_option("--job", f.job_files, "Job spec files");
  cmd->add_flag("--job-fields", f.job_fields,
                "Print every job spec field (key, type, default, meaning, example) as a "
                "Markdown table");
  return cmd;
}

int RunValidate(const ValidateFlags& f, std::ostream& out, std::ostream& err) {
  if (f.job_fields) out << spec::JobFieldsMarkdown();
  if (f.cluster_files.empty() && f.job_files.empty()) {
    if (f.job_fields) return 0;
    err << "baton validate: name files with --cluster FILE and/or --job FILE\n";
    return 2;
  }
  for (const auto& path : f.cluster_files) {
    auto spec = spec::LoadClusterYaml(path);
    if (!spec.ok()) {
      err << "baton validate: " << spec.status().message() << "\n";
      return 1;
    }
    auto cluster = model::Cluster::Build(*spec);
    if (!cluster.ok()) {
      err << "baton validate: " << path << ": " << cluster.status().message() << "\n";
      return 1;
    }
    out << fmt::format("{}: ok: cluster '{}', {}, {} queue(s)\n", path, spec->name,
                       sim::SummarizeCluster(*cluster), spec->queues.size());
  }
  for (const auto& path : f.job_files) {
    auto jobs = spec::LoadJobYaml(path);
    if (!jobs.ok()) {
      err << "baton validate: " << jobs.status().message() << "\n";
      return 1;
    }
    int64_t gpus = 0;
    for (const auto& j : *jobs) gpus += j.tasks * j.gpus_per_task.whole();
    out << fmt::format("{}: ok: {} job(s), {} GPUs in all\n", path, jobs->size(), gpus);
  }
  return 0;
}

}  // namespace baton::cli
