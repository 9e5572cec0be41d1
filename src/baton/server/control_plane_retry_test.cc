// Retries: a restarted gang is placed on healthy nodes, preferring the block its previous
// attempt ran in.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using namespace testing_fixture;

class RetryPlacementTest : public ControlPlaneTest {
 protected:
  // One GPU per node; `rack` as the agent reports it.
  int64_t ConnectIn(const std::string& name, const std::string& rack,
                    std::shared_ptr<RecordingSink> sink) {
    v1::Register reg = MakeRegister(name, 1);
    reg.set_rack(rack);
    sinks_[name] = sink;
    return sessions_[name] = Connect(name, 1, sink, reg);
  }
  // Every StartTask sent since the last call, by node.
  std::map<std::string, std::vector<v1::StartTask>> TakeStarts() {
    std::map<std::string, std::vector<v1::StartTask>> out;
    for (auto& [name, sink] : sinks_) {
      for (auto& st : Starts(sink->Take())) out[name].push_back(st);
    }
    return out;
  }
  std::vector<int64_t> AllBut(const std::string& dead) {
    std::vector<int64_t> out;
    for (auto& [name, s] : sessions_) {
      if (name != dead) out.push_back(s);
    }
    return out;
  }
  std::map<std::string, std::shared_ptr<RecordingSink>> sinks_;
  std::map<std::string, int64_t> sessions_;
};

TEST_F(RetryPlacementTest, AGangThatLostANodeRestartsInItsRackNotWhereBinpackWouldPutIt) {
  for (const char* n : {"a1", "a2"}) ConnectIn(n, "ra", std::make_shared<RecordingSink>());
  for (const char* n : {"b1", "b2", "b3"}) ConnectIn(n, "rb", std::make_shared<RecordingSink>());
  // A filler takes a1 and a2, so the gang lands in rack rb (binpack: lowest names first).
  auto filler = SubmitSync(Spec(2, 1));
  ASSERT_TRUE(filler.ok()) << filler.status().ToString();
  Tick();
  auto fs = TakeStarts();
  ASSERT_EQ(fs["a1"].size() + fs["a2"].size(), 2u);
  auto gang = SubmitSync(Spec(2, 1, /*max_attempts=*/3));
  ASSERT_TRUE(gang.ok());
  Tick();
  auto gs = TakeStarts();
  ASSERT_EQ(gs["b1"].size(), 1u);
  ASSERT_EQ(gs["b2"].size(), 1u);
  for (auto& [node, sts] : gs) {
    for (auto& st : sts) Msg(sessions_[node], Status(st, v1::TASK_STATE_RUNNING));
  }
  // The filler ends: rack ra is empty again, and binpack alone would choose a1 and a2.
  for (auto& [node, sts] : fs) {
    for (auto& st : sts) Msg(sessions_[node], Status(st, v1::TASK_STATE_EXITED, 0));
  }
  // b2 dies. Its gang's attempt 1 ends (node-lost), b1's task is stopped; once it is
  // gone, attempt 2 goes to b1 (the surviving node) and b3 (same rack), not to ra.
  Pass(9s, AllBut("b2"));
  ASSERT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 1u);
  Msg(sessions_["b1"], Status(gs["b1"][0], v1::TASK_STATE_STOPPED, 143));
  Tick();
  auto retry = TakeStarts();
  EXPECT_EQ(retry["a1"].size() + retry["a2"].size(), 0u);
  ASSERT_EQ(retry["b1"].size(), 1u);
  ASSERT_EQ(retry["b3"].size(), 1u);
  EXPECT_EQ(retry["b1"][0].attempt(), 2);
  auto j = cp_->Get(JobId(std::stoull(gang->id())));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->attempts(0).end_reason(), "node-lost");
}

TEST_F(RetryPlacementTest, WithoutRoomInItsBlockARetryGoesElsewhere) {
  ConnectIn("a1", "ra", std::make_shared<RecordingSink>());
  ConnectIn("b1", "rb", std::make_shared<RecordingSink>());
  ConnectIn("b2", "rb", std::make_shared<RecordingSink>());
  auto gang = SubmitSync(Spec(2, 1, /*max_attempts=*/3));
  ASSERT_TRUE(gang.ok());
  Tick();
  auto gs = TakeStarts();
  // binpack: a1 and b1. Make b1 the node that fails its task.
  ASSERT_EQ(gs["a1"].size(), 1u);
  ASSERT_EQ(gs["b1"].size(), 1u);
  // Another job takes b2, so b1's rack has no room for the failed task elsewhere.
  auto other = SubmitSync(Spec(1, 1));
  Tick();
  ASSERT_EQ(TakeStarts()["b2"].size(), 1u);
  Msg(sessions_["b1"], Status(gs["b1"][0], v1::TASK_STATE_EXITED, 1));
  Msg(sessions_["a1"], Status(gs["a1"][0], v1::TASK_STATE_STOPPED, 143));
  Tick();
  // The near block {a1} plus its rack cannot hold 2 tasks: the policy places it, on
  // a1 and b1 (the failed task's node is only avoided as a preference).
  auto retry = TakeStarts();
  EXPECT_EQ(retry["a1"].size() + retry["b1"].size(), 2u);
  (void)other;
}

}  // namespace
}  // namespace baton::server
