// Scheduler: baton's scheduling core. Pure and synchronous: no I/O, no threads, no
// clock, no globals. Both the control plane and `baton sim` drive this same class.
//
// It keeps the books (Mesos-style): the jobs it knows, the pending queue in policy
// order, and the allocation of every GPU (ClusterState). Its inputs are calls — Submit,
// Remove, RunRound(now, rng) — and its outputs are decisions: placements and preemptions,
// each with a human-readable reason. A job that can never fit is refused at Submit with
// a reason ("cannot fit" is an outcome, not an error); one that cannot fit *now* waits,
// and Explain() says why.
//
// One round walks the pending jobs in order and places each one that fits, all its
// tasks or none (gang). Mechanisms shared by every order policy:
//  - quotas (queues.h): a job starts only if its queue and every ancestor stay within
//    their limits *and* a placement exists now; nothing is admitted on quota alone;
//  - preemption: a job that does not fit may stop running jobs it outranks — by priority
//    class, by the order policy (srtf, las), or by reclaiming GPUs another queue borrowed
//    from its guarantee. Victims are whole gangs, chosen within one topology block (a node
//    for a one-task job, a rack for a gang a rack can hold, else the GPU type) to free a
//    placement that fits, with the fewest GPU-seconds lost since their last checkpoints;
//    victims that ran less than the minimum run time are spared, and a victim is queued
//    again only after the round (so it cannot preempt back in the same round);
//  - backfill (EASY, optionally conservative): the first job that can neither start nor
//    preempt gets a reservation — the GPUs it will take at the earliest time running jobs
//    end by their runtime estimates — and later jobs may start only where they do not
//    delay it (they end before it, or stay off its GPUs).
// Every job a round examines and leaves waiting records why (WaitReason); Explain
// renders it.
//
// Same calls in the same order give the same decisions: nothing depends on hash-map
// iteration order, and ties break on job and node ids.
//
// Thread-safety: none. One owner drives it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "baton/common/rng.h"
#include "baton/common/status.h"
#include "baton/sched/cluster_state.h"
#include "baton/sched/job.h"
#include "baton/sched/order.h"
#include "baton/sched/placement.h"
#include "baton/sched/queues.h"

namespace baton::sched {

enum class BackfillMode { kNone, kEasy, kConservative };
// "none" | "easy" | "conservative"
Result<BackfillMode> ParseBackfillMode(std::string_view name);
std::string_view BackfillModeName(BackfillMode mode);

struct SchedulerOptions {
  // Most pending jobs examined in one round (Slurm's default_queue_depth); 0 = all.
  int64_t max_jobs_per_round = 0;
  // Fair-share memory of order/drf (see queues.h); 0 = only what queues hold now.
  Duration fair_share_half_life{0};
  // A pending job may preempt running jobs of a lower priority class.
  bool preempt_lower_priority = false;
  // A job within its queue's guarantee may preempt jobs of queues that borrow.
  bool reclaim = true;
  // A job is not preempted before it has run this long in its current run.
  Duration min_run_time{0};
  BackfillMode backfill = BackfillMode::kNone;
  // Runtime assumed for a job without an estimate (and for one past its estimate) when
  // computing reservations.
  Duration default_runtime_estimate = std::chrono::hours(1);
  // Conservative backfill: most jobs holding a reservation at once.
  int32_t max_reservations = 8;
};

// The answer to Submit: queued, or refused because it can never fit this cluster.
struct Admission {
  bool queued = false;
  std::string reason;  // why it can never fit, when !queued
};

struct PlacedJob {
  JobId job;
  Allocation alloc;
  std::string reason;  // "1 node, 1 NVLink domain, 1 rack (H100)"
};

struct PreemptedJob {
  JobId job;
  JobId by;
  std::string reason;
  Duration lost{0};     // wall time since its last checkpoint: work to redo
  double lost_gpu_s = 0;
};

// A reservation made by backfill: `job` is expected to start at `at` on `alloc`.
struct Reservation {
  JobId job;
  Time at;
  Allocation alloc;
};

struct RoundResult {
  std::vector<PlacedJob> placed;
  std::vector<PreemptedJob> preempted;
  int64_t examined = 0;  // pending jobs looked at
  // When a preemption held back only by the minimum run time becomes possible: drivers
  // run a round then.
  std::optional<Time> wake_at;
  std::vector<Reservation> reservations;  // held after this round
  int64_t backfilled = 0;  // jobs started while an earlier job held a reservation
};

class Scheduler {
 public:
  Scheduler(const model::Cluster& cluster, std::unique_ptr<OrderPolicy> order,
            std::unique_ptr<PlacementPolicy> placement, SchedulerOptions options = {});

  // "order/fifo+placement/topology"
  std::string policy_name() const;
  const OrderPolicy& order() const { return *order_; }
  const SchedulerOptions& options() const { return options_; }

  // Installs the queue tree (QueueId i = specs[i]); only before any job is known.
  // Without it every queue id is an implicit queue with no guarantee or limit. Errors:
  // see QueueBook::Build, and jobs already known.
  Status SetQueues(const std::vector<model::QueueSpec>& specs);
  const QueueBook& queues() const { return queues_; }
  // A checkpoint the running job reported (the control plane's view); preemption counts
  // lost work from the latest one.
  void ReportCheckpoint(JobId id, Time at);

  // Errors: a malformed request (duplicate or invalid id, tasks or GPUs out of range,
  // priority outside -1000..1000, queue id out of range).
  Result<Admission> Submit(const JobRequest& req, Time now);
  // Whether `req` could ever fit this cluster (Submit's check, without queueing it).
  Admission Feasibility(const JobRequest& req) const;
  // Books a job that is already running with `alloc` since `run_start` (a control plane
  // recovering its state, or rebuilding the scheduler for a changed fleet). Errors: a
  // malformed request, a known id, or an allocation that is out of range or overlaps GPUs
  // already allocated.
  Status Adopt(const JobRequest& req, Allocation alloc, Time run_start);
  // The job ended (finished, failed or cancelled): its GPUs are freed and it is forgotten.
  // `now` dates the end for fair-share usage (default: the last round's time).
  Status Remove(JobId id, Time now);
  Status Remove(JobId id) { return Remove(id, last_round_); }
  RoundResult RunRound(Time now, Rng& rng);

  // For a running job under a preemptive policy: when a round may next preempt for it.
  std::optional<Time> NextKeyChange(JobId id, Time now) const;

  const JobInfo* Find(JobId id) const;
  // Why a pending job is waiting, or where a running job runs.
  std::string Explain(JobId id, Time now) const;
  std::vector<JobId> PendingInOrder() const;

  const ClusterState& state() const { return state_; }
  // For drivers that drain or restore nodes (SetSchedulable).
  ClusterState& mutable_state() { return state_; }
  size_t pending_count() const { return pending_.size(); }
  size_t running_count() const { return running_.size(); }

 private:
  struct Entry {
    JobInfo info;
    OrderKey queued_key;  // key in pending_ while pending
  };
  enum class PreemptRight : uint8_t { kNone, kOrder, kPriority, kReclaim };
  // Preemption rights of a class of pending jobs: the unit of the round's memo of
  // failed preemption attempts.
  struct PreemptClass {
    model::GpuTypeMask allowed;
    int32_t gpus_per_task;
    int32_t share_milli;
    int32_t tasks;
    uint32_t queue;
    int32_t priority;
    int64_t key_primary;
    friend auto operator<=>(const PreemptClass&, const PreemptClass&) = default;
  };
  // Jobs with the same shape fit or not together: the unit of the round's early stop.
  struct Shape {
    model::GpuTypeMask allowed;
    int32_t gpus_per_task;
    int32_t tasks;
    int32_t share_milli;  // JobRequest::gpu_share_milli
    friend auto operator<=>(const Shape&, const Shape&) = default;
  };
  struct RoundScratch;

  static Shape ShapeOf(const JobRequest& r) {
    return {r.allowed, r.gpus_per_task, r.tasks, r.gpu_share_milli};
  }
  bool FitsNow(const Shape& s) const;
  // Tasks of shape `s` that fit on type t now (shares or whole devices).
  int64_t Capacity(const Shape& s, GpuTypeId t) const {
    return s.share_milli > 0 ? state_.ShareCapacity(t, s.share_milli)
                             : state_.TaskCapacity(t, s.gpus_per_task);
  }
  // Places `r` on type t: the placement policy, or PlaceShares for a fractional request.
  // On false the caller releases what `out` holds (ReleaseAll).
  bool PlaceOn(const JobRequest& r, GpuTypeId t, Allocation* out);
  // Whether `alloc` of a job could be booked again as it was (its GPUs free, or its
  // shares' GPUs with room).
  bool CanReallocate(const Allocation& alloc) const;
  // Allowed GPU types, preferred ones first.
  std::vector<GpuTypeId> TypeOrder(const JobRequest& r) const;
  void Enqueue(Entry& e, Time now);
  void Dequeue(Entry& e);
  void ForgetShape(const JobRequest& r);
  void ForgetCounts(const JobRequest& r);
  // Whether some queue with a pending job that fits its guarantee may reclaim.
  bool ReclaimAlive() const;
  bool TryPlace(Entry& e, Allocation* out);
  bool TryPreempt(Entry& e, Time now, RoundScratch& scratch, Allocation* out,
                  RoundResult* result);
  bool PreemptionConceivable(const Entry& e, Time now, RoundScratch& s) const;
  PreemptRight RightOver(const JobInfo& p, const JobInfo& v, Time now) const;
  void Preempt(Entry& v, const JobInfo& by, PreemptRight right, Time now, RoundResult* result);
  // Backfill (backfill.cc).
  Time ExpectedEnd(const JobInfo& running, Time now) const;
  Duration RemainingEstimate(const JobInfo& job) const;
  bool MakeReservation(Entry& e, Time now, RoundScratch& s);
  bool ReservationStillValid(const Reservation& r, Time now) const;
  // Marks the free GPUs of reservations starting before `until` as taken for the round.
  void BlockReserved(RoundScratch& s, Time until = Time::max());
  void UnblockReserved(RoundScratch& s);
  bool TryPlaceAroundReservations(Entry& e, Time now, RoundScratch& s, Allocation* out);
  void Start(Entry& e, Allocation alloc, Time now);
  Resources ResourcesOf(const JobRequest& r) const;
  void Wait(Entry& e, WaitReason::Kind kind, Time now);
  void ReleaseAll(JobId id, const Allocation& alloc);
  void Reallocate(JobId id, const Allocation& alloc);
  std::string PlacementReason(const Allocation& alloc) const;
  // "waiting for GPUs: needs ..." with the numbers of the moment.
  std::string CapacityText(const JobRequest& r) const;
  // Round-based order policies: hand the policy every job, then re-key pending jobs.
  void Replan(Time now, RoundResult* result);

  const model::Cluster* cluster_;
  std::unique_ptr<OrderPolicy> order_;
  std::unique_ptr<PlacementPolicy> placement_;
  SchedulerOptions options_;
  ClusterState state_;
  std::unordered_map<JobId, Entry> jobs_;  // lookups only, never iterated for decisions
  std::set<OrderKey> pending_;
  // The same keys per queue (index = QueueId), for policies that rank queues (drf).
  std::vector<std::set<OrderKey>> queue_pending_;
  std::set<JobId> running_;
  std::map<Shape, int64_t> pending_shapes_;
  std::map<int32_t, int64_t> pending_priorities_;  // priority -> pending jobs
  std::vector<std::map<int64_t, int64_t>> pending_gpus_;  // [queue]: GPUs -> pending jobs
  QueueBook queues_;
  // Reservations kept from the last round (backfill), so a reservation stays put while
  // its GPUs are still expected on time.
  std::vector<Reservation> reservations_;
  Time last_round_;
};

}  // namespace baton::sched
