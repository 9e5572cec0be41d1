// One conformance suite, run against every Store backend.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "baton/store/etcd/etcd_store.h"
#include "baton/store/memory/memory_store.h"
#include "baton/store/sqlite/sqlite_store.h"
#include "baton/store/store.h"
#include "etcd_cluster.h"

namespace baton::store {
namespace {

using namespace std::chrono_literals;

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "baton_store_XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct Backend {
  std::string name;
  bool persistent;
  // Opens the store kept in dir (a fresh dir per test); persistent backends reopen the
  // same data when called again with the same dir.
  std::function<std::unique_ptr<Store>(const std::filesystem::path& dir)> open;
  // Optional: starts what the backend needs (a server) in dir before the first open; the
  // returned handle lives until the test ends.
  std::function<std::shared_ptr<void>(const std::filesystem::path& dir)> start = nullptr;
};

std::unique_ptr<Store> OpenSqlite(const std::filesystem::path& dir) {
  auto r = SqliteStore::Open((dir / "store.db").string());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

// EtcdStore against a real single-member etcd started per test (revisions start at 0 on
// a fresh cluster, as the suite expects), so each test costs about half a second more.
baton::testing::EtcdCluster* g_etcd = nullptr;

std::shared_ptr<void> StartEtcd(const std::filesystem::path& dir) {
  auto c = baton::testing::EtcdCluster::Start(dir.string(), 1);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return nullptr;
  g_etcd = c->get();
  return std::shared_ptr<baton::testing::EtcdCluster>(std::move(*c));
}

std::unique_ptr<Store> OpenEtcd(const std::filesystem::path&) {
  if (g_etcd == nullptr) return nullptr;
  EtcdStoreOptions opts;
  opts.etcd.endpoints = g_etcd->endpoints();
  auto r = EtcdStore::Open(opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().start) {
      server_ = GetParam().start(dir_.path());
      ASSERT_NE(server_, nullptr);
    }
    store_ = GetParam().open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }
  void Reopen() {
    store_.reset();
    store_ = GetParam().open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  std::optional<KeyValue> MustGet(std::string_view key) {
    auto r = store_->Get(key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }
  std::vector<std::string> Keys(std::string_view prefix, size_t limit = 0) {
    auto r = store_->List(prefix, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> keys;
    if (r.ok()) {
      for (const KeyValue& kv : *r) keys.push_back(kv.key);
    }
    return keys;
  }
  int64_t MustPut(std::string_view key, std::string_view value) {
    auto r = store_->Put(key, value);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }

  TempDir dir_;
  std::shared_ptr<void> server_;  // stopped after store_ closes, before dir_ goes
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, EmptyStore) {
  EXPECT_EQ(store_->Revision(), 0);
  EXPECT_EQ(MustGet("a"), std::nullopt);
  EXPECT_TRUE(Keys("").empty());
}

TEST_P(StoreTest, PutGetAndRevisions) {
  EXPECT_EQ(MustPut("a", "1"), 1);
  EXPECT_EQ(MustPut("b", "2"), 2);  // revisions are shared across keys
  EXPECT_EQ(MustPut("a", "3"), 3);
  EXPECT_EQ(store_->Revision(), 3);
  EXPECT_EQ(MustGet("a"), (KeyValue{"a", "3", 1, 3, 2}));
  EXPECT_EQ(MustGet("b"), (KeyValue{"b", "2", 2, 2, 1}));
  EXPECT_EQ(MustGet("c"), std::nullopt);
}

TEST_P(StoreTest, EmptyKeyAndValue) {
  EXPECT_EQ(MustPut("", ""), 1);
  EXPECT_EQ(MustGet(""), (KeyValue{"", "", 1, 1, 1}));
  EXPECT_EQ(MustPut("k", ""), 2);
  EXPECT_EQ(MustGet("k")->value, "");
  EXPECT_EQ(Keys(""), (std::vector<std::string>{"", "k"}));
}

TEST_P(StoreTest, ListSortedWithPrefixAndLimit) {
  for (const char* k : {"jobs/b", "nodes/a", "jobs/a", "jobs", "jobs/a/x", "jobt", "j"}) {
    MustPut(k, k);
  }
  EXPECT_EQ(Keys(""), (std::vector<std::string>{"j", "jobs", "jobs/a", "jobs/a/x", "jobs/b", "jobt",
                                                "nodes/a"}));
  EXPECT_EQ(Keys("jobs/"), (std::vector<std::string>{"jobs/a", "jobs/a/x", "jobs/b"}));
  // A prefix that is itself a full key includes that key.
  EXPECT_EQ(Keys("jobs/a"), (std::vector<std::string>{"jobs/a", "jobs/a/x"}));
  EXPECT_EQ(Keys("jobs"), (std::vector<std::string>{"jobs", "jobs/a", "jobs/a/x", "jobs/b"}));
  EXPECT_EQ(Keys("jobs/", 2), (std::vector<std::string>{"jobs/a", "jobs/a/x"}));
  EXPECT_EQ(Keys("", 1), (std::vector<std::string>{"j"}));
  EXPECT_TRUE(Keys("zzz").empty());
  auto all = store_->List("jobs/b");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].value, "jobs/b");
}

TEST_P(StoreTest, BinaryKeysSortByUnsignedBytes) {
  const std::string ff1("a\xff", 2);
  const std::string ff2("a\xff\xff", 3);
  const std::string nul("a\0b", 3);
  const std::string nul_only("a\0", 2);
  const std::string all_ff("\xff\xff", 2);
  for (const std::string& k : {ff2, std::string("b"), ff1, nul, std::string("a"), nul_only, all_ff,
                               std::string("a\x7f")}) {
    MustPut(k, k + "v");
  }
  EXPECT_EQ(Keys(""),
            (std::vector<std::string>{"a", nul_only, nul, "a\x7f", ff1, ff2, "b", all_ff}));
  EXPECT_EQ(Keys("a"), (std::vector<std::string>{"a", nul_only, nul, "a\x7f", ff1, ff2}));
  // Prefixes ending in 0xff have no simple successor.
  EXPECT_EQ(Keys(ff1), (std::vector<std::string>{ff1, ff2}));
  EXPECT_EQ(Keys(std::string("\xff", 1)), (std::vector<std::string>{all_ff}));
  EXPECT_EQ(Keys(nul_only), (std::vector<std::string>{nul_only, nul}));
  EXPECT_EQ(MustGet(nul)->value, nul + "v");
  EXPECT_EQ(MustGet(nul_only)->value, nul_only + "v");
  EXPECT_EQ(MustGet(std::string("a\0c", 3)), std::nullopt);
}

TEST_P(StoreTest, CompareAndSwapPut) {
  auto created = store_->Put("k", "v1", 0);  // must not exist
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(*created, 1);
  auto again = store_->Put("k", "v2", 0);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  auto stale = store_->Put("k", "v2", 7);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  auto missing = store_->Put("other", "v", 1);  // a revision CAS on an absent key fails
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Revision(), 1);  // failures write nothing
  auto swapped = store_->Put("k", "v2", 1);
  ASSERT_TRUE(swapped.ok());
  EXPECT_EQ(*swapped, 2);
  EXPECT_EQ(MustGet("k"), (KeyValue{"k", "v2", 1, 2, 2}));
  EXPECT_EQ(MustGet("other"), std::nullopt);
}

TEST_P(StoreTest, DeleteSemantics) {
  EXPECT_EQ(store_->Delete("k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Revision(), 0);
  MustPut("k", "a");  // rev 1
  MustPut("k", "b");  // rev 2
  EXPECT_EQ(store_->Delete("k", 1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(MustGet("k")->value, "b");
  auto deleted = store_->Delete("k", 2);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 3);
  EXPECT_EQ(MustGet("k"), std::nullopt);
  EXPECT_EQ(store_->Delete("k").status().code(), StatusCode::kNotFound);
  // Re-creating starts a new life: version 1, new create_revision.
  EXPECT_EQ(MustPut("k", "c"), 4);
  EXPECT_EQ(MustGet("k"), (KeyValue{"k", "c", 4, 4, 1}));
  auto unconditional = store_->Delete("k");
  ASSERT_TRUE(unconditional.ok());
  EXPECT_EQ(*unconditional, 5);
  EXPECT_EQ(store_->Revision(), 5);
}

TEST_P(StoreTest, TxnAllOrNothing) {
  MustPut("a", "1");  // rev 1
  MustPut("b", "1");  // rev 2
  store::Txn failing;
  failing.compares = {Compare{"a", Compare::kModRevisionEquals, 1},
                      Compare{"b", Compare::kModRevisionEquals, 1}};  // b is at 2
  failing.ops = {Op{Op::kPut, "a", "x"}, Op{Op::kPut, "c", "x"}};
  auto r = store_->Txn(failing);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(r->revision, 2);
  EXPECT_EQ(MustGet("a")->value, "1");
  EXPECT_EQ(MustGet("c"), std::nullopt);
  EXPECT_EQ(store_->Revision(), 2);

  store::Txn ok;
  ok.compares = {Compare{"a", Compare::kModRevisionEquals, 1}, Compare{"b", Compare::kExists, 0},
                 Compare{"c", Compare::kNotExists, 0}};
  ok.ops = {Op{Op::kPut, "a", "2"}, Op{Op::kDelete, "b", ""}, Op{Op::kPut, "c", "3"},
            Op{Op::kDelete, "absent", ""}};  // deleting an absent key in a txn is a no-op
  r = store_->Txn(ok);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->revision, 3);  // one revision for the whole txn
  EXPECT_EQ(store_->Revision(), 3);
  EXPECT_EQ(MustGet("a"), (KeyValue{"a", "2", 1, 3, 2}));
  EXPECT_EQ(MustGet("b"), std::nullopt);
  EXPECT_EQ(MustGet("c"), (KeyValue{"c", "3", 3, 3, 1}));

  store::Txn exists_fails;
  exists_fails.compares = {Compare{"b", Compare::kExists, 0}};
  exists_fails.ops = {Op{Op::kPut, "d", "4"}};
  r = store_->Txn(exists_fails);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(MustGet("d"), std::nullopt);

  store::Txn noop;  // nothing changes: no new revision
  noop.ops = {Op{Op::kDelete, "absent", ""}};
  r = store_->Txn(noop);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->revision, 3);

  store::Txn duplicate;
  duplicate.ops = {Op{Op::kPut, "x", "1"}, Op{Op::kDelete, "x", ""}};
  EXPECT_EQ(store_->Txn(duplicate).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Revision(), 3);
}

std::vector<WatchEvent> Drain(Watcher& w, size_t n) {
  std::vector<WatchEvent> out;
  WatchEvent e;
  while (out.size() < n && w.Next(&e, 10s)) out.push_back(e);
  return out;
}

TEST_P(StoreTest, WatchReplaysThenDeliversLiveEvents) {
  MustPut("jobs/a", "1");                      // rev 1
  MustPut("nodes/x", "1");                     // rev 2
  MustPut("jobs/b", "1");                      // rev 3
  ASSERT_TRUE(store_->Delete("jobs/a").ok());  // rev 4

  auto w = store_->Watch("jobs/", 1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::vector<WatchEvent> replay = Drain(**w, 2);
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0], (WatchEvent{WatchEvent::kPut, KeyValue{"jobs/b", "1", 3, 3, 1}, 3}));
  EXPECT_EQ(replay[1], (WatchEvent{WatchEvent::kDelete, KeyValue{"jobs/a", "", 0, 4, 0}, 4}));

  // Live events from another thread, including a multi-key txn under one revision.
  std::thread writer([&] {
    EXPECT_TRUE(store_->Put("nodes/y", "1").ok());  // rev 5, not watched
    EXPECT_TRUE(store_->Put("jobs/c", "1").ok());   // rev 6
    store::Txn txn;
    txn.ops = {Op{Op::kPut, "jobs/d", "1"}, Op{Op::kPut, "jobs/c", "2"}};
    EXPECT_TRUE(store_->Txn(txn).ok());  // rev 7
  });
  std::vector<WatchEvent> live = Drain(**w, 3);
  writer.join();
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[0].kv.key, "jobs/c");
  EXPECT_EQ(live[0].revision, 6);
  EXPECT_EQ(live[1].kv, (KeyValue{"jobs/d", "1", 7, 7, 1}));
  EXPECT_EQ(live[2].kv, (KeyValue{"jobs/c", "2", 6, 7, 2}));
  EXPECT_EQ(live[2].revision, 7);

  // Nothing further: Next times out.
  WatchEvent e;
  EXPECT_FALSE((*w)->Next(&e, 1ms));

  // A watch from 0 sees everything in revision order.
  auto all = store_->Watch("", 0);
  ASSERT_TRUE(all.ok());
  std::vector<WatchEvent> events = Drain(**all, 8);
  ASSERT_EQ(events.size(), 8u);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LE(events[i - 1].revision, events[i].revision);
  }
  EXPECT_EQ(events.front().revision, 1);
  EXPECT_EQ(events.back().revision, 7);
  // A watch from the current revision has nothing to replay.
  auto now = store_->Watch("", store_->Revision());
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE((*now)->Next(&e, 1ms));
}

TEST_P(StoreTest, CancelWakesBlockedNext) {
  auto w = store_->Watch("", 0);
  ASSERT_TRUE(w.ok());
  Watcher* watcher = w->get();
  bool got = true;
  std::thread reader([&] {
    WatchEvent e;
    got = watcher->Next(&e, std::chrono::hours(1));
  });
  watcher->Cancel();
  reader.join();
  EXPECT_FALSE(got);
  // Writes after the watcher is gone still succeed.
  w->reset();
  EXPECT_EQ(MustPut("k", "v"), 1);
}

TEST_P(StoreTest, ConcurrentCasIncrements) {
  constexpr int kPerThread = 100;
  ASSERT_TRUE(store_->Put("counter", "0", 0).ok());
  auto increment = [&] {
    for (int done = 0; done < kPerThread;) {
      auto cur = store_->Get("counter");
      ASSERT_TRUE(cur.ok());
      ASSERT_TRUE(cur->has_value());
      int n = std::stoi((*cur)->value);
      auto put = store_->Put("counter", std::to_string(n + 1), (*cur)->mod_revision);
      if (put.ok()) {
        ++done;
      } else {
        ASSERT_EQ(put.status().code(), StatusCode::kFailedPrecondition);
      }
    }
  };
  std::thread t1(increment);
  std::thread t2(increment);
  t1.join();
  t2.join();
  auto final_kv = MustGet("counter");
  ASSERT_TRUE(final_kv.has_value());
  EXPECT_EQ(final_kv->value, std::to_string(2 * kPerThread));
  EXPECT_EQ(final_kv->version, 2 * kPerThread + 1);
  EXPECT_EQ(store_->Revision(), 2 * kPerThread + 1);
}

TEST_P(StoreTest, PersistsAcrossReopen) {
  if (!GetParam().persistent) GTEST_SKIP() << "backend is not persistent";
  MustPut("a", "1");
  MustPut(std::string("b\0\xff", 3), "2");
  ASSERT_TRUE(store_->Delete("a").ok());
  MustPut("c", "3");  // rev 4
  Reopen();
  EXPECT_EQ(store_->Revision(), 4);
  EXPECT_EQ(MustGet("a"), std::nullopt);
  EXPECT_EQ(MustGet(std::string("b\0\xff", 3)),
            (KeyValue{std::string("b\0\xff", 3), "2", 2, 2, 1}));
  EXPECT_EQ(MustGet("c"), (KeyValue{"c", "3", 4, 4, 1}));
  EXPECT_EQ(MustPut("c", "4"), 5);
  auto w = store_->Watch("", 2);
  ASSERT_TRUE(w.ok());
  std::vector<WatchEvent> events = Drain(**w, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEvent::kDelete);
  EXPECT_EQ(events[0].revision, 3);
  EXPECT_EQ(events[2].kv, (KeyValue{"c", "4", 4, 5, 2}));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreTest,
    ::testing::Values(Backend{"Memory", false,
                              [](const std::filesystem::path&) -> std::unique_ptr<Store> {
                                return std::make_unique<MemoryStore>();
                              }},
                      Backend{"Sqlite", true, OpenSqlite},
                      Backend{"Etcd", true, OpenEtcd, StartEtcd}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST(SqliteStoreTest, OpenGarbageFileFails) {
  TempDir dir;
  const std::string path = (dir.path() / "garbage.db").string();
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not an sqlite database\n";
  }
  auto r = SqliteStore::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not a database"), std::string::npos) << r.status().message();
}

TEST(SqliteStoreTest, OpenInMissingDirectoryFails) {
  TempDir dir;
  const std::string path = (dir.path() / "no" / "such" / "store.db").string();
  auto r = SqliteStore::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
}

TEST(PrefixEndTest, Successors) {
  EXPECT_EQ(PrefixEnd(""), std::nullopt);
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::nullopt);
}

}  // namespace
}  // namespace baton::store
