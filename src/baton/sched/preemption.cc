// Scheduler's preemption: who may stop whom, and which victims free a placement for
// the fewest GPU-seconds of lost work. See scheduler.h for the rules.
#include <algorithm>
#include <bit>
#include <map>

#include <fmt/format.h>

#include "baton/sched/scheduler.h"
#include "baton/sched/round_scratch.h"

namespace baton::sched {

Scheduler::PreemptRight Scheduler::RightOver(const JobInfo& p, const JobInfo& v,
                                             Time now) const {
  const QueueId pq = p.req.queue, vq = v.req.queue;
  if (options_.reclaim && queues_.MayReclaim(pq, p.req.gpu_milli(), vq)) {
    return PreemptRight::kReclaim;
  }
  // Another queue's guaranteed GPUs are never taken by priority or order.
  if (!queues_.OutsideGuarantee(pq, vq)) return PreemptRight::kNone;
  if (options_.preempt_lower_priority && p.req.priority > v.req.priority) {
    return PreemptRight::kPriority;
  }
  if (order_->preemptive() && order_->MayPreempt(p, v, now)) return PreemptRight::kOrder;
  return PreemptRight::kNone;
}

bool Scheduler::PreemptionConceivable(const Entry& e, Time now, RoundScratch& s) const {
  if (running_.empty()) return false;
  const JobRequest& r = e.info.req;
  if (options_.preempt_lower_priority && r.priority > s.min_running_priority) return true;
  if (options_.reclaim && queues_.has_guarantees() &&
      queues_.WithinGuarantee(r.queue, r.gpu_milli()) && queues_.AnyBorrowing()) {
    return true;
  }
  if (!order_->preemptive() || !s.order_preemption_possible) return false;
  if (!s.victims_built) {
    s.victims_built = true;
    // Only jobs ranked below this one can ever be victims by order in this round: later
    // pending jobs rank lower still, and MayPreempt requires a victim's key to be greater.
    const OrderKey floor = order_->Key(e.info, now);
    for (JobId id : running_) {
      OrderKey k = order_->Key(jobs_.at(id).info, now);
      if (k > floor) s.victims.emplace_back(k, id);
    }
    std::sort(s.victims.begin(), s.victims.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
  }
  // Victims are ranked worst first and MayPreempt follows the key order, so if the worst
  // live victim is out of reach, so is every other, for this and every later job.
  auto first_live = std::find_if(s.victims.begin(), s.victims.end(), [&](const auto& v) {
    return jobs_.at(v.second).info.phase == JobPhase::kRunning;
  });
  if (first_live == s.victims.end() ||
      !order_->MayPreempt(e.info, jobs_.at(first_live->second).info, now)) {
    s.order_preemption_possible = false;
    return false;
  }
  return true;
}

namespace {

struct Candidate {
  JobId id;
  double lost_gpu_s;
  OrderKey key;
  int64_t gpus;
};

}  // namespace

bool Scheduler::TryPreempt(Entry& e, Time now, RoundScratch& s, Allocation* out,
                           RoundResult* result) {
  const JobRequest& r = e.info.req;
  const PreemptClass cls{r.allowed,   r.gpus_per_task, r.gpu_share_milli, r.tasks,
                         r.queue.value(), r.priority,
                         order_->preemptive() ? order_->Key(e.info, now).primary : 0};
  if (s.preempt_failed.count(cls)) return false;

  // Every running job this one has a right over, and has run long enough.
  std::vector<Candidate> all;
  std::map<JobId, PreemptRight> rights;
  std::optional<Time> wake;
  for (JobId id : running_) {
    const JobInfo& v = jobs_.at(id).info;
    // A job started in this round is never its victim: drivers see each job placed or
    // preempted in a round, not both.
    if (v.run_start >= now) continue;
    const PreemptRight right = RightOver(e.info, v, now);
    if (right == PreemptRight::kNone) continue;
    if (now - v.run_start < options_.min_run_time) {
      const Time ok_at = v.run_start + options_.min_run_time;
      wake = wake ? std::min(*wake, ok_at) : ok_at;
      continue;
    }
    all.push_back({id, v.LostGpuSeconds(now), order_->Key(v, now), v.req.gpus()});
    rights[id] = right;
  }
  // Cheapest first; among equals the one the order policy ranks worst, then by id.
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    if (a.lost_gpu_s != b.lost_gpu_s) return a.lost_gpu_s < b.lost_gpu_s;
    if (a.key != b.key) return a.key > b.key;
    return a.id < b.id;
  });

  const int g = r.gpus_per_task;
  const int32_t share = r.gpu_share_milli;
  const Shape shape = ShapeOf(r);
  for (GpuTypeId t : TypeOrder(r)) {
    std::vector<const Candidate*> typed;
    for (const auto& c : all) {
      if (jobs_.at(c.id).info.alloc.type == t) typed.push_back(&c);
    }
    if (typed.empty()) continue;

    // The topology block the gang must fit in: one node for a single task, one rack if a
    // rack can hold the gang, else the whole GPU type.
    // Fractional gangs are not packed by rack: their block is the whole type.
    enum class Level { kNode, kRack, kType } level = Level::kType;
    if (r.tasks == 1) {
      level = Level::kNode;
    } else if (share == 0) {
      for (uint32_t gi : state_.RackGroups(t)) {
        int64_t cap = 0;
        for (NodeId n : state_.group(gi).nodes) {
          cap += std::popcount(cluster_->node(n).kind_mask(t)) / g;
        }
        if (cap >= r.tasks) {
          level = Level::kRack;
          break;
        }
      }
    }
    auto block_of = [&](NodeId n) -> uint32_t {
      switch (level) {
        case Level::kNode: return n.value();
        case Level::kRack: return state_.rack_group(n, t);
        case Level::kType: return 0;
      }
      return 0;
    };
    auto fits_in = [&](uint32_t block) {
      switch (level) {
        case Level::kNode:
          return share > 0 ? state_.NodeShareCapacity(NodeId(block), t, share) >= 1
                           : state_.free_gpus(NodeId(block), t) >= g;
        case Level::kRack: return state_.GroupTaskCapacity(block, g) >= r.tasks;
        case Level::kType: return Capacity(shape, t) >= r.tasks;
      }
      return false;
    };
    // Candidates per block, cheapest first (a gang spanning blocks is in each of them).
    std::map<uint32_t, std::vector<const Candidate*>> blocks;
    for (const Candidate* c : typed) {
      uint32_t last = UINT32_MAX;
      for (const auto& tp : jobs_.at(c->id).info.alloc.tasks) {
        const uint32_t b = block_of(tp.node);
        if (b == last) continue;
        auto& list = blocks[b];
        if (list.empty() || list.back() != c) list.push_back(c);
        last = b;
      }
    }
    // For each block: release victims cheapest first until the gang fits in it, then give
    // back, most expensive first, every victim it fits without. Cost: lost GPU-seconds,
    // then how well the best-ranked victim ranks (sparing jobs the order policy favours,
    // which would soon preempt back in turn), then GPUs stopped. The state is left as it
    // was.
    struct Choice {
      double lost = 0;
      OrderKey best_key;  // the best-ranked victim: the worse it ranks, the better
      int64_t gpus = 0;
      uint32_t block = 0;
      std::vector<JobId> victims;
    };
    std::optional<Choice> best;
    for (const auto& [block, list] : blocks) {
      std::vector<const Candidate*> released;
      for (const Candidate* c : list) {
        if (fits_in(block)) break;
        ReleaseAll(c->id, jobs_.at(c->id).info.alloc);
        released.push_back(c);
      }
      Choice choice;
      choice.block = block;
      if (fits_in(block)) {
        std::vector<bool> kept(released.size(), true);
        for (size_t i = released.size(); i-- > 0;) {
          Reallocate(released[i]->id, jobs_.at(released[i]->id).info.alloc);
          if (fits_in(block)) {
            kept[i] = false;
          } else {
            ReleaseAll(released[i]->id, jobs_.at(released[i]->id).info.alloc);
          }
        }
        for (size_t i = 0; i < released.size(); ++i) {
          if (!kept[i]) continue;
          if (choice.victims.empty() || released[i]->key < choice.best_key) {
            choice.best_key = released[i]->key;
          }
          choice.lost += released[i]->lost_gpu_s;
          choice.gpus += released[i]->gpus;
          choice.victims.push_back(released[i]->id);
        }
        for (JobId id : choice.victims) Reallocate(id, jobs_.at(id).info.alloc);
        auto better = [](const Choice& a, const Choice& b) {
          if (a.lost != b.lost) return a.lost < b.lost;
          if (a.best_key != b.best_key) return a.best_key > b.best_key;
          return std::tie(a.gpus, a.block) < std::tie(b.gpus, b.block);
        };
        if (!best || better(choice, *best)) {
          best = std::move(choice);
        }
      } else {
        for (auto it = released.rbegin(); it != released.rend(); ++it) {
          Reallocate((*it)->id, jobs_.at((*it)->id).info.alloc);
        }
      }
    }
    if (!best) continue;

    for (JobId id : best->victims) ReleaseAll(id, jobs_.at(id).info.alloc);
    Allocation alloc;
    alloc.type = t;
    if (Capacity(shape, t) < r.tasks || !PlaceOn(r, t, &alloc)) {
      ReleaseAll(r.id, alloc);
      for (auto it = best->victims.rbegin(); it != best->victims.rend(); ++it) {
        Reallocate(*it, jobs_.at(*it).info.alloc);
      }
      continue;
    }
    // The placement policy may have used other free GPUs: spare every victim whose GPUs
    // the preemptor did not take.
    for (JobId vid : best->victims) {
      const Allocation& va = jobs_.at(vid).info.alloc;
      if (CanReallocate(va)) {
        Reallocate(vid, va);
        continue;
      }
      Preempt(jobs_.at(vid), e.info, rights.at(vid), now, result);
      s.requeue.push_back(vid);
    }
    *out = std::move(alloc);
    return true;
  }
  if (wake) s.wake_at = s.wake_at ? std::min(*s.wake_at, *wake) : *wake;
  s.preempt_failed.insert(cls);
  return false;
}

void Scheduler::Preempt(Entry& v, const JobInfo& by, PreemptRight right, Time now,
                        RoundResult* result) {
  JobInfo& j = v.info;
  const JobId vid = j.req.id;
  const Time cp = std::min(std::max(j.LastCheckpoint(now), j.run_start), now);
  const double lost_gpu_s = j.LostGpuSeconds(now);
  // The victim's GPUs are already released; the book forgets it as running.
  queues_.Sub(j.req.queue, ResourcesOf(j.req), now);
  j.executed += now - j.run_start;
  j.preemptions++;
  j.last_preempted_by = by.req.id;
  j.pending_since = now;
  j.lost_gpu_s += lost_gpu_s;
  j.phase = JobPhase::kPending;
  j.alloc = Allocation{};
  running_.erase(vid);
  std::string why;
  switch (right) {
    case PreemptRight::kReclaim:
      why = fmt::format("reclaimed for job {}: queue {} is within its guarantee of {} GPUs and "
                        "queue {} is borrowing",
                        by.req.id, queues_.name(by.req.queue),
                        Quantity::FromMilli(queues_.guarantee_milli(by.req.queue)).ToString(),
                        queues_.name(j.req.queue));
      break;
    case PreemptRight::kPriority:
      why = fmt::format("preempted by job {} of higher priority ({} > {})", by.req.id,
                        by.req.priority, j.req.priority);
      break;
    default:
      why = fmt::format("preempted by job {}: {} ranks it higher", by.req.id, order_->name());
      break;
  }
  why += fmt::format("; {:.2f} GPU-hours lost since its last checkpoint", lost_gpu_s / 3600.0);
  result->preempted.push_back({vid, by.req.id, std::move(why), now - cp, lost_gpu_s});
}

}  // namespace baton::sched
