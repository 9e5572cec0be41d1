// `baton validate`: check cluster and job spec files without running anything.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace baton::cli {

struct ValidateFlags {
  std::vector<std::string> cluster_files;
  std::vector<std::string> job_files;
  bool job_fields = false;  // print the job spec's fields (docs/reference/job-spec.md)
};

CLI::App* AddValidateCommand(CLI::App& app, ValidateFlags& flags);
// Prints one line per valid file; the first error names file, line and field; exit 1.
int RunValidate(const ValidateFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace baton::cli
