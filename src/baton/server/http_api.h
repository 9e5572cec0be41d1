// The dashboard's HTTP side of batond: JSON endpoints over the ControlPlane and the
// dashboard's static files (web/), registered on batond's HTTP port next to /metrics.
//
//   GET  /                         the dashboard (index.html); /ui/<file> its assets
//   GET  /api/v1/overview          counts: jobs, nodes by state, GPUs; the server's epoch
//   GET  /api/v1/cluster           every node in one compact object per node (heat map)
//   GET  /api/v1/nodes/NAME        one node, its GPUs (holder job, telemetry), its events
//   GET  /api/v1/nodes/NAME/telemetry, /api/v1/nodes/NAME/gpus/GPU/telemetry,
//        /api/v1/jobs/ID/telemetry?attempt=N   recent GPU telemetry history (http_telemetry.h)
//   GET  /api/v1/jobs              ?state=pending&queue=q&limit=N&page_token=T, newest first
//   GET  /api/v1/jobs/ID           one job (protobuf JSON, as `baton show -o json`)
//   POST /api/v1/jobs/ID/cancel    cancel it; answers the job
//   GET  /api/v1/jobs/ID/logs      ?task=&rank=&attempt=&offset=: up to 256 KiB of output
//   GET  /api/v1/queues            per-queue usage
//   GET  /api/v1/events            ?job=&node=&after=&limit=: recent events, oldest first
//
// Errors are JSON {"error": "...", "code": "NOT_FOUND"} with the matching HTTP status
// (400, 404, 409, 413, 503, ...). Objects of the v1 API are rendered as protobuf JSON with
// the proto's field names, like `baton ... --output json`.
//
// Authentication and tenant rules come with the security work (issue 6): every /api/
// request goes through HttpApiOptions::authorize first, the one seam where they plug in.
//
// Thread-safety: handlers run on the HTTP server's workers and only call thread-safe
// ControlPlane methods.
#pragma once

#include <functional>
#include <string>

#include "baton/common/status.h"
#include "baton/metrics/http_server.h"
#include "baton/server/control_plane.h"

namespace baton::server {

class BatondTls;

struct HttpApiOptions {
  // Where the dashboard's files are read from; "" = the copy compiled into the binary.
  std::string web_dir;
  // Called before each /api/ request with the request and the action ("read" or
  // "cancel"); a non-OK status is answered as the error (e.g. 401/403 once auth exists).
  // Unset = everything allowed.
  std::function<Status(const metrics::HttpRequest&, std::string_view action)> authorize;
  // batond's TLS: log reads from agents then check the node's certificate (nullptr =
  // plaintext).
  const BatondTls* tls = nullptr;
};

// Registers the routes above on `http` (before it starts). `cp` must outlive serving.
Status ServeHttpApi(metrics::HttpServer& http, ControlPlane* cp, HttpApiOptions options);

}  // namespace baton::server
