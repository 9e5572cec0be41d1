// Scheduler::RoundScratch: what one round remembers while it runs. Internal to the
// scheduler's .cc files (scheduler.cc, preemption.cc, backfill.cc); not a public header.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "baton/sched/scheduler.h"

namespace baton::sched {

// Per-round bookkeeping: how many jobs of each shape are still to be examined and which
// shapes fit now, so a round stops as soon as nothing left could be placed.
struct Scheduler::RoundScratch {
  struct Slot {
    Shape shape;
    int64_t unexamined = 0;
    bool fits = false;
  };
  std::vector<Slot> slots;
  std::map<Shape, size_t> index;
  int64_t live_fitting = 0;  // slots with fits && unexamined > 0

  // Order-policy victims, worst key first; built on first need.
  bool victims_built = false;
  std::vector<std::pair<OrderKey, JobId>> victims;
  bool order_preemption_possible = true;
  std::set<PreemptClass> preempt_failed;
  int32_t min_running_priority = 0;
  std::vector<JobId> requeue;
  // Queues found at a limit this round: the fewest milli-GPUs a job needed to be refused.
  std::map<uint32_t, std::pair<int64_t, QueueId>> quota_blocked;

  // Backfill: reservations held this round, and the free GPUs blocked for them.
  std::vector<Reservation> reservations;
  struct Block {
    NodeId node;
    uint64_t gpus;
  };
  std::vector<Block> blocked;
  bool blocking = false;
  std::optional<Time> wake_at;
};

}  // namespace baton::sched
