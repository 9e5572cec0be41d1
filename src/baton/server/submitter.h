// SubmitterOf: the principal who submitted a job, as StartTask.run_as_user carries it to
// the agents (which may run the job's tasks as that user's local account; see
// docs/isolation.md). "" until jobs record their submitter (the authentication work adds
// Job.user); this is the one place to wire it.
#pragma once

#include <string>

#include "baton/model/job_lifecycle.h"

namespace baton::server {

inline std::string SubmitterOf(const model::JobRecord& job) {
  (void)job;
  return "";
}

}  // namespace baton::server
