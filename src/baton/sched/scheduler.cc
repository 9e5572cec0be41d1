#include "baton/sched/scheduler.h"

#include "baton/sched/round_scratch.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace baton::sched {

Result<BackfillMode> ParseBackfillMode(std::string_view name) {
  if (name == "none") return BackfillMode::kNone;
  if (name == "easy") return BackfillMode::kEasy;
  if (name == "conservative") return BackfillMode::kConservative;
  return InvalidArgument(
      fmt::format("unknown backfill mode '{}'; known: none, easy, conservative", name));
}

std::string_view BackfillModeName(BackfillMode mode) {
  switch (mode) {
    case BackfillMode::kNone: return "none";
    case BackfillMode::kEasy: return "easy";
    case BackfillMode::kConservative: return "conservative";
  }
  return "none";
}

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
  const model::GpuTypeMask allowed = cluster_->Resolve(r.allowed);
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
  for (model::GpuTypeMask m = cluster_->Resolve(s.allowed); m != 0; m &= m - 1) {
    GpuTypeId t(static_cast<uint16_t>(std::countr_zero(m)));
    if (Capacity(s, t) >= s.tasks) return true;
  }
  return false;
}

bool Scheduler::PlaceOn(const JobRequest& r, GpuTypeId t, Allocation* out) {
  if (r.gpu_share_milli > 0) {
    return PlaceShares(state_, r.id, r.tasks, r.gpu_share_milli, t, out);
  }
  // A retry goes back to its previous block when it fits there (placement.h).
  if (!r.near_nodes.empty()) {
    if (PlaceNear(state_, r.id, r.tasks, r.gpus_per_task, t, r.near_nodes, out)) return true;
    ReleaseAll(r.id, *out);
    out->tasks.clear();
  }
  return placement_->Place(state_, r.id, r.tasks, r.gpus_per_task, t, out);
}

bool Scheduler::CanReallocate(const Allocation& alloc) const {
  if (alloc.share_milli == 0) {
    for (const auto& t : alloc.tasks) {
      if ((state_.unallocated_mask(t.node) & t.gpus) != t.gpus) return false;
    }
    return true;
  }
  // Shares: tasks of one job may share a GPU, so add them up per GPU.
  std::map<std::pair<uint32_t, int>, int32_t> want;
  for (const auto& t : alloc.tasks) want[{t.node.value(), std::countr_zero(t.gpus)}] += alloc.share_milli;
  for (const auto& [where, milli] : want) {
    const NodeId n(where.first);
    const bool free = (state_.unallocated_mask(n) >> where.second) & 1;
    const int32_t used = state_.share_used(n, where.second);
    if ((!free && used == 0) || used + milli > 1000) return false;  // held whole, or full
  }
  return true;
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
  if (req.gpu_share_milli < 0 || req.gpu_share_milli > 999 ||
      (req.gpu_share_milli > 0 && req.gpus_per_task != 1)) {
    return InvalidArgument(fmt::format(
        "job {}: a GPU share must be 1 to 999 milli-GPUs of one GPU (gpus per task 1)", req.id));
  }
  if (req.device_milli < 1 || req.device_milli > 1000) {
    return InvalidArgument(fmt::format("job {}: device_milli must be 1 to 1000", req.id));
  }
  if (const model::GpuTypeMask types = cluster_->Resolve(req.allowed);
      (types & cluster_->mig_types_mask()) != 0 &&
      ((types & cluster_->whole_types_mask()) != 0 || req.gpu_share_milli > 0)) {
    return InvalidArgument(fmt::format(
        "job {}: MIG instances cannot be mixed with whole GPUs or GPU shares", req.id));
  }
  if (req.priority < kMinPriority || req.priority > kMaxPriority) {
    return InvalidArgument(fmt::format("job {}: priority: must be between {} and {}, got {}",
                                       req.id, kMinPriority, kMaxPriority, req.priority));
  }
  if (req.checkpoint_interval < Duration::zero() || req.runtime_estimate < Duration::zero()) {
    return InvalidArgument(
        fmt::format("job {}: runtime estimate and checkpoint interval must be >= 0", req.id));
  }
  if (Status s = queues_.Ensure(req.queue); !s.ok()) {
    return InvalidArgument(fmt::format("job {}: {}", req.id, s.message()));
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
    int64_t cap = req.gpu_share_milli > 0
                      ? cluster_->gpus_of_type(t) * (1000 / req.gpu_share_milli)
                      : state_.MaxTaskCapacity(t, req.gpus_per_task);
    if (cap > best_cap) {
      best_cap = cap;
      best_type = t;
    }
  }
  if (best_cap < req.tasks) {
    const auto& type_name = cluster_->gpu_type(best_type).name;
    if (req.gpu_share_milli > 0) {
      adm.reason = fmt::format(
          "needs {} tasks x {} of a GPU; even an empty cluster holds only {} such shares on {}",
          req.tasks, Quantity::FromMilli(req.gpu_share_milli).ToString(), best_cap, type_name);
    } else if (best_cap == 0 && cluster_->gpu_type(best_type).is_mig()) {
      adm.reason = fmt::format(
          "needs {} MIG {} instances per task on one node; the most any node has is {}",
          req.gpus_per_task, cluster_->gpu_type(best_type).mig_profile,
          cluster_->max_gpus_per_node(best_type));
    } else if (best_cap == 0) {
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
  e.info.wait = WaitReason{};
  e.queued_key = order_->Key(e.info, now);
  pending_.insert(e.queued_key);
  if (order_->ranks_queues()) {
    const size_t q = e.info.req.queue.value();
    if (queue_pending_.size() <= q) queue_pending_.resize(q + 1);
    queue_pending_[q].insert(e.queued_key);
  }
  pending_shapes_[ShapeOf(e.info.req)]++;
  pending_priorities_[e.info.req.priority]++;
  const size_t q = e.info.req.queue.value();
  if (pending_gpus_.size() <= q) pending_gpus_.resize(q + 1);
  pending_gpus_[q][e.info.req.gpu_milli()]++;
}

void Scheduler::Dequeue(Entry& e) {
  pending_.erase(e.queued_key);
  if (order_->ranks_queues()) queue_pending_[e.info.req.queue.value()].erase(e.queued_key);
  ForgetShape(e.info.req);
  ForgetCounts(e.info.req);
}

void Scheduler::ForgetCounts(const JobRequest& r) {
  auto it = pending_priorities_.find(r.priority);
  if (--it->second == 0) pending_priorities_.erase(it);
  auto& gpus = pending_gpus_[r.queue.value()];
  auto g = gpus.find(r.gpu_milli());
  if (--g->second == 0) gpus.erase(g);
}

bool Scheduler::ReclaimAlive() const {
  if (!options_.reclaim || !queues_.has_guarantees() || !queues_.AnyBorrowing()) return false;
  for (uint32_t q = 0; q < pending_gpus_.size(); ++q) {
    if (!pending_gpus_[q].empty() &&
        queues_.WithinGuarantee(QueueId(q), pending_gpus_[q].begin()->first)) {
      return true;
    }
  }
  return false;
}

Status Scheduler::SetQueues(const std::vector<model::QueueSpec>& specs) {
  if (!jobs_.empty()) {
    return FailedPrecondition("queues can only be set before the scheduler knows any job");
  }
  BATON_ASSIGN_OR_RETURN(queues_,
                         QueueBook::Build(specs, *cluster_, options_.fair_share_half_life));
  return Status::Ok();
}

void Scheduler::ReportCheckpoint(JobId id, Time at) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  it->second.info.last_checkpoint = std::max(it->second.info.last_checkpoint, at);
}

Resources Scheduler::ResourcesOf(const JobRequest& r) const {
  Resources res;
  res.gpu_milli = r.gpu_milli();
  res.cpus = int64_t{r.tasks} * r.cpus_per_task;
  res.memory_mib = int64_t{r.tasks} * r.memory_mib_per_task;
  return res;
}

void Scheduler::Wait(Entry& e, WaitReason::Kind kind, Time now) {
  e.info.wait = WaitReason{};
  e.info.wait.kind = kind;
  e.info.wait.round = now;
}

void Scheduler::ForgetShape(const JobRequest& r) {
  auto it = pending_shapes_.find(ShapeOf(r));
  if (--it->second == 0) pending_shapes_.erase(it);
}

void Scheduler::ReleaseAll(JobId id, const Allocation& alloc) {
  for (const auto& t : alloc.tasks) {
    if (alloc.share_milli > 0) {
      state_.ReleaseShare(id, t.node, std::countr_zero(t.gpus), alloc.share_milli);
    } else {
      state_.Release(id, t.node, t.gpus);
    }
  }
}

void Scheduler::Reallocate(JobId id, const Allocation& alloc) {
  for (const auto& t : alloc.tasks) {
    if (alloc.share_milli > 0) {
      state_.AllocateShare(id, t.node, std::countr_zero(t.gpus), alloc.share_milli);
    } else {
      state_.Allocate(id, t.node, t.gpus);
    }
  }
}

Status Scheduler::Adopt(const JobRequest& req, Allocation alloc, Time run_start) {
  if (!req.id.valid()) return InvalidArgument("job id is not set");
  if (jobs_.count(req.id)) {
    return InvalidArgument(fmt::format("job {} is already known to the scheduler", req.id));
  }
  if (Status s = queues_.Ensure(req.queue); !s.ok()) {
    return InvalidArgument(fmt::format("job {}: {}", req.id, s.message()));
  }
  if (static_cast<int32_t>(alloc.tasks.size()) != req.tasks) {
    return InvalidArgument(fmt::format("job {}: allocation has {} tasks, the job {}", req.id,
                                       alloc.tasks.size(), req.tasks));
  }
  if (alloc.share_milli != req.gpu_share_milli || !alloc.type.valid() ||
      alloc.type.value() >= cluster_->num_gpu_types()) {
    return InvalidArgument(fmt::format(
        "job {}: allocation's GPU type or share does not match the request", req.id));
  }
  // Check every task before booking any, so a refused adoption changes nothing.
  std::map<uint32_t, uint64_t> wanted;
  std::map<std::pair<uint32_t, int>, int32_t> shares;  // (node, gpu) -> milli wanted
  for (const auto& t : alloc.tasks) {
    if (!t.node.valid() || t.node.value() >= cluster_->nodes().size()) {
      return InvalidArgument(fmt::format("job {}: allocation names an unknown node", req.id));
    }
    const model::Node& n = cluster_->node(t.node);
    if ((t.gpus & ~n.kind_mask(alloc.type)) != 0) {
      return FailedPrecondition(fmt::format(
          "job {}: GPUs on {} are out of range or not {} devices", req.id, n.name,
          cluster_->gpu_type(alloc.type).name));
    }
    if (alloc.share_milli > 0) {
      const int gpu = std::countr_zero(t.gpus);
      const int32_t want = (shares[{t.node.value(), gpu}] += alloc.share_milli);
      const bool free = (state_.unallocated_mask(t.node) >> gpu) & 1;
      const int32_t used = state_.share_used(t.node, gpu);
      if (std::popcount(t.gpus) != 1 || (!free && used == 0) || used + want > 1000) {
        return FailedPrecondition(fmt::format(
            "job {}: GPU {} on {} is held whole or has no room for the share", req.id, gpu,
            n.name));
      }
      continue;
    }
    if ((wanted[t.node.value()] & t.gpus) != 0 ||
        (state_.unallocated_mask(t.node) & t.gpus) != t.gpus) {
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

Status Scheduler::Remove(JobId id, Time now) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return NotFound(fmt::format("job {} is not known to the scheduler", id));
  Entry& e = it->second;
  if (e.info.phase == JobPhase::kRunning) {
    ReleaseAll(id, e.info.alloc);
    running_.erase(id);
    queues_.Sub(e.info.req.queue, ResourcesOf(e.info.req), std::max(e.info.run_start, now));
  } else {
    Dequeue(e);
  }
  jobs_.erase(it);
  return Status::Ok();
}

bool Scheduler::TryPlace(Entry& e, Allocation* out) {
  const JobRequest& r = e.info.req;
  const Shape shape = ShapeOf(r);
  for (GpuTypeId t : TypeOrder(r)) {
    if (Capacity(shape, t) < r.tasks) continue;
    Allocation alloc;
    alloc.type = t;
    if (PlaceOn(r, t, &alloc)) {
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
  e.info.wait = WaitReason{};
  running_.insert(e.info.req.id);
  queues_.Add(e.info.req.queue, ResourcesOf(e.info.req), now);
}

RoundResult Scheduler::RunRound(Time now, Rng& /*rng*/) {
  RoundResult result;
  last_round_ = std::max(last_round_, now);
  if (order_->replans()) Replan(now, &result);
  if (pending_.empty()) {
    reservations_.clear();
    return result;
  }
  RoundScratch s;
  for (const auto& [shape, count] : pending_shapes_) {
    s.index[shape] = s.slots.size();
    const bool fits = FitsNow(shape);
    s.slots.push_back({shape, count, fits});
    if (fits) s.live_fitting++;
  }
  s.min_running_priority = kMaxPriority + 1;
  if (options_.preempt_lower_priority) {
    for (JobId id : running_) {
      s.min_running_priority = std::min(s.min_running_priority, jobs_.at(id).info.req.priority);
    }
  }
  // While reservations hold GPUs, a shape counts as fitting if it would fit on them too:
  // a job that ends before the reservation starts may use them.
  auto refresh_fits = [&](bool both_ways) {
    const bool blocking = s.blocking;
    if (blocking) UnblockReserved(s);
    s.live_fitting = 0;
    for (auto& slot : s.slots) {
      if (slot.fits || both_ways) slot.fits = FitsNow(slot.shape);
      if (slot.fits && slot.unexamined > 0) s.live_fitting++;
    }
    if (blocking) BlockReserved(s);
  };
  // Whether any preemption may still happen this round (the early stop's other half).
  auto preemption_alive = [&] {
    if (running_.empty()) return false;
    if (order_->preemptive() && s.order_preemption_possible) return true;
    if (options_.preempt_lower_priority && !pending_priorities_.empty() &&
        pending_priorities_.rbegin()->first > s.min_running_priority) {
      return true;
    }
    return ReclaimAlive();
  };
  const bool backfill = options_.backfill != BackfillMode::kNone;
  const size_t max_reservations =
      options_.backfill == BackfillMode::kConservative
          ? static_cast<size_t>(std::max(1, options_.max_reservations))
          : 1;

  // Examines one pending job; true if it started.
  auto examine = [&](Entry& e) -> bool {
    ++result.examined;
    auto& slot = s.slots[s.index.at(ShapeOf(e.info.req))];
    if (--slot.unexamined == 0 && slot.fits) s.live_fitting--;
    const JobRequest& r = e.info.req;
    const int64_t milli = r.gpu_milli();
    // Quota first: a job over its queue's limit does not start however free the cluster.
    if (auto qb = s.quota_blocked.find(r.queue.value());
        qb != s.quota_blocked.end() && milli >= qb->second.first) {
      Wait(e, WaitReason::Kind::kQuota, now);
      e.info.wait.queue = qb->second.second;
      return false;
    }
    if (auto blocker = queues_.LimitBlocker(r.queue, milli)) {
      auto [qb, fresh] = s.quota_blocked.try_emplace(r.queue.value(), milli, *blocker);
      if (!fresh && milli < qb->second.first) qb->second = {milli, *blocker};
      Wait(e, WaitReason::Kind::kQuota, now);
      e.info.wait.queue = *blocker;
      return false;
    }
    Allocation alloc;
    bool placed = false, by_preemption = false, backfilled = false;
    if (slot.fits) {
      if (!s.reservations.empty()) {
        placed = backfilled = TryPlaceAroundReservations(e, now, s, &alloc);
      } else {
        placed = TryPlace(e, &alloc);
      }
    }
    bool min_run_blocked = false;
    if (!placed && PreemptionConceivable(e, now, s)) {
      const auto wake_before = s.wake_at;
      placed = by_preemption = TryPreempt(e, now, s, &alloc, &result);
      min_run_blocked = !placed && s.wake_at != wake_before;
      if (by_preemption) s.quota_blocked.clear();  // victims' queues hold less now
    }
    if (!placed) {
      if (backfill && s.reservations.size() < max_reservations && MakeReservation(e, now, s)) {
        Wait(e, WaitReason::Kind::kReservation, now);
        e.info.wait.at = s.reservations.back().at;
        return false;
      }
      if (!s.reservations.empty() && slot.fits) {
        Wait(e, WaitReason::Kind::kBehindReservation, now);
        e.info.wait.other = s.reservations.front().job;
        e.info.wait.at = s.reservations.front().at;
      } else {
        Wait(e, min_run_blocked ? WaitReason::Kind::kMinRunTime : WaitReason::Kind::kCapacity,
             now);
      }
      return false;
    }
    result.placed.push_back({e.info.req.id, alloc, PlacementReason(alloc)});
    if (backfilled) ++result.backfilled;
    Start(e, std::move(alloc), now);
    // Placing only lowers capacity; a preemption may also raise it.
    refresh_fits(by_preemption);
    return true;
  };
  // The round goes on while something may still start, be preempted for, or reserve.
  auto done = [&] {
    if (s.live_fitting > 0 || preemption_alive()) return false;
    return !backfill || s.reservations.size() >= max_reservations;
  };
  auto out_of_budget = [&] {
    return options_.max_jobs_per_round > 0 && result.examined >= options_.max_jobs_per_round;
  };

  if (!order_->ranks_queues()) {
    auto it = pending_.begin();
    while (it != pending_.end()) {
      if (done()) break;
      if (out_of_budget()) break;
      Entry& e = jobs_.at(it->id);
      if (!examine(e)) {
        ++it;
        continue;
      }
      it = pending_.erase(it);
      ForgetShape(e.info.req);
      ForgetCounts(e.info.req);
    }
  } else {
    // Queues by fair share (smallest first), each queue's jobs in key order: the next job
    // always comes from the queue with the smallest share, recomputed as its jobs start.
    struct Cursor {
      std::vector<double> share;
      OrderKey key;
      uint32_t queue;
      std::set<OrderKey>::iterator it;
    };
    auto worse = [](const Cursor& a, const Cursor& b) {
      if (a.share != b.share) return a.share > b.share;
      return a.key > b.key;
    };
    std::vector<Cursor> heap;
    for (uint32_t q = 0; q < queue_pending_.size(); ++q) {
      if (queue_pending_[q].empty()) continue;
      auto it = queue_pending_[q].begin();
      heap.push_back({queues_.SharePath(QueueId(q), now), *it, q, it});
    }
    std::make_heap(heap.begin(), heap.end(), worse);
    while (!heap.empty()) {
      if (done()) break;
      if (out_of_budget()) break;
      std::pop_heap(heap.begin(), heap.end(), worse);
      Cursor c = std::move(heap.back());
      heap.pop_back();
      auto next = std::next(c.it);
      Entry& e = jobs_.at(c.it->id);
      if (examine(e)) {
        pending_.erase(e.queued_key);
        queue_pending_[c.queue].erase(c.it);
        ForgetShape(e.info.req);
        ForgetCounts(e.info.req);
      }
      // A queue with no room left under its limits has nothing more to start this round.
      if (next == queue_pending_[c.queue].end() || queues_.Headroom(QueueId(c.queue)) < 1000) {
        continue;
      }
      heap.push_back({queues_.SharePath(QueueId(c.queue), now), *next, c.queue, next});
      std::push_heap(heap.begin(), heap.end(), worse);
    }
  }
  if (s.blocking) UnblockReserved(s);
  reservations_ = s.reservations;
  result.reservations = s.reservations;
  result.wake_at = s.wake_at;
  for (JobId vid : s.requeue) Enqueue(jobs_.at(vid), now);
  return result;
}

std::string Scheduler::PlacementReason(const Allocation& alloc) const {
  Footprint f = FootprintOf(*cluster_, alloc);
  if (alloc.share_milli > 0) {
    return fmt::format("{} task(s) on {} node(s), each on {} of a shared {} GPU", alloc.tasks.size(),
                       f.nodes, Quantity::FromMilli(alloc.share_milli).ToString(),
                       cluster_->gpu_type(alloc.type).name);
  }
  if (cluster_->gpu_type(alloc.type).is_mig()) {
    return fmt::format("{} task(s) on {} node(s), MIG {} instance(s) of {}", alloc.tasks.size(),
                       f.nodes, cluster_->gpu_type(alloc.type).mig_profile,
                       cluster_->gpu_type(cluster_->node(alloc.tasks.at(0).node).gpu_type).name);
  }
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
  const WaitReason& w = j->wait;
  std::string out;
  auto quota_text = [&](QueueId q) {
    const int64_t limit = queues_.limit_milli(q);
    std::string text = fmt::format(
        "queue {} is at its limit of {} GPUs ({} in use", queues_.name(q),
        Quantity::FromMilli(limit).ToString(),
        Quantity::FromMilli(queues_.used_milli(q)).ToString());
    if (queues_.guarantee_milli(q) > 0) {
      text += fmt::format(", guarantee {}",
                          Quantity::FromMilli(queues_.guarantee_milli(q)).ToString());
    }
    text += fmt::format("); the job needs {} more",
                        Quantity::FromMilli(r.gpu_milli()).ToString());
    if (q != r.queue) text += fmt::format(" (it is in {}, under {})", queues_.name(r.queue),
                                          queues_.name(q));
    return text;
  };
  switch (w.kind) {
    case WaitReason::Kind::kQuota:
      out = quota_text(w.queue);
      break;
    case WaitReason::Kind::kReservation:
      out = fmt::format(
          "holds the backfill reservation: expected to start by {} when running jobs end by "
          "their runtime estimates; {}",
          FormatTime(w.at), CapacityText(r));
      break;
    case WaitReason::Kind::kBehindReservation:
      out = fmt::format(
          "waiting behind the reservation for job {} at {}: the free GPUs it would use are "
          "held for that job, and it would still be running then",
          w.other, FormatTime(w.at));
      break;
    case WaitReason::Kind::kMinRunTime:
      out = fmt::format("{}; it may preempt once jobs have run the minimum run time of {}",
                        CapacityText(r), FormatDuration(options_.min_run_time));
      break;
    case WaitReason::Kind::kCapacity:
      out = CapacityText(r);
      break;
    case WaitReason::Kind::kNone:
      if (auto q = queues_.LimitBlocker(r.queue, r.gpu_milli())) {
        out = quota_text(*q);
      } else {
        out = CapacityText(r);
      }
      break;
  }
  if (j->preemptions > 0) {
    out += fmt::format("; preempted {} time(s), last by job {}", j->preemptions,
                       j->last_preempted_by);
  }
  out += fmt::format("; pending for {}", FormatDuration(now - j->pending_since));
  return out;
}

std::string Scheduler::CapacityText(const JobRequest& r) const {
  int64_t best_cap = -1;
  GpuTypeId best;
  const Shape shape = ShapeOf(r);
  for (GpuTypeId t : TypeOrder(r)) {
    int64_t cap = Capacity(shape, t);
    if (cap >= r.tasks) {
      return fmt::format("fits now on {} (room for {} such tasks); it starts at the next round",
                         cluster_->gpu_type(t).name, cap);
    }
    if (cap > best_cap) {
      best_cap = cap;
      best = t;
    }
  }
  if (!best.valid()) return "waiting for GPUs: none of the job's GPU types is in the fleet";
  const model::GpuTypeInfo& info = cluster_->gpu_type(best);
  const std::string& type = info.name;
  const int64_t free = state_.FreeGpus(best);
  if (info.is_mig()) {
    // MIG instances: a type per profile; name the profile, not the type.
    model::GpuTypeMask types = 0;
    for (GpuTypeId t : TypeOrder(r)) types |= model::GpuTypeMask{1} << t.value();
    int64_t total = 0, free_all = 0;
    for (model::GpuTypeMask m = types; m != 0; m &= m - 1) {
      const GpuTypeId t(static_cast<uint16_t>(std::countr_zero(m)));
      total += cluster_->gpus_of_type(t);
      free_all += state_.FreeGpus(t);
    }
    std::string out = free_all == 0
        ? fmt::format("no free MIG {} instance", info.mig_profile)
        : fmt::format("not enough free MIG {} instances", info.mig_profile);
    out += fmt::format(": needs {} task(s) x {} instance(s){}; {} of {} free in the fleet",
                       r.tasks, r.gpus_per_task, r.tasks > 1 ? " started together" : "", free_all,
                       total);
    if (free_all >= r.gpus()) out += " but split across nodes";
    return out;
  }
  if (r.gpu_share_milli > 0) {
    return fmt::format(
        "waiting for GPUs: needs {} task(s) x {} of a {} GPU{}; room now for {} such share(s) "
        "({} {} GPUs free, the rest held whole or by other shares)",
        r.tasks, Quantity::FromMilli(r.gpu_share_milli).ToString(), type,
        r.tasks > 1 ? " started together" : "", best_cap, free, type);
  }
  std::string out = fmt::format(
      "waiting for GPUs: needs {} task(s) x {} {} GPUs{}; room now for {} such task(s), {} {} "
      "GPUs free",
      r.tasks, r.gpus_per_task, type, r.tasks > 1 ? " started together" : "", best_cap, free,
      type);
  if (free >= r.gpus()) out += " but split across nodes";
  if (r.tasks > 1) {
    int64_t block = 0;
    uint32_t where = 0;
    for (uint32_t gi : state_.RackGroups(best)) {
      const int64_t f = state_.GroupTaskCapacity(gi, 1);
      if (f > block) {
        block = f;
        where = gi;
      }
    }
    if (block > 0) {
      out += fmt::format("; largest free block is {} GPUs in rack {}", block,
                         cluster_->rack(RackId(state_.group(where).index)).name);
    }
  } else {
    int most = 0;
    for (int k = state_.max_free(best); k > 0; --k) {
      if (state_.CountWithFree(best, k) > 0) {
        most = k;
        break;
      }
    }
    out += fmt::format("; the emptiest {} node has {} free", type, most);
  }
  return out;
}

}  // namespace baton::sched
