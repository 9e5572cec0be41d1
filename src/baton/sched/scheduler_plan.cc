// Scheduler::Replan: the hook for round-based order policies (order/hetero-las). Kept
// apart from scheduler.cc because only those policies use it.
#include <algorithm>

#include <fmt/format.h>

#include "baton/sched/scheduler.h"

namespace baton::sched {

void Scheduler::Replan(Time now, RoundResult* result) {
  PlanInput in;
  in.now = now;
  in.gpus_per_type.resize(static_cast<size_t>(cluster_->num_gpu_types()));
  for (int t = 0; t < cluster_->num_gpu_types(); ++t) {
    in.gpus_per_type[t] = cluster_->gpus_of_type(GpuTypeId(static_cast<uint16_t>(t)));
  }
  std::vector<JobId> ids(running_.begin(), running_.end());
  for (const OrderKey& k : pending_) ids.push_back(k.id);
  std::sort(ids.begin(), ids.end());
  in.jobs.reserve(ids.size());
  for (JobId id : ids) in.jobs.push_back(&jobs_.at(id).info);
  order_->Plan(in);
  // Keys follow the new plan; rebuild the sorted pending set from them.
  std::set<OrderKey> rekeyed;
  for (const OrderKey& k : pending_) {
    Entry& e = jobs_.at(k.id);
    e.queued_key = order_->Key(e.info, now);
    rekeyed.insert(e.queued_key);
  }
  pending_ = std::move(rekeyed);

  // Move running jobs to a better GPU type that has room now (not ones started now).
  const std::vector<JobId> running(running_.begin(), running_.end());
  for (JobId id : running) {
    Entry& e = jobs_.at(id);
    if (e.info.run_start >= now) continue;
    const JobRequest& r = e.info.req;
    for (GpuTypeId t : order_->MoveTargets(e.info)) {
      if (t == e.info.alloc.type || t.value() >= model::kMaxGpuTypes ||
          !(cluster_->Resolve(r.allowed) & (model::GpuTypeMask{1} << t.value())) ||
          Capacity(ShapeOf(r), t) < r.tasks) {
        continue;
      }
      Allocation alloc;
      alloc.type = t;
      if (!PlaceOn(r, t, &alloc)) {
        ReleaseAll(id, alloc);
        continue;
      }
      ReleaseAll(id, e.info.alloc);
      e.info.executed += now - e.info.run_start;
      e.info.preemptions++;
      e.info.last_preempted_by = id;
      result->preempted.push_back(
          {id, id,
           fmt::format("moved by {} to a faster GPU type ({})", order_->name(),
                       cluster_->gpu_type(t).name)});
      result->placed.push_back({id, alloc, PlacementReason(alloc)});
      Start(e, std::move(alloc), now);
      break;
    }
  }
}

}  // namespace baton::sched
