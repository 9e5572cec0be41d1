// Max-min fair time shares over heterogeneous GPU types, as a linear program (GLPK).
//
// Variables x[j][t] >= 0: the fraction of time job j runs on GPU type t. Job j gets
// value[j][t] (its normalized throughput on t) per unit of x, so its effective
// throughput is sum_t value[j][t] x[j][t]. The program maximizes the smallest effective
// throughput over jobs, subject to
//   sum_t x[j][t] <= 1                    (a job runs on one type at a time)
//   sum_j demand[j] x[j][t] <= capacity[t] (a type's GPUs are not oversubscribed)
// plus a small secondary term (1e-3 / jobs of the total) so that, among max-min optimal
// answers, the one with more total effective throughput wins (no idle GPU a job could
// use). value <= 0 means the job cannot run on that type (x is fixed to 0 there). With a
// single GPU type the answer is closed-form (min(1, capacity / total demand) each) and no
// LP is solved: what makes order/hetero-las cheap on homogeneous clusters.
//
// Pure: no state. GLPK keeps its environment per thread, so concurrent calls from
// different threads are fine.
#pragma once

#include <vector>

#include "baton/common/status.h"

namespace baton::sched {

struct MaxMinProblem {
  int jobs = 0;
  int types = 0;
  std::vector<double> value;     // jobs x types, row-major
  std::vector<double> demand;    // per job: GPUs held while running (> 0)
  std::vector<double> capacity;  // per type: GPUs
};

// The shares x (jobs x types, row-major). Errors: malformed sizes; GLPK failing to
// find the optimum (Internal).
Result<std::vector<double>> SolveMaxMin(const MaxMinProblem& p);

}  // namespace baton::sched
