// ThroughputTable: measured training speed (steps per second) of each job type, at each
// scale factor (GPUs per job), on each GPU type. Heterogeneity-aware simulation uses it
// to make a job progress at the speed of the GPU type it was given, and to tell the
// heterogeneity-aware policies (order/hetero-*) what each job would get where.
//
// Two file formats, told apart by their first non-blank character:
//   - CSV ("job_type,scale_factor,v100_steps_per_s,p100_steps_per_s,..."): a header, then
//     one row per (job type, scale factor). Every column after the first two must be named
//     `<gpu type>_steps_per_s`. This is the layout of Gavel's isolated_throughputs.csv.
//   - JSON ('{'): {"<gpu type>": {"('<job type>', <scale factor>)": {"null": steps/s,
//     ...co-location pairs, ignored...}}}, the layout of Gavel's
//     simulation_throughputs.json. GPU types named `*_unconsolidated` are skipped: baton
//     places a gang's tasks itself and uses the consolidated numbers.
// A throughput of 0 means the job cannot run on that GPU type (e.g. out of memory).
// Errors name the source, line (CSV) or key path (JSON) and the field.
//
// GPU type names compare case-insensitively ("v100" in the file matches a cluster's
// "V100"). Thread-safety: immutable after loading; share freely between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/common/status.h"

namespace baton::sim {

class ThroughputTable {
 public:
  // Parses `text`; `source` names it in messages (usually the path).
  static Result<ThroughputTable> Parse(std::string_view text, std::string_view source);
  static Result<ThroughputTable> Load(const std::string& path);

  // Steps per second of `job_type` at `scale_factor` GPUs on `gpu_type`; nullopt when
  // the table has no such entry.
  std::optional<double> Get(std::string_view job_type, int scale_factor,
                            std::string_view gpu_type) const;
  // Whether the table has a row for (job_type, scale_factor), on any GPU type.
  bool Has(std::string_view job_type, int scale_factor) const;

  const std::string& source() const { return source_; }
  // GPU types the table covers, lower-case, in file order (CSV) or name order (JSON).
  const std::vector<std::string>& gpu_types() const { return gpu_types_; }
  // Distinct job types, sorted by name.
  std::vector<std::string> job_types() const;
  // Scale factors the table has for `job_type`, ascending.
  std::vector<int> scale_factors(std::string_view job_type) const;

 private:
  using Key = std::pair<std::string, int>;  // (job type, scale factor)
  static Result<ThroughputTable> ParseCsv(std::string_view text, std::string_view source);
  static Result<ThroughputTable> ParseJson(std::string_view text, std::string_view source);
  int GpuIndex(std::string_view gpu_type) const;

  std::string source_;
  std::vector<std::string> gpu_types_;
  // Per key, steps/s for each of gpu_types_ (nullopt: no number for that type).
  std::map<Key, std::vector<std::optional<double>>> rows_;
};

}  // namespace baton::sim
