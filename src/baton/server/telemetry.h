// GpuTelemetryStore: the control plane's short memory of GPU telemetry — the last
// `history` heartbeat samples of every GPU (about a minute at the default 1 s heartbeat)
// — plus the Prometheus metrics built from it.
//
// Kept apart from ControlPlane's lock: heartbeats write it, `baton nodes`/`baton top` and
// /metrics scrapes read it, and none of them should wait for a scheduling round.
//
// Not responsible for: durable storage (telemetry is not persisted: a restarted control
// plane starts with empty history), acting on values (health events do that).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/time.h"
#include "baton/metrics/registry.h"
#include "baton/v1/agent.pb.h"
#include "baton/v1/types.pb.h"

namespace baton::server {

class GpuTelemetryStore {
 public:
  struct Sample {
    Time time;
    v1::GpuTelemetry gpu;
  };
  // One GPU's latest sample, for listings.
  struct Row {
    std::string node;
    int32_t index = 0;
    std::string uuid;
    Sample latest;
    double mean_utilization = 0;  // over the kept history
  };

  explicit GpuTelemetryStore(size_t history = 60) : history_(history) {}
  // How many samples are kept per GPU.
  size_t history() const { return history_; }

  // Records the GPUs of one heartbeat (at most 64 per node; the rest are ignored).
  void Record(const std::string& node, const v1::Heartbeat& heartbeat, Time now);
  // Drops a node's history (it re-registered with other GPUs, or left).
  void Forget(const std::string& node);
  // Oldest first; empty when nothing is known.
  std::vector<Sample> History(const std::string& node, const std::string& uuid) const;
  // Every GPU's latest sample, by (node, index).
  std::vector<Row> Latest() const;
  std::optional<Row> Latest(const std::string& node, const std::string& uuid) const;

 private:
  struct Gpu {
    int32_t index = 0;
    std::deque<Sample> samples;
  };
  Row MakeRow(const std::string& node, const std::string& uuid, const Gpu& g) const;

  const size_t history_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Gpu>> nodes_;  // node -> uuid -> samples
};

// The API view of one sample (Gpu.stats).
v1::GpuStats ToGpuStats(const GpuTelemetryStore::Row& row);

// Registers baton_gpu_* gauges (labels node, gpu, uuid) read from `store` at scrape time:
// utilization ratio, memory used bytes, temperature, power, SM clock, ECC error counts,
// throttle reasons bit mask, and whether sampling works (baton_gpu_up).
void AddGpuMetrics(metrics::Registry& registry, const GpuTelemetryStore& store);

}  // namespace baton::server
