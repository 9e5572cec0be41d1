#include "baton/server/control_plane.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "baton/server/control_plane_fixture.h"
#include "baton/store/memory/memory_store.h"
#include "baton/store/sqlite/sqlite_store.h"

namespace baton::server {
namespace {

using namespace std::chrono_literals;
using namespace testing_fixture;

TEST_F(ControlPlaneTest, JobRunsToSuccessWithTorchrunEnvironment) {
  auto sink = std::make_shared<RecordingSink>();
  const int64_t session = Connect("node-a", 8, sink);
  ASSERT_TRUE(sink->Take().front().has_registered());

  auto job = SubmitSync(Spec(1, 2));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->state(), v1::JOB_STATE_PENDING);
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 1u);
  const v1::StartTask& st = starts[0];
  EXPECT_EQ(st.attempt(), 1);
  EXPECT_EQ(st.gpu_indices_size(), 2);
  EXPECT_EQ(st.env().at("WORLD_SIZE"), "1");
  EXPECT_EQ(st.env().at("BATON_JOB_ID"), job->id());
  EXPECT_EQ(st.env().at("BATON_CHECKPOINT_DIR"), "/ckpt/" + job->id());
  EXPECT_EQ(StateOf(*job), model::JobState::kStarting);

  ASSERT_TRUE(cp_->OnAgentMessage(session, Status(st, v1::TASK_STATE_RUNNING)).ok());
  EXPECT_EQ(StateOf(*job), model::JobState::kRunning);
  ASSERT_TRUE(cp_->OnAgentMessage(session, Status(st, v1::TASK_STATE_EXITED, 0)).ok());
  cp_->Flush();
  EXPECT_EQ(StateOf(*job), model::JobState::kSucceeded);
  EXPECT_EQ(cp_->Stats().gpus_allocated, 0);
}

TEST_F(ControlPlaneTest, StartTaskCarriesTheTaskLimits) {
  auto sink = std::make_shared<RecordingSink>();
  Connect("node-a", 8, sink);
  sink->Take();
  model::JobSpec limited = Spec(1, 1);
  limited.cpus_per_task = Quantity::FromMilli(1500);
  limited.memory_bytes_per_task = int64_t{8} << 30;
  ASSERT_TRUE(SubmitSync(limited).ok());
  ASSERT_TRUE(SubmitSync(Spec(1, 1)).ok());
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].cpus(), "1.5");
  EXPECT_EQ(starts[0].memory_bytes(), int64_t{8} << 30);
  EXPECT_EQ(starts[1].cpus(), "");  // no limit
  EXPECT_EQ(starts[1].memory_bytes(), 0);
}

TEST_F(ControlPlaneTest, GangSpansTwoAgentsAllOrNothing) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  Connect("node-a", 2, a);
  Connect("node-b", 2, b);
  auto big = SubmitSync(Spec(3, 2));  // needs three nodes: can never fit two
  EXPECT_EQ(big.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(big.status().message().find("never"), std::string::npos);

  auto job = SubmitSync(Spec(2, 2));
  ASSERT_TRUE(job.ok());
  Tick();
  auto sa = Starts(a->Take());
  auto sb = Starts(b->Take());
  ASSERT_EQ(sa.size(), 1u);
  ASSERT_EQ(sb.size(), 1u);
  EXPECT_EQ(sa[0].env().at("WORLD_SIZE"), "2");
  EXPECT_NE(sa[0].env().at("NODE_RANK"), sb[0].env().at("NODE_RANK"));
  EXPECT_EQ(sa[0].env().at("MASTER_ADDR"), sb[0].env().at("MASTER_ADDR"));
  EXPECT_EQ(sa[0].env().at("MASTER_PORT"), sb[0].env().at("MASTER_PORT"));

  // A second gang waits with a reason while the first holds every GPU.
  auto second = SubmitSync(Spec(2, 2));
  Tick();
  EXPECT_TRUE(Starts(a->Take()).empty());
  auto got = cp_->Get(JobId(std::stoull(second->id())));
  EXPECT_EQ(got->state(), v1::JOB_STATE_PENDING);
  EXPECT_FALSE(got->reason().empty());
}

TEST_F(ControlPlaneTest, FailedTaskStopsTheGangAndRetriesOnlyAfterItIsGone) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  const int64_t sb = Connect("node-b", 1, b);
  auto job = SubmitSync(Spec(2, 1, /*max_attempts=*/2));
  Tick();
  auto ta = Starts(a->Take()).at(0);
  auto tb = Starts(b->Take()).at(0);
  Msg(sa, Status(ta, v1::TASK_STATE_RUNNING));
  Msg(sb, Status(tb, v1::TASK_STATE_RUNNING));
  Msg(sa, Status(ta, v1::TASK_STATE_EXITED, 3));
  cp_->Flush();
  // The other task is told to stop; no new attempt while it may still hold its GPU.
  auto stops = b->Take();
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_TRUE(stops[0].has_stop_task());
  EXPECT_EQ(StateOf(*job), model::JobState::kPending);
  Tick();
  EXPECT_TRUE(Starts(a->Take()).empty());
  Msg(sb, Status(tb, v1::TASK_STATE_STOPPED, 143));
  Tick();
  auto retry = Starts(a->Take());
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempt(), 2);
}

TEST_F(ControlPlaneTest, CancelStopsTasksAndIsDurable) {
  auto a = std::make_shared<RecordingSink>();
  Connect("node-a", 4, a);
  auto job = SubmitSync(Spec(1, 4));
  Tick();
  a->Take();
  std::promise<Result<v1::Job>> p;
  cp_->Cancel(JobId(std::stoull(job->id())), "user asked",
              [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
  auto cancelled = p.get_future().get();
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state(), v1::JOB_STATE_CANCELLED);
  auto ds = a->Take();
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_TRUE(ds[0].has_stop_task());

  std::promise<Result<v1::Job>> unknown;
  cp_->Cancel(JobId(999), "", [&](Result<v1::Job> r) { unknown.set_value(std::move(r)); });
  EXPECT_EQ(unknown.get_future().get().status().code(), StatusCode::kNotFound);
}

TEST_F(ControlPlaneTest, SilentNodeBecomesNotReadyThenLostAndItsJobRetries) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  Connect("node-b", 1, b);
  auto job = SubmitSync(Spec(1, 1, 2));
  Tick();
  auto first = Starts(a->Take());
  auto on_b = Starts(b->Take());
  ASSERT_EQ(first.size() + on_b.size(), 1u);
  const bool on_a = !first.empty();
  const int64_t silent_session = on_a ? sa : 0;
  (void)silent_session;

  // Only the node without the job keeps heartbeating.
  const int64_t healthy = on_a ? 2 : 1;
  Pass(4s, {healthy});
  auto nodes = cp_->Nodes(v1::NODE_STATE_NOT_READY);
  ASSERT_EQ(nodes.size(), 1u);
  Pass(4s, {healthy});
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 1u);
  // The job moved to the healthy node as attempt 2.
  auto moved = Starts(on_a ? b->Take() : a->Take());
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].attempt(), 2);
}

TEST_F(ControlPlaneTest, BadRegistrationsNameTheField) {
  auto sink = std::make_shared<RecordingSink>();
  v1::Register reg = MakeRegister("node-a", 2);
  reg.mutable_inventory()->mutable_gpus(1)->set_index(5);
  auto r = cp_->RegisterAgent(reg, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("gpus[1].index"), std::string::npos);

  reg = MakeRegister("bad name!", 1);
  EXPECT_FALSE(cp_->RegisterAgent(reg, sink).ok());
  reg = MakeRegister("node-b", 2);
  reg.mutable_inventory()->mutable_gpus(1)->set_model("A100");
  EXPECT_FALSE(cp_->RegisterAgent(reg, sink).ok());
  EXPECT_TRUE(cp_->Nodes(std::nullopt).empty());
}

TEST_F(ControlPlaneTest, ReportsForTasksNotPlacedOnTheNodeAreIgnored) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  Connect("node-a", 1, a);
  const int64_t sb = Connect("node-b", 1, b);
  auto job = SubmitSync(Spec(1, 1));
  Tick();
  auto st = Starts(a->Take());
  if (st.empty()) GTEST_SKIP() << "placed on node-b";
  // node-b claims node-a's task exited.
  Msg(sb, Status(st[0], v1::TASK_STATE_EXITED, 1));
  cp_->Flush();
  EXPECT_EQ(StateOf(*job), model::JobState::kStarting);
}

TEST_F(ControlPlaneTest, RestartReadoptsRunningTasksAndLosesNothing) {
  auto a = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 2, a);
  auto running = SubmitSync(Spec(1, 1));
  auto starting = SubmitSync(Spec(1, 1));
  Tick();
  auto st = Starts(a->Take());
  ASSERT_EQ(st.size(), 2u);
  Msg(sa, Status(st[0], v1::TASK_STATE_RUNNING));
  auto queued = SubmitSync(Spec(1, 2));
  cp_->Flush();

  // Crash: a new control plane on the same store.
  cp_.reset();
  Open();
  auto a2 = std::make_shared<RecordingSink>();
  v1::Register reg = MakeRegister("node-a", 2);
  *reg.add_tasks() = Status(st[0], v1::TASK_STATE_RUNNING).task_status();
  const int64_t s2 = Connect("node-a", 2, a2, reg);
  Tick();
  auto after = a2->Take();
  // The start that may never have arrived is re-sent (same attempt); nothing new starts.
  auto resent = Starts(after);
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].job_id(), st[1].job_id());
  EXPECT_EQ(resent[0].attempt(), 1);
  EXPECT_EQ(StateOf(*running), model::JobState::kRunning);
  EXPECT_EQ(StateOf(*queued), model::JobState::kPending);
  // Finishing both lets the queued job start.
  Msg(s2, Status(st[0], v1::TASK_STATE_EXITED, 0));
  Msg(s2, Status(st[1], v1::TASK_STATE_EXITED, 0));
  Tick();
  auto next = Starts(a2->Take());
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job_id(), queued->id());
  EXPECT_EQ(StateOf(*starting), model::JobState::kSucceeded);
}

TEST_F(ControlPlaneTest, UnknownTasksReportedAtRegisterAreStopped) {
  auto a = std::make_shared<RecordingSink>();
  v1::Register reg = MakeRegister("node-a", 1);
  v1::TaskStatus* ts = reg.add_tasks();
  ts->set_job_id("77");
  ts->set_attempt(1);
  ts->set_state(v1::TASK_STATE_RUNNING);
  Connect("node-a", 1, a, reg);
  auto ds = a->Take();
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_TRUE(ds[1].has_stop_task());
  EXPECT_EQ(ds[1].stop_task().job_id(), "77");
}

TEST_F(ControlPlaneTest, ListPagesNewestFirstAndWatchSeesDurableChanges) {
  std::vector<v1::JobEvent> events;
  std::mutex mu;
  cp_->Watch({}, [&](const v1::JobEvent& ev) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(ev);
  });
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(SubmitSync(Spec(1, 1)).ok());
  auto page = cp_->List({}, 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id(), "5");
  auto rest = cp_->List({}, 10, page->next_page_token);
  ASSERT_EQ(rest->jobs.size(), 3u);
  EXPECT_EQ(rest->jobs[0].id(), "3");
  EXPECT_TRUE(rest->next_page_token.empty());
  EXPECT_FALSE(cp_->List({}, 2, "garbage").ok());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_LT(events[0].sequence(), events[4].sequence());
  // Pending with no nodes: the reason says so.
  EXPECT_NE(page->jobs[0].reason().find("no agent"), std::string::npos);
}

TEST(ControlPlaneSqliteTest, JobsSurviveReopeningTheDatabase) {
  const std::string path = ::testing::TempDir() + "/cp_sqlite_test.db";
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  ManualClock clock(Time(std::chrono::seconds(5)));
  std::string id;
  {
    auto store = store::SqliteStore::Open(path);
    ASSERT_TRUE(store.ok());
    ControlPlane cp({}, store->get(), &clock);
    ASSERT_TRUE(cp.Recover().ok());
    std::promise<Result<v1::Job>> p;
    cp.Submit(Spec(1, 1), [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    auto job = p.get_future().get();
    ASSERT_TRUE(job.ok());
    id = job->id();
  }
  auto store = store::SqliteStore::Open(path);
  ASSERT_TRUE(store.ok());
  ControlPlane cp({}, store->get(), &clock);
  ASSERT_TRUE(cp.Recover().ok());
  auto job = cp.Get(JobId(std::stoull(id)));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_STATE_PENDING);
}

}  // namespace
}  // namespace baton::server

namespace baton::server {
namespace {

// A store whose writes fail while `full` is set, as on a full disk.
class FullDiskStore : public store::MemoryStore {
 public:
  std::atomic<bool> full{false};
  Result<store::TxnResult> Txn(const store::Txn& txn) override {
    if (full.load()) return ResourceExhausted("database or disk is full");
    return store::MemoryStore::Txn(txn);
  }
};

TEST(ControlPlaneFaultTest, FullDiskRefusesNewJobsAndKeepsServingAcceptedOnes) {
  FullDiskStore store;
  ManualClock clock(Time(std::chrono::seconds(100)));
  ControlPlane cp({}, &store, &clock);
  ASSERT_TRUE(cp.Recover().ok());
  auto submit = [&] {
    std::promise<Result<v1::Job>> p;
    cp.Submit(Spec(1, 1), [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  auto accepted = submit();
  ASSERT_TRUE(accepted.ok());
  store.full = true;
  auto refused = submit();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("disk is full"), std::string::npos);
  // What was accepted is still served; the refused job does not exist.
  EXPECT_TRUE(cp.Get(JobId(std::stoull(accepted->id()))).ok());
  auto page = cp.List({}, 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), 1u);
  // Transitions made while the disk is full are written once it has room again.
  auto sink = std::make_shared<RecordingSink>();
  auto session = cp.RegisterAgent(MakeRegister("node-a", 1), sink);
  ASSERT_TRUE(session.ok());
  cp.Tick();
  cp.Flush();
  EXPECT_TRUE(Starts(sink->Take()).empty());  // not durable yet: nothing sent
  store.full = false;
  cp.Tick();
  cp.Flush();
  EXPECT_EQ(Starts(sink->Take()).size(), 1u);
  EXPECT_TRUE(submit().ok());
}

}  // namespace
}  // namespace baton::server
