// Heterogeneity-aware order policies (Gavel, OSDI'20) and their agnostic twin.
//
// A job's speed depends on the GPU type it runs on, and not by the same factor for every
// job (JobRequest::throughput, steps/s per type). These policies use that:
//
// order/hetero-las: max-min fairness over normalized effective throughput, time-sliced
//   in rounds. At each round the policy solves an LP (maxmin_lp.h) for time shares
//   x[j][t] of every job (running and pending) on every GPU type, maximizing the least
//   normalized effective throughput, sum_t x[j][t] * tput[j][t] / norm[j], where norm[j]
//   is the job's throughput on the cluster's average GPU (its steps/s on each type
//   weighted by that type's GPU count). The rounds then realize those shares: a job's
//   priority on type t is x[j][t] / (the fraction of its time in the system it has
//   spent on t), infinite for a share it has not started receiving. A pending job's key
//   is its best priority and its preferred types are those of highest priority; a
//   running job's key is its priority on the type it holds (so a job that landed on a
//   type it has no share of ranks lowest there and makes room first). A pending job
//   preempts running jobs of strictly lower priority, so jobs behind their share take
//   turns with jobs ahead of it at round boundaries (NextKeyChange), every `round_s`
//   seconds. Keys are fixed from one plan to the next.
// order/agnostic-las: the same LP and rounds with every job's throughput taken as equal
//   on every type it can run on: max-min fair time shares when GPU types are treated as
//   interchangeable (Gavel's heterogeneity-agnostic LAS baseline).
// order/hetero-fifo: FIFO by submit time, never preempts; a job goes to the fastest GPU
//   type (by its throughput) that has room, rather than the first type in id order. Its
//   agnostic twin is order/fifo.
//
// Without throughputs (an empty JobRequest::throughput) every type counts as equally
// fast, so the hetero policies degrade to their agnostic twins. order/hetero-las also
// moves a running job, at the start of a round, to a faster type it has a share of when
// that type has room (MoveTargets; a checkpoint-restart, reported as a preemption by
// itself plus a placement). Deviation from Gavel, on purpose: jobs are otherwise not
// reshuffled between rounds; one keeps its GPUs until it ends or is preempted.
// order/hetero-fifo never moves jobs.
//
// Thread-safety: none; each Scheduler owns its policy.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "baton/sched/order.h"

namespace baton::sched {

struct HeteroLasOptions {
  bool aware = true;          // false: order/agnostic-las
  int64_t round_s = 360;      // round length; Gavel's simulator uses 6 minutes
};

std::unique_ptr<OrderPolicy> MakeHeteroLasOrder(HeteroLasOptions opts = {});
std::unique_ptr<OrderPolicy> MakeAgnosticLasOrder();
std::unique_ptr<OrderPolicy> MakeHeteroFifoOrder();

}  // namespace baton::sched
