#include "baton/server/http_telemetry.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

namespace baton::server {
namespace {

using json = nlohmann::json;
using google::protobuf::util::TimeUtil;

int64_t ToMs(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// NVML's "cannot say" (-1) is null in JSON, so a chart leaves a gap instead of a dip.
json Value(double v) { return v < 0 ? json(nullptr) : json(v); }

// One GPU's entry: who it is and its samples in [from_ms, to_ms] (to_ms < 0 = open).
json GpuSeries(const GpuTelemetryStore& store, const std::string& node, const v1::Gpu& gpu,
               const std::string& job, int64_t from_ms, int64_t to_ms) {
  json t = json::array(), util = json::array(), mem = json::array(), temp = json::array(),
       power = json::array();
  std::string error;
  for (const GpuTelemetryStore::Sample& s : store.History(node, gpu.uuid())) {
    const int64_t ms = ToMs(s.time);
    if (ms < from_ms || (to_ms >= 0 && ms > to_ms)) continue;
    t.push_back(ms);
    util.push_back(Value(s.gpu.utilization_percent()));
    mem.push_back(Value(static_cast<double>(s.gpu.memory_used_mib())));
    temp.push_back(Value(s.gpu.temperature_c()));
    power.push_back(Value(s.gpu.power_w()));
    error = s.gpu.error();
  }
  return json{{"node", node},
              {"index", gpu.index()},
              {"uuid", gpu.uuid()},
              {"model", gpu.model()},
              {"memory_mib", gpu.memory_mib()},
              {"job", job},
              {"error", error},
              {"t_ms", std::move(t)},
              {"util", std::move(util)},
              {"mem_used_mib", std::move(mem)},
              {"temp_c", std::move(temp)},
              {"power_w", std::move(power)}};
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The position in node.gpus() of the GPU named by `text`: its index ("3") or its UUID;
// -1 when the node has no such GPU.
int FindGpu(const v1::Node& node, const std::string& text) {
  for (int i = 0; i < node.gpus_size(); ++i) {
    const v1::Gpu& g = node.gpus(i);
    if (g.uuid() == text || std::to_string(g.index()) == text) return i;
  }
  return -1;
}

}  // namespace

Result<std::string> NodeTelemetryJson(ControlPlane& cp, const std::string& node,
                                      const std::string& gpu) {
  for (const ControlPlane::NodeSnapshot& s : cp.Fleet()) {
    if (s.node.name() != node) continue;
    json gpus = json::array();
    if (!gpu.empty()) {
      const int i = FindGpu(s.node, gpu);
      if (i < 0) {
        const std::string has = s.node.gpus_size() == 0
                                    ? "it has no GPUs"
                                    : fmt::format("its GPUs are 0..{}", s.node.gpus_size() - 1);
        return NotFound(
            fmt::format("node '{}' has no GPU '{}' ({})", node, gpu.substr(0, 64), has));
      }
      gpus.push_back(GpuSeries(cp.telemetry(), node, s.node.gpus(i),
                               s.gpu_jobs[static_cast<size_t>(i)], 0, -1));
    } else {
      for (int i = 0; i < s.node.gpus_size(); ++i) {
        gpus.push_back(GpuSeries(cp.telemetry(), node, s.node.gpus(i),
                                 s.gpu_jobs[static_cast<size_t>(i)], 0, -1));
      }
    }
    return Dump(json{{"now_ms", NowMs()},
                     {"history", cp.telemetry().history()},
                     {"node", node},
                     {"gpus", std::move(gpus)}});
  }
  return NotFound(fmt::format("node '{}' not found", node.substr(0, 200)));
}

Result<std::string> JobTelemetryJson(ControlPlane& cp, JobId id, int32_t attempt) {
  BATON_ASSIGN_OR_RETURN(v1::Job job, cp.Get(id));
  json out{{"now_ms", NowMs()},
           {"history", cp.telemetry().history()},
           {"job", job.id()},
           {"attempts", job.attempts_size()}};
  if (job.attempts_size() == 0) {
    if (attempt > 0) {
      return InvalidArgument(
          fmt::format("attempt: job {} has no attempt {} (it has not been placed yet)", job.id(),
                      attempt));
    }
    out["attempt"] = 0;
    out["gpus_total"] = 0;
    out["gpus"] = json::array();
    out["note"] = fmt::format("job {} has not been placed yet", job.id());
    return Dump(out);
  }
  if (attempt > job.attempts_size()) {
    return InvalidArgument(fmt::format("attempt: job {} has no attempt {} (it has {})", job.id(),
                                       attempt, job.attempts_size()));
  }
  const v1::Attempt& a = job.attempts(attempt > 0 ? attempt - 1 : job.attempts_size() - 1);
  const bool open = a.end_reason().empty();
  const int64_t from_ms = TimeUtil::TimestampToMilliseconds(a.start_time());
  const int64_t to_ms = open ? -1 : TimeUtil::TimestampToMilliseconds(a.end_time());
  out["attempt"] = a.number();
  out["from_ms"] = from_ms;
  out["to_ms"] = open ? json(nullptr) : json(to_ms);

  // The attempt's nodes, for their GPUs' UUIDs (Nodes(), not Fleet(): no scan of the jobs).
  std::map<std::string, v1::Node> nodes;
  for (const auto& as : a.assignments()) nodes.emplace(as.node(), v1::Node{});
  for (v1::Node& n : cp.Nodes(std::nullopt)) {
    if (auto it = nodes.find(n.name()); it != nodes.end()) it->second = std::move(n);
  }
  json gpus = json::array();
  int total = 0;
  for (const auto& as : a.assignments()) {
    const v1::Node& n = nodes[as.node()];
    for (int32_t index : as.gpu_indices()) {
      if (++total > kMaxJobTelemetryGpus) continue;
      v1::Gpu gpu;  // a node that is gone: its identity only, no samples
      gpu.set_index(index);
      if (index >= 0 && index < n.gpus_size()) gpu = n.gpus(index);
      json g = GpuSeries(cp.telemetry(), as.node(), gpu, "", from_ms, to_ms);
      g["task"] = as.task_index();
      gpus.push_back(std::move(g));
    }
  }
  out["gpus_total"] = total;
  out["gpus"] = std::move(gpus);
  return Dump(out);
}

}  // namespace baton::server
