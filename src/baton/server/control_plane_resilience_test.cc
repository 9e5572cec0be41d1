// ControlPlane under failure: dead and silent nodes, the mass-silence and stall guards,
// agents that come back with stale state, restarts on the same store.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_fixture.h"
#include "baton/store/sqlite/sqlite_store.h"

namespace baton::server {
namespace {

using namespace std::chrono_literals;
using namespace testing_fixture;

class ResilienceTest : public ControlPlaneTest {
 protected:
  v1::Job MustGet(const v1::Job& job) {
    auto j = cp_->Get(JobId(std::stoull(job.id())));
    EXPECT_TRUE(j.ok());
    return j.ok() ? *j : v1::Job{};
  }
};

TEST_F(ResilienceTest, DeadNodeIsLostWithinTenSecondsAndTheWholeGangRestarts) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto c = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  const int64_t sb = Connect("node-b", 1, b);
  const int64_t sc = Connect("node-c", 1, c);
  auto job = SubmitSync(Spec(2, 1, /*max_attempts=*/3));
  Tick();
  std::map<int64_t, std::vector<v1::StartTask>> starts{
      {sa, Starts(a->Take())}, {sb, Starts(b->Take())}, {sc, Starts(c->Take())}};
  std::vector<int64_t> used, idle;
  for (auto& [s, st] : starts) (st.empty() ? idle : used).push_back(s);
  ASSERT_EQ(used.size(), 2u);
  ASSERT_EQ(idle.size(), 1u);
  for (int64_t s : used) Msg(s, Status(starts[s][0], v1::TASK_STATE_RUNNING));
  ASSERT_EQ(StateOf(*job), model::JobState::kRunning);

  // used[0] dies; the others keep heartbeating. Lost by 8.5 s, not before 8 s.
  const int64_t dead = used[0], survivor = used[1];
  Pass(7500ms, {survivor, idle[0]});
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 0u);
  Pass(1s, {survivor, idle[0]});
  ASSERT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 1u);
  // The gang lost its task there, so its survivor is stopped too: all or nothing.
  RecordingSink& survivor_sink = survivor == sa ? *a : survivor == sb ? *b : *c;
  bool stopped = false;
  for (const auto& d : survivor_sink.Take()) stopped |= d.has_stop_task();
  EXPECT_TRUE(stopped);
  v1::Job j = MustGet(*job);
  ASSERT_EQ(j.attempts_size(), 1);
  EXPECT_EQ(j.attempts(0).end_reason(), "node-lost");
  // Once the survivor confirms its task is gone, attempt 2 runs on the two live nodes.
  Msg(survivor, Status(starts[survivor][0], v1::TASK_STATE_STOPPED, 143));
  Tick();
  int restarted = 0;
  for (auto* sink : {a.get(), b.get(), c.get()}) {
    for (const auto& st : Starts(sink->Take())) {
      EXPECT_EQ(st.attempt(), 2);
      ++restarted;
    }
  }
  EXPECT_EQ(restarted, 2);
  (void)dead;
}

TEST_F(ResilienceTest, MassSilenceEvictsNothingAndLosesOnlyWhoStaysSilent) {
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<int64_t> sessions;
  for (int i = 0; i < 4; ++i) {
    sinks.push_back(std::make_shared<RecordingSink>());
    sessions.push_back(Connect("node-" + std::to_string(i), 1, sinks.back()));
  }
  std::vector<Result<v1::Job>> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(SubmitSync(Spec(1, 1, 2)));
  Tick();
  for (size_t i = 0; i < 4; ++i) {
    for (const auto& st : Starts(sinks[i]->Take())) {
      Msg(sessions[i], Status(st, v1::TASK_STATE_RUNNING));
    }
  }
  // Three of four nodes fall silent at once (say, the control plane's own switch): that
  // is more than half, so nobody is evicted; they just take no new work.
  Pass(20s, {sessions[3]});
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 0u);
  auto not_ready = cp_->Nodes(v1::NODE_STATE_NOT_READY);
  ASSERT_EQ(not_ready.size(), 3u);
  EXPECT_NE(not_ready[0].reason().find("evictions suspended"), std::string::npos)
      << not_ready[0].reason();
  EXPECT_TRUE(cp_->Stats().evictions_suspended);
  for (const auto& j : jobs) EXPECT_EQ(StateOf(*j), model::JobState::kRunning);

  // The network heals for two of them; node-0 stays silent and is now a single failure.
  Pass(1s, {sessions[1], sessions[2], sessions[3]});
  EXPECT_FALSE(cp_->Stats().evictions_suspended);
  auto lost = cp_->Nodes(v1::NODE_STATE_LOST);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].name(), "node-0");
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_READY).size(), 3u);
}

TEST_F(ResilienceTest, AStalledControlPlaneOrAClockJumpIsNotTheAgentsSilence) {
  auto a = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  auto job = SubmitSync(Spec(1, 1));
  Tick();
  Msg(sa, Status(Starts(a->Take()).at(0), v1::TASK_STATE_RUNNING));
  // The whole control plane was paused (SIGSTOP) or the clock stepped an hour forward:
  // the next check sees everyone silent for an hour.
  clock_.Advance(1h);
  Tick();
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 0u);
  EXPECT_EQ(cp_->Stats().stalls_detected, 1);
  EXPECT_EQ(StateOf(*job), model::JobState::kRunning);
  // A step back does nothing either, and a node that then really stays silent is lost.
  clock_.Advance(-30min);
  Tick();
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 0u);
  EXPECT_EQ(cp_->Stats().stalls_detected, 2);
  Pass(9s, {});
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 1u);
}

TEST_F(ResilienceTest, ALostNodeThatComesBackStopsItsStaleTasksBeforeTakingWork) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  const int64_t sb = Connect("node-b", 1, b);
  auto job = SubmitSync(Spec(1, 1, /*max_attempts=*/2));
  Tick();
  auto on_a = Starts(a->Take());
  auto on_b = Starts(b->Take());
  ASSERT_EQ(on_a.size() + on_b.size(), 1u);
  // Name the node the job landed on "x" and the other "y".
  const bool x_is_a = !on_a.empty();
  RecordingSink& x = x_is_a ? *a : *b;
  RecordingSink& y = x_is_a ? *b : *a;
  const int64_t sx = x_is_a ? sa : sb, sy = x_is_a ? sb : sa;
  const std::string x_name = x_is_a ? "node-a" : "node-b";
  const v1::StartTask first = x_is_a ? on_a[0] : on_b[0];
  Msg(sx, Status(first, v1::TASK_STATE_RUNNING));

  // x is paused (SIGSTOP) long enough to be lost; the job moves to y as attempt 2.
  Pass(9s, {sy});
  ASSERT_EQ(cp_->Nodes(v1::NODE_STATE_LOST).size(), 1u);
  auto moved = Starts(y.Take());
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].attempt(), 2);
  Msg(sy, Status(moved[0], v1::TASK_STATE_RUNNING));

  // x wakes up and heartbeats on its old stream: refused, it must register again.
  v1::AgentMessage hb;
  hb.mutable_heartbeat()->set_sequence(9);
  baton::Status refused = cp_->OnAgentMessage(sx, hb);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("register again"), std::string::npos) << refused.ToString();

  // It registers still running attempt 1: that task is stopped, and x takes no work
  // until it is gone, so nothing can be placed on the GPU the stale task still uses.
  v1::Register reg = MakeRegister(x_name, 1);
  *reg.add_tasks() = Status(first, v1::TASK_STATE_RUNNING).task_status();
  auto x2 = std::make_shared<RecordingSink>();
  const int64_t sx2 = Connect(x_name, 1, x2, reg);
  bool stop_sent = false;
  for (const auto& d : x2->Take()) {
    if (d.has_stop_task() && d.stop_task().attempt() == 1) stop_sent = true;
  }
  EXPECT_TRUE(stop_sent);
  auto waiting = SubmitSync(Spec(1, 1));
  Tick();
  EXPECT_TRUE(Starts(x2->Take()).empty());
  auto nodes = cp_->Nodes(v1::NODE_STATE_NOT_READY);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_NE(nodes[0].reason().find("no attempt wants"), std::string::npos) << nodes[0].reason();
  // The stale task's exit does not touch attempt 2; then x is ready and the job runs.
  Msg(sx2, Status(first, v1::TASK_STATE_STOPPED, 143));
  Tick();
  EXPECT_EQ(StateOf(*job), model::JobState::kRunning);
  auto next = Starts(x2->Take());
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job_id(), waiting->id());
  (void)x;
}

v1::AgentMessage Checkpoint(const v1::StartTask& st, const std::string& path, Time mtime) {
  v1::AgentMessage m;
  v1::CheckpointReport* cr = m.mutable_checkpoint();
  cr->set_job_id(st.job_id());
  cr->set_attempt(st.attempt());
  cr->set_task_index(st.task_index());
  cr->set_path(path);
  cr->set_mtime_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(mtime.time_since_epoch()).count());
  return m;
}

TEST_F(ResilienceTest, ARetryResumesFromTheLatestCheckpointAfterItsBackoff) {
  auto a = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  model::JobSpec spec = Spec(1, 1, /*max_attempts=*/3);
  spec.restart_backoff = 10s;
  spec.preempt_notice = 45s;
  auto job = SubmitSync(spec);
  Tick();
  auto st = Starts(a->Take()).at(0);
  EXPECT_EQ(st.env().count("BATON_RESUME_FROM"), 0u);
  EXPECT_EQ(st.env().at("BATON_PREEMPT_NOTICE"), "45");
  EXPECT_EQ(st.env().at("BATON_NODE"), "node-a");
  EXPECT_TRUE(st.watch_checkpoints());
  Msg(sa, Status(st, v1::TASK_STATE_RUNNING));
  clock_.Advance(1s);
  Msg(sa, Checkpoint(st, "/ckpt/x/step-100", clock_.Now()));
  clock_.Advance(1s);
  Msg(sa, Status(st, v1::TASK_STATE_EXITED, 1));
  cp_->Flush();
  v1::Job j = MustGet(*job);
  ASSERT_EQ(j.state(), v1::JOB_STATE_PENDING);
  EXPECT_EQ(j.checkpoint().path(), "/ckpt/x/step-100");
  EXPECT_NEAR(j.attempts(0).work_lost_s(), 1.0, 1e-6);
  EXPECT_NE(j.reason().find("restart backoff"), std::string::npos) << j.reason();
  // Not before the backoff is over.
  Pass(9s, {sa});
  EXPECT_TRUE(Starts(a->Take()).empty());
  Pass(1s, {sa});
  auto retry = Starts(a->Take());
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempt(), 2);
  EXPECT_EQ(retry[0].env().at("BATON_RESUME_FROM"), "/ckpt/x/step-100");
  EXPECT_EQ(MustGet(*job).attempts(1).resumed_from(), "/ckpt/x/step-100");
  // Durable: a restarted control plane still knows the checkpoint.
  cp_->Flush();
  cp_.reset();
  Open();
  EXPECT_EQ(MustGet(*job).checkpoint().path(), "/ckpt/x/step-100");
}

TEST_F(ResilienceTest, CheckpointsThroughTheApiAndBadReportsAreRefused) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  Connect("node-a", 1, a);
  const int64_t sb = Connect("node-b", 1, b);
  auto job = SubmitSync(Spec(1, 1));
  const JobId id(std::stoull(job->id()));
  auto report = [&](JobId jid, int32_t attempt, std::string path) {
    std::promise<Result<v1::Job>> p;
    cp_->ReportCheckpoint(jid, attempt, std::move(path),
                          [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  // Before any attempt there is nothing to attach it to.
  EXPECT_EQ(report(id, 0, "/x").status().code(), StatusCode::kInvalidArgument);
  Tick();
  auto on_a = Starts(a->Take());
  auto on_b = Starts(b->Take());
  auto r = report(id, 0, "/ckpt/1/epoch-3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->checkpoint().path(), "/ckpt/1/epoch-3");
  EXPECT_EQ(report(JobId(99), 0, "/x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(report(id, 0, "").status().code(), StatusCode::kInvalidArgument);
  // An agent may not report a checkpoint for a task placed elsewhere.
  if (!on_a.empty()) {
    Msg(sb, Checkpoint(on_a[0], "/evil", clock_.Now()));
    cp_->Flush();
    EXPECT_EQ(MustGet(*job).checkpoint().path(), "/ckpt/1/epoch-3");
  }
  (void)on_b;
}

TEST_F(ResilienceTest, DrainPreemptsGracefullyRequeuesWithoutCountingAndIsDurable) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  const int64_t sa = Connect("node-a", 1, a);
  const int64_t sb = Connect("node-b", 1, b);
  model::JobSpec spec = Spec(1, 1);
  spec.preempt_notice = 30s;
  auto job = SubmitSync(spec);
  Tick();
  auto on_a = Starts(a->Take());
  auto on_b = Starts(b->Take());
  ASSERT_EQ(on_a.size() + on_b.size(), 1u);
  const bool is_a = !on_a.empty();
  const std::string where = is_a ? "node-a" : "node-b";
  const v1::StartTask st = is_a ? on_a[0] : on_b[0];
  RecordingSink& there = is_a ? *a : *b;
  RecordingSink& other = is_a ? *b : *a;
  const int64_t s_there = is_a ? sa : sb;
  Msg(s_there, Status(st, v1::TASK_STATE_RUNNING));

  EXPECT_EQ(cp_->Drain("nope", "").status().code(), StatusCode::kNotFound);
  auto drained = cp_->Drain(where, "replace a fan");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->state(), v1::NODE_STATE_DRAINED);
  EXPECT_NE(drained->reason().find("replace a fan"), std::string::npos);
  cp_->Flush();
  // SIGTERM with the job's notice as the grace period.
  auto ds = there.Take();
  ASSERT_EQ(ds.size(), 1u);
  ASSERT_TRUE(ds[0].has_stop_task());
  EXPECT_EQ(ds[0].stop_task().grace_period_s(), 30);
  v1::Job j = MustGet(*job);
  EXPECT_EQ(j.state(), v1::JOB_STATE_PENDING);
  EXPECT_EQ(j.attempts(0).end_reason(), "preempted");
  EXPECT_FALSE(j.attempts(0).counts_toward_limit());
  // Only once the task is gone does the job run again, elsewhere (max_attempts is 1).
  Tick();
  EXPECT_TRUE(Starts(other.Take()).empty());
  Msg(s_there, Status(st, v1::TASK_STATE_STOPPED, 0));
  Tick();
  auto moved = Starts(other.Take());
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].attempt(), 2);
  // Heartbeats do not undrain it, and neither does a restart of the control plane.
  Heartbeat(s_there);
  EXPECT_EQ(cp_->Nodes(v1::NODE_STATE_DRAINED).size(), 1u);
  cp_->Flush();
  cp_.reset();
  Open();
  auto again = std::make_shared<RecordingSink>();
  Connect(where, 1, again);
  auto nodes = cp_->Nodes(v1::NODE_STATE_DRAINED);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_NE(nodes[0].reason().find("replace a fan"), std::string::npos);
  auto undrained = cp_->Undrain(where);
  ASSERT_TRUE(undrained.ok());
  EXPECT_EQ(undrained->state(), v1::NODE_STATE_READY);
}

TEST_F(ResilienceTest, AnUnreadableRecordStopsRecoveryNamingItInsteadOfDroppingTheJob) {
  auto a = std::make_shared<RecordingSink>();
  Connect("node-a", 1, a);
  auto job = SubmitSync(Spec(1, 1));
  cp_->Flush();
  ASSERT_TRUE(store_.Put(JobKey(JobId(2)), "\xff\xfe not a job record").ok());
  cp_.reset();
  ControlPlane again(options_, &store_, &clock_);
  baton::Status s = again.Recover();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("jobs/00000000000000000002"), std::string::npos) << s.ToString();
  // A record whose attempts do not add up is refused the same way.
  v1::Job bad;
  bad.set_id("3");
  bad.mutable_spec()->add_command("true");
  bad.set_state(v1::JOB_STATE_RUNNING);
  bad.add_attempts()->set_number(7);
  ASSERT_TRUE(store_.Put(JobKey(JobId(2)), bad.SerializeAsString()).ok());
  ControlPlane third(options_, &store_, &clock_);
  s = third.Recover();
  EXPECT_NE(s.message().find("attempts[0].number"), std::string::npos) << s.ToString();
  (void)job;
}

// A database damaged on disk (a torn or overwritten page) must never come back as a
// control plane that silently has fewer jobs: either it opens and every job is there,
// or opening or recovering fails with a message naming the file.
TEST(ResilienceSqliteTest, ACorruptedDatabaseNeverLosesJobsSilently) {
  const std::string dir = ::testing::TempDir() + "/baton-corrupt-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.db";
  ManualClock clock{Time(std::chrono::seconds(1'000'000))};
  constexpr int kJobs = 300;
  {
    auto store = store::SqliteStore::Open(path);
    ASSERT_TRUE(store.ok());
    ControlPlane cp(ControlPlaneOptions{}, store->get(), &clock);
    ASSERT_TRUE(cp.Recover().ok());
    for (int i = 0; i < kJobs; ++i) {
      std::promise<Result<v1::Job>> p;
      model::JobSpec spec = Spec(1, 1);
      spec.name = std::string(200, 'x');  // a few pages' worth of records
      cp.Submit(spec, [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
      ASSERT_TRUE(p.get_future().get().ok());
    }
    cp.Flush();
  }
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 8 * 4096u);
  for (uint64_t page : {size / 4096 / 2, size / 4096 - 2}) {  // a b-tree page and a leaf
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(page * 4096 + 100));
    const std::string garbage(1000, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto store = store::SqliteStore::Open(path);
  if (!store.ok()) {
    EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
  } else {
    ControlPlane cp(ControlPlaneOptions{}, store->get(), &clock);
    baton::Status s = cp.Recover();
    if (s.ok()) {
      JobFilter all;
      auto page = cp.List(all, 1000, "");
      ASSERT_TRUE(page.ok());
      EXPECT_EQ(page->jobs.size(), static_cast<size_t>(kJobs)) << "jobs dropped silently";
    } else {
      EXPECT_FALSE(s.message().empty());
      SUCCEED() << "refused: " << s.ToString();
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton::server
