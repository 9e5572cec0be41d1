#include "baton/sched/scheduler.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

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

  // Victim candidates for preemption, worst key first; built on first need.
  bool victims_built = false;
  std::vector<std::pair<OrderKey, JobId>> victims;
  std::set<Shape> preempt_failed;
  bool preemption_possible = true;
  std::vector<JobId> requeue;
};

Scheduler::Scheduler(const model::Cluster& cluster, std::unique_ptr<OrderPolicy> order,
                     std::unique_ptr<PlacementPolicy> placement, SchedulerOptions options)
    : cluster_(&cluster),
      order_(std::move(order)),
      placement_(std::move(placement)),
      options_(options),
      state_(cluster) {}

std::string Scheduler::policy_name() const {
  return fmt::format("{}+{}", order_->name(), placement_->name());
}

std::vector<GpuTypeId> Scheduler::TypeOrder(const JobRequest& r) const {
  std::vector<GpuTypeId> out;
  const model::GpuTypeMask allowed = r.allowed & cluster_->all_types_mask();
  model::GpuTypeMask seen = 0;
  // A heterogeneity-aware policy's preference (fastest types first) wins over the job's.
  const std::vector<GpuTypeId> policy_pref = order_->TypePreference(r);
  for (GpuTypeId t : policy_pref.empty() ? r.preference : policy_pref) {
    // Ids past the mask name no type (shifting by them is undefined; 64 would wrap to 0).
    if (t.value() >= model::kMaxGpuTypes) continue;
    const model::GpuTypeMask bit = model::GpuTypeMask{1} << t.value();
    if ((allowed & bit) && !(seen & bit)) {
      out.push_back(t);
      seen |= bit;
    }
  }
  for (model::GpuTypeMask m = allowed & ~seen; m != 0; m &= m - 1) {
    out.push_back(GpuTypeId(static_cast<uint16_t>(std::countr_zero(m))));
  }
  return out;
}

bool Scheduler::FitsNow(const Shape& s) const {
  for (model::GpuTypeMask m = s.allowed & cluster_->all_types_mask(); m != 0; m &= m - 1) {
    GpuTypeId t(static_cast<uint16_t>(std::countr_zero(m)));
    if (state_.TaskCapacity(t, s.gpus_per_task) >= s.tasks) return true;
  }
  return false;
}

Result<Admission> Scheduler::Submit(const JobRequest& req, Time now) {
  if (!req.id.valid()) return InvalidArgument("job id is not set");
  if (jobs_.count(req.id)) {
    return InvalidArgument(fmt::format("job {} is already known to the scheduler", req.id));
  }
  if (req.tasks < 1) return InvalidArgument(fmt::format("job {}: tasks must be >= 1", req.id));
  if (req.gpus_per_task < 1 || req.gpus_per_task > model::kMaxGpusPerNode) {
    return InvalidArgument(fmt::format("job {}: gpus per task must be between 1 and {}", req.id,
                                       model::kMaxGpusPerNode));
  }
  Admission adm = Feasibility(req);
  if (!adm.reason.empty()) return adm;
  Entry& e = jobs_[req.id];
  e.info.req = req;
  e.info.pending_since = now;
  Enqueue(e, now);
  adm.queued = true;
  return adm;
}

Admission Scheduler::Feasibility(const JobRequest& req) const {
  Admission adm;
  adm.queued = true;  // feasible unless shown otherwise below
  const auto types = TypeOrder(req);
  if (types.empty()) {
    adm.reason = fmt::format("none of the job's GPU types exist in this cluster (it has {})",
                             cluster_->GpuTypeNames());
    adm.queued = false;
    return adm;
  }
  int64_t best_cap = -1;
  GpuTypeId best_type;
  for (GpuTypeId t : types) {
    int64_t cap = state_.MaxTaskCapacity(t, req.gpus_per_task);
    if (cap > best_cap) {
      best_cap = cap;
      best_type = t;
    }
  }
  if (best_cap < req.tasks) {
    const auto& type_name = cluster_->gpu_type(best_type).name;
    if (best_cap == 0) {
      adm.reason = fmt::format("needs {} GPUs per task on one node; the largest {} node has {}",
                               req.gpus_per_task, type_name,
                               cluster_->max_gpus_per_node(best_type));
    } else {
      adm.reason = fmt::format(
          "needs {} tasks x {} GPUs ({} GPUs) of one type; even an empty cluster holds only {} "
          "such tasks on {}",
          req.tasks, req.gpus_per_task, req.gpus(), best_cap, type_name);
    }
    adm.queued = false;
    return adm;
  }
  adm.reason.clear();
  return adm;
}

void Scheduler::Enqueue(Entry& e, Time now) {
  e.info.phase = JobPhase::kPending;
  e.queued_key = order_->Key(e.info, now);
  pending_.insert(e.queued_key);
  pending_shapes_[ShapeOf(e.info.req)]++;
}

void Scheduler::Dequeue(Entry& e) {
  pending_.erase(e.queued_key);
  ForgetShape(e.info.req);
}

void Scheduler::ForgetShape(const JobRequest& r) {
  auto it = pending_shapes_.find(ShapeOf(r));
  if (--it->second == 0) pending_shapes_.erase(it);
}

void Scheduler::ReleaseAll(JobId id, const Allocation& alloc) {
  for (const auto& t : alloc.tasks) state_.Release(id, t.node, t.gpus);
}

void Scheduler::Reallocate(JobId id, const Allocation& alloc) {
  for (const auto& t : alloc.tasks) state_.Allocate(id, t.node, t.gpus);
}

Status Scheduler::Adopt(const JobRequest& req, Allocation alloc, Time run_start) {
  if (!req.id.valid()) return InvalidArgument("job id is not set");
  if (jobs_.count(req.id)) {
    return InvalidArgument(fmt::format("job {} is already known to the scheduler", req.id));
  }
  if (static_cast<int32_t>(alloc.tasks.size()) != req.tasks) {
    return InvalidArgument(fmt::format("job {}: allocation has {} tasks, the job {}", req.id,
                                       alloc.tasks.size(), req.tasks));
  }
  // Check every task before booking any, so a refused adoption changes nothing.
  std::map<uint32_t, uint64_t> wanted;
  for (const auto& t : alloc.tasks) {
    if (!t.node.valid() || t.node.value() >= cluster_->nodes().size()) {
      return InvalidArgument(fmt::format("job {}: allocation names an unknown node", req.id));
    }
    const model::Node& n = cluster_->node(t.node);
    if ((t.gpus & ~n.all_gpus_mask()) != 0 || (wanted[t.node.value()] & t.gpus) != 0 ||
        (state_.free_mask(t.node) & t.gpus) != t.gpus) {
      return FailedPrecondition(fmt::format(
          "job {}: GPUs on {} are out of range or already allocated", req.id, n.name));
    }
    wanted[t.node.value()] |= t.gpus;
  }
  Entry& e = jobs_[req.id];
  e.info.req = req;
  e.info.pending_since = req.submit;
  Reallocate(req.id, alloc);
  Start(e, std::move(alloc), run_start);
  return Status::Ok();
}

Status Scheduler::Remove(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return NotFound(fmt::format("job {} is not known to the scheduler", id));
  Entry& e = it->second;
  if (e.info.phase == JobPhase::kRunning) {
    ReleaseAll(id, e.info.alloc);
    running_.erase(id);
  } else {
    Dequeue(e);
  }
  jobs_.erase(it);
  return Status::Ok();
}

bool Scheduler::TryPlace(Entry& e, Allocation* out) {
  const JobRequest& r = e.info.req;
  for (GpuTypeId t : TypeOrder(r)) {
    if (state_.TaskCapacity(t, r.gpus_per_task) < r.tasks) continue;
    Allocation alloc;
    alloc.type = t;
    if (placement_->Place(state_, r.id, r.tasks, r.gpus_per_task, t, &alloc)) {
      *out = std::move(alloc);
      return true;
    }
    ReleaseAll(r.id, alloc);
  }
  return false;
}

void Scheduler::Start(Entry& e, Allocation alloc, Time now) {
  e.info.phase = JobPhase::kRunning;
  e.info.alloc = std::move(alloc);
  e.info.run_start = now;
  running_.insert(e.info.req.id);
}

bool Scheduler::TryPreempt(Entry& e, Time now, RoundScratch& s, Allocation* out,
                           RoundResult* result) {
  const JobRequest& r = e.info.req;
  const Shape shape = ShapeOf(r);
  if (s.preempt_failed.count(shape)) return false;
  if (!s.victims_built) {
    s.victims_built = true;
    // Only jobs ranked below this one can ever be victims in this round: later pending
    // jobs rank lower still, and MayPreempt requires a victim's key to be greater.
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
    s.preemption_possible = false;
    return false;
  }
  for (GpuTypeId t : TypeOrder(r)) {
    std::vector<JobId> released;
    for (auto it = first_live; it != s.victims.end(); ++it) {
      if (state_.TaskCapacity(t, r.gpus_per_task) >= r.tasks) break;
      const JobInfo& v = jobs_.at(it->second).info;
      if (v.phase != JobPhase::kRunning) continue;
      if (!order_->MayPreempt(e.info, v, now)) break;
      if (v.alloc.type != t) continue;
      ReleaseAll(it->second, v.alloc);
      released.push_back(it->second);
    }
    if (state_.TaskCapacity(t, r.gpus_per_task) < r.tasks) {
      for (auto it = released.rbegin(); it != released.rend(); ++it) {
        Reallocate(*it, jobs_.at(*it).info.alloc);
      }
      continue;
    }
    Allocation alloc;
    alloc.type = t;
    if (!placement_->Place(state_, r.id, r.tasks, r.gpus_per_task, t, &alloc)) {
      ReleaseAll(r.id, alloc);
      for (auto it = released.rbegin(); it != released.rend(); ++it) {
        Reallocate(*it, jobs_.at(*it).info.alloc);
      }
      continue;
    }
    // Give back every victim whose GPUs the preemptor did not take, best-ranked first.
    for (auto it = released.rbegin(); it != released.rend(); ++it) {
      const Allocation& va = jobs_.at(*it).info.alloc;
      bool untouched = std::all_of(va.tasks.begin(), va.tasks.end(), [&](const TaskPlacement& tp) {
        return (state_.free_mask(tp.node) & tp.gpus) == tp.gpus;
      });
      if (untouched) {
        Reallocate(*it, va);
        *it = JobId::Invalid();
      }
    }
    for (JobId vid : released) {
      if (!vid.valid()) continue;
      Entry& v = jobs_.at(vid);
      v.info.executed += now - v.info.run_start;
      v.info.preemptions++;
      v.info.last_preempted_by = r.id;
      v.info.pending_since = now;
      v.info.phase = JobPhase::kPending;
      v.info.alloc = Allocation{};
      running_.erase(vid);
      s.requeue.push_back(vid);
      result->preempted.push_back(
          {vid, r.id,
           fmt::format("preempted by job {} under {}: {} ranks it higher", r.id,
                       order_->name(), order_->name())});
    }
    *out = std::move(alloc);
    return true;
  }
  s.preempt_failed.insert(shape);
  return false;
}

RoundResult Scheduler::RunRound(Time now, Rng& /*rng*/) {
  RoundResult result;
  if (order_->replans()) Replan(now, &result);
  if (pending_.empty()) return result;
  RoundScratch s;
  for (const auto& [shape, count] : pending_shapes_) {
    s.index[shape] = s.slots.size();
    const bool fits = FitsNow(shape);
    s.slots.push_back({shape, count, fits});
    if (fits) s.live_fitting++;
  }
  const bool preemptive = order_->preemptive();
  auto refresh_fits = [&](bool both_ways) {
    s.live_fitting = 0;
    for (auto& slot : s.slots) {
      if (slot.fits || both_ways) slot.fits = FitsNow(slot.shape);
      if (slot.fits && slot.unexamined > 0) s.live_fitting++;
    }
  };

  auto it = pending_.begin();
  while (it != pending_.end()) {
    const bool may_preempt = preemptive && s.preemption_possible && !running_.empty();
    if (s.live_fitting == 0 && !may_preempt) break;
    if (options_.max_jobs_per_round > 0 && result.examined >= options_.max_jobs_per_round) break;
    Entry& e = jobs_.at(it->id);
    ++result.examined;
    auto& slot = s.slots[s.index.at(ShapeOf(e.info.req))];
    if (--slot.unexamined == 0 && slot.fits) s.live_fitting--;

    Allocation alloc;
    bool placed = false, by_preemption = false;
    if (slot.fits) placed = TryPlace(e, &alloc);
    if (!placed && may_preempt) {
      placed = by_preemption = TryPreempt(e, now, s, &alloc, &result);
    }
    if (!placed) {
      ++it;
      continue;
    }
    it = pending_.erase(it);
    ForgetShape(e.info.req);
    result.placed.push_back({e.info.req.id, alloc, PlacementReason(alloc)});
    Start(e, std::move(alloc), now);
    // Placing only lowers capacity; a preemption may also raise it.
    refresh_fits(by_preemption);
  }
  for (JobId vid : s.requeue) Enqueue(jobs_.at(vid), now);
  return result;
}

std::string Scheduler::PlacementReason(const Allocation& alloc) const {
  Footprint f = FootprintOf(*cluster_, alloc);
  return fmt::format("{} task(s) on {} node(s), {} NVLink domain(s), {} rack(s) of {} by {}",
                     alloc.tasks.size(), f.nodes, f.domains, f.racks,
                     cluster_->gpu_type(alloc.type).name, placement_->name());
}

std::optional<Time> Scheduler::NextKeyChange(JobId id, Time now) const {
  const JobInfo* j = Find(id);
  if (j == nullptr || j->phase != JobPhase::kRunning) return std::nullopt;
  return order_->NextKeyChange(*j, now);
}

const JobInfo* Scheduler::Find(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second.info;
}

std::vector<JobId> Scheduler::PendingInOrder() const {
  std::vector<JobId> out;
  out.reserve(pending_.size());
  for (const auto& k : pending_) out.push_back(k.id);
  return out;
}

std::string Scheduler::Explain(JobId id, Time now) const {
  const JobInfo* j = Find(id);
  if (j == nullptr) return fmt::format("job {} is not known to the scheduler", id);
  const JobRequest& r = j->req;
  if (j->phase == JobPhase::kRunning) {
    return fmt::format("running since {}: {}", FormatTime(j->run_start),
                       PlacementReason(j->alloc));
  }
  std::string out;
  int64_t best_cap = -1;
  GpuTypeId best;
  for (GpuTypeId t : TypeOrder(r)) {
    int64_t cap = state_.TaskCapacity(t, r.gpus_per_task);
    if (cap >= r.tasks) {
      out = fmt::format("fits now on {} (room for {} such tasks); it starts at the next round",
                        cluster_->gpu_type(t).name, cap);
      break;
    }
    if (cap > best_cap) {
      best_cap = cap;
      best = t;
    }
  }
  if (out.empty()) {
    const int64_t free = state_.FreeGpus(best);
    out = fmt::format("waiting for GPUs: needs {} task(s) x {} {} GPUs{}; room now for {} such "
                      "task(s), {} {} GPUs free",
                      r.tasks, r.gpus_per_task, cluster_->gpu_type(best).name,
                      r.tasks > 1 ? " started together" : "", best_cap, free,
                      cluster_->gpu_type(best).name);
    if (free >= r.gpus()) out += " but split across nodes";
  }
  if (j->preemptions > 0) {
    out += fmt::format("; preempted {} time(s), last by job {}", j->preemptions,
                       j->last_preempted_by);
  }
  out += fmt::format("; pending for {}", FormatDuration(now - j->pending_since));
  return out;
}

}  // namespace baton::sched
