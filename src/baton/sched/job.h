// The scheduler's view of jobs: what to place (JobRequest), where it went (Allocation)
// and what the scheduler remembers about it (JobInfo).
//
// A JobRequest is one gang: `tasks` identical tasks of `gpus_per_task` GPUs that start
// together or not at all, all on one GPU type, each task on one node. A job whose tasks
// need not start together is submitted by its driver as several one-task requests.
#pragma once

#include <cstdint>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/time.h"
#include "baton/model/cluster.h"

namespace baton::sched {

struct JobRequest {
  JobId id;
  QueueId queue;
  int32_t priority = 0;
  Time submit;
  int32_t tasks = 1;
  int32_t gpus_per_task = 1;
  model::GpuTypeMask allowed = model::kAllGpuTypes;
  std::vector<GpuTypeId> preference;  // tried first, in order; then the rest by id
  // Expected run time, used by order/sjf and order/srtf (the simulator passes the true
  // duration: these are oracle baselines). Zero = unknown, ordered last.
  Duration runtime_estimate{0};
  // Measured speed (training steps/s) on each GPU type, indexed by GpuTypeId, for the
  // heterogeneity-aware policies (order/hetero-*); 0 = cannot run there, and the driver
  // leaves such types out of `allowed` too (the simulator does). Empty = unknown: GPU
  // types are interchangeable.
  std::vector<double> throughput;

  int64_t gpus() const { return int64_t{tasks} * gpus_per_task; }
};

struct TaskPlacement {
  NodeId node;
  uint64_t gpus = 0;  // mask of GPU indices on the node
  friend bool operator==(const TaskPlacement&, const TaskPlacement&) = default;
};

struct Allocation {
  GpuTypeId type;
  std::vector<TaskPlacement> tasks;  // tasks[i] is task i of the gang
};

enum class JobPhase { kPending, kRunning };

struct JobInfo {
  JobRequest req;
  JobPhase phase = JobPhase::kPending;
  Allocation alloc;          // valid while running
  Time run_start;            // start of the current run
  Time pending_since;        // submit, or the last preemption
  Duration executed{0};      // wall time of finished runs
  int32_t preemptions = 0;
  JobId last_preempted_by;

  // Wall time run so far, the current run included.
  Duration Attained(Time now) const {
    return phase == JobPhase::kRunning ? executed + (now - run_start) : executed;
  }
};

}  // namespace baton::sched
