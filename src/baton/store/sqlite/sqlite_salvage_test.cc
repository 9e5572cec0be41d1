// SalvageSqlite reads what it can of a damaged SqliteStore file and never returns a wrong
// value; ReadOnlyStore serves those records and refuses every write.
#include "baton/store/sqlite/sqlite_salvage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <fmt/format.h>

#include "baton/store/read_only_store.h"
#include "baton/store/sqlite/sqlite_store.h"

namespace baton::store {
namespace {

class SalvageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/baton-salvage-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/state.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // 400 keys written twice (the second value wins), every 10th deleted afterwards; the
  // truth is what the store holds at the end.
  void Fill() {
    auto s = SqliteStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    // Batches of 20 writes per transaction (synchronous=FULL makes each one an fsync).
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 400; i += 20) {
        Txn txn;
        for (int k = i; k < i + 20; ++k) {
          txn.ops.push_back({Op::kPut, fmt::format("jobs/{:020}", k),
                             fmt::format("{}-{}-{}", round, k, std::string(150, 'v'))});
        }
        ASSERT_TRUE((*s)->Txn(txn).ok());
      }
    }
    Txn deletes;
    for (int i = 0; i < 400; i += 10) {
      deletes.ops.push_back({Op::kDelete, fmt::format("jobs/{:020}", i), ""});
    }
    ASSERT_TRUE((*s)->Txn(deletes).ok());
    auto all = (*s)->List("");
    ASSERT_TRUE(all.ok());
    for (const KeyValue& kv : *all) truth_[kv.key] = kv.value;
  }

  void Damage(uint64_t page) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(page * 4096 + 64));
    const std::string garbage(2000, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }

  std::string dir_, path_;
  std::map<std::string, std::string> truth_;
};

TEST_F(SalvageTest, AnIntactFileSalvagesToExactlyWhatTheStoreHolds) {
  Fill();
  auto r = SalvageSqlite(path_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->problems.empty());
  ASSERT_EQ(r->kvs.size(), truth_.size());  // deleted keys stay deleted
  for (const KeyValue& kv : r->kvs) EXPECT_EQ(kv.value, truth_.at(kv.key));
  EXPECT_GT(r->log_rows, 800);
}

// Whichever page is hit (kv's or log's), nothing comes back wrong and nothing is lost:
// the other table still has it. (Here pages of both tables get hit.)
TEST_F(SalvageTest, ADamagedPageLosesNothingTheOtherTableStillHas) {
  Fill();
  const std::string clean = dir_ + "/clean.db";
  std::filesystem::copy_file(path_, clean);
  const uint64_t pages = std::filesystem::file_size(path_) / 4096;
  ASSERT_GT(pages, 20u);
  int damaged_runs = 0;
  for (uint64_t page : {pages / 4, pages / 2, pages * 3 / 4, pages - 2}) {
    SCOPED_TRACE(fmt::format("page {} of {}", page, pages));
    std::filesystem::copy_file(clean, path_, std::filesystem::copy_options::overwrite_existing);
    Damage(page);
    auto r = SalvageSqlite(path_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const KeyValue& kv : r->kvs) {
      ASSERT_TRUE(truth_.count(kv.key)) << kv.key << " was deleted but came back";
      EXPECT_EQ(kv.value, truth_.at(kv.key)) << kv.key;
    }
    // One page is in one table (or an index): the other table has every record.
    EXPECT_EQ(r->kvs.size(), truth_.size());
    if (!r->problems.empty()) ++damaged_runs;
  }
  EXPECT_GT(damaged_runs, 0) << "the damage was never noticed";
}

TEST_F(SalvageTest, NotADatabaseIsAnErrorNamingTheFile) {
  {
    std::ofstream f(path_);
    f << std::string(10000, 'x');
  }
  auto r = SalvageSqlite(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path_), std::string::npos) << r.status().ToString();
  auto missing = SalvageSqlite(dir_ + "/nope/state.db");
  EXPECT_FALSE(missing.ok());
}

TEST(ReadOnlyStoreTest, ServesReadsAndRefusesEveryWrite) {
  ReadOnlyStore s({{"jobs/1", "a", 1, 3, 2}, {"jobs/2", "b", 2, 2, 1}, {"nodes/x", "n", 4, 4, 1}},
                  4, "state.db is damaged");
  auto one = s.Get("jobs/2");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->value, "b");
  auto jobs = s.List("jobs/");
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 2u);
  EXPECT_EQ(s.List("jobs/", 1)->size(), 1u);
  EXPECT_EQ(s.Revision(), 4);
  auto put = s.Put("jobs/3", "c");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(put.status().message().find("state.db is damaged"), std::string::npos);
  EXPECT_FALSE(s.Delete("jobs/1").ok());
  EXPECT_FALSE(s.Txn({}).ok());
  EXPECT_FALSE(s.Get("jobs/3")->has_value());
}

TEST(SqliteQuickCheckTest, FindsDamageNamingTheFile) {
  const std::string dir = ::testing::TempDir() + "/baton-qc-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.db";
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok());
    Txn txn;
    for (int i = 0; i < 300; ++i) {
      txn.ops.push_back({Op::kPut, fmt::format("k{:05}", i), std::string(200, 'v')});
    }
    ASSERT_TRUE((*s)->Txn(txn).ok());
    EXPECT_TRUE((*s)->QuickCheck().ok());
  }
  const uint64_t pages = std::filesystem::file_size(path) / 4096;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(pages / 2 * 4096 + 8));
    const std::string garbage(3000, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto s = SqliteStore::Open(path);
  if (s.ok()) {
    Status q = (*s)->QuickCheck();
    EXPECT_EQ(q.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(q.message().find(path), std::string::npos) << q.ToString();
  } else {
    EXPECT_NE(s.status().message().find(path), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton::store
