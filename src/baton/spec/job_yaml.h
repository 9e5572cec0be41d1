// Job specs from YAML: the file format of docs/specs.md into model::JobSpec.
//
// A file holds either one job (a mapping of job fields) or several under `jobs:`:
//
//   name: train-llm                     jobs:
//   tasks: 2                              - {name: a, gpus: 1}
//   gpus: 8                               - {name: b, gpus: 4, runtime: 2h}
//   gpu_type: H100
//
// Each job is checked field by field and then with model::ValidateJobSpec; every error is
// InvalidArgument and reads "source:line: field.path: message", the path starting with
// "jobs[i]." in a list file, e.g. "batch.yaml:9: jobs[2].gpus: must be at least 1, got 0".
//
// Not responsible for: whether the named queue or GPU types exist in a cluster (that
// needs the cluster; the scheduler reports such jobs as unplaceable with a reason).
// Thread-safety: free functions with no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/model/job_spec.h"

namespace baton::spec {

// Parses one job or a `jobs:` list from YAML text, in file order. `source` names the
// input in messages. A `jobs:` list must hold at least one job.
Result<std::vector<model::JobSpec>> ParseJobYaml(std::string_view text, std::string_view source);

// Reads and parses a file; NotFound if it does not exist (the path names the source).
Result<std::vector<model::JobSpec>> LoadJobYaml(const std::string& path);

// The keys a job mapping may have, in the parser's order (`jobs:` aside). Every one is
// documented in job_fields.h (a test checks both ways).
const std::vector<std::string_view>& JobFieldNames();

}  // namespace baton::spec
