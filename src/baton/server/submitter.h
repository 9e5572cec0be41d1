// SubmitterOf: the principal who submitted a job, as StartTask.run_as_user carries it to
// the agents (which may run the job's tasks as that user's local account; see
// docs/isolation.md): the authenticated user recorded with the job at submission ("" for
// jobs submitted before authentication, which then run as the agent's service user).
#pragma once

#include <string>

#include "baton/model/job_lifecycle.h"

namespace baton::server {

inline std::string SubmitterOf(const model::JobRecord& job) {
  return job.user;
}

}  // namespace baton::server
