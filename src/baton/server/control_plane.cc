// ControlPlane: jobs, persistence, the scheduler and the loop. Agents and nodes are in
// control_plane_agents.cc.
#include "baton/server/control_plane.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "baton/api/convert.h"
#include "baton/sched/registry.h"
#include "baton/server/control_plane_internal.h"
#include "baton/server/gpu_devices.h"
#include "baton/model/mig.h"
#include "baton/server/node_health.h"
#include "baton/model/restart_policy.h"

namespace baton::server {

std::string JobKey(JobId id) { return fmt::format("jobs/{:020}", id.value()); }
std::string NodeKey(std::string_view name) { return fmt::format("nodes/{}", name); }

namespace {

// Why a job can never run on `cluster`, in words: the scheduler's reason, or for a MIG
// job whose profile no GPU offers, which profiles the fleet has.
std::string NeverFits(const model::Cluster& cluster, const model::JobSpec& spec,
                      const sched::JobRequest& req, std::string reason) {
  if (!spec.mig_profile.empty() && req.allowed == 0) {
    return fmt::format("no GPU in the fleet offers MIG {} instances (MIG profiles offered: {})",
                       spec.mig_profile, cluster.MigProfileNames());
  }
  return reason;
}

}  // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options, store::Store* store, Clock* clock)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      committer_(store, 4096,
                 options_.observer == nullptr
                     ? GroupCommitter::OnCommit()
                     : [obs = options_.observer](Duration took, int64_t writes, bool ok) {
                         obs->OnStoreWrite(took, writes, ok);
                       }),
      rng_(options_.seed),
      events_(options_.event_history) {}

ControlPlane::~ControlPlane() { committer_.Flush(); }

Status ControlPlane::Recover() {
  // Policies are checked here so a bad --policy fails at start, not at the first node.
  auto name = sched::ParsePolicyName(options_.policy, "placement/topology");
  if (!name.ok()) return name.status().WithPrefix("policy");
  BATON_ASSIGN_OR_RETURN(auto order, sched::MakeOrderPolicy(name->order));
  BATON_ASSIGN_OR_RETURN(auto placement, sched::MakePlacementPolicy(name->placement));
  (void)order;
  (void)placement;
  if (std::string err = NodeHealthOptionsError(HealthOptionsOf(options_)); !err.empty()) {
    return InvalidArgument(fmt::format("node health: {}", err));
  }

  BATON_RETURN_IF_ERROR(RecoverQueues());
  BATON_ASSIGN_OR_RETURN(std::vector<store::KeyValue> nodes, store_->List("nodes/"));
  BATON_ASSIGN_OR_RETURN(std::vector<store::KeyValue> jobs, store_->List("jobs/"));
  std::lock_guard<std::mutex> lock(mu_);
  const Time now = clock_->Now();
  const bool lenient = !options_.read_only.empty();
  for (const auto& kv : nodes) {
    auto n = std::make_unique<NodeEntry>();
    if (!n->info.ParseFromString(kv.value) || n->info.name().empty()) {
      if (lenient) {
        spdlog::error("read-only: {} does not hold a node record; skipped", kv.key);
        unreadable_records_++;
        continue;
      }
      return Internal(fmt::format("store: {} does not hold a node record", kv.key));
    }
    n->drained = n->info.state() == v1::NODE_STATE_DRAINED;
    n->state = v1::NODE_STATE_NOT_READY;
    if (n->drained) n->drain_reason = n->info.reason();
    n->reason = "waiting for the agent to reconnect after a control-plane restart";
    n->health_drain = n->info.health_drain();
    n->drained_by_check = n->info.health_drain_by_check();
    for (const v1::Gpu& g : n->info.gpus()) {
      if (!g.drained() || g.index() < 0 || g.index() >= 64) continue;
      n->drained_gpus |= uint64_t{1} << g.index();
      n->gpu_health[g.index()] = g.health_reason();
    }
    n->info.clear_state();
    n->info.clear_reason();
    n->info.clear_health_drain();
    n->info.clear_health_drain_by_check();
    for (v1::Gpu& g : *n->info.mutable_gpus()) {
      g.clear_drained();
      g.clear_health_reason();
    }
    n->last_seen = now;
    nodes_[n->info.name()] = std::move(n);
  }
  for (const auto& kv : jobs) {
    v1::Job proto;
    auto rec = proto.ParseFromString(kv.value)
                   ? api::FromProto(proto)
                   : Result<model::JobRecord>(Internal("does not hold a job record"));
    if (!rec.ok() && lenient) {
      spdlog::error("read-only: {}: {}; skipped", kv.key, rec.status().message());
      unreadable_records_++;
      continue;
    }
    if (!rec.ok()) return rec.status().WithPrefix(fmt::format("store: {}", kv.key));
    auto e = std::make_unique<JobEntry>();
    e->rec = *std::move(rec);
    const JobId id = e->rec.id;
    next_job_id_ = std::max(next_job_id_, id.value() + 1);
    // Placed before the restart: its start latency was observed then (or is unknown).
    e->started = !e->rec.attempts.empty();
    CountJob(*e, +1);
    if (!model::IsTerminal(e->rec.state)) {
      active_.insert(id);
      if (const model::Attempt* a = model::OpenAttempt(e->rec)) {
        // Whatever the agents still run of it is unknown until they report: assume all.
        e->live_attempt = a->number;
        e->alive.assign(a->placements.size(), 1);
        e->alive_count = static_cast<int32_t>(a->placements.size());
        e->running.assign(a->placements.size(), 0);
        e->task_attempt.resize(a->placements.size());
        for (size_t t = 0; t < a->placements.size(); ++t) {
          e->task_attempt[t] = model::TaskAttempt(*a, static_cast<int32_t>(t));
          // A task whose exit is on record is gone; an agent that no longer mentions it
          // must not make it look vanished (or started again).
          if (t < a->task_exit_codes.size() && a->task_exit_codes[t]) {
            e->alive[t] = 0;
            e->alive_count--;
            e->running[t] = 1;
          }
        }
        e->starting_since = now;
        if (e->rec.state == model::JobState::kStarting ||
            e->rec.state == model::JobState::kScheduled) {
          starting_.insert(id);
        }
      }
    }
    jobs_[id] = std::move(e);
  }
  fleet_dirty_ = true;
  spdlog::info("recovered {} jobs ({} active) and {} nodes", jobs_.size(), active_.size(),
               nodes_.size());
  if (lenient) {
    spdlog::error("control plane is READ-ONLY: {}; serving the {} jobs and {} nodes read "
                  "({} unreadable records skipped); every change is refused",
                  options_.read_only, jobs_.size(), nodes_.size(), unreadable_records_);
  }
  v1::Event started;
  started.set_type(v1::EVENT_TYPE_CONTROL_PLANE_STARTED);
  started.set_message(fmt::format("control plane started: recovered {} jobs ({} active) and "
                                  "{} nodes",
                                  jobs_.size(), active_.size(), nodes_.size()));
  events_.Append(std::move(started), now);
  return Status::Ok();
}

Status ControlPlane::CheckWritable() const {
  if (options_.read_only.empty()) return Status::Ok();
  return FailedPrecondition(
      fmt::format("the control plane is read-only and refuses every change: {}",
                  options_.read_only));
}

// ---------------------------------------------------------------------------------------
// Persistence and events.

void ControlPlane::Persist(JobEntry& e, v1::JobEvent::Kind kind, Action on_durable,
                           std::optional<store::Op> audit) {
  v1::JobEvent ev;
  ev.set_kind(kind);
  *ev.mutable_job() = api::ToProto(e.rec);
  const JobId id = e.rec.id;
  std::vector<store::Op> ops(1);
  ops[0].key = JobKey(id);
  ops[0].value = ev.job().SerializeAsString();
  if (audit) ops.push_back(*std::move(audit));
  committer_.Commit(std::move(ops),
                    [this, id, ev = std::move(ev), on_durable = std::move(on_durable)](
                        const Status& s) { OnPersisted(id, s, ev, on_durable); });
}

void ControlPlane::OnPersisted(JobId id, const Status& s, const v1::JobEvent& ev,
                               const Action& on_durable) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!s.ok()) {
    // The in-memory record is ahead of the disk. Write it again from Tick; directives
    // that wait for it go out once it is durable.
    spdlog::error("job {}: cannot persist its record: {}", id, s.ToString());
    auto it = jobs_.find(id);
    if (it != jobs_.end()) {
      if (on_durable) it->second->deferred.push_back(on_durable);
      retry_persist_.insert(id);
    }
    work_ = true;
    work_cv_.notify_all();
    return;
  }
  Publish(ev);
  if (on_durable) on_durable();
}

void ControlPlane::Publish(const v1::JobEvent& ev) {
  v1::JobEvent out = ev;
  out.set_sequence(++event_sequence_);
  for (auto& [id, w] : watchers_) {
    const JobFilter& f = w.first;
    if (f.job && ev.job().id() != std::to_string(f.job->value())) continue;
    if (!f.queue.empty() && ev.job().spec().queue() != f.queue) continue;
    if (f.within && !queue_tree_.Within(ev.job().spec().queue(), *f.within)) continue;
    w.second(out);
  }
}

int64_t ControlPlane::Watch(JobFilter filter, WatchFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t id = next_watch_++;
  watchers_.emplace(id, std::make_pair(std::move(filter), std::move(fn)));
  return id;
}

void ControlPlane::Unwatch(int64_t watch_id) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(watch_id);
}

void ControlPlane::Flush() { committer_.Flush(); }

void ControlPlane::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  work_ = true;
  work_cv_.notify_all();
}

void ControlPlane::WaitForWork(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  work_cv_.wait_for(lock, timeout, [&] { return work_; });
  work_ = false;
}

// ---------------------------------------------------------------------------------------
// Jobs API.

void ControlPlane::Submit(model::JobSpec spec, JobDone done, const ChangeOrigin& origin) {
  if (Status w = CheckWritable(); !w.ok()) {
    done(std::move(w));
    return;
  }
  Status valid = model::ValidateJobSpec(spec);
  if (!valid.ok()) {
    done(valid);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  const Time now = clock_->Now();
  auto e = std::make_unique<JobEntry>();
  const int32_t max_attempts = spec.max_attempts;
  e->rec = model::NewJobRecord(JobId(next_job_id_), std::move(spec), max_attempts, now);
  e->rec.user = origin.user;
  if (fleet_dirty_) RebuildScheduler(now);
  if (sched_ && cluster_ && !cluster_->nodes().empty()) {
    const sched::JobRequest req = MakeRequest(*e);
    sched::Admission adm = sched_->Feasibility(req);
    if (!adm.queued) {
      lock.unlock();
      done(FailedPrecondition(fmt::format("job can never run on this fleet: {}",
                                          NeverFits(*cluster_, e->rec.spec, req, adm.reason))));
      return;
    }
  }
  next_job_id_++;
  e->rec.reason = "waiting for the scheduler";
  v1::JobEvent ev;
  ev.set_kind(v1::JobEvent::KIND_SUBMITTED);
  *ev.mutable_job() = api::ToProto(e->rec);
  const JobId id = e->rec.id;
  std::vector<store::Op> ops(1);
  ops[0].key = JobKey(id);
  ops[0].value = ev.job().SerializeAsString();
  if (auto audit = origin.AuditOp(fmt::format("job/{}", id))) ops.push_back(*std::move(audit));
  std::shared_ptr<JobEntry> pending(e.release());
  committer_.Commit(std::move(ops),
                 [this, pending, ev = std::move(ev), done = std::move(done)](const Status& s) {
                   if (!s.ok()) {
                     // A write whose answer was lost (etcd deadline) may still be applied
                     // when the store recovers: say so rather than "not accepted".
                     const bool unknown = s.message().find("outcome unknown") !=
                                          std::string_view::npos;
                     done(Status(
                         StatusCode::kUnavailable,
                         unknown ? fmt::format("job not acknowledged: the store could not "
                                               "confirm the write ({}); it may still appear "
                                               "once the store recovers: check `baton ps` "
                                               "before submitting it again",
                                               s.message())
                                 : fmt::format("job not accepted: cannot persist it: {}",
                                               s.message())));
                     return;
                   }
                   v1::Job reply;
                   {
                     std::lock_guard<std::mutex> lock(mu_);
                     const JobId jid = pending->rec.id;
                     auto owned = std::make_unique<JobEntry>(std::move(*pending));
                     JobEntry& entry = *owned;
                     jobs_[jid] = std::move(owned);
                     CountJob(entry, +1);
                     active_.insert(jid);
                     stats_.submitted++;
                     SubmitToScheduler(entry, clock_->Now());
                     RecordJobEvent(entry, nullptr, model::JobState::kPending, clock_->Now());
                     Publish(ev);
                     reply = Render(entry, clock_->Now());
                     work_ = true;
                     work_cv_.notify_all();
                   }
                   done(std::move(reply));
                 });
}

Result<v1::Job> ControlPlane::Get(JobId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() && !options_.read_only.empty() && id.value() < next_job_id_) {
    // Below the highest id read: it existed, but its record is in the damaged part.
    return NotFound(fmt::format("job {} is not among the records that could be read: {}", id,
                                options_.read_only));
  }
  if (it == jobs_.end()) return NotFound(fmt::format("job {} not found", id));
  return Render(*it->second, clock_->Now());
}

bool ControlPlane::Matches(const JobFilter& f, const JobEntry& e) const {
  if (!f.queue.empty() && e.rec.spec.queue != f.queue) return false;
  if (f.state && e.rec.state != *f.state) return false;
  if (f.job && e.rec.id != *f.job) return false;
  if (f.within && !queue_tree_.Within(e.rec.spec.queue, *f.within)) return false;
  return true;
}

Result<ControlPlane::Page> ControlPlane::List(const JobFilter& filter, int32_t page_size,
                                              std::string_view token) const {
  if (page_size < 0) return InvalidArgument("page_size: must not be negative");
  const size_t limit = page_size == 0 ? 100 : std::min(page_size, 1000);
  uint64_t before = UINT64_MAX;
  if (!token.empty()) {
    auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), before);
    if (ec != std::errc() || p != token.data() + token.size()) {
      return InvalidArgument(fmt::format("page_token: '{}' is not a token from List", token));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  const Time now = clock_->Now();
  Page page;
  auto it = jobs_.lower_bound(JobId(before));
  while (it != jobs_.begin()) {
    --it;
    if (!Matches(filter, *it->second)) continue;
    if (page.jobs.size() == limit) {
      page.next_page_token = page.jobs.back().id();  // the next page starts below it
      break;
    }
    page.jobs.push_back(Render(*it->second, now));
  }
  return page;
}

void ControlPlane::Cancel(JobId id, std::string reason, JobDone done,
                          const ChangeOrigin& origin) {
  if (Status w = CheckWritable(); !w.ok()) {
    done(std::move(w));
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) {
    lock.unlock();
    done(NotFound(fmt::format("job {} not found", id)));
    return;
  }
  JobEntry& e = *it->second;
  const Time now = clock_->Now();
  if (model::IsTerminal(e.rec.state)) {
    v1::Job reply = Render(e, now);
    lock.unlock();
    done(std::move(reply));
    return;
  }
  model::JobEventData ev = model::JobEventData::CancelRequested();
  ev.detail = reason.empty() ? "cancelled by request" : reason;
  const bool was_pending = e.rec.state == model::JobState::kPending;
  if (!Transition(e, ev, now)) {
    lock.unlock();
    done(Internal(fmt::format("job {}: cancel refused by the lifecycle", id)));
    return;
  }
  if (was_pending) {
    Release(e);
  } else {
    AfterAttemptEnded(e, /*scheduler_requeued=*/false);
  }
  Persist(
      e, v1::JobEvent::KIND_STATE_CHANGED,
      [this, id, done = std::move(done)] {
        auto j = jobs_.find(id);
        done(Render(*j->second, clock_->Now()));
      },
      origin.AuditOp(fmt::format("job/{}", id)));
  work_ = true;
  work_cv_.notify_all();
}

void ControlPlane::ReportCheckpoint(JobId id, int32_t attempt, std::string path,
                                    JobDone done, const ChangeOrigin& origin) {
  if (Status w = CheckWritable(); !w.ok()) {
    done(std::move(w));
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) {
    lock.unlock();
    done(NotFound(fmt::format("job {} not found", id)));
    return;
  }
  JobEntry& e = *it->second;
  if (attempt == 0) attempt = static_cast<int32_t>(e.rec.attempts.size());
  auto changed = model::RecordCheckpoint(e.rec, attempt, path, clock_->Now());
  if (!changed.ok()) {
    lock.unlock();
    done(changed.status());
    return;
  }
  spdlog::info("job {}: checkpoint {} (attempt {}, reported through the API)", id, path,
               attempt);
  Persist(
      e, v1::JobEvent::KIND_STATE_CHANGED,
      [this, id, done = std::move(done)] {
        auto j = jobs_.find(id);
        done(Render(*j->second, clock_->Now()));
      },
      origin.AuditOp(fmt::format("job/{}", id)));
}

// ---------------------------------------------------------------------------------------
// Lifecycle plumbing.

bool ControlPlane::Transition(JobEntry& e, const model::JobEventData& ev, Time now) {
  const model::JobState before = e.rec.state;
  auto next = model::Apply(e.rec, ev, now);
  if (!next.ok()) {
    spdlog::debug("job {}: {} ignored: {}", e.rec.id, model::JobEventName(ev.event),
                  next.status().message());
    return false;
  }
  CountJob(e, -1);
  e.rec = *std::move(next);
  CountJob(e, +1);
  RecordJobEvent(e, &ev, before, now);
  const model::JobState after = e.rec.state;
  if (after == model::JobState::kRunning && !e.started) {
    e.started = true;
    if (options_.observer) {
      options_.observer->OnJobStarted(e.rec.spec.queue, now - e.rec.submit_time);
    }
  }
  if (after == model::JobState::kPending && before != model::JobState::kPending) {
    e.rec.retry_after = model::RetryAfter(e.rec);  // restart backoff, if any
  }
  if (after == model::JobState::kStarting) {
    starting_.insert(e.rec.id);
  } else {
    starting_.erase(e.rec.id);
  }
  if (model::IsTerminal(after) && !model::IsTerminal(before)) {
    active_.erase(e.rec.id);
    stats_.finished++;
  }
  return true;
}

// The open attempt just ended (the job is pending again or terminal). Stops what still
// runs of it; the GPUs go back once every task is confirmed gone.
void ControlPlane::AfterAttemptEnded(JobEntry& e, bool scheduler_requeued) {
  for (int32_t t = 0; t < static_cast<int32_t>(e.alive.size()); ++t) {
    if (e.alive[static_cast<size_t>(t)]) SendStop(e, t);
  }
  if (scheduler_requeued) return;  // the scheduler already took the GPUs back
  if (e.alive_count == 0) {
    Release(e);
  } else {
    e.release_pending = true;
  }
}

void ControlPlane::TaskGone(JobEntry& e, int32_t attempt, int32_t task) {
  if (task < 0 || task >= static_cast<int32_t>(e.alive.size()) ||
      attempt != e.Tracked(static_cast<size_t>(task))) {
    return;
  }
  if (!e.alive[static_cast<size_t>(task)]) return;
  e.alive[static_cast<size_t>(task)] = 0;
  e.alive_count--;
  if (e.alive_count == 0 && e.release_pending) Release(e);
}

// Hands the job's GPUs back, and queues it again if it is pending (a retry).
void ControlPlane::Release(JobEntry& e) {
  e.release_pending = false;
  if (e.in_sched && sched_) {
    Status s = sched_->Remove(e.rec.id);
    if (!s.ok()) spdlog::warn("job {}: {}", e.rec.id, s.message());
  }
  e.in_sched = false;
  if (e.rec.state == model::JobState::kPending) SubmitToScheduler(e, clock_->Now());
  work_ = true;
  work_cv_.notify_all();
}

sched::JobRequest ControlPlane::MakeRequest(const JobEntry& e) const {
  const model::JobSpec& spec = e.rec.spec;
  sched::JobRequest r;
  r.id = e.rec.id;
  r.queue = QueueIdOf(spec.queue);
  r.priority = spec.priority;
  r.submit = e.rec.submit_time;
  r.tasks = spec.tasks;
  if (spec.gpus_per_task < Quantity::Whole(1)) {  // a share of one GPU
    r.gpus_per_task = 1;
    r.gpu_share_milli = static_cast<int32_t>(spec.gpus_per_task.milli());
  } else {
    r.gpus_per_task = static_cast<int32_t>(spec.gpus_per_task.whole());
  }
  if (spec.estimated_runtime) r.runtime_estimate = *spec.estimated_runtime;
  // A retry prefers the block its last attempt ran in (sched::PlaceNear): those nodes,
  // but not the one whose task failed; lost and drained nodes are unschedulable anyway.
  if (!e.rec.attempts.empty() && model::OpenAttempt(e.rec) == nullptr) {
    const model::Attempt& last = e.rec.attempts.back();
    for (size_t t = 0; t < last.placements.size(); ++t) {
      if (last.failed_task && static_cast<size_t>(*last.failed_task) == t) continue;
      if (auto id = node_ids_.find(last.placements[t].node); id != node_ids_.end()) {
        r.near_nodes.push_back(id->second);
      }
    }
  }
  if (!spec.mig_profile.empty()) {
    r.allowed = cluster_ ? cluster_->MigTypes(spec.mig_profile) : 0;
    r.device_milli = model::MigProfileMilli(spec.mig_profile);
  } else if (cluster_ && !spec.gpu_types.empty()) {
    r.allowed = 0;
    // Short names match the agents' NVML model names ("H100" -> "NVIDIA H100 80GB HBM3").
    for (const auto& t : spec.gpu_types) {
      for (GpuTypeId id : cluster_->MatchGpuTypes(t)) {
        r.allowed |= model::GpuTypeMask{1} << id.value();
      }
    }
    for (const auto& t : spec.gpu_preference) {
      for (GpuTypeId id : cluster_->MatchGpuTypes(t)) r.preference.push_back(id);
    }
  }
  return r;
}

void ControlPlane::SubmitToScheduler(JobEntry& e, Time now) {
  if (!sched_ || e.in_sched) return;
  if (e.rec.retry_after && *e.rec.retry_after > now) {
    backoff_.insert(e.rec.id);  // Tick queues it once the backoff is over
    return;
  }
  backoff_.erase(e.rec.id);
  auto adm = sched_->Submit(MakeRequest(e), now);
  if (!adm.ok()) {
    spdlog::error("job {}: scheduler refused it: {}", e.rec.id, adm.status().message());
    return;
  }
  if (!adm->queued) {
    e.unplaceable = NeverFits(*cluster_, e.rec.spec, MakeRequest(e), adm->reason);
    return;
  }
  e.unplaceable.clear();
  e.in_sched = true;
}

v1::Job ControlPlane::Render(const JobEntry& e, Time now) const {
  v1::Job job = api::ToProto(e.rec);
  if (e.rec.state == model::JobState::kPending) {
    if (!sched_ || !cluster_ || cluster_->nodes().empty()) {
      job.set_reason("waiting for nodes: no agent with GPUs has registered");
    } else if (!e.unplaceable.empty()) {
      job.set_reason(fmt::format("cannot run on the current fleet: {}", e.unplaceable));
    } else if (e.release_pending) {
      job.set_reason("waiting for the previous attempt's tasks to stop");
    } else if (e.rec.retry_after && *e.rec.retry_after > now) {
      job.set_reason(fmt::format("{}; restart backoff: next attempt in {}", e.rec.reason,
                                 FormatDuration(*e.rec.retry_after - now)));
    } else if (e.in_sched) {
      job.set_reason(sched_->Explain(e.rec.id, now));
    }
  }
  return job;
}

// ---------------------------------------------------------------------------------------
// The loop.

void ControlPlane::Tick() {
  if (!options_.read_only.empty()) return;  // nothing may change
  std::lock_guard<std::mutex> lock(mu_);
  const Time now = clock_->Now();
  for (JobId id : std::exchange(retry_persist_, {})) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    JobEntry& e = *it->second;
    auto deferred = std::exchange(e.deferred, {});
    Persist(e, v1::JobEvent::KIND_STATE_CHANGED, [deferred = std::move(deferred)] {
      for (const auto& a : deferred) a();
    });
  }
  CheckTimeouts(now);
  SendDueRestarts(now);
  if (fleet_dirty_) RebuildScheduler(now);
  for (JobId id : std::vector<JobId>(backoff_.begin(), backoff_.end())) {
    JobEntry& e = *jobs_.at(id);
    if (e.rec.state != model::JobState::kPending || e.in_sched) {
      backoff_.erase(id);
    } else if (!e.rec.retry_after || *e.rec.retry_after <= now) {
      SubmitToScheduler(e, now);
    }
  }
  RunRound(now);
}

void ControlPlane::RunRound(Time now) {
  if (!sched_ || sched_->pending_count() == 0) return;
  const Time t0 = SystemClock().Now();
  sched::RoundResult result = sched_->RunRound(now, rng_);
  stats_.rounds++;
  for (const sched::PreemptedJob& p : result.preempted) {
    auto it = jobs_.find(p.job);
    if (it == jobs_.end()) continue;
    JobEntry& e = *it->second;
    const model::Attempt* open = model::OpenAttempt(e.rec);
    if (!open) continue;
    model::JobEventData ev = model::JobEventData::Preempted(open->number);
    ev.detail = p.reason;
    if (Transition(e, ev, now)) {
      AfterAttemptEnded(e, /*scheduler_requeued=*/true);
      Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
    }
  }
  for (sched::PlacedJob& p : result.placed) {
    auto it = jobs_.find(p.job);
    if (it == jobs_.end()) continue;
    JobEntry& e = *it->second;
    std::vector<model::TaskPlacement> placements;
    for (const sched::TaskPlacement& t : p.alloc.tasks) {
      placements.push_back(ToTaskPlacement(cluster_->node(t.node), t));
    }
    const int32_t attempt = model::NextAttemptNumber(e.rec);
    model::JobEventData scheduled = model::JobEventData::Scheduled(attempt, placements);
    scheduled.detail = p.reason;
    if (!Transition(e, scheduled, now) ||
        !Transition(e, model::JobEventData::Starting(attempt), now)) {
      spdlog::error("job {}: placed but the lifecycle refused it; giving the GPUs back",
                    e.rec.id);
      (void)sched_->Remove(e.rec.id);
      e.in_sched = false;
      continue;
    }
    stats_.placed++;
    e.rec.retry_after.reset();
    if (std::string from = model::ResumeFrom(e.rec); !from.empty()) {
      spdlog::info("job {}: attempt {} resumes from checkpoint {}", e.rec.id, attempt, from);
    }
    e.live_attempt = attempt;
    e.task_attempt.assign(placements.size(), attempt);
    e.alive.assign(placements.size(), 1);
    e.running.assign(placements.size(), 0);
    e.alive_count = static_cast<int32_t>(placements.size());
    e.starting_since = now;
    const JobId id = e.rec.id;
    Persist(e, v1::JobEvent::KIND_STATE_CHANGED,
            [this, id, attempt] { SendStarts(id, attempt, {}); });
  }
  stats_.last_round = SystemClock().Now() - t0;
  if (options_.observer) {
    options_.observer->OnRound(stats_.last_round, result.examined,
                               static_cast<int64_t>(result.placed.size()),
                               static_cast<int64_t>(result.preempted.size()));
  }
}

void ControlPlane::CheckTimeouts(Time now) {
  std::vector<JobId> expired;
  for (JobId id : starting_) {
    const JobEntry& e = *jobs_.at(id);
    if (now - e.starting_since >= options_.start_timeout) expired.push_back(id);
  }
  for (JobId id : expired) {
    JobEntry& e = *jobs_.at(id);
    const model::Attempt* open = model::OpenAttempt(e.rec);
    if (!open) continue;
    model::JobEventData ev = model::JobEventData::StartTimeout(open->number);
    ev.detail = fmt::format("not every task was running after {}",
                            FormatDuration(options_.start_timeout));
    if (Transition(e, ev, now)) {
      AfterAttemptEnded(e, false);
      Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
    }
  }
  CheckNodeHealth(now);
}

void ControlPlane::RebuildScheduler(Time now) {
  fleet_dirty_ = false;
  std::vector<model::NodeInventory> inv;
  std::vector<NodeEntry*> members;
  for (auto& [name, n] : nodes_) {
    if (n->info.gpus_size() == 0) continue;  // nothing to schedule there
    inv.push_back(InventoryOf(n->info));
    members.push_back(n.get());
  }
  auto cluster = model::Cluster::FromNodes(inv);
  if (!cluster.ok()) {
    spdlog::error("fleet: {}", cluster.status().message());
    return;
  }
  auto name = sched::ParsePolicyName(options_.policy, "placement/topology");
  auto order = sched::MakeOrderPolicy(name->order);
  auto placement = sched::MakePlacementPolicy(name->placement);
  auto new_cluster = std::make_unique<model::Cluster>(*std::move(cluster));
  auto new_sched = std::make_unique<sched::Scheduler>(*new_cluster, std::move(*order),
                                                      std::move(*placement));
  ApplyQueues(*new_sched);
  sched_ = std::move(new_sched);
  cluster_ = std::move(new_cluster);
  node_ids_.clear();
  for (size_t i = 0; i < members.size(); ++i) {
    const NodeId id(static_cast<uint32_t>(i));
    node_ids_[members[i]->info.name()] = id;
    sched_->mutable_state().SetSchedulable(
        id, members[i]->state == v1::NODE_STATE_READY && members[i]->takes_work());
  }
  // Book what runs (or is still stopping) first, then queue the rest in submit order.
  std::vector<JobEntry*> to_queue;
  for (auto& [id, ep] : jobs_) {
    JobEntry& e = *ep;
    e.in_sched = false;
    const bool holds = model::OpenAttempt(e.rec) != nullptr || e.release_pending;
    if (holds && !e.rec.attempts.empty()) {
      const model::Attempt& a = e.rec.attempts.back();
      sched::Allocation alloc;
      const sched::JobRequest req = MakeRequest(e);
      alloc.share_milli = req.gpu_share_milli;
      Status s;
      for (const model::TaskPlacement& tp : a.placements) {
        auto nid = node_ids_.find(tp.node);
        if (nid == node_ids_.end()) {
          s = FailedPrecondition("a node of its placement is not in the fleet");
          break;
        }
        auto mask = DevicesOf(cluster_->node(nid->second), tp, &alloc.type);
        if (!mask.ok()) {
          s = mask.status();
          break;
        }
        alloc.tasks.push_back({nid->second, *mask});
      }
      if (s.ok()) s = sched_->Adopt(req, std::move(alloc), a.start_time);
      if (s.ok()) {
        e.in_sched = true;
      } else {
        spdlog::warn("job {}: cannot re-book its GPUs: {}", id, s.message());
      }
    } else if (e.rec.state == model::JobState::kPending) {
      to_queue.push_back(&e);
    }
  }
  for (JobEntry* e : to_queue) SubmitToScheduler(*e, now);
  for (NodeEntry* n : members) ApplyGpuDrains(*n);
  spdlog::info("fleet: {} nodes, {} GPUs; {} jobs queued", cluster_->nodes().size(),
               cluster_->total_gpus(), sched_->pending_count());
}

ControlPlaneStats ControlPlane::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ControlPlaneStats s = stats_;
  s.active = static_cast<int64_t>(active_.size());
  s.pending = sched_ ? static_cast<int64_t>(sched_->pending_count()) : 0;
  for (const auto& [name, n] : nodes_) {
    if (n->state == v1::NODE_STATE_READY) s.nodes_ready++;
    if (n->state == v1::NODE_STATE_NOT_READY) s.nodes_not_ready++;
    if (n->state == v1::NODE_STATE_LOST) s.nodes_lost++;
  }
  s.evictions_suspended = evictions_suspended_;
  if (cluster_) s.gpus_total = cluster_->total_gpus();
  if (sched_) s.gpus_allocated = sched_->state().AllocatedGpus();
  s.commits = committer_.stats();
  return s;
}

void ControlPlane::CountJob(const JobEntry& e, int64_t delta) {
  auto key = std::make_pair(e.rec.state, e.rec.spec.queue);
  auto it = job_counts_.try_emplace(std::move(key), 0).first;
  it->second += delta;
}

ControlPlaneMetricsView ControlPlane::MetricsView() const {
  std::lock_guard<std::mutex> lock(mu_);
  const Time now = clock_->Now();
  ControlPlaneMetricsView v;
  for (const auto& [key, n] : job_counts_) {
    v.jobs[{std::string(model::JobStateName(key.first)), key.second}] = n;
  }
  const bool no_fleet = !sched_ || !cluster_ || cluster_->nodes().empty();
  for (JobId id : active_) {
    const JobEntry& e = *jobs_.at(id);
    if (e.rec.state != model::JobState::kPending) continue;
    const char* reason = no_fleet                  ? "no-nodes"
                         : !e.unplaceable.empty()  ? "unplaceable"
                         : e.release_pending       ? "releasing"
                         : e.in_sched              ? "resources"
                                                   : "not-queued";
    v.pending[{e.rec.spec.queue, reason}]++;
  }
  for (const auto& [name, n] : nodes_) {
    ControlPlaneMetricsView::NodeView nv;
    nv.name = name;
    // As Nodes() shows it: an operator's drain outranks ready and not-ready, not lost.
    nv.state = n->drained && n->state != v1::NODE_STATE_LOST ? v1::NODE_STATE_DRAINED : n->state;
    nv.connected = n->session != 0;
    nv.since_heartbeat = std::max(Duration(0), now - n->last_seen);
    if (nv.connected) v.agents_connected++;
    uint64_t allocated = 0;
    if (auto id = node_ids_.find(name); id != node_ids_.end() && sched_) {
      allocated = PhysicalGpusInUse(cluster_->node(id->second), id->second, sched_->state());
    }
    // The scheduler's bit i is the node's i-th GPU as registered (as in Nodes()).
    for (int i = 0; i < n->info.gpus_size(); ++i) {
      const v1::Gpu& g = n->info.gpus(i);
      ControlPlaneMetricsView::GpuView gv;
      gv.gpu = g;
      gv.allocated = i < 64 && ((allocated >> i) & 1) != 0;
      if (auto row = telemetry_.Latest(n->info.name(), g.uuid())) gv.telemetry = row->latest.gpu;
      nv.gpus.push_back(std::move(gv));
    }
    v.nodes.push_back(std::move(nv));
  }
  return v;
}

}  // namespace baton::server
