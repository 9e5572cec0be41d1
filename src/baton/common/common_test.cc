#include <gtest/gtest.h>

#include "baton/common/ids.h"
#include "baton/common/quantity.h"
#include "baton/common/rng.h"
#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Status Chain(int x, int* out) {
  BATON_ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  return Status::Ok();
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = InvalidArgument("jobs[2].gpus: must be positive");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: jobs[2].gpus: must be positive");
  EXPECT_EQ(s.WithPrefix("job.yaml").message(), "job.yaml: jobs[2].gpus: must be positive");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ResultPropagates) {
  int out = 0;
  EXPECT_TRUE(Chain(8, &out).ok());
  EXPECT_EQ(out, 4);
  Status s = Chain(7, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

TEST(IdsTest, OrderedAndDistinct) {
  JobId a(1), b(2);
  EXPECT_LT(a, b);
  EXPECT_FALSE(JobId().valid());
  EXPECT_TRUE(a.valid());
}

TEST(QuantityTest, ExactFractions) {
  auto half = Quantity::Parse("0.5");
  auto quarter = Quantity::Parse("0.25");
  ASSERT_TRUE(half.ok());
  ASSERT_TRUE(quarter.ok());
  EXPECT_EQ(*half + *quarter + *quarter, Quantity::Whole(1));
  EXPECT_EQ(Quantity::Parse("2")->milli(), 2000);
  EXPECT_EQ(Quantity::Parse("1.125")->ToString(), "1.125");
  EXPECT_EQ(Quantity::Parse("3.10")->ToString(), "3.1");
  EXPECT_FALSE(Quantity::Parse("0.0001").ok());
  EXPECT_FALSE(Quantity::Parse("abc").ok());
  EXPECT_FALSE(Quantity::Parse("").ok());
  EXPECT_FALSE(Quantity::Parse(".").ok());
  EXPECT_EQ(Quantity::Parse("-1.5")->milli(), -1500);
}

TEST(TimeTest, ManualClockAdvancesOnlyWhenTold) {
  ManualClock clock(TimeFromSeconds(100));
  EXPECT_EQ(clock.Now(), TimeFromSeconds(100));
  clock.Advance(Seconds(5));
  EXPECT_EQ(clock.Now(), TimeFromSeconds(105));
}

TEST(TimeTest, Formats) {
  EXPECT_EQ(FormatTime(TimeFromSeconds(0)), "1970-01-01 00:00:00");
  EXPECT_EQ(FormatDuration(Seconds(42)), "42s");
  EXPECT_EQ(FormatDuration(Seconds(192)), "3m12s");
  EXPECT_EQ(FormatDuration(Seconds(5 * 3600 + 120)), "5h02m");
  EXPECT_EQ(FormatDuration(Seconds(3 * 86400 + 4 * 3600)), "3d04h");
}

TEST(RngTest, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    differs |= x != c.NextU64();
  }
  EXPECT_TRUE(differs);
}

TEST(RngTest, DistributionsHaveTheRightMean) {
  Rng rng(7);
  double sum = 0, esum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    esum += rng.Exponential(3.0);
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);
  EXPECT_NEAR(esum / n, 3.0, 0.05);
  for (int i = 0; i < 1000; ++i) {
    int64_t k = rng.UniformInt(-2, 2);
    ASSERT_GE(k, -2);
    ASSERT_LE(k, 2);
  }
}

TEST(ByteSizeTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseByteSize("512Mi"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(*ParseByteSize("2k"), 2000);
  EXPECT_EQ(*ParseByteSize("7"), 7);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("Gi").ok());
  EXPECT_FALSE(ParseByteSize("-1Gi").ok());
  EXPECT_FALSE(ParseByteSize("1.0001k").ok());  // finer than Quantity allows
  EXPECT_FALSE(ParseByteSize("0.5").ok());      // half a byte
  EXPECT_FALSE(ParseByteSize("9000000Pi").ok());  // overflows int64
  EXPECT_EQ(FormatByteSize(int64_t{16} << 30), "16Gi");
  EXPECT_EQ(FormatByteSize(1536), "1536");
  EXPECT_EQ(FormatByteSize(int64_t{3} << 29), "1536Mi");
  EXPECT_EQ(FormatByteSize(0), "0");
}

}  // namespace
}  // namespace baton

namespace baton {
namespace {

TEST(MonotonicClockTest, NeverGoesBack) {
  MonotonicClock clock;
  Time last = clock.Now();
  for (int i = 0; i < 1000; ++i) {
    const Time now = clock.Now();
    EXPECT_GE(now, last);
    last = now;
  }
}

}  // namespace
}  // namespace baton
