#include "baton/common/id_bitset.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "baton/common/rng.h"

namespace baton {
namespace {

std::vector<uint32_t> Members(const IdBitset& s) {
  std::vector<uint32_t> out;
  for (uint32_t id = s.FindFirst(); id != IdBitset::kNone; id = s.FindNext(id + 1)) {
    out.push_back(id);
    if (out.size() > s.capacity()) break;  // a broken FindNext must not loop forever
  }
  return out;
}

TEST(IdBitsetTest, EmptyAndZeroCapacity) {
  IdBitset none;
  EXPECT_EQ(none.capacity(), 0u);
  EXPECT_EQ(none.FindFirst(), IdBitset::kNone);
  IdBitset s(10000);
  EXPECT_EQ(s.capacity(), 10000u);
  EXPECT_EQ(s.FindFirst(), IdBitset::kNone);
  EXPECT_EQ(s.FindNext(9999), IdBitset::kNone);
  EXPECT_EQ(s.FindNext(10000), IdBitset::kNone);
  EXPECT_EQ(s.FindNext(123456), IdBitset::kNone);
}

TEST(IdBitsetTest, WordAndSummaryBoundaries) {
  IdBitset s(10000);
  const std::vector<uint32_t> ids = {0, 63, 64, 4095, 4096, 9999};
  for (uint32_t id : ids) s.Insert(id);
  for (uint32_t id : ids) EXPECT_TRUE(s.Contains(id)) << id;
  EXPECT_FALSE(s.Contains(1));
  EXPECT_FALSE(s.Contains(62));
  EXPECT_FALSE(s.Contains(65));
  EXPECT_FALSE(s.Contains(4094));
  EXPECT_FALSE(s.Contains(4097));
  EXPECT_FALSE(s.Contains(9998));
  EXPECT_EQ(Members(s), ids);

  EXPECT_EQ(s.FindFirst(), 0u);
  EXPECT_EQ(s.FindNext(1), 63u);
  EXPECT_EQ(s.FindNext(63), 63u);
  EXPECT_EQ(s.FindNext(64), 64u);
  EXPECT_EQ(s.FindNext(65), 4095u);  // skips whole empty leaves via the summary
  EXPECT_EQ(s.FindNext(4095), 4095u);
  EXPECT_EQ(s.FindNext(4096), 4096u);  // first id of the second summary word
  EXPECT_EQ(s.FindNext(4097), 9999u);  // crosses summary words
  EXPECT_EQ(s.FindNext(9999), 9999u);

  s.Erase(0);
  EXPECT_EQ(s.FindFirst(), 63u);
  s.Erase(63);
  EXPECT_EQ(s.FindFirst(), 64u);
  s.Erase(64);  // leaf 1 empties: its summary bit must clear
  EXPECT_EQ(s.FindFirst(), 4095u);
  s.Erase(4095);
  EXPECT_EQ(s.FindFirst(), 4096u);
  s.Erase(4096);
  EXPECT_EQ(s.FindFirst(), 9999u);
  EXPECT_EQ(s.FindNext(5000), 9999u);
  s.Erase(9999);
  EXPECT_EQ(s.FindFirst(), IdBitset::kNone);
  EXPECT_EQ(s.FindNext(100), IdBitset::kNone);
}

TEST(IdBitsetTest, EraseKeepsOtherMembersOfTheWord) {
  IdBitset s(200);
  s.Insert(130);
  s.Insert(131);
  s.Erase(130);
  EXPECT_EQ(s.FindFirst(), 131u);  // the leaf is not empty: summary bit stays
  s.Erase(5);                      // erasing a non-member is harmless
  EXPECT_EQ(s.FindFirst(), 131u);
  s.Insert(131);  // inserting twice too
  s.Erase(131);
  EXPECT_EQ(s.FindFirst(), IdBitset::kNone);
}

TEST(IdBitsetTest, ResizeClears) {
  IdBitset s(100);
  s.Insert(42);
  s.Resize(5000);
  EXPECT_EQ(s.capacity(), 5000u);
  EXPECT_FALSE(s.Contains(42));
  EXPECT_EQ(s.FindFirst(), IdBitset::kNone);
  s.Insert(4999);
  EXPECT_EQ(s.FindNext(1), 4999u);
}

TEST(IdBitsetTest, CapacityNotAMultipleOf64) {
  IdBitset s(65);
  s.Insert(64);
  EXPECT_EQ(s.FindFirst(), 64u);
  EXPECT_EQ(s.FindNext(64), 64u);
  EXPECT_EQ(s.FindNext(65), IdBitset::kNone);
}

TEST(IdBitsetTest, MatchesStdSetUnderRandomOperations) {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    // Capacities around the 64-id leaf and 4096-id summary boundaries.
    const uint32_t capacity =
        static_cast<uint32_t>(std::vector<int64_t>{1, 64, 4096, 4097, 10000}[seed % 5]) +
        static_cast<uint32_t>(rng.UniformInt(0, 200));
    IdBitset s(capacity);
    std::set<uint32_t> ref;
    for (int step = 0; step < 20000; ++step) {
      // Cluster ids near word boundaries half of the time.
      uint32_t id;
      if (rng.Bernoulli(0.5)) {
        id = static_cast<uint32_t>(rng.UniformInt(0, capacity - 1));
      } else {
        const int64_t base = 64 * rng.UniformInt(0, (capacity - 1) / 64);
        id = static_cast<uint32_t>(
            std::min<int64_t>(capacity - 1, std::max<int64_t>(0, base + rng.UniformInt(-2, 2))));
      }
      if (rng.Bernoulli(0.55)) {
        s.Insert(id);
        ref.insert(id);
      } else {
        s.Erase(id);
        ref.erase(id);
      }
      ASSERT_EQ(s.Contains(id), ref.count(id) == 1);
      const uint32_t from = static_cast<uint32_t>(rng.UniformInt(0, capacity + 10));
      auto it = ref.lower_bound(from);
      ASSERT_EQ(s.FindNext(from), it == ref.end() ? IdBitset::kNone : *it) << "from " << from;
      ASSERT_EQ(s.FindFirst(), ref.empty() ? IdBitset::kNone : *ref.begin());
    }
    EXPECT_EQ(Members(s), std::vector<uint32_t>(ref.begin(), ref.end()));
  }
}

}  // namespace
}  // namespace baton
