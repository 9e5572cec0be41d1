// Synthetic workloads for `baton sim --workload NAME`, generated from a seed.
//
// poisson: jobs arrive as a Poisson process (exponential gaps, mean 3600/rate seconds),
// each runs for an exponentially distributed time with the given mean and asks for a
// fixed number of GPUs. With 1-GPU jobs under order/fifo this is the M/M/c queue, whose
// mean wait is known in closed form (Erlang C): the simulator is checked against it.
#pragma once

#include <cstdint>
#include <vector>

#include "baton/common/status.h"
#include "baton/sim/trace.h"

namespace baton::sim {

struct PoissonWorkload {
  double jobs_per_hour = 60;
  double mean_duration_s = 3600;
  int32_t gpus = 1;
  int64_t jobs = 1000;
  uint64_t seed = 1;
};

Result<std::vector<TraceJob>> GeneratePoisson(const PoissonWorkload& w);

// Mean time in queue of an M/M/c system: arrival rate lambda, service rate mu per server,
// c servers; requires lambda < c * mu.
double ErlangCMeanWait(double lambda, double mu, int c);

}  // namespace baton::sim
