// The Gavel-style generator follows the paper's job mix: checked on a small table over
// many draws (scale factors only for distributable types, at the stated frequencies;
// durations from the two log-uniform ranges; work = duration x reference steps/s).
#include "baton/sim/gavel_workload.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

namespace baton::sim {
namespace {

ThroughputTable SmallTable() {
  auto t = ThroughputTable::Parse(
      "job_type,scale_factor,v100_steps_per_s,k80_steps_per_s\n"
      "Dist,1,10,2\nDist,2,18,3\nDist,4,30,5\nDist,8,50,8\n"
      "Solo,1,4,1\n",
      "small.csv");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

TEST(GavelWorkloadTest, FollowsThePapersJobMix) {
  const ThroughputTable table = SmallTable();
  GavelWorkload w;
  w.jobs_per_hour = 3;
  w.jobs = 20000;
  w.seed = 7;
  auto jobs = GenerateGavel(w, table);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  ASSERT_EQ(jobs->size(), 20000u);
  std::map<int, int> dist_scale;
  int dist = 0, long_jobs = 0;
  for (size_t i = 0; i < jobs->size(); ++i) {
    const TraceJob& j = (*jobs)[i];
    if (i > 0) {
      EXPECT_GE(j.submit, (*jobs)[i - 1].submit);
    }
    const double d = ToSeconds(j.duration);
    EXPECT_GE(d, 60 * std::pow(10, 1.5) - 1e-3);
    EXPECT_LE(d, 60 * std::pow(10, 4.0) + 1e-3);
    if (d > 60000) ++long_jobs;
    if (j.job_type == "Solo") {
      EXPECT_EQ(j.gpus, 1);
      EXPECT_NEAR(j.steps, d * 4, 1e-3 * j.steps);
    } else {
      ASSERT_EQ(j.job_type, "Dist");
      ++dist;
      ++dist_scale[j.gpus];
      const double ref = j.gpus == 1 ? 10 : j.gpus == 2 ? 18 : j.gpus == 4 ? 30 : 50;
      EXPECT_NEAR(j.steps, d * ref, 1e-3 * j.steps);
    }
  }
  // Types uniform (2 types), scale factors 70/10/15/5 %, 20 % of jobs in the long range.
  EXPECT_NEAR(dist / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(dist_scale[1] / double(dist), 0.70, 0.02);
  EXPECT_NEAR(dist_scale[2] / double(dist), 0.10, 0.015);
  EXPECT_NEAR(dist_scale[4] / double(dist), 0.15, 0.015);
  EXPECT_NEAR(dist_scale[8] / double(dist), 0.05, 0.01);
  EXPECT_NEAR(long_jobs / 20000.0, 0.2, 0.015);
  // Poisson arrivals: mean gap 3600 / 3 s.
  const double span = ToSeconds(jobs->back().submit - jobs->front().submit);
  EXPECT_NEAR(span / 19999.0, 1200.0, 30.0);
}

TEST(GavelWorkloadTest, SameSeedSameJobs) {
  const ThroughputTable table = SmallTable();
  GavelWorkload w;
  w.jobs = 50;
  auto a = GenerateGavel(w, table);
  auto b = GenerateGavel(w, table);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].submit, (*b)[i].submit);
    EXPECT_EQ((*a)[i].job_type, (*b)[i].job_type);
    EXPECT_EQ((*a)[i].steps, (*b)[i].steps);
  }
}

TEST(GavelWorkloadTest, BadInput) {
  const ThroughputTable table = SmallTable();
  GavelWorkload w;
  w.jobs_per_hour = 0;
  EXPECT_NE(GenerateGavel(w, table).status().message().find("--rate"), std::string::npos);
  w.jobs_per_hour = 1;
  w.jobs = 0;
  EXPECT_NE(GenerateGavel(w, table).status().message().find("--jobs"), std::string::npos);
  w.jobs = 10;
  auto no_v100 = ThroughputTable::Parse("job_type,scale_factor,k80_steps_per_s\nA,1,1\n", "k.csv");
  ASSERT_TRUE(no_v100.ok());
  EXPECT_NE(GenerateGavel(w, *no_v100).status().message().find("reference GPU type v100"),
            std::string::npos);
  auto zero = ThroughputTable::Parse("job_type,scale_factor,v100_steps_per_s\nA,1,0\n", "z.csv");
  ASSERT_TRUE(zero.ok());
  auto r = GenerateGavel(w, *zero);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("job type 'A' at scale factor 1 has no v100 throughput"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace baton::sim
