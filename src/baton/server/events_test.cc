#include "baton/server/events.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "baton/server/control_plane.h"
#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace {

using namespace std::chrono_literals;

v1::Event Ev(v1::EventType type, std::string job, std::string node = "") {
  v1::Event e;
  e.set_type(type);
  e.set_job_id(std::move(job));
  e.set_node(std::move(node));
  return e;
}

std::vector<int64_t> Seqs(const std::vector<v1::Event>& evs) {
  std::vector<int64_t> out;
  for (const auto& e : evs) out.push_back(e.sequence());
  return out;
}

TEST(EventLogTest, KeepsTheNewestUpToCapacityInOrder) {
  EventLog log(3);
  for (int i = 0; i < 5; ++i) log.Append(Ev(v1::EVENT_TYPE_JOB_SUBMITTED, "1"), Time(1s));
  EventLog::Page p = log.List({}, 0);
  EXPECT_EQ(Seqs(p.events), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(p.last_sequence, 5);
  EXPECT_EQ(p.events[0].time().seconds(), 1);
}

TEST(EventLogTest, FiltersByJobNodeAndSequenceAndLimitsToTheNewest) {
  EventLog log;
  log.Append(Ev(v1::EVENT_TYPE_JOB_SUBMITTED, "1"), Time(1s));            // 1
  log.Append(Ev(v1::EVENT_TYPE_NODE_READY, "", "n1"), Time(2s));          // 2
  log.Append(Ev(v1::EVENT_TYPE_JOB_NODE_LOST, "1", "n1"), Time(3s));      // 3
  log.Append(Ev(v1::EVENT_TYPE_JOB_SUBMITTED, "2"), Time(4s));            // 4
  EXPECT_EQ(Seqs(log.List({"1", "", 0}, 0).events), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(Seqs(log.List({"", "n1", 0}, 0).events), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Seqs(log.List({"", "", 2}, 0).events), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Seqs(log.List({}, 2).events), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(log.List({"9", "", 0}, 0).events.empty());
}

TEST(EventLogTest, SubscribersGetTheHistoryThenLiveEventsUntilUnsubscribed) {
  EventLog log;
  log.Append(Ev(v1::EVENT_TYPE_JOB_SUBMITTED, "1"), Time(1s));
  log.Append(Ev(v1::EVENT_TYPE_JOB_SUBMITTED, "2"), Time(1s));
  std::vector<int64_t> got;
  const int64_t id =
      log.Subscribe({"1", "", 0}, [&](const v1::Event& e) { got.push_back(e.sequence()); });
  log.Append(Ev(v1::EVENT_TYPE_JOB_STARTED, "1"), Time(2s));
  log.Append(Ev(v1::EVENT_TYPE_JOB_STARTED, "2"), Time(2s));
  log.Unsubscribe(id);
  log.Append(Ev(v1::EVENT_TYPE_JOB_SUCCEEDED, "1"), Time(3s));
  EXPECT_EQ(got, (std::vector<int64_t>{1, 3}));
  std::vector<int64_t> live;
  log.Subscribe({"", "", -1}, [&](const v1::Event& e) { live.push_back(e.sequence()); });
  log.Append(Ev(v1::EVENT_TYPE_JOB_SUBMITTED, "3"), Time(4s));
  EXPECT_EQ(live, (std::vector<int64_t>{6}));
}

TEST(EventLogTest, TypeNamesArePeopleReadable) {
  EXPECT_EQ(EventTypeName(v1::EVENT_TYPE_JOB_NODE_LOST), "job-node-lost");
  EXPECT_EQ(EventTypeName(v1::EVENT_TYPE_NODE_NOT_READY), "node-not-ready");
}

// The control plane records one event per lifecycle transition, with the reason.
class ControlPlaneEventsTest : public ::testing::Test {
 protected:
  class Sink : public AgentSink {
   public:
    void Send(const v1::Directive& d) override {
      std::lock_guard<std::mutex> lock(mu);
      if (d.has_start_task()) starts.push_back(d.start_task());
    }
    std::mutex mu;
    std::vector<v1::StartTask> starts;
  };

  void SetUp() override {
    cp_ = std::make_unique<ControlPlane>(ControlPlaneOptions{}, &store_, &clock_);
    ASSERT_TRUE(cp_->Recover().ok());
  }

  int64_t Connect(const std::string& name) {
    v1::Register reg;
    reg.set_node_name(name);
    reg.set_rack("r1");
    for (int i = 0; i < 8; ++i) {
      v1::AgentGpu* g = reg.mutable_inventory()->add_gpus();
      g->set_index(i);
      g->set_uuid(name + "-gpu" + std::to_string(i));
      g->set_model("H100");
      g->set_memory_mib(81920);
    }
    auto s = cp_->RegisterAgent(reg, sink_);
    EXPECT_TRUE(s.ok());
    cp_->Flush();
    return *s;
  }

  std::string Submit(int max_attempts) {
    model::JobSpec spec;
    spec.name = "t";
    spec.tasks = 1;
    spec.gpus_per_task = Quantity::Whole(8);
    spec.command = {"/bin/true"};
    spec.max_attempts = max_attempts;
    std::promise<Result<v1::Job>> p;
    cp_->Submit(std::move(spec), [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok());
    return r->id();
  }

  void Report(int64_t session, const v1::StartTask& st, v1::TaskState state, int code) {
    v1::AgentMessage m;
    v1::TaskStatus* ts = m.mutable_task_status();
    ts->set_job_id(st.job_id());
    ts->set_attempt(st.attempt());
    ts->set_task_index(st.task_index());
    ts->set_state(state);
    ts->set_exit_code(code);
    ASSERT_TRUE(cp_->OnAgentMessage(session, m).ok());
    cp_->Flush();
  }

  std::vector<std::string> Types(const EventFilter& f) {
    std::vector<std::string> out;
    for (const auto& e : cp_->events().List(f, 0).events) out.push_back(EventTypeName(e.type()));
    return out;
  }

  void Tick() {
    cp_->Tick();
    cp_->Flush();
  }

  ManualClock clock_{Time(std::chrono::seconds(1'000'000))};
  store::MemoryStore store_;
  std::unique_ptr<ControlPlane> cp_;
  std::shared_ptr<Sink> sink_ = std::make_shared<Sink>();
};

TEST_F(ControlPlaneEventsTest, JobLifecycleAndNodeLossAreEventsWithReasons) {
  EXPECT_EQ(Types({}), (std::vector<std::string>{"control-plane-started"}));
  const int64_t s = Connect("n1");
  EXPECT_EQ(Types({"", "n1", 0}), (std::vector<std::string>{"node-registered", "node-ready"}));

  const std::string job = Submit(/*max_attempts=*/2);
  Tick();
  ASSERT_EQ(sink_->starts.size(), 1u);
  Report(s, sink_->starts[0], v1::TASK_STATE_RUNNING, 0);
  Report(s, sink_->starts[0], v1::TASK_STATE_EXITED, 3);
  EXPECT_EQ(Types({job, "", 0}),
            (std::vector<std::string>{"job-submitted", "job-scheduled", "job-started",
                                      "job-task-failed", "job-restarted"}));
  auto evs = cp_->events().List({job, "", 0}, 0).events;
  EXPECT_NE(evs[1].message().find("scheduled on 1 node (n1)"), std::string::npos) << evs[1].message();
  EXPECT_NE(evs[3].message().find("exited with code 3"), std::string::npos) << evs[3].message();
  EXPECT_EQ(evs[3].attempt(), 1);
  EXPECT_NE(evs[4].message().find("attempt 2"), std::string::npos) << evs[4].message();

  // Attempt 2 runs, then the node goes silent: not-ready, then lost; the job fails (no
  // attempts left) and says why.
  Tick();
  ASSERT_EQ(sink_->starts.size(), 2u);
  Report(s, sink_->starts[1], v1::TASK_STATE_RUNNING, 0);
  // Ticks as often as the control loop's (a longer gap would count as its own stall).
  for (int i = 0; i < 15; ++i) {
    clock_.Advance(1s);
    Tick();
  }
  EXPECT_EQ(Types({"", "n1", 0}),
            (std::vector<std::string>{"node-registered", "node-ready", "node-not-ready",
                                      "node-lost", "job-node-lost"}));
  auto tail = cp_->events().List({job, "", 0}, 2).events;
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(EventTypeName(tail[0].type()), "job-node-lost");
  EXPECT_NE(tail[0].message().find("no heartbeat"), std::string::npos) << tail[0].message();
  EXPECT_EQ(EventTypeName(tail[1].type()), "job-failed");
}

TEST_F(ControlPlaneEventsTest, FleetSnapshotNamesTheJobOnEachGpuAndKeepsTelemetry) {
  const int64_t s = Connect("n1");
  v1::AgentMessage hb;
  v1::GpuTelemetry* t = hb.mutable_heartbeat()->add_gpus();
  t->set_uuid("n1-gpu3");
  t->set_utilization_percent(87);
  t->set_temperature_c(61);
  ASSERT_TRUE(cp_->OnAgentMessage(s, hb).ok());
  const std::string job = Submit(1);
  Tick();
  auto fleet = cp_->Fleet();
  ASSERT_EQ(fleet.size(), 1u);
  EXPECT_EQ(fleet[0].gpu_jobs, std::vector<std::string>(8, job));
  EXPECT_EQ(fleet[0].telemetry[3].utilization_percent(), 87);
  EXPECT_EQ(fleet[0].telemetry[3].temperature_c(), 61);
  EXPECT_EQ(fleet[0].telemetry[0].utilization_percent(), 0);
}

}  // namespace
}  // namespace baton::server
