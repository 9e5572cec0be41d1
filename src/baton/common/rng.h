// Rng: a seeded pseudo-random generator whose output is the same on every platform.
//
// std::mt19937_64's raw stream is fixed by the standard, but std::*_distribution are
// not, so byte-identical simulator output across compilers needs our own distributions.
// Not thread-safe; give each thread (or each simulated component) its own, seeded from
// the run's seed.
#pragma once

#include <cstdint>
#include <random>

namespace baton {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t NextU64() { return engine_(); }
  // Uniform in [0, 1), 53 bits of precision.
  double Uniform();
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [lo, hi] (inclusive); lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Exponential with the given mean (> 0).
  double Exponential(double mean);
  bool Bernoulli(double p) { return Uniform() < p; }
  // A new generator seeded from this one, for an independent stream.
  Rng Fork() { return Rng(NextU64()); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace baton
