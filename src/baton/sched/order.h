// Order policies: who goes next. A policy turns a job into a sort key; smaller keys are
// considered first. Mechanism (gang admission, placement, preemption) is the same for
// every policy and lives in Scheduler.
//
// Contract: the key of a *pending* job must not change while it waits (the scheduler
// keeps pending jobs in a sorted set keyed at enqueue time). Keys of running jobs may
// change with time; preemptive policies use them to pick victims.
//
// Policies: order/fifo, order/priority, order/sjf, order/srtf, order/las, order/drf, and the
// heterogeneity-aware ones in hetero_order.h. Create them by name with MakeOrderPolicy
// (registry.h).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/time.h"
#include "baton/sched/job.h"

namespace baton::sched {

struct OrderKey {
  int64_t primary = 0;
  int64_t secondary = 0;
  Time submit;
  JobId id;  // last: ties always break on the job id
  friend auto operator<=>(const OrderKey&, const OrderKey&) = default;
};

// What a round-based policy sees when it plans a round (OrderPolicy::Plan).
struct PlanInput {
  Time now;
  std::vector<int64_t> gpus_per_type;  // the cluster's GPUs of each type, by GpuTypeId
  std::vector<const JobInfo*> jobs;    // every job the scheduler holds (running and
                                       // pending), ascending by id
};

class OrderPolicy {
 public:
  virtual ~OrderPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual OrderKey Key(const JobInfo& job, Time now) const = 0;
  // Preemptive policies may stop running jobs so that a pending job runs.
  virtual bool preemptive() const { return false; }
  // Policies that rank queues first (order/drf): a round repeatedly takes the next job
  // of the queue with the smallest fair share (QueueBook::SharePath, recomputed as jobs
  // start), and Key orders jobs only within a queue.
  virtual bool ranks_queues() const { return false; }
  // Whether `pending` is entitled to preempt `running` now. Must imply that the running
  // job's key is greater than the pending job's (so victims never outrank preemptors and
  // the two cannot preempt each other back and forth).
  virtual bool MayPreempt(const JobInfo& /*pending*/, const JobInfo& /*running*/,
                          Time /*now*/) const {
    return false;
  }
  // For a running job: the next time its key changes in a way that may allow a
  // preemption (a LAS queue boundary), or nullopt. Drivers run a round then.
  virtual std::optional<Time> NextKeyChange(const JobInfo& /*running*/, Time /*now*/) const {
    return std::nullopt;
  }
  // Round-based policies (order/hetero-las) recompute a plan from every job the scheduler
  // holds at the start of each round, and keys follow the plan: the scheduler then
  // re-keys its pending jobs, so keys still never change *within* a round.
  virtual bool replans() const { return false; }
  virtual void Plan(const PlanInput& /*in*/) {}
  // GPU types to try for `job`, best first (before the rest in id order); empty = the
  // job's own preference. Heterogeneity-aware policies put the job's best types first.
  virtual std::vector<GpuTypeId> TypePreference(const JobRequest& /*job*/) const { return {}; }
  // Round-based policies: GPU types a running job should move to, best first, when one
  // has room at the start of a round (a faster type it has a share of). The scheduler
  // moves it (a checkpoint-restart: reported as preempted by itself and placed again).
  virtual std::vector<GpuTypeId> MoveTargets(const JobInfo& /*running*/) const { return {}; }
};

// order/las: Tiresias-style discretized two-dimensional least attained service.
// Service = GPUs x wall time run. Jobs sit in queues by service (queue i holds jobs
// with thresholds[i-1] <= service < thresholds[i]); lower queues go first, FIFO by
// submit time within a queue. A pending job preempts running jobs of strictly higher
// queues. Discretizing keeps jobs of one queue from preempting each other back and forth.
struct LasOptions {
  // Queue boundaries in GPU-seconds, ascending. Default: 1 GPU-hour and 10 GPU-hours.
  std::vector<int64_t> thresholds_gpu_s = {3600, 36000};
};

}  // namespace baton::sched
