// Retries: a restarted gang is placed on healthy nodes, preferring the block its previous
// attempt ran in.
#include <fmt/format.h>
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
  // These cases are written for binpack's choices (the default is topology placement).
  void SetUp() override {
    options_.policy = "fifo+binpack";
    Open();
  }
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

std::vector<v1::Directive> Stops(const std::vector<v1::Directive>& ds) {
  std::vector<v1::Directive> out;
  for (const auto& d : ds) {
    if (d.has_stop_task()) out.push_back(d);
  }
  return out;
}

// Without gang only the failed task restarts, where it ran, after its backoff; the others
// keep running untouched, and the job shows every task's runs.
TEST_F(RetryPlacementTest, WithoutGangOnlyTheFailedTaskRestartsInPlace) {
  for (const char* n : {"n0", "n1", "n2"}) ConnectIn(n, "", std::make_shared<RecordingSink>());
  model::JobSpec spec = Spec(3, 1, /*max_attempts=*/3);
  spec.gang = false;
  spec.restart_backoff = 10s;
  auto job = SubmitSync(spec);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const JobId id(std::stoull(job->id()));
  Tick();
  std::map<int32_t, std::pair<std::string, v1::StartTask>> by_task;
  for (auto& [node, sts] : TakeStarts()) {
    for (auto& st : sts) by_task[st.task_index()] = {node, st};
  }
  ASSERT_EQ(by_task.size(), 3u);
  for (auto& [t, ns] : by_task) Msg(sessions_[ns.first], Status(ns.second, v1::TASK_STATE_RUNNING));
  ASSERT_EQ(cp_->Get(id)->state(), v1::JOB_STATE_RUNNING);

  // Task 1 fails. Nothing else is stopped; its GPU stays booked (another job waits).
  const auto& [node1, first1] = by_task[1];
  Msg(sessions_[node1], Status(first1, v1::TASK_STATE_EXITED, 3));
  cp_->Flush();
  auto waiting = SubmitSync(Spec(1, 1));
  Tick();
  for (auto& [name, sink] : sinks_) EXPECT_TRUE(Stops(sink->Take()).empty()) << name;
  v1::Job j = *cp_->Get(id);
  EXPECT_EQ(j.state(), v1::JOB_STATE_STARTING);
  ASSERT_EQ(j.attempts_size(), 2);
  EXPECT_EQ(j.attempts(0).end_reason(), "task-failed");
  EXPECT_EQ(j.attempts(1).task_attempts(0), 1);
  EXPECT_EQ(j.attempts(1).task_attempts(1), 2);
  EXPECT_NE(j.reason().find("restarting only task 1"), std::string::npos) << j.reason();
  EXPECT_NE(j.reason().find("restart backoff"), std::string::npos) << j.reason();
  // Not before the backoff; then one start, on the same node and GPUs, as attempt 2.
  std::vector<int64_t> all;
  for (auto& [n, sess] : sessions_) all.push_back(sess);
  Pass(9s, all);
  EXPECT_TRUE(TakeStarts().empty());
  Pass(1s, all);
  auto again = TakeStarts();
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[node1].size(), 1u);
  const v1::StartTask second1 = again[node1][0];
  EXPECT_EQ(second1.task_index(), 1);
  EXPECT_EQ(second1.attempt(), 2);
  EXPECT_EQ(second1.env().at("BATON_ATTEMPT"), "2");
  EXPECT_EQ(second1.gpu_indices(0), first1.gpu_indices(0));
  EXPECT_EQ(second1.env().at("MASTER_PORT"), first1.env().at("MASTER_PORT"));
  // A late duplicate of the first run's exit changes nothing.
  Msg(sessions_[node1], Status(first1, v1::TASK_STATE_EXITED, 3));
  Msg(sessions_[node1], Status(second1, v1::TASK_STATE_RUNNING));
  EXPECT_EQ(cp_->Get(id)->state(), v1::JOB_STATE_RUNNING);

  // A control-plane restart re-adopts every task under the attempt it runs under.
  cp_->Flush();
  cp_.reset();
  Open();
  sinks_.clear();
  for (auto& [t, ns] : by_task) {
    v1::Register reg = MakeRegister(ns.first, 1);
    const v1::StartTask& st = t == 1 ? second1 : ns.second;
    *reg.add_tasks() = Status(st, v1::TASK_STATE_RUNNING).task_status();
    auto sink = std::make_shared<RecordingSink>();
    sinks_[ns.first] = sink;
    sessions_[ns.first] = Connect(ns.first, 1, sink, reg);
  }
  Tick();
  for (auto& [name, sink] : sinks_) {
    auto ds = sink->Take();
    EXPECT_TRUE(Stops(ds).empty()) << name;
    EXPECT_TRUE(Starts(ds).empty()) << name;
  }
  EXPECT_EQ(cp_->Get(id)->state(), v1::JOB_STATE_RUNNING);
  // Everyone exits 0: succeeded, with each task's runs and how they ended.
  for (auto& [t, ns] : by_task) {
    Msg(sessions_[ns.first], Status(t == 1 ? second1 : ns.second, v1::TASK_STATE_EXITED, 0));
  }
  cp_->Flush();
  j = *cp_->Get(id);
  EXPECT_EQ(j.state(), v1::JOB_STATE_SUCCEEDED);
  std::vector<std::string> runs;
  for (const auto& r : j.task_runs()) {
    runs.push_back(fmt::format("{}@{}:{}", r.task_index(), r.attempt(), r.how_ended()));
  }
  EXPECT_EQ(runs, (std::vector<std::string>{"0@1:exited 0", "1@1:exited with code 3",
                                            "1@2:exited 0", "2@1:exited 0"}));
  (void)waiting;
}

}  // namespace
}  // namespace baton::server
