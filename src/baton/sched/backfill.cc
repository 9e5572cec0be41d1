// Scheduler's backfill: reservations for jobs that cannot start now, and the rule that
// later jobs start only where they do not delay them. See scheduler.h.
//
// A reservation is found by replaying the expected future: running jobs end at their
// start plus their remaining runtime estimate (or the default estimate), in that order;
// GPUs of earlier reservations (conservative mode) stay taken from now until those jobs
// are expected to end. The first moment the job fits, the placement policy picks its
// GPUs; that allocation and moment are the reservation. Everything is done on the real
// allocation book and undone before returning.
#include <algorithm>
#include <bit>
#include <map>

#include "baton/sched/scheduler.h"
#include "baton/sched/round_scratch.h"

namespace baton::sched {
namespace {
const JobId kReservedGpus(JobId::kInvalidValue - 1);
}  // namespace

Duration Scheduler::RemainingEstimate(const JobInfo& j) const {
  if (j.req.runtime_estimate > Duration::zero()) {
    const Duration rem = j.req.runtime_estimate - j.executed;
    if (rem > Duration::zero()) return rem;
  }
  return options_.default_runtime_estimate;
}

Time Scheduler::ExpectedEnd(const JobInfo& j, Time now) const {
  const Time end = j.run_start + RemainingEstimate(j);
  // A job past its estimate is expected to need the default estimate more.
  return end > now ? end : now + options_.default_runtime_estimate;
}

void Scheduler::BlockReserved(RoundScratch& s, Time until) {
  for (const Reservation& r : s.reservations) {
    if (r.at >= until) continue;
    for (const TaskPlacement& tp : r.alloc.tasks) {
      const uint64_t m = state_.free_mask(tp.node) & tp.gpus;
      if (m == 0) continue;
      state_.Allocate(kReservedGpus, tp.node, m);
      s.blocked.push_back({tp.node, m});
    }
  }
  s.blocking = true;
}

void Scheduler::UnblockReserved(RoundScratch& s) {
  for (auto it = s.blocked.rbegin(); it != s.blocked.rend(); ++it) {
    state_.Release(kReservedGpus, it->node, it->gpus);
  }
  s.blocked.clear();
  s.blocking = false;
}

bool Scheduler::TryPlaceAroundReservations(Entry& e, Time now, RoundScratch& s,
                                           Allocation* out) {
  const Time end = now + RemainingEstimate(e.info);
  bool any_later = false;
  for (const Reservation& r : s.reservations) any_later |= r.at >= end;
  if (!any_later) return TryPlace(e, out);
  // The job ends before some reservations start: it may use their GPUs meanwhile.
  UnblockReserved(s);
  BlockReserved(s, end);
  const bool placed = TryPlace(e, out);
  UnblockReserved(s);
  BlockReserved(s);
  return placed;
}

bool Scheduler::ReservationStillValid(const Reservation& r, Time now) const {
  if (r.at < now) return false;
  for (const TaskPlacement& tp : r.alloc.tasks) {
    if (!state_.schedulable(tp.node)) return false;
    for (uint64_t m = tp.gpus; m != 0; m &= m - 1) {
      const JobId owner = state_.owner(tp.node, std::countr_zero(m));
      if (!owner.valid()) continue;
      if (owner == kReservedGpus) return false;
      const JobInfo* j = Find(owner);
      if (j == nullptr || j->phase != JobPhase::kRunning || ExpectedEnd(*j, now) > r.at) {
        return false;
      }
    }
  }
  return true;
}

bool Scheduler::MakeReservation(Entry& e, Time now, RoundScratch& s) {
  const JobRequest& req = e.info.req;
  for (const Reservation& r : reservations_) {
    if (r.job == req.id && ReservationStillValid(r, now)) {
      s.reservations.push_back(r);
      UnblockReserved(s);
      BlockReserved(s);
      return true;
    }
  }

  // Replays the expected future on the book, logging every change to undo it. `share`:
  // a fractional job's share of the GPU in `gpus` (0 = whole devices).
  struct Op {
    JobId owner;
    NodeId node;
    uint64_t gpus;
    int32_t share;
    bool allocated;
  };
  std::vector<Op> log;
  auto release = [&](JobId owner, NodeId n, uint64_t m, int32_t share) {
    if (share > 0) {
      state_.ReleaseShare(owner, n, std::countr_zero(m), share);
    } else {
      state_.Release(owner, n, m);
    }
    log.push_back({owner, n, m, share, false});
  };
  auto allocate = [&](JobId owner, NodeId n, uint64_t m) {
    state_.Allocate(owner, n, m);
    log.push_back({owner, n, m, 0, true});
  };
  // GPUs of earlier reservations, per node, while they are expected to be in use.
  struct Held {
    Time until;
    const Reservation* r;
  };
  std::vector<Held> held;
  for (const Reservation& r : s.reservations) {
    held.push_back({r.at + RemainingEstimate(jobs_.at(r.job).info), &r});
  }
  auto held_mask = [&](NodeId n) {
    uint64_t m = 0;
    for (const Held& h : held) {
      for (const TaskPlacement& tp : h.r->alloc.tasks) {
        if (tp.node == n) m |= tp.gpus;
      }
    }
    return m;
  };

  enum class Kind { kJobEnds, kReservationEnds };
  struct Event {
    Time at;
    Kind kind;
    uint64_t key;  // job id or reservation index: ties break on it
  };
  std::vector<Event> events;
  for (JobId id : running_) {
    events.push_back({ExpectedEnd(jobs_.at(id).info, now), Kind::kJobEnds, id.value()});
  }
  for (size_t i = 0; i < held.size(); ++i) {
    events.push_back({held[i].until, Kind::kReservationEnds, i});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.at, a.kind, a.key) < std::tie(b.at, b.kind, b.key);
  });

  const auto types = TypeOrder(req);
  const Shape shape = ShapeOf(req);
  auto fitting_type = [&]() -> std::optional<GpuTypeId> {
    for (GpuTypeId t : types) {
      if (Capacity(shape, t) >= req.tasks) return t;
    }
    return std::nullopt;
  };
  std::optional<Time> at;
  std::optional<GpuTypeId> type = fitting_type();
  if (type) at = now;
  for (size_t i = 0; !at && i < events.size(); ++i) {
    const Event& ev = events[i];
    if (ev.kind == Kind::kJobEnds) {
      const JobId id(ev.key);
      const Allocation& ended = jobs_.at(id).info.alloc;
      for (const TaskPlacement& tp : ended.tasks) {
        release(id, tp.node, tp.gpus, ended.share_milli);
        // GPUs an earlier reservation will take stay taken (a shared GPU only once free).
        if (const uint64_t keep = tp.gpus & held_mask(tp.node) & state_.unallocated_mask(tp.node);
            keep != 0) {
          allocate(kReservedGpus, tp.node, keep);
        }
      }
    } else {
      const Reservation* r = held[ev.key].r;
      held[ev.key].until = Time::min();
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(ev.key));
      // Indexes of later reservation events shift with the erase; re-key them.
      for (size_t j = i + 1; j < events.size(); ++j) {
        if (events[j].kind == Kind::kReservationEnds && events[j].key > ev.key) --events[j].key;
      }
      for (const TaskPlacement& tp : r->alloc.tasks) {
        uint64_t m = 0;
        for (uint64_t b = tp.gpus & ~held_mask(tp.node); b != 0; b &= b - 1) {
          const int gpu = std::countr_zero(b);
          if (state_.owner(tp.node, gpu) == kReservedGpus) m |= uint64_t{1} << gpu;
        }
        if (m != 0) release(kReservedGpus, tp.node, m, 0);
      }
    }
    if ((type = fitting_type())) at = ev.at;
  }
  std::optional<Reservation> made;
  if (at) {
    Allocation alloc;
    alloc.type = *type;
    if (PlaceOn(req, *type, &alloc)) made = Reservation{req.id, *at, alloc};
    ReleaseAll(req.id, alloc);
  }
  for (auto it = log.rbegin(); it != log.rend(); ++it) {
    if (it->allocated) {
      state_.Release(it->owner, it->node, it->gpus);
    } else if (it->share > 0) {
      state_.AllocateShare(it->owner, it->node, std::countr_zero(it->gpus), it->share);
    } else {
      state_.Allocate(it->owner, it->node, it->gpus);
    }
  }
  if (!made) return false;
  s.reservations.push_back(std::move(*made));
  UnblockReserved(s);
  BlockReserved(s);
  return true;
}

}  // namespace baton::sched
