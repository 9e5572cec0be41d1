// LeaderElection against a real single-member etcd started by the test.
#include "baton/server/leader_election.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "baton/store/etcd/etcd_store.h"
#include "etcd_cluster.h"

namespace baton::server {
namespace {

using namespace std::chrono_literals;

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "baton_le_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto c = baton::testing::EtcdCluster::Start(dir_, 1);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    etcd_ = std::move(*c);
  }
  void TearDown() override {
    etcd_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<LeaderElection> Make(std::string identity) {
    store::EtcdOptions o;
    o.endpoints = etcd_->endpoints();
    o.request_timeout = 1s;
    auto client = store::EtcdClient::Create(o);
    EXPECT_TRUE(client.ok());
    LeaderElectionOptions lo;
    lo.key = "test-election/leader";
    lo.identity = std::move(identity);
    lo.ttl_seconds = 2;
    return std::make_unique<LeaderElection>(*client, lo);
  }

  std::string dir_;
  std::unique_ptr<baton::testing::EtcdCluster> etcd_;
};

TEST_F(LeaderElectionTest, OneLeadsTheOtherTakesOverAfterResignWithANewerEpoch) {
  auto a = Make("a:1");
  auto b = Make("b:1");
  auto ea = a->Campaign(10s, nullptr);
  ASSERT_TRUE(ea.ok()) << ea.status().ToString();
  EXPECT_TRUE(a->is_leader());
  // b cannot win while a leads; it learns who leads.
  auto eb = b->Campaign(1s, nullptr);
  EXPECT_EQ(eb.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(eb.status().message().find("a:1"), std::string::npos) << eb.status().message();
  EXPECT_EQ(b->leader(), "a:1");

  auto b2 = Make("b:1");
  auto pending = std::async(std::launch::async, [&] { return b2->Campaign(30s, nullptr); });
  a->Resign();  // revokes the lease: b2 wins at once, not after the TTL
  auto won = pending.get();
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_GT(*won, *ea);
  EXPECT_FALSE(a->is_leader());
  EXPECT_TRUE(b2->is_leader());
}

TEST_F(LeaderElectionTest, LeaderThatStopsRenewingLosesTheKeyWithinTheTtl) {
  auto a = Make("a:1");
  ASSERT_TRUE(a->Campaign(10s, nullptr).ok());
  a->Stop();  // as if the process died: no resign, no more keepalives
  auto b = Make("b:1");
  const auto t0 = std::chrono::steady_clock::now();
  auto eb = b->Campaign(30s, nullptr);
  ASSERT_TRUE(eb.ok()) << eb.status().ToString();
  // TTL 2 s plus etcd's expiry sweep (0.5 s) and slack for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
}

TEST_F(LeaderElectionTest, KeyTakenAwayReportsLostAndFencesTheStore) {
  auto a = Make("a:1");
  std::promise<std::string> lost;
  auto epoch = a->Campaign(10s, [&](const std::string& why) { lost.set_value(why); });
  ASSERT_TRUE(epoch.ok());
  store::EtcdStoreOptions so;
  so.etcd.endpoints = etcd_->endpoints();
  auto s = store::EtcdStore::Open(so);
  ASSERT_TRUE(s.ok());
  (*s)->SetFence({a->key(), *epoch});
  ASSERT_TRUE((*s)->Put("jobs/1", "x").ok());

  // An operator (or a bug) deletes the election key: the leader notices at its next
  // renewal, and its writes fail at once.
  etcdserverpb::TxnRequest del;
  del.add_success()->mutable_request_delete_range()->set_key(a->key());
  ASSERT_TRUE((*s)->client().Txn(del).ok());
  EXPECT_EQ((*s)->Put("jobs/2", "y").status().code(), StatusCode::kFailedPrecondition);
  auto f = lost.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_NE(f.get().find("no longer has epoch"), std::string::npos);
  EXPECT_FALSE(a->is_leader());
}

}  // namespace
}  // namespace baton::server
