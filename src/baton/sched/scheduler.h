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
// tasks or none (gang). Under a preemptive order policy a job that does not fit may
// stop running jobs the policy ranks below it; victims are whole jobs, chosen worst
// first, and any victim whose GPUs the preemptor did not need is left running.
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
#include <unordered_map>
#include <vector>

#include "baton/common/rng.h"
#include "baton/common/status.h"
#include "baton/sched/cluster_state.h"
#include "baton/sched/job.h"
#include "baton/sched/order.h"
#include "baton/sched/placement.h"

namespace baton::sched {

struct SchedulerOptions {
  // Most pending jobs examined in one round (Slurm's default_queue_depth); 0 = all.
  int64_t max_jobs_per_round = 0;
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
};

struct RoundResult {
  std::vector<PlacedJob> placed;
  std::vector<PreemptedJob> preempted;
  int64_t examined = 0;  // pending jobs looked at
};

class Scheduler {
 public:
  Scheduler(const model::Cluster& cluster, std::unique_ptr<OrderPolicy> order,
            std::unique_ptr<PlacementPolicy> placement, SchedulerOptions options = {});

  // "order/fifo+placement/topology"
  std::string policy_name() const;
  const OrderPolicy& order() const { return *order_; }

  // Errors: a malformed request (duplicate or invalid id, tasks or GPUs out of range).
  Result<Admission> Submit(const JobRequest& req, Time now);
  // Whether `req` could ever fit this cluster (Submit's check, without queueing it).
  Admission Feasibility(const JobRequest& req) const;
  // Books a job that is already running with `alloc` since `run_start` (a control plane
  // recovering its state, or rebuilding the scheduler for a changed fleet). Errors: a
  // malformed request, a known id, or an allocation that is out of range or overlaps GPUs
  // already allocated.
  Status Adopt(const JobRequest& req, Allocation alloc, Time run_start);
  // The job ended (finished, failed or cancelled): its GPUs are freed and it is forgotten.
  Status Remove(JobId id);
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
  // Jobs with the same shape fit or not together: the unit of the round's early stop.
  struct Shape {
    model::GpuTypeMask allowed;
    int32_t gpus_per_task;
    int32_t tasks;
    friend auto operator<=>(const Shape&, const Shape&) = default;
  };
  struct RoundScratch;

  static Shape ShapeOf(const JobRequest& r) {
    return {r.allowed, r.gpus_per_task, r.tasks};
  }
  bool FitsNow(const Shape& s) const;
  // Allowed GPU types, preferred ones first.
  std::vector<GpuTypeId> TypeOrder(const JobRequest& r) const;
  void Enqueue(Entry& e, Time now);
  void Dequeue(Entry& e);
  void ForgetShape(const JobRequest& r);
  bool TryPlace(Entry& e, Allocation* out);
  bool TryPreempt(Entry& e, Time now, RoundScratch& scratch, Allocation* out,
                  RoundResult* result);
  void Start(Entry& e, Allocation alloc, Time now);
  void ReleaseAll(JobId id, const Allocation& alloc);
  void Reallocate(JobId id, const Allocation& alloc);
  std::string PlacementReason(const Allocation& alloc) const;
  // Round-based order policies: hand the policy every job, then re-key pending jobs.
  void Replan(Time now, RoundResult* result);

  const model::Cluster* cluster_;
  std::unique_ptr<OrderPolicy> order_;
  std::unique_ptr<PlacementPolicy> placement_;
  SchedulerOptions options_;
  ClusterState state_;
  std::unordered_map<JobId, Entry> jobs_;  // lookups only, never iterated for decisions
  std::set<OrderKey> pending_;
  std::set<JobId> running_;
  std::map<Shape, int64_t> pending_shapes_;
};

}  // namespace baton::sched
