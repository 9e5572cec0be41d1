#include "baton/cli/sim_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "baton/model/cluster.h"
#include "baton/sched/registry.h"
#include "baton/sim/gavel_workload.h"
#include "baton/sim/html_report.h"
#include "baton/sim/report.h"
#include "baton/sim/simulator.h"
#include "baton/sim/trace.h"
#include "baton/sim/workload.h"
#include "baton/spec/cluster_yaml.h"

namespace baton::cli {
namespace {

// Prints "sim: ..." progress to stderr once a run has taken more than a second, then
// twice a second; a wall-clock concern of the command, never of the simulation.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool enabled, size_t runs, int64_t jobs_per_run)
      : err_(err), enabled_(enabled), done_(runs), total_(jobs_per_run * runs) {
    for (auto& d : done_) d = 0;
    if (enabled_) thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLine() { Stop(); }

  void Report(size_t run, int64_t finished, Time now) {
    done_[run].store(finished, std::memory_order_relaxed);
    last_time_s_.store(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch())
                           .count(),
                       std::memory_order_relaxed);
  }
  void Stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (printed_) err_ << "\n";
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) return;
    do {
      int64_t sum = 0;
      for (auto& d : done_) sum += d.load(std::memory_order_relaxed);
      err_ << fmt::format("\rsim: {:5.1f}% of jobs done across {} run(s), virtual time {}   ",
                          total_ > 0 ? 100.0 * static_cast<double>(sum) / total_ : 100.0,
                          done_.size(),
                          FormatTime(TimeFromSeconds(last_time_s_.load())))
           << std::flush;
      printed_ = true;
    } while (!cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_; }));
  }

  std::ostream& err_;
  bool enabled_;
  std::vector<std::atomic<int64_t>> done_;
  std::atomic<int64_t> last_time_s_{0};
  int64_t total_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool printed_ = false;
  std::thread thread_;
};

Result<model::Cluster> LoadCluster(const SimFlags& f) {
  const bool shorthand = f.nodes != 0 || f.gpus_per_node != 0;
  if (!f.cluster_file.empty() && shorthand) {
    return InvalidArgument("give either --cluster FILE or --nodes/--gpus-per-node, not both");
  }
  if (!f.cluster_file.empty()) {
    BATON_ASSIGN_OR_RETURN(auto spec, spec::LoadClusterYaml(f.cluster_file));
    auto c = model::Cluster::Build(spec);
    if (!c.ok()) return c.status().WithPrefix(f.cluster_file);
    return c;
  }
  if (!shorthand) {
    return InvalidArgument(
        "no cluster given: use --cluster FILE.yaml, or --nodes N --gpus-per-node G");
  }
  if (f.nodes <= 0) return InvalidArgument("--nodes: must be a positive number of nodes");
  if (f.gpus_per_node <= 0) return InvalidArgument("--gpus-per-node: must be positive");
  auto c = model::Cluster::Homogeneous(f.nodes, f.gpus_per_node, f.gpu_type, f.rack_size);
  if (!c.ok()) return c.status().WithPrefix("--nodes/--gpus-per-node/--rack-size");
  return c;
}

Result<std::vector<sim::TraceJob>> LoadTrace(const SimFlags& f,
                                             const sim::ThroughputTable* table) {
  if (!f.workload.empty() && !f.trace_file.empty()) {
    return InvalidArgument("give either --trace FILE or --workload NAME, not both");
  }
  if (f.workload == "poisson") {
    sim::PoissonWorkload w;
    w.jobs_per_hour = f.rate_per_hour;
    w.jobs = f.workload_jobs;
    w.mean_duration_s = f.mean_duration_s;
    w.gpus = f.workload_gpus;
    w.seed = f.seed;
    return sim::GeneratePoisson(w);
  }
  if (f.workload == "gavel") {
    if (table == nullptr) {
      return InvalidArgument("--workload gavel: needs --throughputs FILE (e.g. "
                             "../shared/data/gavel/isolated_throughputs.csv)");
    }
    sim::GavelWorkload w;
    w.jobs_per_hour = f.rate_per_hour;
    w.jobs = f.workload_jobs;
    w.seed = f.seed;
    return sim::GenerateGavel(w, *table);
  }
  if (!f.workload.empty()) {
    return InvalidArgument("--workload: unknown workload '" + f.workload +
                           "'; known: poisson, gavel");
  }
  if (f.trace_file.empty()) {
    return InvalidArgument("no jobs given: use --trace FILE or --workload poisson|gavel");
  }
  std::string format = f.trace_format;
  if (format.empty()) {
    if (f.trace_file.ends_with(".csv")) format = "philly-csv";
    else if (f.trace_file.ends_with(".jsonl") || f.trace_file.ends_with(".json")) format = "jsonl";
    else return InvalidArgument("--trace-format: cannot tell the format of '" + f.trace_file +
                                "' from its name; say philly-csv or jsonl");
  }
  BATON_ASSIGN_OR_RETURN(sim::TraceFormat fmt_id, sim::ParseTraceFormat(format));
  sim::TraceFilter filter;
  filter.queues = f.vcs;
  if (!f.from.empty()) {
    auto t = sim::ParseTimestamp(f.from);
    if (!t.ok()) return t.status().WithPrefix("--from");
    filter.from = *t;
  }
  if (!f.to.empty()) {
    auto t = sim::ParseTimestamp(f.to);
    if (!t.ok()) return t.status().WithPrefix("--to");
    filter.to = *t;
  }
  return sim::ReadTraceFile(f.trace_file, fmt_id, filter);
}

Result<std::vector<sched::PolicyName>> ExpandPolicies(const SimFlags& f) {
  std::vector<sched::PolicyName> out;
  for (const auto& p : f.policies) {
    if (p == "all") {
      for (const auto& o : sched::OrderPolicyNames()) {
        for (const auto& pl : sched::PlacementPolicyNames()) out.push_back({o, pl});
      }
      continue;
    }
    BATON_ASSIGN_OR_RETURN(auto name, sched::ParsePolicyName(p, f.placement));
    out.push_back(name);
  }
  if (out.empty()) return InvalidArgument("--policy: name at least one policy");
  return out;
}

// "A:B" -> [A, B): jobs A..B-1 in arrival order (0-based).
Status ParseMeasureJobs(const std::string& text, int64_t* from, int64_t* to) {
  const size_t colon = text.find(':');
  auto whole = [](std::string_view s, int64_t* out) {
    if (s.empty() || s.size() > 12) return false;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  if (colon == std::string::npos ||
      !whole(std::string_view(text).substr(0, colon), from) ||
      !whole(std::string_view(text).substr(colon + 1), to) || *from >= *to) {
    return InvalidArgument("--measure-jobs: expected A:B with whole numbers 0 <= A < B (jobs "
                           "A..B-1 in arrival order), got '" + text + "'");
  }
  return Status::Ok();
}

}  // namespace

CLI::App* AddSimCommand(CLI::App& app, SimFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "sim", "Replay a job trace through the scheduler under one or more policies");
  cmd->add_option("--cluster", f.cluster_file, "Cluster spec (YAML)");
  cmd->add_option("--nodes", f.nodes, "Shorthand cluster: number of nodes");
  cmd->add_option("--gpus-per-node", f.gpus_per_node, "Shorthand cluster: GPUs per node");
  cmd->add_option("--gpu-type", f.gpu_type, "Shorthand cluster: GPU model")->capture_default_str();
  cmd->add_option("--rack-size", f.rack_size, "Shorthand cluster: nodes per rack (0 = one rack)");
  cmd->add_option("--trace", f.trace_file, "Job trace file");
  cmd->add_option("--workload", f.workload, "Generate jobs instead of a trace: poisson, gavel");
  cmd->add_option("--rate", f.rate_per_hour, "Workload: arrivals per hour")->capture_default_str();
  cmd->add_option("--jobs", f.workload_jobs, "Workload: number of jobs")->capture_default_str();
  cmd->add_option("--mean-duration", f.mean_duration_s, "Workload: mean run time, seconds")
      ->capture_default_str();
  cmd->add_option("--gpus", f.workload_gpus, "Workload: GPUs per job")->capture_default_str();
  cmd->add_option("--trace-format", f.trace_format,
                  "philly-csv or jsonl (default: from the file extension)");
  cmd->add_option("--vc", f.vcs, "Keep only these virtual clusters / queues")->delimiter(',');
  cmd->add_option("--from", f.from, "Keep jobs submitted at or after this time (UTC)");
  cmd->add_option("--to", f.to, "Keep jobs submitted before this time (UTC)");
  cmd->add_option("--policy", f.policies,
                  "Policies, comma-separated: order/NAME[+placement/NAME], or 'all'")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--placement", f.placement, "Placement for policies that name none")
      ->capture_default_str();
  cmd->add_option("--seed", f.seed, "Random seed")->capture_default_str();
  cmd->add_option("--format", f.format, "table or json (one object per policy and line)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_flag("--stable", f.stable, "Print sim_wall_s as 0 so output is byte-identical");
  cmd->add_flag("--quiet", f.quiet, "No progress line on stderr");
  cmd->add_option("--threads", f.threads, "Policies simulated at once (0 = one per core)");
  cmd->add_option("--backfill", f.backfill,
                  "Backfill modes, comma-separated, each a run per policy: none, easy, "
                  "conservative")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--preempt-priority", f.preempt_priority,
                "Jobs may preempt jobs of a lower priority class");
  cmd->add_flag("--no-reclaim", f.no_reclaim,
                "Queues within their guarantee do not preempt borrowing queues");
  cmd->add_option("--min-run", f.min_run_s, "Seconds a job runs before it may be preempted")
      ->capture_default_str();
  cmd->add_option("--checkpoint-interval", f.checkpoint_s,
                  "Seconds between checkpoints of jobs whose trace gives none (0 = continuous)")
      ->capture_default_str();
  cmd->add_option("--fair-share-half-life", f.half_life_s,
                  "order/drf: seconds for past usage to count half (0 = current holdings only)")
      ->capture_default_str();
  cmd->add_option("--default-estimate", f.default_estimate_s,
                  "Backfill: runtime assumed for jobs without an estimate, seconds")
      ->capture_default_str();
  cmd->add_flag("--no-estimates", f.no_estimates,
                "Give the scheduler no runtime estimates (backfill uses --default-estimate; "
                "sjf/srtf lose their oracle)");
  cmd->add_option("--max-reservations", f.max_reservations,
                  "Conservative backfill: most jobs holding a reservation")
      ->capture_default_str();
  cmd->add_option("--large-gang", f.large_gang_gpus,
                  "Jobs of at least this many GPUs are large gangs in the metrics")
      ->capture_default_str();
  cmd->add_option("--throughputs", f.throughputs_file,
                  "Job speeds per GPU type (Gavel CSV or JSON); jobs with a job type progress "
                  "at their steps/s on the type they get");
  cmd->add_option("--measure-jobs", f.measure_jobs,
                  "A:B: metrics over jobs A..B-1 in arrival order (0-based); the run ends "
                  "when they are done");
  cmd->add_option("--report", f.report_dir,
                  "Write a self-contained HTML report (index.html with SVG charts) to DIR");
  return cmd;
}

int RunSim(const SimFlags& f, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Status& s) {
    err << "baton sim: " << s.message() << "\n";
    return 1;
  };
  auto policies = ExpandPolicies(f);
  if (!policies.ok()) return fail(policies.status());
  auto cluster = LoadCluster(f);
  if (!cluster.ok()) return fail(cluster.status());
  std::optional<sim::ThroughputTable> table;
  if (!f.throughputs_file.empty()) {
    auto t = sim::ThroughputTable::Load(f.throughputs_file);
    if (!t.ok()) return fail(t.status());
    table = std::move(t).value();
  }
  int64_t measure_from = -1, measure_to = -1;
  if (!f.measure_jobs.empty()) {
    if (Status s = ParseMeasureJobs(f.measure_jobs, &measure_from, &measure_to); !s.ok()) {
      return fail(s);
    }
  }
  auto trace = LoadTrace(f, table ? &*table : nullptr);
  if (!trace.ok()) return fail(trace.status());

  sched::SchedulerOptions base;
  base.preempt_lower_priority = f.preempt_priority;
  base.reclaim = !f.no_reclaim;
  auto seconds = [](double s, const char* flag) -> Result<Duration> {
    if (!(s >= 0) || s > 1e10) {
      return InvalidArgument(fmt::format("{}: must be a number of seconds >= 0", flag));
    }
    return SecondsF(s);
  };
  struct Variant {
    sched::PolicyName policy;
    sched::BackfillMode backfill;
  };
  std::vector<Variant> variants;
  {
    auto min_run = seconds(f.min_run_s, "--min-run");
    if (!min_run.ok()) return fail(min_run.status());
    base.min_run_time = *min_run;
    auto half = seconds(f.half_life_s, "--fair-share-half-life");
    if (!half.ok()) return fail(half.status());
    base.fair_share_half_life = *half;
    auto est = seconds(f.default_estimate_s, "--default-estimate");
    if (!est.ok()) return fail(est.status());
    if (*est <= Duration::zero()) return fail(InvalidArgument("--default-estimate: must be > 0"));
    base.default_runtime_estimate = *est;
    if (f.max_reservations < 1) return fail(InvalidArgument("--max-reservations: must be >= 1"));
    base.max_reservations = f.max_reservations;
    if (f.large_gang_gpus < 1) return fail(InvalidArgument("--large-gang: must be >= 1"));
    auto cp = seconds(f.checkpoint_s, "--checkpoint-interval");
    if (!cp.ok()) return fail(cp.status());
    for (const auto& p : *policies) {
      for (const auto& b : f.backfill) {
        auto mode = sched::ParseBackfillMode(b);
        if (!mode.ok()) return fail(mode.status().WithPrefix("--backfill"));
        variants.push_back({p, *mode});
      }
    }
  }
  const Duration checkpoint = SecondsF(f.checkpoint_s);
  const size_t runs = variants.size();
  std::vector<std::optional<Result<sim::SimResult>>> results(runs);
  ProgressLine progress(err, !f.quiet, runs, static_cast<int64_t>(trace->size()));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < runs; i = next++) {
      sim::SimOptions opts;
      opts.policy = variants[i].policy;
      opts.seed = f.seed;
      opts.sched = base;
      opts.sched.backfill = variants[i].backfill;
      opts.checkpoint_interval = checkpoint;
      opts.large_gang_gpus = f.large_gang_gpus;
      opts.runtime_estimates = !f.no_estimates;
      opts.throughputs = table ? &*table : nullptr;
      opts.measure_from = measure_from;
      opts.measure_to = measure_to;
      opts.record_timeline = !f.report_dir.empty();
      opts.on_progress = [&progress, i](Time now, int64_t done) { progress.Report(i, done, now); };
      results[i] = sim::Simulate(*cluster, *trace, opts);
    }
  };
  size_t threads = f.threads > 0 ? static_cast<size_t>(f.threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, runs);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  progress.Stop();

  std::vector<sim::SimResult> ok;
  for (auto& r : results) {
    if (!r->ok()) return fail(r->status());
    ok.push_back(std::move(*r).value());
  }
  sim::ReportOptions ropts;
  ropts.stable = f.stable;
  ropts.cluster_summary = sim::SummarizeCluster(*cluster);
  ropts.trace_summary =
      sim::SummarizeTrace(f.workload.empty() ? f.trace_file : "workload " + f.workload, *trace);
  if (f.format == "json") {
    sim::WriteJson(ok, ropts, out);
  } else {
    sim::WriteTable(ok, ropts, out);
  }
  if (!f.report_dir.empty()) {
    if (Status s = sim::WriteHtmlReport(ok, ropts, *cluster, f.report_dir); !s.ok()) {
      return fail(s);
    }
    if (!f.quiet) err << "baton sim: report written to " << f.report_dir << "/index.html\n";
  }
  return 0;
}

}  // namespace baton::cli
