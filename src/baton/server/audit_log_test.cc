#include "baton/server/audit_log.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace {

using google::protobuf::util::TimeUtil;

AuditEntry Entry(std::string user, std::string action, std::string outcome = "ok") {
  AuditEntry e;
  e.user = std::move(user);
  e.action = std::move(action);
  e.object = "job/1";
  e.peer = "ipv4:127.0.0.1:1";
  e.outcome = std::move(outcome);
  return e;
}

class AuditLogTest : public ::testing::Test {
 protected:
  // Writes a change's record as a caller would: in its own transaction.
  void Write(const AuditEntry& e) {
    store::Txn txn;
    txn.ops.push_back(log_.Record(e));
    ASSERT_TRUE(store_.Txn(txn).ok());
  }
  v1::ListAuditResponse List(v1::ListAuditRequest req) {
    auto r = log_.List(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : v1::ListAuditResponse();
  }

  store::MemoryStore store_;
  ManualClock clock_{TimeFromSeconds(1800000000)};
  AuditLog log_{&store_, &clock_, AuditOptions{1, 3}};
};

TEST_F(AuditLogTest, RecordsListOldestFirstWithFilters) {
  Write(Entry("alice", "jobs.submit"));
  clock_.Advance(Seconds(10));
  Write(Entry("bob", "jobs.cancel"));
  clock_.Advance(Seconds(10));
  Write(Entry("alice", "jobs.cancel"));
  auto all = List({});
  ASSERT_EQ(all.records_size(), 3);
  EXPECT_EQ(all.records(0).action(), "jobs.submit");
  EXPECT_EQ(all.records(0).peer(), "ipv4:127.0.0.1:1");
  EXPECT_EQ(all.records(0).outcome(), "ok");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(all.records(0).time()), 1800000000);
  EXPECT_LT(all.records(0).id(), all.records(1).id());
  v1::ListAuditRequest by_user;
  by_user.set_user("alice");
  EXPECT_EQ(List(by_user).records_size(), 2);
  v1::ListAuditRequest by_action;
  by_action.set_action("jobs.cancel");
  by_action.set_user("alice");
  ASSERT_EQ(List(by_action).records_size(), 1);
  v1::ListAuditRequest since;
  *since.mutable_since() = TimeUtil::SecondsToTimestamp(1800000005);
  EXPECT_EQ(List(since).records_size(), 2);
  *since.mutable_until() = TimeUtil::SecondsToTimestamp(1800000015);
  EXPECT_EQ(List(since).records_size(), 1);
  // Older than the default day is left out unless asked for.
  clock_.Advance(Seconds(2 * 86400));
  EXPECT_EQ(List({}).records_size(), 0);
  v1::ListAuditRequest week;
  *week.mutable_since() = TimeUtil::SecondsToTimestamp(1800000000 - 7 * 86400);
  EXPECT_EQ(List(week).records_size(), 3);
}

TEST_F(AuditLogTest, PagesContinueWhereTheLastEnded) {
  for (int i = 0; i < 25; ++i) {
    Write(Entry("u" + std::to_string(i), "a"));
    clock_.Advance(Seconds(7));  // across several of List's time buckets
  }
  v1::ListAuditRequest req;
  req.set_limit(10);
  std::vector<std::string> users;
  for (int page = 0; page < 5; ++page) {
    auto r = List(req);
    for (const auto& rec : r.records()) users.push_back(rec.user());
    if (r.next_page_token().empty()) break;
    req.set_page_token(r.next_page_token());
  }
  ASSERT_EQ(users.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(users[static_cast<size_t>(i)], "u" + std::to_string(i));
  req.set_page_token("../x");
  EXPECT_EQ(log_.List(req).status().code(), StatusCode::kInvalidArgument);
  req.clear_page_token();
  req.set_limit(100000);
  EXPECT_EQ(log_.List(req).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AuditLogTest, RefusalsAreRateLimitedAndTheGapIsCounted) {
  // Burst 3, then 1 per second.
  for (int i = 0; i < 10; ++i) log_.Refuse(Entry("", "jobs.list", "denied"));
  log_.Flush();
  v1::ListAuditRequest denied;
  denied.set_outcome("denied");
  EXPECT_EQ(List(denied).records_size(), 3);
  EXPECT_EQ(log_.suppressed(), 7);
  clock_.Advance(Seconds(1));
  log_.Refuse(Entry("mallory", "jobs.get", "denied"));
  log_.Flush();
  auto r = List(denied);
  ASSERT_EQ(r.records_size(), 4);
  EXPECT_EQ(r.records(3).user(), "mallory");
  EXPECT_NE(r.records(3).detail().find("7 earlier refusal(s) not recorded"), std::string::npos)
      << r.records(3).detail();
  // Long fields are clipped, not refused.
  clock_.Advance(Seconds(10));
  AuditEntry big = Entry(std::string(10000, 'x'), "jobs.get", "denied");
  log_.Refuse(big);
  log_.Flush();
  EXPECT_EQ(List(denied).records(4).user().size(), 512u);
}

}  // namespace
}  // namespace baton::server
