// The control plane with MIG instances, GPU shares and health drains: what StartTask
// carries, what ListNodes shows, and what survives a control-plane restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using namespace testing_fixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Like testing/fake_nvml/fixtures/a100_mig.txt: GPU 0 in MIG mode with 3g.40gb, 2g.20gb
// and two 1g.10gb instances; GPU 1 whole.
v1::Register MigBox(const std::string& name) {
  v1::Register reg = MakeRegister(name, 2, "NVIDIA A100-SXM4-80GB");
  v1::AgentGpu* g0 = reg.mutable_inventory()->mutable_gpus(0);
  g0->set_mig_enabled(true);
  int n = 0;
  for (const char* p : {"3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"}) {
    v1::MigDevice* m = g0->add_mig_devices();
    m->set_uuid("MIG-" + name + "-" + std::to_string(++n));
    m->set_profile(p);
    m->set_memory_mib(9728);
  }
  return reg;
}

model::JobSpec MigSpec(const std::string& profile) {
  model::JobSpec s = Spec(1, 1);
  s.mig_profile = profile;
  return s;
}

model::JobSpec ShareSpec(int64_t milli) {
  model::JobSpec s = Spec(1, 1);
  s.gpus_per_task = Quantity::FromMilli(milli);
  return s;
}

std::vector<std::string> Uuids(const v1::StartTask& st) {
  return {st.gpu_uuids().begin(), st.gpu_uuids().end()};
}
std::vector<int> Indices(const v1::StartTask& st) {
  return {st.gpu_indices().begin(), st.gpu_indices().end()};
}

class GpuControlPlaneTest : public ControlPlaneTest {
 protected:
  v1::Node NodeNamed(const std::string& name) {
    for (const v1::Node& n : cp_->Nodes(std::nullopt)) {
      if (n.name() == name) return n;
    }
    ADD_FAILURE() << "no node " << name;
    return {};
  }
  // Marks every task of `starts` running on `session`.
  void Running(int64_t session, const std::vector<v1::StartTask>& starts) {
    for (const auto& st : starts) Msg(session, Status(st, v1::TASK_STATE_RUNNING));
  }
  v1::AgentMessage GpuEvent(int index, v1::GpuAction action, const std::string& what) {
    v1::AgentMessage m;
    v1::GpuEvent* ev = m.mutable_gpu_event();
    ev->set_kind(v1::GpuEvent::KIND_XID);
    ev->set_index(index);
    ev->set_action(action);
    ev->set_description(what);
    return m;
  }
};

TEST_F(GpuControlPlaneTest, MigJobsGetInstanceUuidsAndWholeJobsNeverTheMigGpu) {
  auto sink = std::make_shared<RecordingSink>();
  const int64_t s = Connect("mig", 2, sink, MigBox("mig"));
  Heartbeat(s);
  sink->Take();
  auto a = SubmitSync(MigSpec("1g.10gb"));
  auto b = SubmitSync(MigSpec("1g.10gb"));
  auto c = SubmitSync(MigSpec("1g.10gb"));
  auto whole = SubmitSync(Spec(1, 1));
  auto whole2 = SubmitSync(Spec(1, 1));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && whole.ok() && whole2.ok());
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 3u);
  // The two 1g.10gb instances, named by UUID, on GPU 0; the whole job on GPU 1.
  EXPECT_EQ(Uuids(starts[0]), std::vector<std::string>{"MIG-mig-3"});
  EXPECT_EQ(Indices(starts[0]), std::vector<int>{0});
  EXPECT_EQ(Uuids(starts[1]), std::vector<std::string>{"MIG-mig-4"});
  EXPECT_EQ(Indices(starts[2]), std::vector<int>{1});
  EXPECT_EQ(starts[2].gpu_uuids(0), "GPU-mig-1");
  Running(s, starts);
  const v1::Job ja = *cp_->Get(JobId(std::stoull(a->id())));
  EXPECT_THAT(ja.attempts(0).assignments(0).mig_devices(), ElementsAre("MIG-mig-3"));
  const v1::Job jc = *cp_->Get(JobId(std::stoull(c->id())));
  EXPECT_EQ(jc.state(), v1::JOB_STATE_PENDING);
  EXPECT_THAT(jc.reason(), HasSubstr("no free MIG 1g.10gb instance"));
  const v1::Job jw = *cp_->Get(JobId(std::stoull(whole2->id())));
  EXPECT_EQ(jw.state(), v1::JOB_STATE_PENDING);  // GPU 0 is never given whole

  const v1::Node n = NodeNamed("mig");
  EXPECT_EQ(n.gpus_allocated(), 2);
  EXPECT_TRUE(n.gpus(0).mig_enabled());
  ASSERT_EQ(n.gpus(0).mig_instances_size(), 4);
  EXPECT_EQ(n.gpus(0).mig_instances(2).job_id(), a->id());
  EXPECT_EQ(n.gpus(0).mig_instances(0).job_id(), "");
  EXPECT_EQ(n.gpus(1).job_id(), whole->id());

  // The first MIG task ends: its instance goes to the waiting MIG job.
  Msg(s, Status(starts[0], v1::TASK_STATE_EXITED, 0));
  Tick();
  auto next = Starts(sink->Take());
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job_id(), c->id());
  EXPECT_EQ(Uuids(next[0]), std::vector<std::string>{"MIG-mig-3"});
}

TEST_F(GpuControlPlaneTest, AProfileNoGpuOffersIsRefusedNamingTheProfilesThereAre) {
  auto sink = std::make_shared<RecordingSink>();
  Connect("mig", 2, sink, MigBox("mig"));
  auto r = SubmitSync(MigSpec("7g.80gb"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(),
              HasSubstr("no GPU in the fleet offers MIG 7g.80gb instances (MIG profiles "
                        "offered: 1g.10gb, 2g.20gb, 3g.40gb)"));
  model::JobSpec bad = MigSpec("1g10gb");
  EXPECT_THAT(SubmitSync(bad).status().message(), HasSubstr("mig: '1g10gb' is not a MIG"));
}

TEST_F(GpuControlPlaneTest, MalformedMigInventoryIsRejectedNamingTheField) {
  auto sink = std::make_shared<RecordingSink>();
  v1::Register off = MigBox("x");
  off.mutable_inventory()->mutable_gpus(0)->set_mig_enabled(false);
  v1::Register profile = MigBox("x");
  profile.mutable_inventory()->mutable_gpus(0)->mutable_mig_devices(1)->set_profile("big");
  v1::Register dup = MigBox("x");
  dup.mutable_inventory()->mutable_gpus(0)->mutable_mig_devices(1)->set_uuid("GPU-x-1");
  for (const auto& [reg, want] :
       std::vector<std::pair<v1::Register, std::string>>{
           {off, "gpus[0].mig_devices[0]: GPU 0 has MIG mode off"},
           {profile, "gpus[0].mig_devices[1].profile: 'big' is not a MIG profile"},
           {dup, "gpus[0].mig_devices[1].uuid: 'GPU-x-1' appears twice"}}) {
    auto r = cp_->RegisterAgent(reg, sink);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr(want));
  }
  EXPECT_TRUE(cp_->Nodes(std::nullopt).empty());
}

TEST_F(GpuControlPlaneTest, FractionalJobsShareOneGpuWithTheirShareInTheEnvironment) {
  auto sink = std::make_shared<RecordingSink>();
  const int64_t s = Connect("box", 2, sink);
  sink->Take();
  auto h1 = SubmitSync(ShareSpec(500));
  auto h2 = SubmitSync(ShareSpec(500));
  auto w1 = SubmitSync(Spec(1, 1));
  auto w2 = SubmitSync(Spec(1, 1));
  ASSERT_TRUE(h1.ok() && h2.ok() && w1.ok() && w2.ok());
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(Indices(starts[0]), std::vector<int>{0});
  EXPECT_EQ(Indices(starts[1]), std::vector<int>{0});
  EXPECT_EQ(starts[0].gpu_uuids(0), "GPU-box-0");
  EXPECT_EQ(starts[0].env().at("BATON_GPU_FRACTION"), "0.5");
  EXPECT_EQ(starts[0].env().at("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), "50");
  EXPECT_EQ(Indices(starts[2]), std::vector<int>{1});
  EXPECT_EQ(starts[2].env().count("BATON_GPU_FRACTION"), 0u);
  Running(s, starts);
  EXPECT_EQ(cp_->Get(JobId(std::stoull(w2->id())))->state(), v1::JOB_STATE_PENDING);
  const v1::Node n = NodeNamed("box");
  EXPECT_EQ(n.gpus(0).shared(), "1");
  EXPECT_EQ(n.gpus(1).job_id(), w1->id());
  EXPECT_EQ(n.gpus_allocated(), 2);
  EXPECT_EQ(cp_->Queues()[0].gpus_in_use(), "2");
  // Both shares must go before the GPU is whole again.
  Msg(s, Status(starts[0], v1::TASK_STATE_EXITED, 0));
  Tick();
  EXPECT_TRUE(Starts(sink->Take()).empty());
  EXPECT_EQ(NodeNamed("box").gpus(0).shared(), "0.5");
  Msg(s, Status(starts[1], v1::TASK_STATE_EXITED, 0));
  Tick();
  auto next = Starts(sink->Take());
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job_id(), w2->id());
  EXPECT_EQ(Indices(next[0]), std::vector<int>{0});
}

TEST_F(GpuControlPlaneTest, ARestartRebooksMigInstancesAndShares) {
  auto sink = std::make_shared<RecordingSink>();
  int64_t s = Connect("mig", 2, sink, MigBox("mig"));
  auto m = SubmitSync(MigSpec("3g.40gb"));
  auto h = SubmitSync(ShareSpec(300));
  ASSERT_TRUE(m.ok() && h.ok());
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 2u);
  Running(s, starts);
  cp_->Flush();
  cp_.reset();
  Open();
  // The agent comes back still running both tasks.
  v1::Register reg = MigBox("mig");
  for (const auto& st : starts) {
    v1::TaskStatus* ts = reg.add_tasks();
    ts->set_job_id(st.job_id());
    ts->set_attempt(st.attempt());
    ts->set_task_index(st.task_index());
    ts->set_state(v1::TASK_STATE_RUNNING);
  }
  s = Connect("mig", 2, sink, reg);
  Heartbeat(s);
  Tick();
  sink->Take();
  // The 3g.40gb instance and GPU 1 (shared, 0.7 left) are still booked: another 3g job
  // and a whole GPU wait, a 0.7 share fits.
  auto m2 = SubmitSync(MigSpec("3g.40gb"));
  auto w = SubmitSync(Spec(1, 1));
  auto h2 = SubmitSync(ShareSpec(700));
  Tick();
  auto after = Starts(sink->Take());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].job_id(), h2->id());
  EXPECT_EQ(Indices(after[0]), std::vector<int>{1});
  EXPECT_EQ(cp_->Get(JobId(std::stoull(m2->id())))->state(), v1::JOB_STATE_PENDING);
  EXPECT_EQ(cp_->Get(JobId(std::stoull(w->id())))->state(), v1::JOB_STATE_PENDING);
}

TEST_F(GpuControlPlaneTest, HealthDrainsSurviveARestartAndUndrainClearsThem) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  int64_t sa = Connect("node-a", 2, a);
  int64_t sb = Connect("node-b", 2, b);
  Msg(sa, GpuEvent(1, v1::GPU_ACTION_DRAIN_NODE, "Xid 79: GPU has fallen off the bus"));
  Msg(sb, GpuEvent(1, v1::GPU_ACTION_DRAIN_GPU, "Xid 48: Double Bit ECC Error"));
  // The drain is in node-a's event stream, with why.
  bool drained_event = false;
  for (const v1::Event& e : cp_->events().List({"", "node-a", 0}, 0).events) {
    if (e.type() == v1::EVENT_TYPE_NODE_DRAINED &&
        e.message().find("Xid 79") != std::string::npos) {
      drained_event = true;
    }
  }
  EXPECT_TRUE(drained_event);
  cp_->Flush();
  cp_.reset();
  Open();
  // Before the agents are back, the records already say so.
  v1::Node na = NodeNamed("node-a");
  EXPECT_EQ(na.state(), v1::NODE_STATE_DRAINED);
  EXPECT_THAT(na.reason(), HasSubstr("Xid 79"));
  EXPECT_THAT(na.health_drain(), HasSubstr("Xid 79"));
  EXPECT_FALSE(na.health_drain_by_check());
  v1::Node nb = NodeNamed("node-b");
  EXPECT_TRUE(nb.gpus(1).drained());
  EXPECT_THAT(nb.gpus(1).health_reason(), HasSubstr("Xid 48"));
  EXPECT_FALSE(nb.gpus(0).drained());

  sa = Connect("node-a", 2, a);
  sb = Connect("node-b", 2, b);
  Heartbeat(sa);
  Heartbeat(sb);
  a->Take();
  b->Take();
  ASSERT_TRUE(SubmitSync(Spec(1, 1)).ok());
  ASSERT_TRUE(SubmitSync(Spec(1, 1)).ok());
  Tick();
  // Only GPU 0 of node-b takes work.
  auto sb_starts = Starts(b->Take());
  ASSERT_EQ(sb_starts.size(), 1u);
  EXPECT_EQ(Indices(sb_starts[0]), std::vector<int>{0});
  EXPECT_TRUE(Starts(a->Take()).empty());
  EXPECT_EQ(NodeNamed("node-a").state(), v1::NODE_STATE_DRAINED);

  // An operator's undrain clears both, durably.
  ASSERT_TRUE(cp_->Undrain("node-b").ok());
  auto undrained = cp_->Undrain("node-a");
  ASSERT_TRUE(undrained.ok());
  EXPECT_EQ(undrained->state(), v1::NODE_STATE_READY);
  Tick();
  EXPECT_EQ(Starts(a->Take()).size() + Starts(b->Take()).size(), 1u);
  cp_->Flush();
  cp_.reset();
  Open();
  EXPECT_NE(NodeNamed("node-a").state(), v1::NODE_STATE_DRAINED);
  EXPECT_FALSE(NodeNamed("node-b").gpus(1).drained());
}

}  // namespace
}  // namespace baton::server
