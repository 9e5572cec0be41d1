// The scheduler's view of jobs: what to place (JobRequest), where it went (Allocation)
// and what the scheduler remembers about it (JobInfo).
//
// A JobRequest is one gang: `tasks` identical tasks of `gpus_per_task` GPUs that start
// together or not at all, all on one GPU type, each task on one node. A job whose tasks
// need not start together is submitted by its driver as several one-task requests.
//
// Devices are whole GPUs, or MIG instances when `allowed` names MIG types (types whose
// GpuTypeInfo::mig_profile is set; a request never mixes the two). A fractional request
// (gpu_share_milli > 0) gives each task a share of one whole GPU instead: shares pack
// onto shared GPUs (ClusterState), and a shared GPU is never given whole.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/time.h"
#include "baton/model/cluster.h"

namespace baton::sched {

struct JobRequest {
  JobId id;
  QueueId queue{0};  // an index into the scheduler's QueueBook
  int32_t priority = 0;
  Time submit;
  int32_t tasks = 1;
  int32_t gpus_per_task = 1;
  // Fractional GPUs: each task takes this many milli-GPUs (1..999) of one shared GPU;
  // gpus_per_task is then 1. 0 = whole devices.
  int32_t gpu_share_milli = 0;
  // What one device counts for in quotas and fair share, in milli-GPUs: 1000 for a GPU,
  // less for a MIG instance (its slices of the GPU, model::MigProfileMilli).
  int32_t device_milli = 1000;
  // kAllGpuTypes = any whole-GPU type (model::Cluster::Resolve); MIG types only by name.
  model::GpuTypeMask allowed = model::kAllGpuTypes;
  std::vector<GpuTypeId> preference;  // tried first, in order; then the rest by id
  // Expected run time, used by order/sjf and order/srtf (the simulator passes the true
  // duration: these are oracle baselines). Zero = unknown, ordered last.
  Duration runtime_estimate{0};
  // How often the job saves a checkpoint while running; a preempted job resumes from its
  // last one and loses the work since. Zero = it checkpoints continuously (loses nothing).
  Duration checkpoint_interval{0};
  // Per task, for fair share (order/drf); zero = not counted.
  int32_t cpus_per_task = 0;
  int64_t memory_mib_per_task = 0;
  // Measured speed (training steps/s) on each GPU type, indexed by GpuTypeId, for the
  // heterogeneity-aware policies (order/hetero-*); 0 = cannot run there, and the driver
  // leaves such types out of `allowed` too (the simulator does). Empty = unknown: GPU
  // types are interchangeable.
  std::vector<double> throughput;
  // A retry's previous placement: the nodes of the attempt that ended (the one that
  // failed left out by the driver). Every policy first tries to put the whole job on
  // these nodes and the other nodes of their racks (PlaceNear, placement.h) and falls
  // back to its own placement when that block lacks the room. Empty = no preference.
  std::vector<NodeId> near_nodes;

  // Devices the job holds (a shared GPU counts once per task).
  int64_t gpus() const { return int64_t{tasks} * gpus_per_task; }
  // What the job counts for in quotas and fair share, in milli-GPUs.
  int64_t gpu_milli() const {
    return int64_t{tasks} *
           (gpu_share_milli > 0 ? gpu_share_milli : int64_t{gpus_per_task} * device_milli);
  }
};

struct TaskPlacement {
  NodeId node;
  uint64_t gpus = 0;  // mask of device indices on the node (one bit for a share)
  friend bool operator==(const TaskPlacement&, const TaskPlacement&) = default;
};

struct Allocation {
  GpuTypeId type;
  std::vector<TaskPlacement> tasks;  // tasks[i] is task i of the gang
  // Fractional: each task holds this share of its one GPU (ClusterState::AllocateShare);
  // 0 = the tasks hold their devices whole.
  int32_t share_milli = 0;
};

enum class JobPhase { kPending, kRunning };

// Why a pending job did not start in the round that last examined it; rendered into
// words by Scheduler::Explain with the numbers of the moment.
struct WaitReason {
  enum class Kind : uint8_t {
    kNone,              // not examined yet
    kQuota,             // `queue` (the job's or an ancestor) is at its limit
    kCapacity,          // no placement exists now, and none could be freed by preemption
    kMinRunTime,        // preemption would free room, but the victims ran too briefly
    kReservation,       // it holds the backfill reservation, starting by `at`
    kBehindReservation, // it fits only on GPUs held for job `other` from `at` on
  };
  Kind kind = Kind::kNone;
  Time round;           // the round that set it
  QueueId queue{0};  // an index into the scheduler's QueueBook
  JobId other;
  Time at;
};

struct JobInfo {
  JobRequest req;
  JobPhase phase = JobPhase::kPending;
  Allocation alloc;          // valid while running
  Time run_start;            // start of the current run
  Time pending_since;        // submit, or the last preemption
  Duration executed{0};      // wall time of finished runs
  int32_t preemptions = 0;
  JobId last_preempted_by;
  Time last_checkpoint;      // latest checkpoint reported by the driver (ReportCheckpoint)
  double lost_gpu_s = 0;     // GPU-seconds of work lost to preemptions so far
  WaitReason wait;           // while pending: why, as of the last round that examined it

  // Start of the work a preemption now would keep: the latest checkpoint of the current
  // run (every checkpoint_interval since run_start, or one the driver reported).
  Time LastCheckpoint(Time now) const {
    if (req.checkpoint_interval <= Duration::zero()) return now;
    const auto periods = (now - run_start) / req.checkpoint_interval;
    return std::max(run_start + periods * req.checkpoint_interval, last_checkpoint);
  }
  // GPU-seconds lost if the job were preempted at `now`.
  double LostGpuSeconds(Time now) const {
    if (phase != JobPhase::kRunning) return 0;
    const Time cp = std::max(LastCheckpoint(now), run_start);
    // gpu_milli / 1000 is exact for whole GPUs, so this equals seconds x GPUs for them.
    return ToSeconds(now - std::min(cp, now)) * (static_cast<double>(req.gpu_milli()) / 1000.0);
  }

  // Wall time run so far, the current run included.
  Duration Attained(Time now) const {
    return phase == JobPhase::kRunning ? executed + (now - run_start) : executed;
  }
};

}  // namespace baton::sched
