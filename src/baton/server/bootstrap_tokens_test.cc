#include "baton/server/bootstrap_tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace {

using ::testing::HasSubstr;

class BootstrapTokensTest : public ::testing::Test {
 protected:
  BootstrapTokensTest() : clock_(TimeFromSeconds(1'800'000'000)), tokens_(&store_, &clock_) {}
  store::MemoryStore store_;
  ManualClock clock_;
  BootstrapTokens tokens_;
};

TEST_F(BootstrapTokensTest, BadSpecsNameTheField) {
  BootstrapTokenSpec s;
  s.ttl = Duration(0);
  EXPECT_THAT(tokens_.Create(s).status().message(), HasSubstr("ttl_seconds"));
  s.ttl = kMaxBootstrapTokenTtl + Seconds(1);
  EXPECT_THAT(tokens_.Create(s).status().message(), HasSubstr("ttl_seconds"));
  s = {};
  s.uses = 0;
  EXPECT_THAT(tokens_.Create(s).status().message(), HasSubstr("uses"));
  s.uses = kMaxBootstrapTokenUses + 1;
  EXPECT_THAT(tokens_.Create(s).status().message(), HasSubstr("uses"));
  s = {};
  s.node_name = "a b";
  EXPECT_THAT(tokens_.Create(s).status().message(), HasSubstr("node_name"));
}

TEST_F(BootstrapTokensTest, OnlyTheHashIsStoredAndAUseIsSpentOnce) {
  auto t = tokens_.Create({});
  ASSERT_TRUE(t.ok());
  const std::string secret = t->token.substr(t->token.find('.') + 1);
  auto all = store_.List("pki/bootstrap/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].value.find(secret), std::string::npos);

  auto id = tokens_.Consume(t->token, "n1");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, t->id);
  auto again = tokens_.Consume(t->token, "n1");
  EXPECT_EQ(again.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(again.status().message(), HasSubstr("already used"));
}

TEST_F(BootstrapTokensTest, ExpiryAndPruning) {
  BootstrapTokenSpec s;
  s.ttl = Seconds(60);
  auto t = tokens_.Create(s);
  ASSERT_TRUE(t.ok());
  clock_.Advance(Seconds(60));
  EXPECT_THAT(tokens_.Consume(t->token, "n1").status().message(), HasSubstr("expired at"));
  // The next Create forgets it; a replay then finds nothing.
  ASSERT_TRUE(tokens_.Create({}).ok());
  EXPECT_EQ(store_.List("pki/bootstrap/")->size(), 1u);
  EXPECT_THAT(tokens_.Consume(t->token, "n1").status().message(), HasSubstr("unknown"));
}

// Two replicas (two BootstrapTokens over one store) race for single-use tokens: the
// compare-and-swap lets exactly one join win each.
TEST_F(BootstrapTokensTest, RacingReplicasSpendEachUseOnce) {
  BootstrapTokens other(&store_, &clock_);
  for (int round = 0; round < 30; ++round) {
    BootstrapTokenSpec s;
    s.uses = 2;
    auto t = tokens_.Create(s);
    ASSERT_TRUE(t.ok());
    std::atomic<int> won{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      BootstrapTokens* replica = i % 2 == 0 ? &tokens_ : &other;
      threads.emplace_back([&, replica, i] {
        if (replica->Consume(t->token, "n" + std::to_string(i)).ok()) won++;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 2) << "round " << round;
  }
}

}  // namespace
}  // namespace baton::server
