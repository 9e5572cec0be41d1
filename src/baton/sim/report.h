// Report: how `baton sim` prints results — a side-by-side table for people, or one JSON
// object per policy (JSON Lines) for scripts.
//
// JSON fields: policy, jobs, completed, infeasible, avg_jct_s, p50_jct_s, p99_jct_s,
// avg_queue_s, p50_queue_s, p99_queue_s, makespan_s, gpu_utilization, preemptions,
// rounds, cluster_gpus, sim_wall_s, infeasible_jobs (the first 20: id, line, reason),
// lost_gpu_hours, backfilled, large_gang_jobs, large_gang_avg_jct_s, large_gang_p99_jct_s,
// queues (name, guarantee_gpus, avg_gpus, jobs, avg_jct_s, preempted).
// With `stable`, sim_wall_s is printed as 0 so output is byte-identical between runs.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "baton/sim/simulator.h"

namespace baton::sim {

struct ReportOptions {
  bool stable = false;
  std::string cluster_summary;  // "56 nodes, 448 GPUs (V100 448)"
  std::string trace_summary;    // "philly.csv: 82247 jobs, 2017-09-04 .. 2017-12-22"
};

void WriteJson(const std::vector<SimResult>& results, const ReportOptions& opts,
               std::ostream& out);
void WriteTable(const std::vector<SimResult>& results, const ReportOptions& opts,
                std::ostream& out);

std::string SummarizeCluster(const model::Cluster& cluster);
std::string SummarizeTrace(const std::string& source, const std::vector<TraceJob>& trace);

}  // namespace baton::sim
