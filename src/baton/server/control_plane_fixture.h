// The ControlPlane test fixture: a ManualClock, a MemoryStore, recording agent sinks and
// helpers to submit, tick and report. Shared by the control-plane test files.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "baton/server/control_plane.h"
#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace testing_fixture {

using namespace std::chrono_literals;

// Records every directive sent to one agent.
class RecordingSink : public AgentSink {
 public:
  void Send(const v1::Directive& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.push_back(d);
  }
  std::vector<v1::Directive> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(sent_, {});
  }

 private:
  std::mutex mu_;
  std::vector<v1::Directive> sent_;
};

inline v1::Register MakeRegister(const std::string& name, int gpus,
                                 const std::string& model = "H100") {
  v1::Register reg;
  reg.set_node_name(name);
  reg.set_address("10.0.0." + std::to_string(name.size()));
  for (int i = 0; i < gpus; ++i) {
    v1::AgentGpu* g = reg.mutable_inventory()->add_gpus();
    g->set_index(i);
    g->set_uuid("GPU-" + name + "-" + std::to_string(i));
    g->set_model(model);
    g->set_memory_mib(81920);
  }
  return reg;
}

inline model::JobSpec Spec(int tasks, int gpus, int max_attempts = 1) {
  model::JobSpec s;
  s.name = "test";
  s.tasks = tasks;
  s.gpus_per_task = Quantity::Whole(gpus);
  s.command = {"/bin/true"};
  s.max_attempts = max_attempts;
  return s;
}

inline v1::AgentMessage Status(const v1::StartTask& st, v1::TaskState state, int code = 0) {
  v1::AgentMessage m;
  v1::TaskStatus* ts = m.mutable_task_status();
  ts->set_job_id(st.job_id());
  ts->set_attempt(st.attempt());
  ts->set_task_index(st.task_index());
  ts->set_state(state);
  ts->set_exit_code(code);
  return m;
}

inline std::vector<v1::StartTask> Starts(const std::vector<v1::Directive>& ds) {
  std::vector<v1::StartTask> out;
  for (const auto& d : ds) {
    if (d.has_start_task()) out.push_back(d.start_task());
  }
  return out;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    ControlPlaneOptions opts = options_;
    opts.checkpoint_root = "/ckpt";
    cp_ = std::make_unique<ControlPlane>(opts, &store_, &clock_);
    ASSERT_TRUE(cp_->Recover().ok());
  }

  int64_t Connect(const std::string& name, int gpus, std::shared_ptr<RecordingSink> sink,
                  v1::Register reg = {}) {
    if (reg.node_name().empty()) reg = MakeRegister(name, gpus);
    auto session = cp_->RegisterAgent(reg, sink);
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    cp_->Flush();
    return session.ok() ? *session : 0;
  }

  Result<v1::Job> SubmitSync(model::JobSpec spec) {
    std::promise<Result<v1::Job>> p;
    cp_->Submit(std::move(spec), [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  void Msg(int64_t session, const v1::AgentMessage& m) {
    baton::Status st = cp_->OnAgentMessage(session, m);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }

  void Tick() {
    cp_->Tick();
    cp_->Flush();
  }

  void Heartbeat(int64_t session) {
    v1::AgentMessage hb;
    hb.mutable_heartbeat()->set_sequence(1);
    Msg(session, hb);
  }

  // Lets `d` pass in steps of `step` as the loop would see it: the agents of `alive`
  // heartbeat and the control plane ticks after every step.
  void Pass(Duration d, const std::vector<int64_t>& alive,
            Duration step = std::chrono::milliseconds(500)) {
    for (Duration done{0}; done < d; done += step) {
      clock_.Advance(step);
      for (int64_t s : alive) Heartbeat(s);
      Tick();
    }
  }

  model::JobState StateOf(const v1::Job& job) {
    auto j = cp_->Get(JobId(std::stoull(job.id())));
    EXPECT_TRUE(j.ok());
    return *api_state(j->state());
  }
  static Result<model::JobState> api_state(v1::JobState s);

  ControlPlaneOptions options_;  // used by Open(); tests may change it first
  ManualClock clock_{Time(std::chrono::seconds(1'000'000))};
  store::MemoryStore store_;
  std::unique_ptr<ControlPlane> cp_;
};

inline Result<model::JobState> ControlPlaneTest::api_state(v1::JobState s) {
  switch (s) {
    case v1::JOB_STATE_PENDING:
      return model::JobState::kPending;
    case v1::JOB_STATE_STARTING:
      return model::JobState::kStarting;
    case v1::JOB_STATE_RUNNING:
      return model::JobState::kRunning;
    case v1::JOB_STATE_SUCCEEDED:
      return model::JobState::kSucceeded;
    case v1::JOB_STATE_FAILED:
      return model::JobState::kFailed;
    case v1::JOB_STATE_CANCELLED:
      return model::JobState::kCancelled;
    default:
      return InvalidArgument("state");
  }
}

}  // namespace testing_fixture
}  // namespace baton::server
