// The Gavel-style synthetic workload (`baton sim --workload gavel`): the job mix of the
// Gavel paper (OSDI'20), drawn from a seed, to go with its measured throughputs
// (ThroughputTable).
//
// Jobs arrive as a Poisson process of `jobs_per_hour`. A job's type is drawn uniformly
// from the table's job types. Types the table has at scale factors above 1 are
// distributable; only they get a scale factor other than 1: 1 with probability 0.70,
// 2 with 0.10, 4 with 0.15, 8 with 0.05. The job's run time on the reference GPU type
// (v100) is 60 * 10^u seconds, u uniform in [1.5, 3] with probability 0.8, else uniform
// in [3, 4]. Its work is that time x its reference steps/s; on another GPU type it
// progresses at that type's steps/s (the simulator's business).
//
// Each job comes back as a TraceJob with gpus = scale factor, job_type, steps = work and
// duration = the reference run time. Errors: a non-positive rate, a job count out of
// range, a table without the reference GPU type or with a drawn (job type, scale factor)
// that has no reference throughput (named in the message).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/sim/throughputs.h"
#include "baton/sim/trace.h"

namespace baton::sim {

struct GavelWorkload {
  double jobs_per_hour = 1;
  int64_t jobs = 1000;
  uint64_t seed = 1;
  std::string reference_gpu = "v100";
};

Result<std::vector<TraceJob>> GenerateGavel(const GavelWorkload& w,
                                            const ThroughputTable& table);

}  // namespace baton::sim
