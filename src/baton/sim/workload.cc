#include "baton/sim/workload.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "baton/common/rng.h"

namespace baton::sim {

Result<std::vector<TraceJob>> GeneratePoisson(const PoissonWorkload& w) {
  if (!(w.jobs_per_hour > 0)) return InvalidArgument("--rate: must be positive");
  if (!(w.mean_duration_s > 0)) return InvalidArgument("--mean-duration: must be positive");
  if (w.gpus <= 0) return InvalidArgument("--gpus: must be positive");
  if (w.jobs <= 0 || w.jobs > 10'000'000) {
    return InvalidArgument("--jobs: must be between 1 and 10000000");
  }
  Rng arrivals(w.seed);
  Rng durations = arrivals.Fork();
  std::vector<TraceJob> out;
  out.reserve(w.jobs);
  double t = 0;
  for (int64_t i = 0; i < w.jobs; ++i) {
    t += arrivals.Exponential(3600.0 / w.jobs_per_hour);
    TraceJob j;
    j.id = std::to_string(i + 1);
    j.line = static_cast<int>(std::min<int64_t>(i + 1, INT32_MAX));
    j.submit = Time(SecondsF(t));
    // At least a microsecond: a zero-length job is not a job.
    j.duration = std::max(Duration(1), SecondsF(durations.Exponential(w.mean_duration_s)));
    j.gpus = w.gpus;
    out.push_back(std::move(j));
  }
  return out;
}

double ErlangCMeanWait(double lambda, double mu, int c) {
  const double a = lambda / mu;  // offered load in servers
  const double rho = a / c;
  // Erlang B by its stable recurrence, then C from B.
  double b = 1.0;
  for (int k = 1; k <= c; ++k) b = a * b / (k + a * b);
  const double erlang_c = b / (1.0 - rho * (1.0 - b));
  return erlang_c / (c * mu - lambda);
}

}  // namespace baton::sim
