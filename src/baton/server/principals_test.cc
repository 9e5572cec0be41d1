// Principals on every Store backend (memory, SQLite, etcd): bootstrap, authentication
// (forged, unknown, revoked, expired tokens), persistence across a reopen, only hashes
// stored, and every change written with its audit record.
#include "baton/server/principals.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "baton/auth/token.h"
#include "baton/server/audit_log.h"
#include "baton/store/etcd/etcd_store.h"
#include "baton/store/memory/memory_store.h"
#include "baton/store/sqlite/sqlite_store.h"
#include "etcd_cluster.h"

namespace baton::server {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name;
  // Opens (or reopens) the store kept in `dir`; memory stores are the same object.
  std::function<store::Store*(const std::string& dir)> open;
};

class PrincipalsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("baton-principals-" + GetParam() + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (GetParam() == "etcd") {
      auto c = baton::testing::EtcdCluster::Start(dir_, 1);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      etcd_ = std::move(*c);
    }
    Reopen();
  }

  // A new store handle on the same data (a restart), and Principals loaded from it.
  void Reopen() {
    principals_.reset();
    if (GetParam() == "memory") {
      if (!store_) store_ = std::make_unique<store::MemoryStore>();
    } else if (GetParam() == "sqlite") {
      store_.reset();
      store_ = std::move(store::SqliteStore::Open(dir_ + "/state.db")).value();
    } else {
      store_.reset();
      store::EtcdStoreOptions o;
      o.etcd.endpoints = etcd_->endpoints();
      store_ = std::move(store::EtcdStore::Open(o)).value();
    }
    principals_ = std::make_unique<Principals>(store_.get(), &clock_);
    ASSERT_TRUE(principals_->Load().ok());
  }

  std::string Bootstrap() {
    auto done = principals_->Bootstrap({dir_ + "/admin.token", dir_ + "/agent.token"});
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    return auth::ReadTokenFile(dir_ + "/admin.token").value();
  }

  v1::RoleBinding Binding(v1::Role role, std::string queue) {
    v1::RoleBinding b;
    b.set_role(role);
    b.set_queue(std::move(queue));
    return b;
  }

  ManualClock clock_{TimeFromSeconds(1800000000)};
  std::string dir_;
  std::unique_ptr<baton::testing::EtcdCluster> etcd_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Principals> principals_;
};

TEST_P(PrincipalsTest, BootstrapCreatesAdminAndAgentOnceWithOwnerOnlyFiles) {
  const std::string admin = Bootstrap();
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/agent.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto who = principals_->Authenticate(admin);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->user, "admin");
  EXPECT_TRUE(who->cluster_admin());
  auto agent = principals_->Authenticate(auth::ReadTokenFile(dir_ + "/agent.token").value());
  ASSERT_TRUE(agent.ok());
  EXPECT_TRUE(agent->agent());
  // Not again: the store has users now.
  fs::remove(dir_ + "/admin.token");
  EXPECT_FALSE(principals_->Bootstrap({dir_ + "/admin.token", dir_ + "/agent.token"}).value());
  EXPECT_FALSE(fs::exists(dir_ + "/admin.token"));
  // Without anywhere to write the tokens a first start refuses, naming the flags.
  store::MemoryStore empty;
  Principals fresh(&empty, &clock_);
  auto refused = fresh.Bootstrap({"", ""});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--admin-token-file"), std::string::npos);
}

TEST_P(PrincipalsTest, ForgedUnknownMalformedRevokedAndExpiredTokensAreRefused) {
  const std::string admin = Bootstrap();
  ASSERT_TRUE(
      principals_->CreateUser("bob", {Binding(v1::ROLE_VIEWER, "team-b")}, "admin", nullptr).ok());
  auto t = principals_->CreateToken("bob", "ci", 3600, "admin", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(principals_->Authenticate(t->secret).ok());

  auto expect_refused = [&](const std::string& token, const std::string& why) {
    auto r = principals_->Authenticate(token);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << why;
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
  };
  // Forged: a known id with another secret.
  auth::ApiToken forged = auth::ParseToken(t->secret).value();
  forged.secret[0] = forged.secret[0] == 'a' ? 'b' : 'a';
  expect_refused(forged.ToString(), "not valid");
  expect_refused(auth::GenerateToken().value().ToString(), "not valid");
  expect_refused("baton_short", "malformed");

  // Expiry follows the clock.
  clock_.Advance(Seconds(3599));
  EXPECT_TRUE(principals_->Authenticate(t->secret).ok());
  clock_.Advance(Seconds(1));
  expect_refused(t->secret, "expired");

  // Revocation takes effect at once; revoking again is a no-op.
  auto t2 = principals_->CreateToken("bob", "", 0, "admin", nullptr);
  ASSERT_TRUE(t2.ok());
  EXPECT_FALSE(t2->token.has_expire_time());
  ASSERT_TRUE(principals_->Authenticate(t2->secret).ok());
  ASSERT_TRUE(principals_->Revoke(t2->token.id(), nullptr).ok());
  expect_refused(t2->secret, "revoked");
  EXPECT_TRUE(principals_->Revoke(t2->token.id(), nullptr).value().revoked());
  EXPECT_EQ(principals_->Revoke("0000000000000000", nullptr).status().code(),
            StatusCode::kNotFound);

  // Lists: live tokens by default, all with `all`.
  EXPECT_EQ(principals_->Tokens("bob", false).size(), 0u);
  EXPECT_EQ(principals_->Tokens("bob", true).size(), 2u);
  EXPECT_TRUE(principals_->Authenticate(admin).ok());
}

TEST_P(PrincipalsTest, StateSurvivesAReopenAndTheStoreHoldsNoSecret) {
  const std::string admin = Bootstrap();
  ASSERT_TRUE(
      principals_->CreateUser("alice", {Binding(v1::ROLE_SUBMITTER, "team-a")}, "admin", nullptr)
          .ok());
  ASSERT_TRUE(principals_->Bind("alice", Binding(v1::ROLE_VIEWER, "research"), nullptr).ok());
  auto t = principals_->CreateToken("alice", "laptop", 0, "admin", nullptr).value();
  auto revoked = principals_->CreateToken("alice", "old", 0, "admin", nullptr).value();
  ASSERT_TRUE(principals_->Revoke(revoked.token.id(), nullptr).ok());
  Reopen();
  auto who = principals_->Authenticate(t.secret);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->user, "alice");
  ASSERT_EQ(who->bindings.size(), 2u);
  EXPECT_EQ(BindingName(who->bindings[1]), "viewer@research");
  EXPECT_FALSE(principals_->Authenticate(revoked.secret).ok());
  EXPECT_TRUE(principals_->Authenticate(admin).ok());
  // Only hashes: no secret appears anywhere in the store.
  const std::string secret = auth::ParseToken(t.secret).value().secret;
  const std::string admin_secret = auth::ParseToken(admin).value().secret;
  auto all = store_->List("");
  ASSERT_TRUE(all.ok());
  const std::vector<store::KeyValue> kvs = *all;
  for (const auto& kv : kvs) {
    EXPECT_EQ(kv.value.find(secret), std::string::npos) << kv.key;
    EXPECT_EQ(kv.value.find(admin_secret), std::string::npos) << kv.key;
  }
}

TEST_P(PrincipalsTest, EachChangeIsWrittenWithItsAuditRecord) {
  Bootstrap();
  AuditLog audit(store_.get(), &clock_);
  AuditEntry e;
  e.user = "admin";
  e.action = "auth.create_user";
  e.object = "user/carol";
  store::Op op = audit.Record(e);
  ASSERT_TRUE(principals_->CreateUser("carol", {}, "admin", &op).ok());
  EXPECT_TRUE(store_->Get(op.key).value().has_value());
  // A refused change writes nothing, its audit record included.
  e.object = "user/carol again";
  store::Op again = audit.Record(e);
  EXPECT_EQ(principals_->CreateUser("carol", {}, "admin", &again).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(store_->Get(again.key).value().has_value());
  // Bad input names the field.
  EXPECT_NE(
      principals_->CreateUser("no spaces", {}, "admin", nullptr).status().message().find("name:"),
      std::string::npos);
  EXPECT_NE(principals_->CreateToken("carol", "", -1, "admin", nullptr)
                .status()
                .message()
                .find("ttl_seconds"),
            std::string::npos);
  EXPECT_EQ(principals_->CreateToken("nobody", "", 0, "admin", nullptr).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(principals_->Unbind("carol", Binding(v1::ROLE_VIEWER, "x"), nullptr).status().code(),
            StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, PrincipalsTest, ::testing::Values("memory", "sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace baton::server
