// `baton show`'s per-task view of a job whose failed tasks restart on their own
// (RESTART_SCOPE_FAILED_TASKS): every run of every task, the attempt it ran under, where,
// and how it ended (Job.task_runs, computed by the control plane).
#pragma once

#include <ostream>

#include "baton/v1/types.pb.h"

namespace baton::cli {

// "all-tasks", "failed-tasks" (or the default the job gets: "all-tasks (default for a
// gang)", "failed-tasks (default without gang)").
std::string RestartScopeText(const v1::JobSpec& spec);

// Prints "Task runs:" and a table, or nothing when the job has no task runs.
void PrintTaskRuns(const v1::Job& job, std::ostream& out);

}  // namespace baton::cli
