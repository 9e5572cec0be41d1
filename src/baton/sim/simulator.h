// Simulator: replays a job trace through the real scheduler core on a virtual clock.
//
// Discrete-event: the only events are arrivals, completions and policy timers (a LAS
// queue boundary). Events at the same instant are applied together, then one round
// runs; the clock then jumps to the next event. No wall clock inside the simulation,
// so the same trace, cluster, policy and seed give identical results.
//
// Every trace job becomes one gang request: `tasks` from the trace, else the GPUs are
// split into the fewest tasks that fit on one node each (12 GPUs on 8-GPU nodes -> 2
// tasks of 6). A job that can never fit the cluster is reported as infeasible with the
// scheduler's reason, never silently dropped. A preempted job resumes later from its last
// checkpoint (every checkpoint_interval of run time; the trace's checkpoint_s or
// SimOptions.checkpoint_interval); the work since is lost and counted.
//
// Queues: the cluster spec's queues when it lists any (every trace queue must be one of
// them; an empty queue means "default"), else one queue per trace queue, with no
// guarantee or limit.
//
// Thread-safety: Simulate is re-entrant; runs on different threads share nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/model/cluster.h"
#include "baton/sched/registry.h"
#include "baton/sched/scheduler.h"
#include "baton/sim/throughputs.h"
#include "baton/sim/trace.h"

namespace baton::sim {

struct SimOptions {
  sched::PolicyName policy{"order/fifo", "placement/topology"};
  uint64_t seed = 1;
  // Mechanisms shared by all policies: backfill, preemption rights, minimum run time,
  // fair-share half-life (scheduler.h).
  sched::SchedulerOptions sched;
  // Checkpoint interval of jobs whose trace row gives none; 0 = continuous (a preempted
  // job loses nothing).
  Duration checkpoint_interval{0};
  // Whether the scheduler gets each job's true run time as its estimate (an oracle, used
  // by sjf, srtf and backfill); false = no estimates (backfill's default estimate).
  bool runtime_estimates = true;
  // Jobs of at least this many GPUs count as large gangs in the metrics.
  int32_t large_gang_gpus = 16;
  // Interval of the per-queue usage samples (SimResult::usage).
  Duration sample_every = std::chrono::hours(1);
  // Called now and then with (virtual time, jobs finished or refused so far); optional.
  std::function<void(Time, int64_t)> on_progress;
  // Throughput-aware simulation: a job with a job_type progresses at its steps/s (looked
  // up by job type, its GPUs as the scale factor, and the cluster's GPU type names) on
  // the GPU type it was given, and cannot use a type where that is 0. Required when the
  // trace has job types; the table must outlive the call.
  const ThroughputTable* throughputs = nullptr;
  // Steady-state window: report metrics over jobs measure_from .. measure_to - 1 (0-based,
  // arrival order) only, and end the run as soon as all of them have finished (later
  // arrivals keep the cluster loaded until then). -1: every job, run to the end.
  int64_t measure_from = -1, measure_to = -1;
  // Record the timeline (queue length, busy GPUs, preemptions) for reports.
  bool record_timeline = false;
};

struct InfeasibleJob {
  std::string id;
  int line = 0;
  std::string reason;
};

// Per-job outcome, in trace order.
struct JobRecord {
  std::string id;
  Time submit;
  Time first_start;
  Time finish;
  Duration duration{0};
  int32_t gpus = 0;
  int32_t preemptions = 0;
  bool infeasible = false;
  Duration alone{0};  // run time alone on its fastest GPU type (= duration without rates)
  Duration ran{0};    // time it actually held GPUs
  std::string queue;
  double lost_gpu_s = 0;  // work redone after preemptions
};

// One point of the timeline, taken after the events and round at `t`.
struct TimelinePoint {
  double t_s = 0;           // seconds since the first submit
  int64_t pending = 0;      // jobs waiting
  int64_t busy_gpus = 0;    // GPUs held by running jobs
  int64_t preemptions = 0;  // so far
};

struct QueueUsage {
  std::string queue;  // "" = the default queue
  double gpu_s = 0;   // GPU-seconds its jobs held
};

// A queue as the run saw it, for reports: its quota and what it got.
struct QueueSummary {
  std::string name;
  std::string parent;
  double guarantee_gpus = 0;
  double limit_gpus = -1;  // -1 = none
  double avg_gpus = 0;     // time-averaged GPUs held over the makespan
  int64_t jobs = 0;
  double avg_jct_s = 0;
  int64_t preempted = 0;   // its jobs' preemptions
};

// GPUs held per queue (index as in SimResult::queues) and in all at one instant.
struct UsageSample {
  Time at;
  int64_t busy_gpus = 0;
  std::vector<double> queue_gpus;
};

struct SimResult {
  std::string policy;
  int64_t jobs = 0;
  int64_t completed = 0;
  int64_t infeasible = 0;
  double avg_jct_s = 0, p50_jct_s = 0, p99_jct_s = 0;
  double avg_queue_s = 0, p50_queue_s = 0, p99_queue_s = 0;
  double makespan_s = 0;
  double gpu_utilization = 0;  // busy GPU-seconds / (cluster GPUs x makespan)
  int64_t preemptions = 0;
  double lost_gpu_hours = 0;   // work lost to preemptions (since victims' checkpoints)
  int64_t backfilled = 0;      // jobs started while an earlier job held a reservation
  int64_t large_gang_jobs = 0;
  double large_gang_avg_jct_s = 0, large_gang_p99_jct_s = 0;
  std::vector<QueueSummary> queues;
  std::vector<UsageSample> usage;
  int64_t rounds = 0;
  int64_t cluster_gpus = 0;
  double sim_wall_s = 0;  // wall-clock cost of the run (not deterministic)
  std::vector<InfeasibleJob> infeasible_jobs;
  std::vector<JobRecord> records;
  // Jobs the averages above cover: every completed job, or the --measure-jobs window.
  int64_t measured_jobs = 0;
  bool windowed = false;
  int64_t window_from = 0, window_to = 0;  // measured jobs: records [from, to)
  // Finish-time fairness over the measured jobs: JCT / run time alone (1 = as if alone).
  double ftf_mean = 0, ftf_worst = 0;
  std::vector<QueueUsage> queue_usage;   // by queue name
  std::vector<TimelinePoint> timeline;   // with SimOptions::record_timeline
  bool throughput_aware = false;         // jobs progressed at per-type rates
};

// Errors: a trace job naming a GPU type the cluster does not have, an unknown policy.
Result<SimResult> Simulate(const model::Cluster& cluster, const std::vector<TraceJob>& trace,
                           const SimOptions& options);

// Nearest-rank percentile of an unsorted sample (q in [0, 1]); 0 for an empty one.
double Percentile(std::vector<double> values, double q);

}  // namespace baton::sim
