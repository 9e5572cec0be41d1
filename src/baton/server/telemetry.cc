#include "baton/server/telemetry.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <functional>
#include <tuple>

#include "baton/model/cluster.h"

namespace baton::server {

void GpuTelemetryStore::Record(const std::string& node, const v1::Heartbeat& heartbeat,
                               Time now) {
  std::lock_guard lock(mu_);
  auto& gpus = nodes_[node];
  int n = 0;
  for (const v1::GpuTelemetry& t : heartbeat.gpus()) {
    if (++n > model::kMaxGpusPerNode || t.uuid().empty()) continue;
    Gpu& g = gpus[t.uuid()];
    g.index = t.index();
    g.samples.push_back({now, t});
    while (g.samples.size() > history_) g.samples.pop_front();
  }
}

void GpuTelemetryStore::Forget(const std::string& node) {
  std::lock_guard lock(mu_);
  nodes_.erase(node);
}

std::vector<GpuTelemetryStore::Sample> GpuTelemetryStore::History(
    const std::string& node, const std::string& uuid) const {
  std::lock_guard lock(mu_);
  auto n = nodes_.find(node);
  if (n == nodes_.end()) return {};
  auto g = n->second.find(uuid);
  if (g == n->second.end()) return {};
  return {g->second.samples.begin(), g->second.samples.end()};
}

GpuTelemetryStore::Row GpuTelemetryStore::MakeRow(const std::string& node,
                                                  const std::string& uuid,
                                                  const Gpu& g) const {
  Row r;
  r.node = node;
  r.index = g.index;
  r.uuid = uuid;
  r.latest = g.samples.back();
  double sum = 0;
  int count = 0;
  for (const Sample& s : g.samples) {
    if (s.gpu.utilization_percent() < 0) continue;
    sum += s.gpu.utilization_percent();
    ++count;
  }
  r.mean_utilization = count > 0 ? sum / count : -1;
  return r;
}

std::vector<GpuTelemetryStore::Row> GpuTelemetryStore::Latest() const {
  std::lock_guard lock(mu_);
  std::vector<Row> out;
  for (const auto& [node, gpus] : nodes_) {
    for (const auto& [uuid, g] : gpus) {
      if (!g.samples.empty()) out.push_back(MakeRow(node, uuid, g));
    }
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return std::tie(a.node, a.index, a.uuid) < std::tie(b.node, b.index, b.uuid);
  });
  return out;
}

std::optional<GpuTelemetryStore::Row> GpuTelemetryStore::Latest(const std::string& node,
                                                                const std::string& uuid) const {
  std::lock_guard lock(mu_);
  auto n = nodes_.find(node);
  if (n == nodes_.end()) return std::nullopt;
  auto g = n->second.find(uuid);
  if (g == n->second.end() || g->second.samples.empty()) return std::nullopt;
  return MakeRow(node, uuid, g->second);
}

v1::GpuStats ToGpuStats(const GpuTelemetryStore::Row& row) {
  const v1::GpuTelemetry& t = row.latest.gpu;
  v1::GpuStats s;
  *s.mutable_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      row.latest.time.time_since_epoch().count());
  s.set_utilization_percent(t.utilization_percent());
  s.set_memory_used_mib(t.memory_used_mib());
  s.set_temperature_c(t.temperature_c());
  s.set_power_w(t.power_w());
  s.set_sm_clock_mhz(t.sm_clock_mhz());
  s.set_memory_clock_mhz(t.memory_clock_mhz());
  s.set_ecc_corrected(t.ecc_corrected());
  s.set_ecc_uncorrected(t.ecc_uncorrected());
  s.set_throttle_reasons(t.throttle_reasons());
  s.set_error(t.error());
  s.set_utilization_percent_avg(row.mean_utilization);
  return s;
}

void AddGpuMetrics(metrics::Registry& registry, const GpuTelemetryStore& store) {
  using Get = std::function<double(const v1::GpuTelemetry&)>;
  // One family per value; GPUs whose value is unknown (-1) are left out of it.
  const auto family = [&](const char* name, const char* help, Get get) {
    registry.AddGaugeFamilyCallback(name, help, {"node", "gpu", "uuid"}, [&store, get] {
      std::vector<metrics::GaugeSample> out;
      for (const GpuTelemetryStore::Row& r : store.Latest()) {
        const double v = get(r.latest.gpu);
        if (v < 0) continue;
        out.push_back({{r.node, std::to_string(r.index), r.uuid}, v});
      }
      return out;
    });
  };
  family("baton_gpu_utilization_ratio", "GPU busy time over the last sample period (0..1).",
         [](const v1::GpuTelemetry& t) {
           return t.utilization_percent() < 0 ? -1 : t.utilization_percent() / 100.0;
         });
  family("baton_gpu_memory_used_bytes", "GPU memory in use.",
         [](const v1::GpuTelemetry& t) {
           return t.memory_used_mib() < 0 ? -1 : double(t.memory_used_mib()) * 1048576.0;
         });
  family("baton_gpu_temperature_celsius", "GPU core temperature.",
         [](const v1::GpuTelemetry& t) { return t.temperature_c(); });
  family("baton_gpu_power_watts", "GPU power draw.",
         [](const v1::GpuTelemetry& t) { return t.power_w(); });
  family("baton_gpu_sm_clock_hertz", "GPU SM clock.", [](const v1::GpuTelemetry& t) {
    return t.sm_clock_mhz() < 0 ? -1 : t.sm_clock_mhz() * 1e6;
  });
  family("baton_gpu_ecc_corrected_errors", "Corrected (single-bit) ECC errors since the driver loaded.",
         [](const v1::GpuTelemetry& t) { return double(t.ecc_corrected()); });
  family("baton_gpu_ecc_uncorrected_errors",
         "Uncorrected (double-bit) ECC errors since the driver loaded.",
         [](const v1::GpuTelemetry& t) { return double(t.ecc_uncorrected()); });
  family("baton_gpu_throttle_reasons", "NVML clocks-throttle-reason bits (0 = not throttled).",
         [](const v1::GpuTelemetry& t) { return double(t.throttle_reasons()); });
  family("baton_gpu_up", "1 when the agent could sample the GPU, 0 when NVML failed.",
         [](const v1::GpuTelemetry& t) { return t.error().empty() ? 1.0 : 0.0; });
}

}  // namespace baton::server
