// `baton sim`: run a trace through the scheduler core under one or more policies.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace baton::cli {

struct SimFlags {
  std::string cluster_file;
  int32_t nodes = 0;
  int32_t gpus_per_node = 0;
  std::string gpu_type = "GPU";
  int32_t rack_size = 0;
  std::string trace_file;
  std::string workload;  // "poisson" or "gavel": a generated trace instead of --trace
  double rate_per_hour = 60;
  int64_t workload_jobs = 1000;
  double mean_duration_s = 3600;
  int32_t workload_gpus = 1;
  std::string trace_format;  // "" = from the file extension
  std::vector<std::string> vcs;
  std::string from, to;
  std::vector<std::string> policies = {"order/fifo"};
  std::string placement = "placement/topology";
  uint64_t seed = 1;
  std::string format = "table";
  bool stable = false;
  bool quiet = false;
  int32_t threads = 0;  // 0 = one per policy, up to the machine's cores
  // Shared-cluster mechanisms (issue 3); each backfill mode is a run per policy.
  std::vector<std::string> backfill = {"none"};
  bool preempt_priority = false;
  bool no_reclaim = false;
  double min_run_s = 0;
  double checkpoint_s = 0;
  double half_life_s = 0;
  double default_estimate_s = 3600;
  bool no_estimates = false;
  int32_t max_reservations = 8;
  int32_t large_gang_gpus = 16;
  std::string throughputs_file;  // per-GPU-type job speeds (--throughputs)
  std::string measure_jobs;      // "A:B": report jobs A..B-1 in arrival order only
  std::string report_dir;        // write an HTML report here (--report)
};

// Registers `sim` on `app`; the command runs when it is selected.
CLI::App* AddSimCommand(CLI::App& app, SimFlags& flags);
int RunSim(const SimFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace baton::cli
