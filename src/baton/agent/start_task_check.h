// CheckStartTask: the size limits and sanity rules a StartTask directive must meet before
// the agent acts on it (common/limits.h, docs/limits.md). The control plane only sends
// StartTasks built from validated job specs; this is the agent's own guard, so a bad or
// hostile directive becomes a FAILED_TO_START task with a message naming the field and the
// limit ("ranks: 5000; at most 1024") instead of a huge allocation, an overflow or a
// directory outside the places the agent writes to.
//
// Thread-safety: a pure function.
#pragma once

#include "baton/common/status.h"
#include "baton/v1/agent.pb.h"

namespace baton::agent {

Status CheckStartTask(const v1::StartTask& start);

}  // namespace baton::agent
