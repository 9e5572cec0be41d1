// sched_bench: Google Benchmark binary for the scheduler core (baton::sched::Scheduler).
//
// Scenario (the scheduler-scale issue): a homogeneous fleet of 10,000 nodes x 8 H100,
// racks of 10, and 100,000 pending gangs of 1-64 GPUs drawn from a fixed, seeded mix.
// A job of G GPUs is G / min(G, node size) tasks of min(G, node size) GPUs, so 1-8 GPU
// jobs are one task and 16/32/64 GPU jobs are gangs of 2/4/8 whole-node tasks.
//
//  BM_FillCluster/<order>/<placement>  fresh scheduler, 100,000 jobs submitted (untimed),
//      then RunRound until a round places nothing (timed; the empty round included).
//  BM_SteadyRound/<order>/<placement>  from a filled cluster with ~100,000 pending: each
//      benchmark iteration is one round. Untimed: random running jobs finish until the
//      GPUs of ~1,000 average arrivals are free, then 1,000 jobs arrive. Timed: exactly
//      one RunRound. Reports per-round p50/p99 latency.
//  BM_FillSmall/..., BM_SteadySmall/...  the same at 500 nodes and 5,000 jobs: the CI
//      smoke test (`ctest -R sched_bench_smoke`), well under a second in all.
//
// Every benchmark uses manual timing (steady_clock around RunRound only), so setup,
// job generation and teardown never count. Decisions are deterministic: the same binary
// places the same jobs on every run; only the times vary. Counters are described in
// bench/README.md. The process exits non-zero if any benchmark failed a sanity check.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/rng.h"
#include "baton/common/time.h"
#include "baton/model/cluster.h"
#include "baton/sched/job.h"
#include "baton/sched/registry.h"
#include "baton/sched/scheduler.h"

namespace baton::sched {
namespace {

// Job sizes in GPUs and their weights (percent), roughly the shape of production traces:
// mostly single-GPU jobs, a long tail of multi-node gangs.
struct GangWeight {
  int gpus;
  int weight;
};
constexpr GangWeight kGangMix[] = {{1, 60}, {2, 10}, {4, 10}, {8, 10}, {16, 5}, {32, 3}, {64, 2}};

double MeanGpusPerJob() {
  double sum = 0, weights = 0;
  for (const auto& g : kGangMix) {
    sum += double{1} * g.gpus * g.weight;
    weights += g.weight;
  }
  return sum / weights;
}

struct Scenario {
  const char* name;  // keys the cluster cache
  int32_t nodes;
  int32_t gpus_per_node;
  int32_t nodes_per_rack;
  int64_t pending;             // jobs submitted before the fill; pending at steady start
  int64_t arrivals_per_round;  // steady state
  int64_t rounds;              // steady state, timed
  int64_t warmup_rounds;       // steady state, untimed, before the timed rounds
  int64_t fill_iterations;
};

constexpr Scenario kLarge{"large", 10000, 8, 10, 100000, 1000, 200, 20, 3};
constexpr Scenario kSmall{"small", 500, 8, 10, 5000, 50, 20, 5, 3};

constexpr uint64_t kWorkloadSeed = 20240601;
constexpr uint64_t kChurnSeed = 7;
// Simulated time between steady-state rounds. Only order/las reads it: a running job's
// attained service (GPUs x time) decides its LAS queue and so whether it may be preempted.
constexpr Duration kRoundInterval = Seconds(10);
const Time kStart = TimeFromSeconds(1700000000);

bool g_failed = false;

void Fail(benchmark::State& state, const std::string& why) {
  g_failed = true;
  state.SkipWithError(why.c_str());
}

// Generates the fixed job mix: the same seed gives the same jobs in the same order.
class Workload {
 public:
  Workload(uint64_t seed, int gpus_per_node) : rng_(seed), gpus_per_node_(gpus_per_node) {
    for (const auto& g : kGangMix) total_weight_ += g.weight;
  }

  JobRequest Next(Time submit) {
    int64_t draw = rng_.UniformInt(0, total_weight_ - 1);
    int gpus = kGangMix[0].gpus;
    for (const auto& g : kGangMix) {
      if (draw < g.weight) {
        gpus = g.gpus;
        break;
      }
      draw -= g.weight;
    }
    JobRequest r;
    r.id = JobId(next_id_++);
    r.queue = QueueId(0);
    r.submit = submit;
    r.gpus_per_task = std::min(gpus, gpus_per_node_);
    r.tasks = gpus / r.gpus_per_task;
    return r;
  }

 private:
  Rng rng_;
  int gpus_per_node_;
  int64_t total_weight_ = 0;
  uint64_t next_id_ = 1;
};

// Clusters are built once per shape and shared (schedulers keep a pointer to them).
const model::Cluster& ClusterFor(const Scenario& sc) {
  static std::map<std::string, std::unique_ptr<model::Cluster>> cache;
  auto& slot = cache[sc.name];
  if (!slot) {
    auto c = model::Cluster::Homogeneous(sc.nodes, sc.gpus_per_node, "H100", sc.nodes_per_rack);
    if (!c.ok()) {
      std::fprintf(stderr, "sched_bench: cannot build cluster: %s\n",
                   c.status().ToString().c_str());
      std::abort();
    }
    slot = std::make_unique<model::Cluster>(std::move(c).value());
  }
  return *slot;
}

struct Policy {
  const char* order;
  const char* placement;
};
constexpr Policy kPolicies[] = {
    {"fifo", "topology"}, {"fifo", "binpack"}, {"fifo", "spread"}, {"las", "topology"}};

std::unique_ptr<Scheduler> MakeScheduler(const model::Cluster& cluster, const Policy& p) {
  auto order = MakeOrderPolicy(p.order);
  auto placement = MakePlacementPolicy(p.placement);
  if (!order.ok() || !placement.ok()) {
    std::fprintf(stderr, "sched_bench: unknown policy %s+%s\n", p.order, p.placement);
    std::abort();
  }
  return std::make_unique<Scheduler>(cluster, std::move(order).value(),
                                     std::move(placement).value());
}

// Submits `n` jobs at `now`; false (and the benchmark marked failed) if any is refused.
bool SubmitJobs(benchmark::State& state, Scheduler& s, Workload& w, int64_t n, Time now) {
  for (int64_t i = 0; i < n; ++i) {
    JobRequest r = w.Next(now);
    auto adm = s.Submit(r, now);
    if (!adm.ok() || !adm->queued) {
      Fail(state, fmt::format("job {} not queued: {}", r.id,
                              adm.ok() ? adm->reason : adm.status().ToString()));
      return false;
    }
  }
  return true;
}

double ElapsedSeconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

int64_t TasksOf(const RoundResult& r) {
  int64_t n = 0;
  for (const auto& p : r.placed) n += static_cast<int64_t>(p.alloc.tasks.size());
  return n;
}

struct FillStats {
  int64_t rounds = 0;
  int64_t jobs = 0;
  int64_t tasks = 0;
  int64_t examined = 0;
  double seconds = 0;  // inside RunRound only
};

// Runs rounds at `now` until one places nothing. `placed` (may be null) receives the
// jobs started.
FillStats FillUntilStuck(Scheduler& s, Time now, Rng& rng, std::vector<JobId>* placed) {
  FillStats f;
  while (true) {
    const auto t0 = std::chrono::steady_clock::now();
    RoundResult r = s.RunRound(now, rng);
    f.seconds += ElapsedSeconds(std::chrono::steady_clock::now() - t0);
    ++f.rounds;
    f.examined += r.examined;
    f.jobs += static_cast<int64_t>(r.placed.size());
    f.tasks += TasksOf(r);
    if (placed != nullptr) {
      for (const auto& p : r.placed) placed->push_back(p.job);
    }
    if (r.placed.empty()) return f;
  }
}

void BM_Fill(benchmark::State& state, const Scenario& sc, const Policy& p) {
  const model::Cluster& cluster = ClusterFor(sc);
  FillStats total;
  double submit_seconds = 0;
  int64_t pending_left = 0, allocated = 0;
  for (auto _ : state) {
    auto s = MakeScheduler(cluster, p);
    Workload w(kWorkloadSeed, sc.gpus_per_node);
    const auto t0 = std::chrono::steady_clock::now();
    if (!SubmitJobs(state, *s, w, sc.pending, kStart)) return;
    submit_seconds += ElapsedSeconds(std::chrono::steady_clock::now() - t0);
    Rng rng(kChurnSeed);
    FillStats f = FillUntilStuck(*s, kStart, rng, nullptr);
    state.SetIterationTime(f.seconds);
    total.rounds += f.rounds;
    total.jobs += f.jobs;
    total.tasks += f.tasks;
    total.examined += f.examined;
    total.seconds += f.seconds;
    pending_left = static_cast<int64_t>(s->pending_count());
    allocated = s->state().AllocatedGpus();
    if (static_cast<int64_t>(s->running_count()) != f.jobs) {
      return Fail(state, "running_count() differs from the jobs the rounds placed");
    }
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["placements_per_s"] = static_cast<double>(total.tasks) / total.seconds;
  state.counters["jobs_per_s"] = static_cast<double>(total.jobs) / total.seconds;
  state.counters["jobs_placed"] = static_cast<double>(total.jobs) / iters;
  state.counters["tasks_placed"] = static_cast<double>(total.tasks) / iters;
  state.counters["rounds"] = static_cast<double>(total.rounds) / iters;
  state.counters["examined"] = static_cast<double>(total.examined) / iters;
  state.counters["pending_left"] = static_cast<double>(pending_left);
  state.counters["gpu_util"] =
      static_cast<double>(allocated) / static_cast<double>(cluster.total_gpus());
  state.counters["submit_per_s"] = static_cast<double>(sc.pending) * iters / submit_seconds;
}

// The running jobs the driver knows, for picking random ones to finish in O(1).
class RunningSet {
 public:
  void Add(JobId id, int64_t gpus) {
    pos_[id] = ids_.size();
    ids_.push_back({id, gpus});
    gpus_ += gpus;
  }
  // Forgets `id` if present (a preempted job goes back to pending).
  void Erase(JobId id) {
    auto it = pos_.find(id);
    if (it == pos_.end()) return;
    const size_t i = it->second;
    gpus_ -= ids_[i].second;
    pos_.erase(it);
    if (i + 1 != ids_.size()) {
      ids_[i] = ids_.back();
      pos_[ids_[i].first] = i;
    }
    ids_.pop_back();
  }
  size_t size() const { return ids_.size(); }
  const std::pair<JobId, int64_t>& at(size_t i) const { return ids_[i]; }
  int64_t gpus() const { return gpus_; }

 private:
  std::vector<std::pair<JobId, int64_t>> ids_;
  std::unordered_map<JobId, size_t> pos_;
  int64_t gpus_ = 0;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void BM_Steady(benchmark::State& state, const Scenario& sc, const Policy& p) {
  const model::Cluster& cluster = ClusterFor(sc);
  auto s = MakeScheduler(cluster, p);
  Workload w(kWorkloadSeed, sc.gpus_per_node);
  Rng churn(kChurnSeed);
  Time now = kStart;
  RunningSet running;

  // Setup: fill the cluster, then top the queue back up to `pending` jobs.
  if (!SubmitJobs(state, *s, w, sc.pending, now)) return;
  std::vector<JobId> placed;
  FillUntilStuck(*s, now, churn, &placed);
  for (JobId id : placed) running.Add(id, s->Find(id)->req.gpus());
  if (!SubmitJobs(state, *s, w, sc.pending - static_cast<int64_t>(s->pending_count()), now)) {
    return;
  }

  const auto free_target = static_cast<int64_t>(
      std::llround(MeanGpusPerJob() * static_cast<double>(sc.arrivals_per_round)));
  int64_t jobs = 0, tasks = 0, gangs = 0, preempted = 0, examined = 0, finished = 0;
  int64_t pending_sum = 0;
  double pending_start = 0;
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(sc.rounds));
  double seconds = 0;

  // One round of churn: finish, arrive, schedule. Returns false on a failed check.
  auto round = [&](bool timed) {
    now += kRoundInterval;
    int64_t freed = 0;
    while (freed < free_target && running.size() > 0) {
      const auto i =
          static_cast<size_t>(churn.UniformInt(0, static_cast<int64_t>(running.size()) - 1));
      const auto [id, gpus] = running.at(i);
      running.Erase(id);
      if (!s->Remove(id).ok()) {
        Fail(state, fmt::format("Remove({}) failed", id));
        return false;
      }
      freed += gpus;
      if (timed) ++finished;
    }
    if (!SubmitJobs(state, *s, w, sc.arrivals_per_round, now)) return false;
    if (timed) pending_sum += static_cast<int64_t>(s->pending_count());

    const auto t0 = std::chrono::steady_clock::now();
    RoundResult r = s->RunRound(now, churn);
    const double dt = ElapsedSeconds(std::chrono::steady_clock::now() - t0);

    for (const auto& pj : r.placed) running.Add(pj.job, s->Find(pj.job)->req.gpus());
    for (const auto& pe : r.preempted) running.Erase(pe.job);
    if (running.gpus() != s->state().AllocatedGpus() || running.size() != s->running_count()) {
      Fail(state, "driver's running set disagrees with the scheduler's books");
      return false;
    }
    if (timed) {
      state.SetIterationTime(dt);
      latencies.push_back(dt);
      seconds += dt;
      jobs += static_cast<int64_t>(r.placed.size());
      tasks += TasksOf(r);
      for (const auto& pj : r.placed) gangs += pj.alloc.tasks.size() > 1 ? 1 : 0;
      preempted += static_cast<int64_t>(r.preempted.size());
      examined += r.examined;
    }
    return true;
  };

  for (int64_t i = 0; i < sc.warmup_rounds; ++i) {
    if (!round(false)) return;
  }
  pending_start = static_cast<double>(s->pending_count());
  for (auto _ : state) {
    if (!round(true)) return;
  }

  const double n = static_cast<double>(latencies.size());
  state.counters["round_p50_ms"] = Percentile(latencies, 0.50) * 1e3;
  state.counters["round_p99_ms"] = Percentile(latencies, 0.99) * 1e3;
  state.counters["round_max_ms"] = Percentile(latencies, 1.0) * 1e3;
  state.counters["placements_per_s"] = static_cast<double>(tasks) / seconds;
  state.counters["jobs_per_round"] = static_cast<double>(jobs) / n;
  state.counters["tasks_per_round"] = static_cast<double>(tasks) / n;
  state.counters["gang_jobs_per_round"] = static_cast<double>(gangs) / n;
  state.counters["finished_per_round"] = static_cast<double>(finished) / n;
  state.counters["preempted_per_round"] = static_cast<double>(preempted) / n;
  state.counters["examined_per_round"] = static_cast<double>(examined) / n;
  state.counters["pending_start"] = pending_start;
  state.counters["pending_avg"] = static_cast<double>(pending_sum) / n;
  state.counters["pending_end"] = static_cast<double>(s->pending_count());
  state.counters["running_end"] = static_cast<double>(s->running_count());
  state.counters["gpu_util_end"] =
      static_cast<double>(s->state().AllocatedGpus()) / static_cast<double>(cluster.total_gpus());
}

void RegisterAll() {
  struct Family {
    const char* fill;
    const char* steady;
    const Scenario* sc;
  };
  const Family families[] = {{"BM_FillCluster", "BM_SteadyRound", &kLarge},
                             {"BM_FillSmall", "BM_SteadySmall", &kSmall}};
  for (const auto& f : families) {
    for (const auto& p : kPolicies) {
      const Scenario* sc = f.sc;
      const Policy* pol = &p;
      benchmark::RegisterBenchmark(fmt::format("{}/{}/{}", f.fill, p.order, p.placement).c_str(),
                                   [sc, pol](benchmark::State& st) { BM_Fill(st, *sc, *pol); })
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime()
          ->Iterations(sc->fill_iterations);
    }
    for (const auto& p : kPolicies) {
      const Scenario* sc = f.sc;
      const Policy* pol = &p;
      benchmark::RegisterBenchmark(fmt::format("{}/{}/{}", f.steady, p.order, p.placement).c_str(),
                                   [sc, pol](benchmark::State& st) { BM_Steady(st, *sc, *pol); })
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime()
          ->Iterations(sc->rounds);
    }
  }
  const Scenario& sc = kLarge;
  std::string mix;
  for (const auto& g : kGangMix)
    mix += fmt::format("{}{}:{}%", mix.empty() ? "" : " ", g.gpus, g.weight);
  benchmark::AddCustomContext(
      "baton_scenario",
      fmt::format("{} nodes x {} GPUs, racks of {}; {} pending jobs; {} arrivals per steady round, "
                  "{} timed + {} warm-up rounds, {} s apart",
                  sc.nodes, sc.gpus_per_node, sc.nodes_per_rack, sc.pending, sc.arrivals_per_round,
                  sc.rounds, sc.warmup_rounds,
                  std::chrono::duration_cast<std::chrono::seconds>(kRoundInterval).count()));
  benchmark::AddCustomContext("baton_gang_mix_gpus", mix);
  benchmark::AddCustomContext("baton_seeds",
                              fmt::format("workload {}, churn {}", kWorkloadSeed, kChurnSeed));
}

}  // namespace
}  // namespace baton::sched

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  baton::sched::RegisterAll();
  const size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (ran == 0) {
    std::fprintf(stderr, "sched_bench: no benchmark matched the filter\n");
    return 1;
  }
  return baton::sched::g_failed ? 1 : 0;
}
