#include "baton/sim/gavel_workload.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "baton/common/rng.h"

namespace baton::sim {
namespace {

// Scale factor for a distributable job: 1 (70%), 2 (10%), 4 (15%), 8 (5%).
int DrawScaleFactor(Rng& rng) {
  const double u = rng.Uniform();
  if (u < 0.70) return 1;
  if (u < 0.80) return 2;
  if (u < 0.95) return 4;
  return 8;
}

// Run time on the reference GPU, seconds: 60 * 10^u.
double DrawDurationS(Rng& rng) {
  const double u = rng.Bernoulli(0.8) ? rng.Uniform(1.5, 3.0) : rng.Uniform(3.0, 4.0);
  return 60.0 * std::pow(10.0, u);
}

}  // namespace

Result<std::vector<TraceJob>> GenerateGavel(const GavelWorkload& w,
                                            const ThroughputTable& table) {
  if (!(w.jobs_per_hour > 0) || !std::isfinite(w.jobs_per_hour)) {
    return InvalidArgument("--rate: must be a positive number of jobs per hour");
  }
  if (w.jobs <= 0 || w.jobs > 10'000'000) {
    return InvalidArgument("--jobs: must be between 1 and 10000000");
  }
  const auto& gpus = table.gpu_types();
  if (std::find(gpus.begin(), gpus.end(), w.reference_gpu) == gpus.end()) {
    return InvalidArgument(fmt::format(
        "{}: the gavel workload needs throughputs on the reference GPU type {}", table.source(),
        w.reference_gpu));
  }
  const std::vector<std::string> types = table.job_types();
  std::vector<bool> distributable(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    const auto sf = table.scale_factors(types[i]);
    distributable[i] = !sf.empty() && sf.back() > 1;
  }
  Rng arrivals(w.seed);
  Rng mix = arrivals.Fork();
  std::vector<TraceJob> out;
  out.reserve(static_cast<size_t>(w.jobs));
  double t = 0;
  for (int64_t i = 0; i < w.jobs; ++i) {
    t += arrivals.Exponential(3600.0 / w.jobs_per_hour);
    const size_t type = static_cast<size_t>(mix.UniformInt(0, static_cast<int64_t>(types.size()) - 1));
    const int scale = distributable[type] ? DrawScaleFactor(mix) : 1;
    const double duration_s = DrawDurationS(mix);
    const auto ref = table.Get(types[type], scale, w.reference_gpu);
    if (!ref || !(*ref > 0)) {
      return InvalidArgument(fmt::format(
          "{}: job type '{}' at scale factor {} has no {} throughput; the gavel workload "
          "needs one for every distributable type at scale factors 1, 2, 4 and 8",
          table.source(), types[type], scale, w.reference_gpu));
    }
    TraceJob j;
    j.id = std::to_string(i + 1);
    j.line = static_cast<int>(std::min<int64_t>(i + 1, INT32_MAX));
    j.submit = Time(SecondsF(t));
    j.duration = std::max(Duration(1), SecondsF(duration_s));
    j.gpus = scale;
    j.job_type = types[type];
    j.steps = duration_s * *ref;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace baton::sim
