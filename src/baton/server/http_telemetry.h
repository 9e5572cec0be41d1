// The dashboard's GPU telemetry charts, as JSON: the recent history the control plane
// keeps in GpuTelemetryStore (the last `history` heartbeat samples of each GPU, about a
// minute), per node, per GPU, or for the GPUs of one attempt of a job. http_api.cc routes
//
//   GET /api/v1/nodes/NAME/telemetry             every GPU of the node
//   GET /api/v1/nodes/NAME/gpus/GPU/telemetry    one GPU, by index or UUID
//   GET /api/v1/jobs/ID/telemetry?attempt=N      the GPUs of attempt N (0 = the latest),
//                                                samples inside the attempt's time only
//
// to these functions. Every answer is
//
//   {"now_ms": <server time>, "history": <samples kept per GPU>, ..., "gpus": [
//     {"node", "index", "uuid", "model", "memory_mib", "job" (node answers: the job holding
//      it now, "" = free; "" in job answers), "task" (job answers only), "error" (last
//      sampling error, "" = none),
//      "t_ms": [...], "util": [...], "mem_used_mib": [...], "temp_c": [...],
//      "power_w": [...]}]}
//
// with one entry per sample in each array, oldest first, and null where the agent could
// not read a value (NVML's -1). A job answer adds "job", "attempt", "attempts",
// "from_ms"/"to_ms" (the attempt's window; to_ms null while it runs), "gpus_total" and,
// when the job has more GPUs than kMaxJobTelemetryGpus, only the first ones (by task,
// then GPU index).
//
// Not responsible for: routing, authorization and error rendering (http_api.cc).
// Thread-safety: reads thread-safe ControlPlane methods only.
#pragma once

#include <cstdint>
#include <string>

#include "baton/common/ids.h"
#include "baton/common/status.h"
#include "baton/server/control_plane.h"

namespace baton::server {

// Most GPUs one job answer carries (a 1,000-node job would otherwise be megabytes).
inline constexpr int kMaxJobTelemetryGpus = 64;

// NotFound naming the node, or the GPU and what the node has ("node 'n1' has no GPU '9'
// (its GPUs are 0..7)"). `gpu` empty = every GPU of the node.
Result<std::string> NodeTelemetryJson(ControlPlane& cp, const std::string& node,
                                      const std::string& gpu);

// NotFound for an unknown job; InvalidArgument naming `attempt` when the job has no such
// attempt. A job not placed yet answers with no GPUs and a "note" saying so.
Result<std::string> JobTelemetryJson(ControlPlane& cp, JobId job, int32_t attempt);

}  // namespace baton::server
