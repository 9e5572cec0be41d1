#include "baton/server/server_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace baton::server {

namespace {

// Scheduling rounds take microseconds on small fleets and may take seconds on huge ones.
std::vector<double> RoundBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

// Submit-to-start: from a fraction of a second on an idle fleet to a day in a busy queue.
std::vector<double> StartLatencyBuckets() {
  return {0.05, 0.1, 0.25, 0.5,  1,    2.5,  5,    10,    30,    60,
          120,  300, 600,  1800, 3600, 7200, 14400, 28800, 43200, 86400};
}

// One SQLite transaction with fsync: tens of microseconds to (on a busy disk) seconds.
std::vector<double> StoreWriteBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
}

double SecondsOf(Duration d) { return std::chrono::duration<double>(d).count(); }

// How long the families of one scrape may share one view of the control plane.
constexpr auto kScrapeTtl = std::chrono::milliseconds(250);

const char* NodeStateLabel(v1::NodeState s) {
  switch (s) {
    case v1::NODE_STATE_READY: return "ready";
    case v1::NODE_STATE_NOT_READY: return "not-ready";
    case v1::NODE_STATE_LOST: return "lost";
    case v1::NODE_STATE_DRAINED: return "drained";
    default: return "unknown";
  }
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& GpuTelemetryFamilies() {
  static const std::vector<std::pair<std::string, std::string>> families = {
      {"baton_gpu_utilization_ratio",
       "GPU utilization (0..1) in the node's last heartbeat."},
      {"baton_gpu_memory_used_bytes", "GPU memory in use, from the node's last heartbeat."},
      {"baton_gpu_memory_total_bytes", "GPU memory, as the agent registered it."},
      {"baton_gpu_power_watts", "GPU power draw in the node's last heartbeat."},
      {"baton_gpu_temperature_celsius", "GPU temperature in the node's last heartbeat."},
      {"baton_gpu_healthy",
       "1 if the GPU's node is ready, its last heartbeat reported the GPU without a sampling "
       "error, and the GPU is not drained; else 0."},
      {"baton_gpu_memory_utilization_ratio",
       "GPU memory controller utilization (0..1) in the node's last heartbeat."},
      {"baton_gpu_sm_clock_hertz",
       "GPU SM clock in the node's last heartbeat (absent where NVML cannot read it)."},
      {"baton_gpu_memory_clock_hertz",
       "GPU memory clock in the node's last heartbeat (absent where NVML cannot read it)."},
      {"baton_gpu_ecc_corrected_errors",
       "Corrected (single-bit) ECC errors since the GPU's driver loaded, from the node's last "
       "heartbeat (absent without ECC)."},
      {"baton_gpu_ecc_uncorrected_errors",
       "Uncorrected (double-bit) ECC errors since the GPU's driver loaded, from the node's "
       "last heartbeat (absent without ECC)."},
      {"baton_gpu_throttle_reasons",
       "The GPU's NVML clock throttle reason bits in the node's last heartbeat; 0 = not "
       "throttled, 1 = idle."},
      {"baton_gpu_retired_pages_pending",
       "1 if the GPU has retired memory pages that take effect at its next reset, else 0."},
      {"baton_gpu_sampling_error",
       "1 if the agent failed to sample the GPU (an NVML error) in its last heartbeat, else 0."},
  };
  return families;
}

void AppendGpuTelemetry(const ControlPlaneMetricsView::GpuView& gpu,
                        const std::vector<std::string>& labels, bool node_ready,
                        GpuTelemetrySamples* out) {
  auto add = [&](const char* family, double value) {
    out->by_family[family].push_back(metrics::GaugeSample{labels, value});
  };
  add("baton_gpu_memory_total_bytes", double(gpu.gpu.memory_mib()) * 1024 * 1024);
  const bool sampling_failed = gpu.telemetry.has_value() && !gpu.telemetry->error().empty();
  add("baton_gpu_healthy",
      node_ready && gpu.telemetry.has_value() && !sampling_failed && !gpu.gpu.drained() ? 1 : 0);
  if (!gpu.telemetry) return;  // nothing reported: no made-up zeros
  const v1::GpuTelemetry& t = *gpu.telemetry;
  add("baton_gpu_sampling_error", sampling_failed ? 1 : 0);
  add("baton_gpu_retired_pages_pending", t.retired_pages_pending() ? 1 : 0);
  // A failed sample's values are whatever NVML left behind: report none of them.
  if (sampling_failed) return;
  add("baton_gpu_utilization_ratio", t.utilization_percent() / 100.0);
  add("baton_gpu_memory_utilization_ratio", t.memory_utilization_percent() / 100.0);
  add("baton_gpu_memory_used_bytes", double(t.memory_used_mib()) * 1024 * 1024);
  add("baton_gpu_power_watts", t.power_w());
  add("baton_gpu_temperature_celsius", t.temperature_c());
  add("baton_gpu_throttle_reasons", double(t.throttle_reasons()));
  // NVML reports what a GPU does not support as -1; a simulated agent sends no clocks (0).
  if (t.sm_clock_mhz() > 0) add("baton_gpu_sm_clock_hertz", t.sm_clock_mhz() * 1e6);
  if (t.memory_clock_mhz() > 0) add("baton_gpu_memory_clock_hertz", t.memory_clock_mhz() * 1e6);
  if (t.ecc_corrected() >= 0) add("baton_gpu_ecc_corrected_errors", double(t.ecc_corrected()));
  if (t.ecc_uncorrected() >= 0) {
    add("baton_gpu_ecc_uncorrected_errors", double(t.ecc_uncorrected()));
  }
}

ServerMetrics::ServerMetrics(metrics::Registry* registry)
    : registry_(registry),
      round_seconds_(registry->AddHistogram("baton_sched_round_duration_seconds",
                                            "Time one scheduling round took.", RoundBuckets())),
      decisions_(registry->AddCounterFamily(
          "baton_sched_decisions_total",
          "Scheduler decisions per pending job examined in a round: place it, preempt running "
          "jobs for it, or let it wait.",
          {"decision"})),
      preemptions_(registry->AddCounter("baton_sched_preemptions_total",
                                        "Running jobs preempted by the scheduler.")),
      start_latency_(registry->AddHistogramFamily(
          "baton_jobs_start_latency_seconds",
          "Time from a job's submission to its first running state.", {"queue"},
          StartLatencyBuckets())),
      store_write_seconds_(registry->AddHistogram(
          "baton_store_write_duration_seconds",
          "Time one store transaction (a group commit of job and node records) took.",
          StoreWriteBuckets())) {
  // Every decision shows from the start, at 0, so rate() works before the first preemption.
  decisions_place_ = &decisions_.WithLabels({"place"});
  decisions_preempt_ = &decisions_.WithLabels({"preempt"});
  decisions_wait_ = &decisions_.WithLabels({"wait"});
}

void ServerMetrics::OnRound(Duration took, int64_t examined, int64_t placed,
                            int64_t preempted) {
  round_seconds_.Observe(SecondsOf(took));
  decisions_place_->Inc(double(placed));
  decisions_preempt_->Inc(double(preempted));
  decisions_wait_->Inc(double(std::max<int64_t>(0, examined - placed)));
  preemptions_.Inc(double(preempted));
}

void ServerMetrics::OnJobStarted(const std::string& queue, Duration waited) {
  start_latency_.WithLabels({queue}).Observe(SecondsOf(waited));
}

void ServerMetrics::OnStoreWrite(Duration took, int64_t /*writes*/, bool /*ok*/) {
  store_write_seconds_.Observe(SecondsOf(took));
}

std::shared_ptr<const ServerMetrics::Scrape> ServerMetrics::Current() const {
  std::lock_guard<std::mutex> lock(view_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (scrape_ && now - scrape_time_ < kScrapeTtl) return scrape_;
  auto s = std::make_shared<Scrape>();
  s->view = cp_->MetricsView();
  for (const auto& node : s->view.nodes) {
    const bool ready = node.state == v1::NODE_STATE_READY;
    for (const auto& g : node.gpus) {
      std::vector<std::string> labels = {node.name, std::to_string(g.gpu.index())};
      AppendGpuTelemetry(g, labels, ready, &s->gpu);
      s->gpu.by_family["baton_gpu_allocated"].push_back(
          metrics::GaugeSample{labels, g.allocated ? 1.0 : 0.0});
      s->gpu.by_family["baton_gpu_info"].push_back(metrics::GaugeSample{
          {node.name, std::to_string(g.gpu.index()), g.gpu.uuid(), g.gpu.model()}, 1.0});
    }
  }
  scrape_ = std::move(s);
  scrape_time_ = now;
  return scrape_;
}

void ServerMetrics::Attach(const ControlPlane* cp, const std::atomic<int64_t>* loop_iterations) {
  cp_ = cp;
  metrics::Registry& reg = *registry_;
  auto stat = [cp](auto field) { return [cp, field] { return double(field(cp->Stats())); }; };
  using S = const ControlPlaneStats&;

  // Jobs.
  reg.AddCounterCallback("baton_jobs_submitted_total", "Jobs accepted since batond started.",
                         stat([](S s) { return s.submitted; }));
  reg.AddCounterCallback("baton_jobs_finished_total",
                         "Jobs that reached a terminal state since batond started.",
                         stat([](S s) { return s.finished; }));
  reg.AddGaugeCallback("baton_jobs_active", "Jobs not in a terminal state.",
                       stat([](S s) { return s.active; }));
  reg.AddGaugeCallback("baton_jobs_pending", "Jobs waiting in the scheduler's queue.",
                       stat([](S s) { return s.pending; }));
  reg.AddGaugeFamilyCallback("baton_jobs", "Jobs the control plane holds, by state and queue.",
                             {"state", "queue"}, [this] {
                               std::vector<metrics::GaugeSample> out;
                               for (const auto& [key, n] : Current()->view.jobs) {
                                 out.push_back({{key.first, key.second}, double(n)});
                               }
                               return out;
                             });

  // Scheduler.
  reg.AddCounterCallback("baton_sched_rounds_total", "Scheduling rounds run.",
                         stat([](S s) { return s.rounds; }));
  reg.AddCounterCallback("baton_sched_placed_total", "Jobs placed by the scheduler.",
                         stat([](S s) { return s.placed; }));
  reg.AddGaugeCallback("baton_sched_last_round_seconds", "Duration of the last round.",
                       [cp] { return SecondsOf(cp->Stats().last_round); });
  reg.AddGaugeFamilyCallback(
      "baton_sched_pending_jobs",
      "Pending jobs by queue and why they wait (no-nodes, unplaceable, releasing, resources, "
      "not-queued).",
      {"queue", "reason"}, [this] {
        std::vector<metrics::GaugeSample> out;
        for (const auto& [key, n] : Current()->view.pending) {
          out.push_back({{key.first, key.second}, double(n)});
        }
        return out;
      });

  // Nodes, agents and GPUs.
  reg.AddGaugeFamilyCallback("baton_nodes", "Nodes by state.", {"state"}, [this] {
    std::map<std::string, int64_t> by_state = {
        {"ready", 0}, {"not-ready", 0}, {"lost", 0}, {"drained", 0}};
    for (const auto& n : Current()->view.nodes) by_state[NodeStateLabel(n.state)]++;
    std::vector<metrics::GaugeSample> out;
    for (const auto& [state, n] : by_state) out.push_back({{state}, double(n)});
    return out;
  });
  reg.AddGaugeCallback("baton_agents_connected", "Agents with an open stream to batond.",
                       [this] { return double(Current()->view.agents_connected); });
  reg.AddGaugeFamilyCallback(
      "baton_agent_heartbeat_age_seconds",
      "Seconds since the node's agent was last heard from (heartbeat or any message).",
      {"node"}, [this] {
        std::vector<metrics::GaugeSample> out;
        for (const auto& n : Current()->view.nodes) {
          out.push_back({{n.name}, SecondsOf(n.since_heartbeat)});
        }
        return out;
      });
  reg.AddGaugeFamilyCallback(
      "baton_gpus",
      "GPUs by state: allocated to tasks, idle on ready nodes, unavailable (idle on nodes "
      "that are not ready).",
      {"state"}, [this] {
        int64_t allocated = 0, idle = 0, unavailable = 0;
        for (const auto& n : Current()->view.nodes) {
          for (const auto& g : n.gpus) {
            if (g.allocated) {
              allocated++;
            } else if (n.state == v1::NODE_STATE_READY) {
              idle++;
            } else {
              unavailable++;
            }
          }
        }
        return std::vector<metrics::GaugeSample>{{{"allocated"}, double(allocated)},
                                                 {{"idle"}, double(idle)},
                                                 {{"unavailable"}, double(unavailable)}};
      });
  auto per_gpu = [this](std::string family) {
    return [this, family = std::move(family)] {
      auto s = Current();
      auto it = s->gpu.by_family.find(family);
      return it == s->gpu.by_family.end() ? std::vector<metrics::GaugeSample>{} : it->second;
    };
  };
  reg.AddGaugeFamilyCallback("baton_gpu_info",
                             "Always 1; labels name each GPU's UUID and model.",
                             {"node", "gpu", "uuid", "model"}, per_gpu("baton_gpu_info"));
  reg.AddGaugeFamilyCallback("baton_gpu_allocated", "1 if the GPU is allocated to a task.",
                             GpuLabelNames(), per_gpu("baton_gpu_allocated"));
  for (const auto& [name, help] : GpuTelemetryFamilies()) {
    reg.AddGaugeFamilyCallback(name, help, GpuLabelNames(), per_gpu(name));
  }

  // Store and loop.
  reg.AddCounterCallback("baton_store_commits_total", "Store transactions (group commits).",
                         stat([](S s) { return s.commits.batches; }));
  reg.AddCounterCallback("baton_store_writes_total", "Records written to the store.",
                         stat([](S s) { return s.commits.writes; }));
  reg.AddCounterCallback("baton_store_failed_commits_total", "Store transactions that failed.",
                         stat([](S s) { return s.commits.failed_batches; }));
  reg.AddCounterCallback("baton_loop_iterations_total", "Control loop iterations.",
                         [loop_iterations] { return double(loop_iterations->load()); });
  // Node-failure safety (docs/failure.md).
  reg.AddGaugeCallback("baton_node_evictions_suspended",
                       "1 while the mass-silence guard holds node losses back.",
                       stat([](S s) { return s.evictions_suspended ? 1 : 0; }));
  reg.AddCounterCallback("baton_control_plane_stalls_total",
                         "Control-loop stalls and clock jumps not counted as node silence.",
                         stat([](S s) { return s.stalls_detected; }));
}

}  // namespace baton::server
