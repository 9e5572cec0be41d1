#include "baton/sim/report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace baton::sim {
namespace {

constexpr size_t kMaxInfeasibleListed = 20;

// Rounds to 3 decimals so JSON does not carry float noise into golden files.
double R3(double v) { return std::round(v * 1000.0) / 1000.0; }

std::string Human(double seconds) { return FormatDuration(SecondsF(seconds)); }

}  // namespace

void WriteJson(const std::vector<SimResult>& results, const ReportOptions& opts,
               std::ostream& out) {
  for (const auto& r : results) {
    nlohmann::ordered_json j;
    j["policy"] = r.policy;
    j["jobs"] = r.jobs;
    j["completed"] = r.completed;
    j["infeasible"] = r.infeasible;
    j["avg_jct_s"] = R3(r.avg_jct_s);
    j["p50_jct_s"] = R3(r.p50_jct_s);
    j["p99_jct_s"] = R3(r.p99_jct_s);
    j["avg_queue_s"] = R3(r.avg_queue_s);
    j["p50_queue_s"] = R3(r.p50_queue_s);
    j["p99_queue_s"] = R3(r.p99_queue_s);
    j["makespan_s"] = R3(r.makespan_s);
    j["gpu_utilization"] = R3(r.gpu_utilization * 1000.0) / 1000.0;
    j["preemptions"] = r.preemptions;
    j["rounds"] = r.rounds;
    j["cluster_gpus"] = r.cluster_gpus;
    j["sim_wall_s"] = opts.stable ? 0.0 : R3(r.sim_wall_s);
    auto list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < r.infeasible_jobs.size() && i < kMaxInfeasibleListed; ++i) {
      const auto& f = r.infeasible_jobs[i];
      list.push_back({{"id", f.id}, {"line", f.line}, {"reason", f.reason}});
    }
    j["infeasible_jobs"] = std::move(list);
    j["lost_gpu_hours"] = R3(r.lost_gpu_hours);
    j["backfilled"] = r.backfilled;
    j["large_gang_jobs"] = r.large_gang_jobs;
    j["large_gang_avg_jct_s"] = R3(r.large_gang_avg_jct_s);
    j["large_gang_p99_jct_s"] = R3(r.large_gang_p99_jct_s);
    auto queues = nlohmann::ordered_json::array();
    for (const auto& q : r.queues) {
      nlohmann::ordered_json jq;
      jq["name"] = q.name;
      jq["guarantee_gpus"] = R3(q.guarantee_gpus);
      jq["avg_gpus"] = R3(q.avg_gpus);
      jq["jobs"] = q.jobs;
      jq["avg_jct_s"] = R3(q.avg_jct_s);
      jq["preempted"] = q.preempted;
      queues.push_back(std::move(jq));
    }
    j["queues"] = std::move(queues);
    // Only runs with a window or per-GPU-type speeds carry these, so older outputs stay
    // byte-identical.
    if (r.windowed || r.throughput_aware) {
      j["measured_jobs"] = r.measured_jobs;
      j["ftf_mean"] = R3(r.ftf_mean);
      j["ftf_worst"] = R3(r.ftf_worst);
    }
    out << j.dump() << "\n";
  }
}

void WriteTable(const std::vector<SimResult>& results, const ReportOptions& opts,
                std::ostream& out) {
  if (!opts.cluster_summary.empty()) out << "cluster: " << opts.cluster_summary << "\n";
  if (!opts.trace_summary.empty()) out << "trace:   " << opts.trace_summary << "\n";
  size_t w = 6;
  for (const auto& r : results) w = std::max(w, r.policy.size());
  out << fmt::format("{:<{}}  {:>7}  {:>7}  {:>6}  {:>8}  {:>8}  {:>8}  {:>9}  {:>9}  {:>6}  {:>7}",
                     "policy", w, "jobs", "done", "infeas", "avg JCT", "p50 JCT", "p99 JCT",
                     "avg queue", "makespan", "util", "preempt");
  if (!opts.stable) out << "  wall";
  out << "\n";
  for (const auto& r : results) {
    out << fmt::format(
        "{:<{}}  {:>7}  {:>7}  {:>6}  {:>8}  {:>8}  {:>8}  {:>9}  {:>9}  {:>5.1f}%  {:>7}",
        r.policy, w, r.jobs, r.completed, r.infeasible, Human(r.avg_jct_s), Human(r.p50_jct_s),
        Human(r.p99_jct_s), Human(r.avg_queue_s), Human(r.makespan_s),
        r.gpu_utilization * 100.0, r.preemptions);
    if (!opts.stable) out << fmt::format("  {:.2f}s", r.sim_wall_s);
    out << "\n";
  }
  bool fairness = false;
  for (const auto& r : results) fairness = fairness || r.windowed || r.throughput_aware;
  if (fairness) {
    out << "finish-time fairness (JCT / run time alone on the job's fastest GPU type):\n";
    for (const auto& r : results) {
      out << fmt::format("  {:<{}}  {} measured job(s)  mean {:.2f}  worst {:.2f}\n", r.policy, w,
                         r.measured_jobs, r.ftf_mean, r.ftf_worst);
    }
  }
  // Infeasible jobs are the same under every policy: list them once.
  if (!results.empty() && !results.front().infeasible_jobs.empty()) {
    const auto& inf = results.front().infeasible_jobs;
    out << fmt::format("{} job(s) can never fit this cluster:\n", inf.size());
    for (size_t i = 0; i < inf.size() && i < kMaxInfeasibleListed; ++i) {
      out << fmt::format("  job {} (line {}): {}\n", inf[i].id, inf[i].line, inf[i].reason);
    }
    if (inf.size() > kMaxInfeasibleListed) {
      out << fmt::format("  ... and {} more\n", inf.size() - kMaxInfeasibleListed);
    }
  }
}

std::string SummarizeCluster(const model::Cluster& cluster) {
  std::map<std::string, int64_t> by_type;
  for (int t = 0; t < cluster.num_gpu_types(); ++t) {
    GpuTypeId id(static_cast<uint16_t>(t));
    by_type[cluster.gpu_type(id).name] += cluster.gpus_of_type(id);
  }
  std::string types;
  for (const auto& [name, n] : by_type) {
    if (!types.empty()) types += ", ";
    types += fmt::format("{} {}", n, name);
  }
  return fmt::format("{} node(s) in {} rack(s), {} GPUs ({})", cluster.nodes().size(),
                     cluster.racks().size(), cluster.total_gpus(), types);
}

std::string SummarizeTrace(const std::string& source, const std::vector<TraceJob>& trace) {
  if (trace.empty()) return fmt::format("{}: no jobs", source);
  int64_t gpu_s = 0;
  for (const auto& j : trace) gpu_s += j.gpus * std::chrono::duration_cast<std::chrono::seconds>(j.duration).count();
  const double span = std::max(1.0, ToSeconds(trace.back().submit - trace.front().submit));
  return fmt::format("{}: {} jobs from {} to {}, mean demand {:.1f} GPUs", source, trace.size(),
                     FormatTime(trace.front().submit), FormatTime(trace.back().submit),
                     static_cast<double>(gpu_s) / span);
}

}  // namespace baton::sim
