// Size limits on what agents send the control plane (common/limits.h, docs/limits.md).
//
// ControlPlane::RegisterAgent and OnAgentMessage call these first: a Register or message
// with a list or string beyond its limit is refused with InvalidArgument naming the field
// and the limit ("heartbeat.gpus: 100 entries; at most 64"), which ends that agent's stream
// and nothing else. Well-behaved agents stay within them (the agent bounds its own text).
//
// Not responsible for the meaning of the fields (RegisterAgent validates the inventory).
// Thread-safety: pure functions.
#pragma once

#include "baton/common/status.h"
#include "baton/v1/agent.pb.h"

namespace baton::server {

Status CheckRegisterLimits(const v1::Register& reg);
// Any message after Register (a Register here is checked like CheckRegisterLimits).
Status CheckAgentMessageLimits(const v1::AgentMessage& msg);

}  // namespace baton::server
