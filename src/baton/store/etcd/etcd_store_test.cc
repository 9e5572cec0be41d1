// EtcdStore behaviour beyond the conformance suite: fencing, etcd's request limits, the
// key namespace, and a cluster without quorum. Each test starts its own etcd.
#include "baton/store/etcd/etcd_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <future>

#include "etcd_cluster.h"

namespace baton::store {
namespace {

using namespace std::chrono_literals;

class EtcdStoreTest : public ::testing::Test {
 protected:
  void Start(int members) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "baton_etcd_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto c = baton::testing::EtcdCluster::Start(dir_, members);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    etcd_ = std::move(*c);
  }
  void TearDown() override {
    etcd_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<EtcdStore> Open(std::string prefix = "baton/",
                                  std::chrono::milliseconds timeout = 5s) {
    EtcdStoreOptions opts;
    opts.etcd.endpoints = etcd_->endpoints();
    opts.etcd.request_timeout = timeout;
    opts.prefix = std::move(prefix);
    auto r = EtcdStore::Open(opts);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  std::string dir_;
  std::unique_ptr<baton::testing::EtcdCluster> etcd_;
};

// The fence is an etcd key outside the store's namespace, as the leader election uses.
TEST_F(EtcdStoreTest, DeposedLeaderWritesFail) {
  Start(1);
  auto leader = Open();
  auto election = Open("election/");  // plays the leader election
  ASSERT_NE(leader, nullptr);
  ASSERT_NE(election, nullptr);

  ASSERT_TRUE(election->Put("leader", "a", 0).ok());
  auto key = election->Get("leader");
  ASSERT_TRUE(key.ok() && key->has_value());
  const int64_t epoch_a = EtcdRevision((*key)->create_revision);
  leader->SetFence({"election/leader", epoch_a});
  EXPECT_TRUE(leader->Put("jobs/1", "x").ok());

  // The election key goes (lease expired) and another replica creates it: a new epoch.
  ASSERT_TRUE(election->Delete("leader").ok());
  ASSERT_TRUE(election->Put("leader", "b", 0).ok());
  const int64_t rev_before = leader->Revision();

  auto put = leader->Put("jobs/2", "y");
  EXPECT_EQ(put.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(put.status().message().find("fenced"), std::string::npos) << put.status().message();
  Txn txn;
  txn.ops = {Op{Op::kPut, "jobs/3", "z"}, Op{Op::kDelete, "jobs/1", ""}};
  auto t = leader->Txn(txn);
  EXPECT_EQ(t.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(leader->Delete("jobs/1").status().code(), StatusCode::kFailedPrecondition);
  // Nothing was written; reads still work.
  EXPECT_EQ(leader->Revision(), rev_before);
  auto jobs = leader->List("jobs/");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].key, "jobs/1");

  // A CAS that fails on its own compare while the fence holds is a plain conflict.
  auto b = election->Get("leader");
  leader->SetFence({"election/leader", EtcdRevision((*b)->create_revision)});
  EXPECT_EQ(leader->Put("jobs/1", "w", 0).status().message(), "put: key already exists");
  EXPECT_TRUE(leader->Put("jobs/2", "y").ok());
}

TEST_F(EtcdStoreTest, RequestLimitsAreClearErrorsNotPartialWrites) {
  Start(1);
  auto s = Open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->MaxTxnOps(), 128u);
  Txn big;
  for (int i = 0; i < 129; ++i) big.ops.push_back(Op{Op::kPut, "k" + std::to_string(i), "v"});
  auto r = s->Txn(big);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("--max-txn-ops"), std::string::npos);
  big.ops.pop_back();
  EXPECT_TRUE(s->Txn(big).ok());  // 128 fit

  const std::string huge(2 << 20, 'x');
  auto p = s->Put("huge", huge);
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(p.status().message().find("--max-request-bytes"), std::string::npos);
  EXPECT_EQ(*s->Get("huge"), std::nullopt);
  // Just under the limit goes through.
  EXPECT_TRUE(s->Put("big", std::string(1400 * 1024, 'y')).ok());

  // etcd's own check agrees: with our guard lifted, etcd refuses the same request.
  EtcdStoreOptions opts;
  opts.etcd.endpoints = etcd_->endpoints();
  opts.max_txn_ops = 1000;
  auto lax = EtcdStore::Open(opts);
  ASSERT_TRUE(lax.ok());
  for (int i = 128; i < 200; ++i) big.ops.push_back(Op{Op::kPut, "k" + std::to_string(i), "v"});
  auto refused = (*lax)->Txn(big);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted) << refused.status().ToString();
}

TEST_F(EtcdStoreTest, NamespacesDoNotSeeEachOther) {
  Start(1);
  EtcdStoreOptions empty;
  empty.etcd.endpoints = etcd_->endpoints();
  empty.prefix = "";
  EXPECT_EQ(EtcdStore::Open(empty).status().code(), StatusCode::kInvalidArgument);
  auto a = Open("a/");
  auto b = Open("b/");
  ASSERT_TRUE(a->Put("k", "1").ok());
  ASSERT_TRUE(b->Put("k", "2").ok());
  EXPECT_EQ((*a->Get("k"))->value, "1");
  EXPECT_EQ((*b->Get("k"))->value, "2");
  auto all = a->List("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, "k");
}

TEST_F(EtcdStoreTest, OpenFailsClearlyWhenNoMemberAnswers) {
  EtcdStoreOptions opts;
  opts.etcd.endpoints = {"127.0.0.1:" + std::to_string(baton::testing::FreeLocalPort())};
  opts.etcd.request_timeout = 2s;
  auto r = EtcdStore::Open(opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(opts.etcd.endpoints[0]), std::string::npos)
      << r.status().message();
  EXPECT_EQ(ParseEndpoints("a:1,,b:2", "--etcd-endpoints").status().message(),
            "--etcd-endpoints: empty endpoint in 'a:1,,b:2'");
  EXPECT_EQ(ParseEndpoints("a", "--etcd-endpoints").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseEndpoints("http://a:1, b:2", "x"), (std::vector<std::string>{"a:1", "b:2"}));
}

// Two of three members gone: writes fail with UNAVAILABLE naming etcd, nothing is
// half-applied, and once quorum is back the store works again.
TEST_F(EtcdStoreTest, WritesFailWithoutQuorumAndResumeAfter) {
  Start(3);
  auto s = Open("baton/", 3s);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Put("jobs/1", "a").ok());
  etcd_->Kill(1);
  etcd_->Kill(2);
  auto put = s->Put("jobs/2", "b");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kUnavailable) << put.status().ToString();
  EXPECT_NE(put.status().message().find("etcd"), std::string::npos) << put.status().message();

  ASSERT_TRUE(etcd_->Restart(1).ok());
  ASSERT_TRUE(etcd_->WaitHealthy(60s).ok());
  // The failed put may or may not have been applied (UNAVAILABLE = outcome unknown); a
  // retry makes it so either way.
  Status retried;
  for (int i = 0; i < 5 && !(retried = s->Put("jobs/2", "b").status()).ok(); ++i) {
  }
  EXPECT_TRUE(retried.ok()) << retried.ToString();
  auto jobs = s->List("jobs/");
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  EXPECT_EQ(jobs->size(), 2u);
}

// Opening while the cluster has no quorum (as a batond restarted during an etcd leader
// election does) fails at once without open_wait, and with it waits until quorum is back.
TEST_F(EtcdStoreTest, OpenWaitsForQuorumWithinOpenWait) {
  Start(3);
  etcd_->Kill(1);
  etcd_->Kill(2);
  EtcdStoreOptions opts;
  opts.etcd.endpoints = etcd_->endpoints();
  opts.etcd.request_timeout = 2s;
  auto now = EtcdStore::Open(opts);
  ASSERT_FALSE(now.ok());
  EXPECT_EQ(now.status().code(), StatusCode::kUnavailable) << now.status().ToString();
  opts.open_wait = 120s;
  auto waiting = std::async(std::launch::async, [opts] { return EtcdStore::Open(opts); });
  ASSERT_TRUE(etcd_->Restart(1).ok());
  auto r = waiting.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->Put("jobs/1", "a").ok());
}

// A watch on a member that dies resumes on another one without losing events.
TEST_F(EtcdStoreTest, WatchSurvivesMemberLoss) {
  Start(3);
  auto s = Open();
  ASSERT_NE(s, nullptr);
  auto w = s->Watch("jobs/", 0);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(s->Put("jobs/1", "a").ok());
  WatchEvent e;
  ASSERT_TRUE((*w)->Next(&e, 10s));
  EXPECT_EQ(e.kv.key, "jobs/1");
  etcd_->Kill(static_cast<int>(s->client().current()));
  ASSERT_TRUE(etcd_->WaitHealthy(60s).ok());
  Status put;
  for (int i = 0; i < 5 && !(put = s->Put("jobs/2", "b").status()).ok(); ++i) {
  }
  ASSERT_TRUE(put.ok()) << put.ToString();
  ASSERT_TRUE((*w)->Next(&e, 30s));
  EXPECT_EQ(e.kv.key, "jobs/2");
}

}  // namespace
}  // namespace baton::store
