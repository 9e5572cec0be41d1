// The Xid table: what baton does about each NVIDIA Xid error, after NVIDIA's published
// Xid catalog. docs/gpu-health.md is the same table for operators; keep them together.
//
// Actions, mildest first: ignore (record it), restart the task (the error hit the
// application, the GPU is fine), drain the GPU (the GPU needs a reset or repair; its
// tasks fail and it takes no new work), drain the node (the machine needs attention:
// every task on it fails, it takes no new work).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "baton/agent/gpu/gpu_discovery.h"
#include "baton/v1/agent.pb.h"

namespace baton::agent {

struct XidRule {
  uint64_t xid;
  v1::GpuAction action;
  std::string_view meaning;  // the catalog's short description
};

// The rule for `xid`. Xids not in the table: ignore, with meaning "unknown Xid".
XidRule ClassifyXid(uint64_t xid);

// The GpuEvent message for an NVML event report (action from the table; ECC double-bit
// drains the GPU, single-bit is ignored).
v1::GpuEvent ToGpuEvent(const GpuEventReport& report);

}  // namespace baton::agent
