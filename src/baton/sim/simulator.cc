#include "baton/sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <queue>

#include <fmt/format.h>

#include "baton/sched/scheduler.h"

namespace baton::sim {
namespace {

// kWakeup: a round the scheduler asked for (a minimum run time ends); job is unused.
enum class EventKind : uint8_t { kCompletion = 0, kTimer = 1, kWakeup = 2 };

struct Event {
  Time at;
  EventKind kind;
  uint64_t seq;  // insertion order: ties break deterministically
  uint32_t job;  // index into the trace
  uint32_t run;  // which run of the job this event belongs to
  friend bool operator>(const Event& a, const Event& b) {
    return std::tie(a.at, a.kind, a.seq) > std::tie(b.at, b.kind, b.seq);
  }
};

struct JobState {
  Duration remaining{0};
  Time run_start;
  Time finish_at;          // completion time of the current run
  double steps_left = 0;   // throughput-aware jobs: training steps still to do
  double rate = 0;         // their steps/s in the current run
  uint32_t run = 0;  // bumped on every start and preemption; stale events are ignored
  bool started = false;
  bool done = false;
};

// The fewest tasks that each fit on one node: the largest divisor of `gpus` not above
// the biggest node size of the allowed types.
int32_t TasksFor(int32_t gpus, int max_node_gpus) {
  for (int g = std::min(gpus, max_node_gpus); g >= 1; --g) {
    if (gpus % g == 0) return gpus / g;
  }
  return gpus;
}

// Throughput-aware jobs: fills r->throughput (steps/s on each GPU type of the cluster)
// and narrows r->allowed to the types where that is above 0. A job that can run on none
// gets a reason in *never_fits and is reported infeasible.
Status ApplyThroughputs(const model::Cluster& cluster, const TraceJob& j,
                        const ThroughputTable* table, sched::JobRequest* r,
                        std::string* never_fits) {
  if (table == nullptr) {
    return InvalidArgument(fmt::format(
        "trace line {}: job_type: '{}' needs throughputs; give --throughputs FILE", j.line,
        j.job_type));
  }
  if (!(j.steps > 0)) {
    return InvalidArgument(fmt::format("trace line {}: steps: must be positive for job type '{}'",
                                       j.line, j.job_type));
  }
  if (!table->Has(j.job_type, j.gpus)) {
    return InvalidArgument(fmt::format(
        "{}: no throughputs for job type '{}' at scale factor {} (job {}, trace line {})",
        table->source(), j.job_type, j.gpus, j.id, j.line));
  }
  r->throughput.assign(static_cast<size_t>(cluster.num_gpu_types()), 0.0);
  model::GpuTypeMask allowed = 0;
  std::string zeros;
  for (int t = 0; t < cluster.num_gpu_types(); ++t) {
    const model::GpuTypeMask bit = model::GpuTypeMask{1} << t;
    if (!(r->allowed & bit)) continue;
    const std::string& name = cluster.gpu_type(GpuTypeId(static_cast<uint16_t>(t))).name;
    auto v = table->Get(j.job_type, j.gpus, name);
    if (!v) {
      return InvalidArgument(fmt::format(
          "{}: no throughput for job type '{}' at scale factor {} on GPU type {}, which the "
          "cluster has (job {}, trace line {})",
          table->source(), j.job_type, j.gpus, name, j.id, j.line));
    }
    r->throughput[t] = *v;
    if (*v > 0) {
      allowed |= bit;
    } else {
      zeros += zeros.empty() ? name : ", " + name;
    }
  }
  if (allowed == 0) {
    *never_fits = fmt::format("job type '{}' at scale factor {} cannot run on any GPU type of "
                              "this cluster (throughput 0 on {})",
                              j.job_type, j.gpus, zeros);
  } else {
    r->allowed = allowed;
  }
  return Status::Ok();
}

}  // namespace

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

Result<SimResult> Simulate(const model::Cluster& cluster, const std::vector<TraceJob>& trace,
                           const SimOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  BATON_ASSIGN_OR_RETURN(auto order, sched::MakeOrderPolicy(options.policy.order));
  BATON_ASSIGN_OR_RETURN(auto placement, sched::MakePlacementPolicy(options.policy.placement));
  sched::Scheduler scheduler(cluster, std::move(order), std::move(placement), options.sched);
  Rng rng(options.seed);

  // Queues: the cluster's, or one per trace queue ("" = "default").
  std::vector<model::QueueSpec> queue_specs = cluster.queues();
  auto queue_of = [](const TraceJob& j) { return j.queue.empty() ? std::string("default") : j.queue; };
  if (queue_specs.empty()) {
    std::vector<std::string> names;
    for (const auto& j : trace) names.push_back(queue_of(j));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (auto& n : names) {
      model::QueueSpec q;
      q.name = std::move(n);
      queue_specs.push_back(std::move(q));
    }
  }
  if (Status s = scheduler.SetQueues(queue_specs); !s.ok()) return s.WithPrefix("cluster");
  std::map<std::string, uint32_t> queue_index;
  std::string queue_list;
  for (size_t q = 0; q < queue_specs.size(); ++q) {
    queue_index[queue_specs[q].name] = static_cast<uint32_t>(q);
    queue_list += (q ? ", " : "") + queue_specs[q].name;
  }

  // Turn trace rows into scheduler requests up front, so bad rows fail before any work.
  std::vector<sched::JobRequest> requests(trace.size());
  std::vector<std::string> never_fits(trace.size());  // reasons found before submitting
  for (size_t i = 0; i < trace.size(); ++i) {
    const TraceJob& j = trace[i];
    sched::JobRequest& r = requests[i];
    r.id = JobId(i);
    auto q = queue_index.find(queue_of(j));
    if (q == queue_index.end()) {
      return InvalidArgument(fmt::format("trace line {}: queue: '{}' is not a queue of the cluster "
                                         "(it has {})",
                                         j.line, queue_of(j), queue_list));
    }
    r.queue = QueueId(q->second);
    r.checkpoint_interval = j.checkpoint_interval.value_or(options.checkpoint_interval);
    r.priority = j.priority;
    r.submit = j.submit;
    r.runtime_estimate = options.runtime_estimates ? j.duration : Duration::zero();
    int max_node = cluster.max_gpus_per_node();
    if (!j.gpu_type.empty()) {
      GpuTypeId t = cluster.FindGpuType(j.gpu_type);
      if (!t.valid()) {
        return InvalidArgument(fmt::format("trace line {}: gpu_type: '{}' is not in the cluster "
                                           "(it has {})",
                                           j.line, j.gpu_type, cluster.GpuTypeNames()));
      }
      r.allowed = model::GpuTypeMask{1} << t.value();
      max_node = cluster.max_gpus_per_node(t);
    }
    if (j.gpus <= 0) {
      return InvalidArgument(fmt::format("trace line {}: gpus: must be positive, got {}", j.line,
                                         j.gpus));
    }
    if (j.tasks) {
      if (*j.tasks <= 0 || j.gpus % *j.tasks != 0) {
        return InvalidArgument(fmt::format(
            "trace line {}: tasks: {} does not divide gpus {}", j.line, *j.tasks, j.gpus));
      }
      r.tasks = *j.tasks;
    } else {
      r.tasks = TasksFor(j.gpus, max_node);
    }
    r.gpus_per_task = j.gpus / r.tasks;
    if (!j.job_type.empty()) {
      BATON_RETURN_IF_ERROR(ApplyThroughputs(cluster, j, options.throughputs, &r,
                                             &never_fits[i]));
    }
  }

  SimResult res;
  res.policy = options.policy.ToString();
  if (options.sched.backfill != sched::BackfillMode::kNone) {
    res.policy += fmt::format("+backfill/{}", sched::BackfillModeName(options.sched.backfill));
  }
  res.throughput_aware = options.throughputs != nullptr;
  // The steady-state window, if any: [window_from, window_to) in arrival order.
  const bool windowed = options.measure_from >= 0 || options.measure_to >= 0;
  const size_t window_from =
      std::min(trace.size(), static_cast<size_t>(std::max<int64_t>(0, options.measure_from)));
  const size_t window_to = options.measure_to >= 0
                               ? std::min(trace.size(), static_cast<size_t>(options.measure_to))
                               : trace.size();
  if (windowed && window_from >= window_to) {
    return InvalidArgument(fmt::format("--measure-jobs: the window {}:{} holds none of the {} jobs",
                                       options.measure_from, options.measure_to, trace.size()));
  }
  size_t window_left = window_to - window_from;  // measured jobs not finished yet
  res.windowed = windowed;
  res.window_from = static_cast<int64_t>(window_from);
  res.window_to = static_cast<int64_t>(window_to);
  // GPU-seconds per queue (as in queue_specs), integrated exactly by sample() below.
  std::vector<double> queue_gpu_s(queue_specs.size(), 0.0);
  int64_t busy_gpus = 0;
  res.jobs = static_cast<int64_t>(trace.size());
  res.cluster_gpus = cluster.total_gpus();
  res.records.resize(trace.size());
  std::vector<JobState> js(trace.size());
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  uint64_t seq = 0;
  double busy_gpu_s = 0;
  size_t next_arrival = 0;
  int64_t finished = 0;  // completed + infeasible
  const bool timers = scheduler.order().preemptive();
  Time first_submit = trace.empty() ? Time{} : trace.front().submit;
  Time last_finish = first_submit;

  for (size_t i = 0; i < trace.size(); ++i) {
    res.records[i].id = trace[i].id;
    res.records[i].submit = trace[i].submit;
    res.records[i].duration = trace[i].duration;
    res.records[i].gpus = trace[i].gpus;
    res.records[i].queue = queue_specs[requests[i].queue.value()].name;
    js[i].remaining = trace[i].duration;
    res.records[i].alone = trace[i].duration;
    if (!requests[i].throughput.empty()) {
      js[i].steps_left = trace[i].steps;
      double best = 0;
      for (double v : requests[i].throughput) best = std::max(best, v);
      if (best > 0) res.records[i].alone = std::max(Duration(1), SecondsF(trace[i].steps / best));
    }
  }
  // Ends a run of job i at `now`: GPU time, its queue's share, and (for throughput-aware
  // jobs) the steps it did.
  auto end_run = [&](uint32_t i, Time now) {
    JobState& s = js[i];
    const double gpus = static_cast<double>(requests[i].gpus());
    const double ran_s = ToSeconds(now - s.run_start);
    busy_gpu_s += ran_s * gpus;
    busy_gpus -= requests[i].gpus();
    res.records[i].ran += now - s.run_start;
    if (s.rate > 0) s.steps_left = std::max(0.0, s.steps_left - ran_s * s.rate);
  };
  auto measured = [&](size_t i) { return i >= window_from && i < window_to; };

  // Per-queue GPUs held, sampled at most every sample_every, and integrated exactly.
  const size_t nq = queue_specs.size();
  Time last_usage_at = first_submit, next_sample = first_submit;
  std::vector<double> held(nq, 0);
  auto sample = [&](Time now) {
    const double dt = ToSeconds(now - last_usage_at);
    for (size_t q = 0; q < nq; ++q) queue_gpu_s[q] += held[q] * dt;
    last_usage_at = now;
    for (size_t q = 0; q < nq; ++q) {
      held[q] = static_cast<double>(scheduler.queues().used_milli(QueueId(q))) / 1000.0;
    }
    if (now >= next_sample) {
      res.usage.push_back({now, scheduler.state().AllocatedGpus(), held});
      next_sample = now + std::max(options.sample_every, Duration(1));
    }
  };

  while (next_arrival < trace.size() || !events.empty()) {
    Time now = Time::max();
    if (next_arrival < trace.size()) now = trace[next_arrival].submit;
    if (!events.empty()) now = std::min(now, events.top().at);
    bool changed = false;
    while (!events.empty() && events.top().at == now) {
      Event ev = events.top();
      events.pop();
      if (ev.kind == EventKind::kWakeup) {
        changed = true;
        continue;
      }
      JobState& s = js[ev.job];
      if (ev.run != s.run || s.done) continue;  // superseded by a preemption
      if (ev.kind == EventKind::kCompletion) {
        end_run(ev.job, now);
        (void)scheduler.Remove(JobId(ev.job), now);
        if (measured(ev.job)) --window_left;
        s.done = true;
        res.records[ev.job].finish = now;
        last_finish = std::max(last_finish, now);
        ++res.completed;
        ++finished;
      } else if (auto t = scheduler.NextKeyChange(JobId(ev.job), now);
                 t && *t > now && *t < s.finish_at) {
        // A LAS boundary was crossed: arm the next one for the same run.
        events.push({*t, EventKind::kTimer, seq++, ev.job, s.run});
      }
      changed = true;
    }
    while (next_arrival < trace.size() && trace[next_arrival].submit == now) {
      const size_t i = next_arrival++;
      sched::Admission too_wide;
      if (requests[i].gpus_per_task > model::kMaxGpusPerNode) {
        // The core refuses such a request as malformed; in a trace it is a job that
        // can never fit, reported like any other.
        too_wide.reason = fmt::format("needs {} GPUs per task on one node; no node has more "
                                      "than {}",
                                      requests[i].gpus_per_task, model::kMaxGpusPerNode);
      }
      if (too_wide.reason.empty()) too_wide.reason = never_fits[i];
      auto adm = too_wide.reason.empty() ? scheduler.Submit(requests[i], now)
                                         : Result<sched::Admission>(too_wide);
      if (!adm.ok()) return adm.status();
      if (!adm->queued) {
        res.records[i].infeasible = true;
        res.infeasible_jobs.push_back({trace[i].id, trace[i].line, adm->reason});
        ++res.infeasible;
        ++finished;
        if (measured(i)) --window_left;
        continue;
      }
      changed = true;
    }
    auto record = [&] {
      if (!options.record_timeline) return;
      TimelinePoint pt{ToSeconds(now - first_submit), static_cast<int64_t>(scheduler.pending_count()),
                       busy_gpus, res.preemptions};
      if (!res.timeline.empty() && res.timeline.back().t_s == pt.t_s) res.timeline.back() = pt;
      else res.timeline.push_back(pt);
    };
    if (windowed && window_left == 0) {
      // Every measured job is done: stop, counting the GPU time of jobs still running.
      for (uint32_t i = 0; i < js.size(); ++i) {
        const auto* info = scheduler.Find(JobId(i));
        if (info != nullptr && info->phase == sched::JobPhase::kRunning) end_run(i, now);
      }
      last_finish = std::max(last_finish, now);
      sample(now);
      record();
      break;
    }
    // Round-based policies also run rounds with nothing pending: they may move jobs.
    if (!changed || (scheduler.pending_count() == 0 && !scheduler.order().replans())) {
      if (changed) record();
      sample(now);
      continue;
    }

    sched::RoundResult round = scheduler.RunRound(now, rng);
    ++res.rounds;
    for (const auto& p : round.preempted) {
      const uint32_t i = static_cast<uint32_t>(p.job.value());
      JobState& s = js[i];
      end_run(i, now);
      // Work since the last checkpoint is lost and done again.
      s.remaining -= (now - s.run_start) - p.lost;
      if (s.rate > 0) s.steps_left += ToSeconds(p.lost) * s.rate;
      ++s.run;
      ++res.records[i].preemptions;
      res.records[i].lost_gpu_s += p.lost_gpu_s;
      res.lost_gpu_hours += p.lost_gpu_s / 3600.0;
      ++res.preemptions;
    }
    res.backfilled += round.backfilled;
    if (round.wake_at && *round.wake_at > now) {
      events.push({*round.wake_at, EventKind::kWakeup, seq++, 0, 0});
    }
    for (const auto& p : round.placed) {
      const uint32_t i = static_cast<uint32_t>(p.job.value());
      JobState& s = js[i];
      ++s.run;
      s.run_start = now;
      if (!s.started) {
        s.started = true;
        res.records[i].first_start = now;
      }
      busy_gpus += requests[i].gpus();
      s.finish_at = now + s.remaining;
      s.rate = 0;
      if (!requests[i].throughput.empty()) {
        // Throughput-aware: the rest of its steps at this GPU type's speed.
        s.rate = requests[i].throughput[p.alloc.type.value()];
        if (!(s.rate > 0)) {
          return Internal(fmt::format("job {} placed on a GPU type where it cannot run",
                                      trace[i].id));
        }
        s.finish_at = now + std::max(Duration(1), SecondsF(s.steps_left / s.rate));
      }
      events.push({s.finish_at, EventKind::kCompletion, seq++, i, s.run});
      if (timers) {
        if (auto t = scheduler.NextKeyChange(p.job, now); t && *t > now && *t < s.finish_at) {
          events.push({*t, EventKind::kTimer, seq++, i, s.run});
        }
      }
    }
    sample(now);
    record();
    if (options.on_progress) options.on_progress(now, finished);
    if (events.empty() && next_arrival == trace.size() && scheduler.pending_count() > 0) {
      return Internal(fmt::format("simulation stuck at {} with {} jobs pending and none running",
                                  FormatTime(now), scheduler.pending_count()));
    }
  }

  for (size_t i = 0; i < trace.size(); ++i) {
    const JobRecord& r = res.records[i];
    if (windowed && !measured(i)) continue;  // the run stops once the window is done
    if (!r.infeasible && (!js[i].done || r.finish < r.submit)) {
      return Internal(fmt::format("simulation lost job {} (trace line {}): {}", r.id, trace[i].line, scheduler.Explain(JobId(i), last_finish)));
    }
  }
  std::vector<double> jct, queue;
  jct.reserve(res.completed);
  queue.reserve(res.completed);
  double ftf_sum = 0;
  for (size_t i = 0; i < trace.size(); ++i) {
    const JobRecord& r = res.records[i];
    if (r.infeasible || !measured(i)) continue;
    double j = ToSeconds(r.finish - r.submit);
    jct.push_back(j);
    queue.push_back(j - ToSeconds(r.ran));
    const double ftf = j / std::max(1e-6, ToSeconds(r.alone));
    ftf_sum += ftf;
    res.ftf_worst = std::max(res.ftf_worst, ftf);
  }
  res.measured_jobs = static_cast<int64_t>(jct.size());
  res.ftf_mean = jct.empty() ? 0.0 : ftf_sum / static_cast<double>(jct.size());
  for (size_t q = 0; q < queue_specs.size(); ++q) {
    res.queue_usage.push_back({queue_specs[q].name, queue_gpu_s[q]});
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  res.avg_jct_s = mean(jct);
  res.avg_queue_s = mean(queue);
  res.p50_jct_s = Percentile(jct, 0.50);
  res.p99_jct_s = Percentile(jct, 0.99);
  res.p50_queue_s = Percentile(queue, 0.50);
  res.p99_queue_s = Percentile(queue, 0.99);
  res.makespan_s = ToSeconds(last_finish - first_submit);
  std::vector<double> large;
  for (size_t i = 0; i < trace.size(); ++i) {
    const JobRecord& r = res.records[i];
    if (r.infeasible || !measured(i) || r.gpus < options.large_gang_gpus) continue;
    large.push_back(ToSeconds(r.finish - r.submit));
  }
  res.large_gang_jobs = static_cast<int64_t>(large.size());
  res.large_gang_avg_jct_s = mean(large);
  res.large_gang_p99_jct_s = Percentile(large, 0.99);
  for (size_t q = 0; q < nq; ++q) {
    const model::QueueSpec& spec = queue_specs[q];
    QueueSummary sum;
    sum.name = spec.name;
    sum.parent = spec.parent;
    sum.guarantee_gpus = spec.quota_gpus ? spec.quota_gpus->ToDouble() : 0;
    sum.limit_gpus = spec.limit_gpus ? spec.limit_gpus->ToDouble() : -1;
    sum.avg_gpus = res.makespan_s > 0 ? queue_gpu_s[q] / res.makespan_s : 0;
    res.queues.push_back(std::move(sum));
  }
  for (size_t i = 0; i < trace.size(); ++i) {
    const JobRecord& r = res.records[i];
    if (r.infeasible || !measured(i)) continue;
    QueueSummary& sum = res.queues[requests[i].queue.value()];
    ++sum.jobs;
    sum.avg_jct_s += ToSeconds(r.finish - r.submit);
    sum.preempted += r.preemptions;
  }
  for (auto& q : res.queues) {
    if (q.jobs > 0) q.avg_jct_s /= static_cast<double>(q.jobs);
  }
  if (res.makespan_s > 0 && res.cluster_gpus > 0) {
    res.gpu_utilization = busy_gpu_s / (static_cast<double>(res.cluster_gpus) * res.makespan_s);
  }
  res.sim_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start)
                       .count();
  return res;
}

}  // namespace baton::sim
