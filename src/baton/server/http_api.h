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
//   GET  /api/v1/whoami            the caller: user, role bindings, token id and expiry
//
// Errors are JSON {"error": "...", "code": "NOT_FOUND"} with the matching HTTP status
// (400, 401, 403, 404, 409, 413, 503, ...). Objects of the v1 API are rendered as protobuf
// JSON with the proto's field names, like `baton ... --output json`.
//
// Every /api/ request needs "Authorization: Bearer <token>" (401 without a valid one) and
// follows the gRPC API's tenant rules (access.h): job lists, events and queues show only
// what the caller may view, and GPUs held by jobs the caller may not view show the job as
// "*". Only the static files (/, /ui/...) are served without a token.
//
// Thread-safety: handlers run on the HTTP server's workers and only call thread-safe
// ControlPlane methods.
#pragma once

#include <functional>
#include <string>

#include "baton/common/status.h"
#include "baton/metrics/http_server.h"
#include "baton/server/access.h"
#include "baton/server/control_plane.h"

namespace baton::server {

class BatondTls;

struct HttpApiOptions {
  // Where the dashboard's files are read from; "" = the copy compiled into the binary.
  std::string web_dir;
  // batond's TLS: log reads from agents then check the node's certificate (nullptr =
  // plaintext).
  const BatondTls* tls = nullptr;
};

// Registers the routes above on `http` (before it starts). `cp` and `access` must outlive
// serving.
Status ServeHttpApi(metrics::HttpServer& http, ControlPlane* cp, Access* access,
                    HttpApiOptions options);

// The JSON error response for `s` (401 for Unauthenticated, 403 for PermissionDenied, ...).
metrics::HttpResponse HttpError(const Status& s);

}  // namespace baton::server
