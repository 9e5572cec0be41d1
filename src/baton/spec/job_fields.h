// The job spec's fields, documented: one entry per YAML key the job parser accepts
// (job_yaml.h), with its type, default, meaning and an example value. This table is the
// source of docs/reference/job-spec.md (`make docs`) and of `baton validate --job-fields`.
//
// Kept honest by job_fields_test.cc: every key the parser accepts (JobFieldNames()) has an
// entry, every entry is a key the parser accepts, and every example parses. A new field in
// the parser therefore needs a line here; then run `make docs`.
//
// Thread-safety: immutable data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace baton::spec {

struct JobFieldDoc {
  std::string_view key;       // as in YAML: "gpus"
  std::string_view type;      // "integer 1..100000", "duration", ...
  std::string_view fallback;  // the default when the key is absent or null
  std::string_view meaning;   // one or two sentences, Markdown
  std::string_view example;   // a YAML value that parses: "8", "[H100, A100]"
};

// In the order the reference lists them.
const std::vector<JobFieldDoc>& JobFieldDocs();

// The reference table in Markdown (header row + one row per field), as
// docs/reference/job-spec.md embeds it and `baton validate --job-fields` prints it.
std::string JobFieldsMarkdown();

}  // namespace baton::spec
