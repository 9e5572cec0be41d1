#include "baton/sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>

#include <fmt/format.h>

#include "baton/sched/scheduler.h"

namespace baton::sim {
namespace {

enum class EventKind : uint8_t { kCompletion = 0, kTimer = 1 };

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
  sched::Scheduler scheduler(cluster, std::move(order), std::move(placement));
  Rng rng(options.seed);

  // Turn trace rows into scheduler requests up front, so bad rows fail before any work.
  std::vector<sched::JobRequest> requests(trace.size());
  std::vector<std::string> queue_names;
  for (const auto& j : trace) queue_names.push_back(j.queue);
  std::sort(queue_names.begin(), queue_names.end());
  queue_names.erase(std::unique(queue_names.begin(), queue_names.end()), queue_names.end());
  for (size_t i = 0; i < trace.size(); ++i) {
    const TraceJob& j = trace[i];
    sched::JobRequest& r = requests[i];
    r.id = JobId(i);
    r.queue = QueueId(static_cast<uint32_t>(
        std::lower_bound(queue_names.begin(), queue_names.end(), j.queue) - queue_names.begin()));
    r.priority = j.priority;
    r.submit = j.submit;
    r.runtime_estimate = j.duration;
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
  }

  SimResult res;
  res.policy = options.policy.ToString();
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
    js[i].remaining = trace[i].duration;
  }

  while (next_arrival < trace.size() || !events.empty()) {
    Time now = Time::max();
    if (next_arrival < trace.size()) now = trace[next_arrival].submit;
    if (!events.empty()) now = std::min(now, events.top().at);
    bool changed = false;
    while (!events.empty() && events.top().at == now) {
      Event ev = events.top();
      events.pop();
      JobState& s = js[ev.job];
      if (ev.run != s.run || s.done) continue;  // superseded by a preemption
      if (ev.kind == EventKind::kCompletion) {
        const auto* info = scheduler.Find(JobId(ev.job));
        busy_gpu_s += ToSeconds(now - s.run_start) * static_cast<double>(info->req.gpus());
        (void)scheduler.Remove(JobId(ev.job));
        s.done = true;
        res.records[ev.job].finish = now;
        last_finish = std::max(last_finish, now);
        ++res.completed;
        ++finished;
      } else if (auto t = scheduler.NextKeyChange(JobId(ev.job), now);
                 t && *t > now && *t < s.run_start + s.remaining) {
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
      auto adm = too_wide.reason.empty() ? scheduler.Submit(requests[i], now)
                                         : Result<sched::Admission>(too_wide);
      if (!adm.ok()) return adm.status();
      if (!adm->queued) {
        res.records[i].infeasible = true;
        res.infeasible_jobs.push_back({trace[i].id, trace[i].line, adm->reason});
        ++res.infeasible;
        ++finished;
        continue;
      }
      changed = true;
    }
    if (!changed || scheduler.pending_count() == 0) continue;

    sched::RoundResult round = scheduler.RunRound(now, rng);
    ++res.rounds;
    for (const auto& p : round.preempted) {
      const uint32_t i = static_cast<uint32_t>(p.job.value());
      JobState& s = js[i];
      busy_gpu_s += ToSeconds(now - s.run_start) * static_cast<double>(requests[i].gpus());
      s.remaining -= now - s.run_start;
      ++s.run;
      ++res.records[i].preemptions;
      ++res.preemptions;
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
      events.push({now + s.remaining, EventKind::kCompletion, seq++, i, s.run});
      if (timers) {
        if (auto t = scheduler.NextKeyChange(p.job, now); t && *t > now && *t < now + s.remaining) {
          events.push({*t, EventKind::kTimer, seq++, i, s.run});
        }
      }
    }
    if (options.on_progress) options.on_progress(now, finished);
    if (events.empty() && next_arrival == trace.size() && scheduler.pending_count() > 0) {
      return Internal(fmt::format("simulation stuck at {} with {} jobs pending and none running",
                                  FormatTime(now), scheduler.pending_count()));
    }
  }

  std::vector<double> jct, queue;
  jct.reserve(res.completed);
  queue.reserve(res.completed);
  for (size_t i = 0; i < trace.size(); ++i) {
    const JobRecord& r = res.records[i];
    if (r.infeasible) continue;
    double j = ToSeconds(r.finish - r.submit);
    jct.push_back(j);
    queue.push_back(j - ToSeconds(r.duration));
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
  if (res.makespan_s > 0 && res.cluster_gpus > 0) {
    res.gpu_utilization = busy_gpu_s / (static_cast<double>(res.cluster_gpus) * res.makespan_s);
  }
  res.sim_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start)
                       .count();
  return res;
}

}  // namespace baton::sim
