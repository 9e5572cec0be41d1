// ServerMetrics: batond's Prometheus metrics, registered in one place (docs/metrics.md lists
// every name, its labels and its meaning).
//
// Values come from two sources. Events the ControlPlane reports as they happen (this class
// is its ControlPlaneObserver: scheduling rounds, jobs starting, store transactions) feed
// histograms and counters. Everything else is read at scrape time from
// ControlPlane::Stats() and ControlPlane::MetricsView(); one view serves all the families of
// a scrape, so a scrape takes the control plane's lock about once.
//
// GPU telemetry (utilization, memory, power, temperature, health) is whatever the agents'
// heartbeats carry (agent.proto GpuTelemetry). AppendGpuTelemetry() is the one function that
// reads it: a new telemetry field needs a line there and a line in docs/metrics.md.
//
// Not responsible for: serving HTTP (metrics/http_server.h), the registry's format.
//
// Thread-safety: the observer methods may be called from any thread; Attach() once, before
// the registry is served.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baton/metrics/registry.h"
#include "baton/server/control_plane.h"

namespace baton::server {

// Samples of the per-GPU telemetry families, by family name, for one scrape.
struct GpuTelemetrySamples {
  std::map<std::string, std::vector<metrics::GaugeSample>> by_family;
};

// Label names of every per-GPU family, in order. UUID and model are on baton_gpu_info only
// (join on node and gpu), which keeps a 1,000-node scrape small.
inline const std::vector<std::string>& GpuLabelNames() {
  static const std::vector<std::string> names = {"node", "gpu"};
  return names;
}

// Appends the samples that one GPU's heartbeat telemetry gives (with `labels`, values for
// GpuLabelNames()) to `out`. `node_ready` says whether the GPU's node is ready.
void AppendGpuTelemetry(const ControlPlaneMetricsView::GpuView& gpu,
                        const std::vector<std::string>& labels, bool node_ready,
                        GpuTelemetrySamples* out);

// The names of the per-GPU telemetry families AppendGpuTelemetry() fills, with their help.
const std::vector<std::pair<std::string, std::string>>& GpuTelemetryFamilies();

class ServerMetrics final : public ControlPlaneObserver {
 public:
  // Registers the event-fed metrics in `registry`, which must outlive this object.
  explicit ServerMetrics(metrics::Registry* registry);

  // Registers the metrics read at scrape time from `cp` (and the loop's iteration count).
  // Both must outlive the registry's serving.
  void Attach(const ControlPlane* cp, const std::atomic<int64_t>* loop_iterations);

  void OnRound(Duration took, int64_t examined, int64_t placed, int64_t preempted) override;
  void OnJobStarted(const std::string& queue, Duration waited) override;
  void OnStoreWrite(Duration took, int64_t writes, bool ok) override;

 private:
  // What one scrape reads: the control plane's view and the GPU samples made from it.
  struct Scrape {
    ControlPlaneMetricsView view;
    GpuTelemetrySamples gpu;
  };
  // Taken at most once per kScrapeTtl, so the families of one scrape share it.
  std::shared_ptr<const Scrape> Current() const;

  metrics::Registry* registry_;
  const ControlPlane* cp_ = nullptr;
  metrics::Histogram& round_seconds_;
  metrics::Family<metrics::Counter>& decisions_;
  metrics::Counter* decisions_place_ = nullptr;
  metrics::Counter* decisions_preempt_ = nullptr;
  metrics::Counter* decisions_wait_ = nullptr;
  metrics::Counter& preemptions_;
  metrics::Family<metrics::Histogram>& start_latency_;
  metrics::Histogram& store_write_seconds_;

  mutable std::mutex view_mu_;
  mutable std::shared_ptr<const Scrape> scrape_;               // guarded by view_mu_
  mutable std::chrono::steady_clock::time_point scrape_time_;  // guarded by view_mu_
};

}  // namespace baton::server
