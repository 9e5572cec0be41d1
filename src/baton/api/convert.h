// Proto <-> model conversion for the v1 API: the one place where api/baton/v1 messages
// meet the resource model (DESIGN.md: "Proto <-> model conversion happens in one place
// only"). Servers, clients and the CLI call these; nothing else reads v1 messages field by
// field.
//
// FromProto validates as it converts: wire defaults are mapped to model defaults (empty
// queue -> "default", tasks 0 -> 1, empty gpus_per_task -> "1", unset gang -> true), then
// model::ValidateJobSpec runs. Every error is INVALID_ARGUMENT and names the proto field
// path ("spec.gpus_per_task: ...") so an API client can point at what it sent.
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include "baton/common/status.h"
#include "baton/model/cluster.h"
#include "baton/model/cluster_spec.h"
#include "baton/model/job_lifecycle.h"
#include "baton/model/job_spec.h"
#include "baton/v1/types.pb.h"

namespace baton::api {

// Longest runtime estimate accepted (100 years), so seconds never overflow Duration.
constexpr int64_t kMaxEstimatedRuntimeS = int64_t{100} * 365 * 24 * 3600;

// Decodes and validates a submitted spec. Errors name the field, prefixed "spec.".
Result<model::JobSpec> FromProto(const v1::JobSpec& proto);
// Encodes a spec; FromProto(ToProto(s)) == s for any spec that passes ValidateJobSpec and
// whose runtime estimate is a whole number of seconds (others round up to the next second).
v1::JobSpec ToProto(const model::JobSpec& spec);

// Encodes a node of `cluster` (GPU model and rack names come from the cluster). Health
// and drain state live outside the model, so the caller passes the state to report.
v1::Node ToProto(const model::Node& node, const model::Cluster& cluster,
                 v1::NodeState state = v1::NODE_STATE_READY);

// A job record as the API shows it and as the control plane stores it (the encoding is
// lossless: FromProto(ToProto(r)) == r for any record Apply() produced).
v1::Job ToProto(const model::JobRecord& job);
// Decodes a stored job; errors name the field ("job.attempts[1].number: ...").
Result<model::JobRecord> FromProto(const v1::Job& proto);

v1::JobState ToProto(model::JobState state);
// JOB_STATE_UNSPECIFIED and unknown values are InvalidArgument.
Result<model::JobState> FromProto(v1::JobState state);

// Encodes a queue.
v1::Queue ToProto(const model::QueueSpec& queue);

}  // namespace baton::api
