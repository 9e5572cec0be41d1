// Size limits on everything baton accepts from outside: API requests, agents' messages,
// spec files, traces and HTTP requests. docs/limits.md lists each with where it is checked
// and what happens when input exceeds it; keep the two in step.
//
// The rule (issue 6, hostile input): every message, string and list that arrives from
// outside has a bound, and input beyond it is refused with InvalidArgument naming the
// field and the limit ("spec.command[3]: 200000 bytes; at most 131072"), never a crash, a
// hang or unbounded memory; the server keeps serving everyone else.
//
// Limits that predate this header stay next to the code they bound and are only named
// here: model::kMaxTasksPerJob, kMaxRanksPerTask, kMaxCommandArgs, kMaxEnvVars
// (model/job_spec.h), model::kMaxGpusPerNode (model/cluster.h), model::kMaxCheckpointPath
// (model/restart_policy.h), metrics::kMaxPostBody (metrics/http_server.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace baton::limits {

// ---- gRPC: the largest message batond, the agent's control-plane stream and the agent's
// log service accept. batond's handlers refuse a larger request themselves
// (Access::CheckSize: RESOURCE_EXHAUSTED with an audit record); gRPC's own cap on what
// batond receives is kMaxGrpcTransportBytes, so only a message beyond that (a flood, not a
// mistake) is refused by gRPC before any of baton's code sees it, and without a record.
inline constexpr int kMaxGrpcMessageBytes = 4 << 20;
inline constexpr int kMaxGrpcTransportBytes = 16 << 20;
// The largest LogChunk the control plane accepts from an agent when it relays Jobs.Logs
// (agents send 64 KiB chunks).
inline constexpr int kMaxLogChunkMessageBytes = 1 << 20;

// ---- Names: nodes, queues, GPU types and models, GPU UUIDs, racks, addresses, job names.
inline constexpr size_t kMaxNameLength = 253;
// Free text people give: cancel and drain reasons.
inline constexpr size_t kMaxReasonLength = 1024;
// Filters and page tokens in list requests.
inline constexpr size_t kMaxFilterLength = 253;
inline constexpr size_t kMaxPageTokenLength = 32;

// ---- Job specs (model::ValidateJobSpec, so the YAML files and the API both).
// The encoded SubmitRequest.spec.
inline constexpr size_t kMaxSpecBytes = 1 << 20;
// One argument or one environment value: Linux's MAX_ARG_STRLEN (execve refuses longer).
inline constexpr size_t kMaxArgBytes = 128 * 1024;
// All arguments plus all environment entries together ("NAME=value" each), below
// Linux's default ARG_MAX (2 MiB) with room for what the agent adds.
inline constexpr size_t kMaxArgvEnvBytes = 1 << 20;
inline constexpr size_t kMaxEnvNameLength = 255;
// gpu_types and gpu_preference entries.
inline constexpr size_t kMaxGpuTypes = 64;

// ---- Agents' messages (checked by the control plane; the agent bounds what it sends).
// Heartbeat.gpus (one per GPU) and processes per GPU.
inline constexpr int kMaxTelemetryGpus = 64;
inline constexpr int kMaxGpuProcesses = 1024;
// Tasks an agent reports in Register.
inline constexpr int kMaxReportedTasks = 10000;
// Text an agent reports: health-check output, GPU event descriptions, NVML error strings,
// task status messages, driver version and notes.
inline constexpr size_t kMaxAgentText = 4096;
// Per GPU in Register: MIG devices, NVLink peers, PCIe path entries; NUMA nodes per host.
inline constexpr int kMaxMigDevices = 64;
inline constexpr int kMaxGpuPeers = 64;
inline constexpr int kMaxNumaNodes = 1024;
// A Linux CPU list ("0-15,32-47") in Register's NUMA nodes.
inline constexpr size_t kMaxCpuListLength = 4096;
// StartTask.checkpoint_dir and other paths.
inline constexpr size_t kMaxPathLength = 4096;

// ---- Files: job and cluster specs, traces, throughput tables.
inline constexpr size_t kMaxSpecFileBytes = 4 << 20;
inline constexpr size_t kMaxJobsPerFile = 10000;
inline constexpr size_t kMaxPools = 1024;
inline constexpr int64_t kMaxClusterNodes = 1000000;
inline constexpr size_t kMaxQueues = 4096;
// Nesting of YAML collections (yaml-cpp recurses once per level).
inline constexpr int kMaxYamlDepth = 64;
// Traces and throughput tables: the whole file, and one line of it.
inline constexpr size_t kMaxTraceBytes = size_t{1} << 30;
inline constexpr size_t kMaxTraceLineBytes = 64 * 1024;
inline constexpr size_t kMaxThroughputBytes = 64 << 20;

}  // namespace baton::limits
