#include "baton/cli/task_runs_view.h"

#include <sstream>
#include <string>

#include <fmt/format.h>

#include "baton/cli/client.h"

namespace baton::cli {

std::string RestartScopeText(const v1::JobSpec& spec) {
  switch (spec.restart_scope()) {
    case v1::RESTART_SCOPE_ALL_TASKS: return "all-tasks";
    case v1::RESTART_SCOPE_FAILED_TASKS: return "failed-tasks";
    default: break;
  }
  const bool gang = !spec.has_gang() || spec.gang();
  return gang || spec.tasks() <= 1 ? "all-tasks (default for a gang)"
                                   : "failed-tasks (default without gang)";
}

void PrintTaskRuns(const v1::Job& job, std::ostream& out) {
  if (job.task_runs().empty()) return;
  out << "Task runs:\n";
  Table table({"TASK", "ATTEMPT", "NODE", "START", "END", "EXIT", "HOW-ENDED"});
  for (const v1::TaskRun& r : job.task_runs()) {
    table.AddRow({std::to_string(r.task_index()), std::to_string(r.attempt()), r.node(),
                  FormatTimestamp(r.start_time()),
                  r.has_end_time() ? FormatTimestamp(r.end_time()) : "-",
                  r.has_exit_code() ? std::to_string(r.exit_code()) : "-",
                  r.how_ended().empty() ? "running" : r.how_ended()});
  }
  std::ostringstream text;
  table.Print(text);
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
}

}  // namespace baton::cli
