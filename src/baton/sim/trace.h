// Trace readers for `baton sim`: Philly CSV and baton's JSON-lines format.
//
// A trace is a list of jobs with submit times and true run times. Readers check every
// row and stop at the first bad one with an error naming the source and line
// ("philly.csv:17: num_gpus: must be a positive integer, got '0'"). Jobs come back
// sorted by submit time, ties kept in file order, so the simulator is deterministic.
//
// Thread-safety: free functions with no shared state.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton::sim {

struct TraceJob {
  std::string id;            // the trace's id; Philly rows get their 1-based line number
  Time submit;
  Duration duration;         // run time when running alone, at full speed
  int32_t gpus = 0;          // total GPUs across all tasks, > 0
  std::optional<int32_t> tasks;  // how many tasks the GPUs split into (gang); unset = decide
  std::string queue;         // tenant; Philly's virtual cluster id; "" = default queue
  std::string gpu_type;      // required GPU type; "" = any
  int32_t priority = 0;
  std::optional<Duration> checkpoint_interval;  // run time between checkpoints
  int line = 0;              // 1-based source line
  // Throughput-aware simulation (ThroughputTable): the job's type as the table names it
  // ("ResNet-50 (batch size 64)") and its work in training steps. The scale factor is
  // `gpus`. Empty / 0: the job runs for `duration` on any GPU type.
  std::string job_type;
  double steps = 0;
};

// Keeps jobs whose queue (virtual cluster) is listed and whose submit time is in
// [from, to). Empty / unset members do not filter.
struct TraceFilter {
  std::vector<std::string> queues;
  std::optional<Time> from;
  std::optional<Time> to;
  bool Keep(const TraceJob& job) const;
};

enum class TraceFormat { kPhillyCsv, kJsonl };
Result<TraceFormat> ParseTraceFormat(std::string_view name);  // "philly-csv" | "jsonl"
std::string_view TraceFormatName(TraceFormat format);         // the inverse

// Reads a whole trace. `source` names the input in messages (usually the path).
//
// philly-csv: a header line, then one job a row. Columns are found by header name:
// timestamp ("YYYY-MM-DD HH:MM:SS", UTC), duration (seconds, "66.0", > 0), num_gpus ("8"
// or "8.0") are required; cluster (-> queue) is optional; others (gpu_time) are ignored.
// CRLF, blank lines and RFC 4180 quoting within a line are fine. A header with no rows
// gives no jobs; an input without a header is an error. id = line = the row's line.
//
// jsonl: one object a line; blank lines and lines starting with '#' are skipped. Keys:
// id (string or integer, unique), submit_s (>= 0), duration_s (> 0), gpus (> 0) are
// required; queue, gpu_type (strings), priority (-1000..1000), tasks (divides gpus)
// and checkpoint_s (> 0: run time between the job's checkpoints) are optional, null
// meaning unset. Any other key is an error, so typos are caught.
Result<std::vector<TraceJob>> ReadPhillyCsv(std::istream& in, std::string_view source,
                                            const TraceFilter& filter);
Result<std::vector<TraceJob>> ReadJsonlTrace(std::istream& in, std::string_view source,
                                             const TraceFilter& filter);
Result<std::vector<TraceJob>> ReadTraceFile(const std::string& path, TraceFormat format,
                                            const TraceFilter& filter);

// "2017-10-09", "2017-10-09 07:01:55" or "2017-10-09T07:01:55" (UTC) -> Time.
Result<Time> ParseTimestamp(std::string_view text);

}  // namespace baton::sim
