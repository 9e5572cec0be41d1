// MIG instances and fractional GPUs in the scheduler: which devices each kind of request
// gets, that the two never mix with whole GPUs, and that the books (ClusterState) stay
// exact through placement, finish, preemption, drains and backfill.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "baton/common/rng.h"
#include "baton/model/mig.h"
#include "baton/sched/registry.h"
#include "baton/sched/scheduler.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

using ::testing::HasSubstr;

// Node "mig": two A100s, GPU 0 in MIG mode with 3g.40gb, 2g.20gb and two 1g.10gb
// instances (devices 2..5, as in testing/fake_nvml/fixtures/a100_mig.txt), GPU 1 whole.
// Node "plain": two whole A100s.
model::Cluster MigCluster() {
  model::NodeInventory mig;
  mig.name = "mig";
  mig.gpu_model = "A100";
  model::NodeInventory::Gpu g0;
  g0.uuid = "GPU-0";
  g0.memory_mib = 81920;
  g0.mig_enabled = true;
  g0.mig = {{"MIG-3g", "3g.40gb", 40192},
            {"MIG-2g", "2g.20gb", 19968},
            {"MIG-1a", "1g.10gb", 9728},
            {"MIG-1b", "1g.10gb", 9728}};
  model::NodeInventory::Gpu g1;
  g1.uuid = "GPU-1";
  g1.memory_mib = 81920;
  mig.gpus = {g0, g1};
  model::NodeInventory plain;
  plain.name = "plain";
  plain.gpu_model = "A100";
  plain.gpus = {{"GPU-p0", 81920, 0, false, {}}, {"GPU-p1", 81920, 0, false, {}}};
  auto c = model::Cluster::FromNodes({mig, plain});
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    std::abort();
  }
  return std::move(c).value();
}

JobRequest Whole(uint64_t id, int gpus, int tasks = 1) {
  JobRequest r;
  r.id = JobId(id);
  r.tasks = tasks;
  r.gpus_per_task = gpus;
  return r;
}

JobRequest Mig(const model::Cluster& c, uint64_t id, std::string_view profile, int count = 1) {
  JobRequest r = Whole(id, count);
  r.allowed = c.MigTypes(profile);
  r.device_milli = model::MigProfileMilli(profile);
  return r;
}

JobRequest Share(uint64_t id, int32_t milli, int tasks = 1) {
  JobRequest r = Whole(id, 1, tasks);
  r.gpu_share_milli = milli;
  return r;
}

class GpuSharingTest : public ::testing::Test {
 protected:
  explicit GpuSharingTest(model::Cluster c = MigCluster())
      : cluster_(std::move(c)), s_(cluster_, OrderNamed("fifo"), PlacementNamed("binpack"), options()) {}
  static SchedulerOptions options() {
    SchedulerOptions o;
    o.preempt_lower_priority = true;
    return o;
  }
  bool Submit(const JobRequest& r) {
    auto a = s_.Submit(r, now_);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() && a->queued;
  }
  RoundResult Round() {
    RoundResult r = s_.RunRound(now_, rng_);
    EXPECT_TRUE(StateIsConsistent(s_.state()));
    return r;
  }
  const Allocation& AllocOf(uint64_t id) { return s_.Find(JobId(id))->alloc; }
  bool Running(uint64_t id) {
    const JobInfo* j = s_.Find(JobId(id));
    return j != nullptr && j->phase == JobPhase::kRunning;
  }

  model::Cluster cluster_;
  Scheduler s_;
  Rng rng_{1};
  Time now_ = At(100);
  const NodeId kMig{0}, kPlain{1};
};

TEST_F(GpuSharingTest, TheClusterOffersInstancesNotTheirGpu) {
  const model::Node& n = cluster_.node(kMig);
  ASSERT_EQ(n.gpu_count(), 6);  // GPU 0, GPU 1, four instances
  EXPECT_EQ(n.physical_gpus, 2);
  EXPECT_TRUE(n.gpus[0].mig_enabled);
  EXPECT_EQ(n.gpus[4].parent, 0);
  EXPECT_EQ(n.gpus[4].uuid, "MIG-1a");
  EXPECT_EQ(n.kind_mask(n.gpu_type), GpuMask({1}));  // only GPU 1 whole
  const GpuTypeId one_g = cluster_.FindGpuType("A100/1g.10gb");
  ASSERT_TRUE(one_g.valid());
  EXPECT_EQ(cluster_.gpu_type(one_g).mig_profile, "1g.10gb");
  EXPECT_EQ(n.kind_mask(one_g), GpuMask({4, 5}));
  EXPECT_EQ(cluster_.MigTypes("1G.10GB"), model::GpuTypeMask{1} << one_g.value());
  EXPECT_EQ(cluster_.MigProfileNames(), "1g.10gb, 2g.20gb, 3g.40gb");
  EXPECT_EQ(cluster_.total_gpus(), 4);  // physical GPUs
  EXPECT_EQ(cluster_.gpus_of_type(n.gpu_type), 3);
  EXPECT_EQ(cluster_.gpus_of_type(one_g), 2);
  EXPECT_EQ(cluster_.Resolve(model::kAllGpuTypes), model::GpuTypeMask{1} << n.gpu_type.value());
  // A drain of GPU 0 takes its instances with it.
  EXPECT_EQ(n.WithMigInstances(GpuMask({0})), GpuMask({0, 2, 3, 4, 5}));
  EXPECT_EQ(n.WithMigInstances(GpuMask({1})), GpuMask({1}));
  EXPECT_TRUE(StateIsConsistent(s_.state()));
}

TEST_F(GpuSharingTest, WholeGpuJobsNeverGetAMigGpuOrInstance) {
  for (uint64_t id = 1; id <= 5; ++id) ASSERT_TRUE(Submit(Whole(id, 1)));
  Round();
  std::set<std::pair<uint32_t, uint64_t>> got;
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(Running(id)) << id;
    got.insert({AllocOf(id).tasks[0].node.value(), AllocOf(id).tasks[0].gpus});
  }
  // Exactly the three whole GPUs: mig's GPU 1 and plain's two.
  EXPECT_EQ(got, (std::set<std::pair<uint32_t, uint64_t>>{{0, GpuMask({1})},
                                                          {1, GpuMask({0})},
                                                          {1, GpuMask({1})}}));
  EXPECT_FALSE(Running(4));
  EXPECT_FALSE(Running(5));
  EXPECT_EQ(s_.state().AllocatedGpus(), 3);
  // A 2-GPU job can never fit on mig (one whole GPU there) but fits plain's two.
  EXPECT_TRUE(s_.Feasibility(Whole(9, 2)).queued);
  EXPECT_FALSE(s_.Feasibility(Whole(9, 3)).queued);
}

TEST_F(GpuSharingTest, MigJobsGetInstancesOfTheirProfileAndWaitWithAReason) {
  ASSERT_TRUE(Submit(Mig(cluster_, 1, "1g.10gb")));
  ASSERT_TRUE(Submit(Mig(cluster_, 2, "1g.10gb")));
  ASSERT_TRUE(Submit(Mig(cluster_, 3, "1g.10gb")));
  ASSERT_TRUE(Submit(Mig(cluster_, 4, "3g.40gb")));
  RoundResult r = Round();
  ASSERT_EQ(r.placed.size(), 3u);
  EXPECT_EQ(AllocOf(1).tasks[0].node, kMig);
  EXPECT_EQ(AllocOf(1).tasks[0].gpus, GpuMask({4}));
  EXPECT_EQ(AllocOf(2).tasks[0].gpus, GpuMask({5}));
  EXPECT_EQ(AllocOf(4).tasks[0].gpus, GpuMask({2}));
  EXPECT_THAT(r.placed[0].reason, HasSubstr("MIG 1g.10gb instance(s) of A100"));
  EXPECT_FALSE(Running(3));
  EXPECT_THAT(s_.Explain(JobId(3), now_), HasSubstr("no free MIG 1g.10gb instance"));
  EXPECT_THAT(s_.Explain(JobId(3), now_), HasSubstr("0 of 2 free in the fleet"));
  // Instances of one GPU: one physical GPU in use, whole GPUs untouched.
  EXPECT_EQ(s_.state().AllocatedGpus(), 1);
  EXPECT_EQ(s_.state().FreeGpus(cluster_.node(kMig).gpu_type), 3);
  // Finish: the instance goes back and the waiting job takes it.
  ASSERT_TRUE(s_.Remove(JobId(1)).ok());
  Round();
  ASSERT_TRUE(Running(3));
  EXPECT_EQ(AllocOf(3).tasks[0].gpus, GpuMask({4}));
  // Quotas count an instance as its slices of the GPU.
  EXPECT_EQ(s_.Find(JobId(3))->req.gpu_milli(), 143);
}

TEST_F(GpuSharingTest, MigRequestsThatCanNeverFitAreRefused) {
  auto three = s_.Submit(Mig(cluster_, 1, "1g.10gb", 3), now_);
  ASSERT_TRUE(three.ok());
  EXPECT_FALSE(three->queued);
  EXPECT_THAT(three->reason, HasSubstr("needs 3 MIG 1g.10gb instances per task on one node"));
  auto none = s_.Submit(Mig(cluster_, 2, "7g.80gb"), now_);  // no such instance here
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->queued);
  // Two 1g instances on one node do fit one task.
  EXPECT_TRUE(Submit(Mig(cluster_, 3, "1g.10gb", 2)));
  Round();
  ASSERT_TRUE(Running(3));
  EXPECT_EQ(AllocOf(3).tasks[0].gpus, GpuMask({4, 5}));
}

TEST_F(GpuSharingTest, MalformedRequestsAreErrors) {
  JobRequest mixed = Mig(cluster_, 1, "1g.10gb");
  mixed.allowed |= model::GpuTypeMask{1} << cluster_.node(kMig).gpu_type.value();
  auto a = s_.Submit(mixed, now_);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("MIG instances cannot be mixed"));
  JobRequest mig_share = Mig(cluster_, 2, "1g.10gb");
  mig_share.gpu_share_milli = 500;
  EXPECT_FALSE(s_.Submit(mig_share, now_).ok());
  EXPECT_FALSE(s_.Submit(Share(3, 1000), now_).ok());
  JobRequest two = Share(4, 500);
  two.gpus_per_task = 2;
  EXPECT_FALSE(s_.Submit(two, now_).ok());
}

class ShareTest : public GpuSharingTest {
 protected:
  ShareTest() : GpuSharingTest(HomogeneousCluster(2, 2)) {}
};

TEST_F(ShareTest, FractionsPackOntoOneGpuAndKeepWholeJobsOff) {
  ASSERT_TRUE(Submit(Share(1, 500)));
  ASSERT_TRUE(Submit(Share(2, 500)));
  ASSERT_TRUE(Submit(Share(3, 300)));
  ASSERT_TRUE(Submit(Whole(4, 2)));
  ASSERT_TRUE(Submit(Whole(5, 1)));
  RoundResult r = Round();
  // 0.5 + 0.5 fill node 0's GPU 0; 0.3 opens GPU 1 of the fuller node; the 2-GPU job
  // takes node 1; nothing whole is left for job 5.
  ASSERT_TRUE(Running(1) && Running(2) && Running(3) && Running(4));
  EXPECT_EQ(AllocOf(1).tasks[0], (TaskPlacement{NodeId(0), GpuMask({0})}));
  EXPECT_EQ(AllocOf(2).tasks[0], (TaskPlacement{NodeId(0), GpuMask({0})}));
  EXPECT_EQ(AllocOf(3).tasks[0], (TaskPlacement{NodeId(0), GpuMask({1})}));
  EXPECT_EQ(AllocOf(1).share_milli, 500);
  EXPECT_EQ(AllocOf(4).tasks[0].node, NodeId(1));
  EXPECT_FALSE(Running(5));
  EXPECT_THAT(r.placed[0].reason, HasSubstr("0.5 of a shared H100 GPU"));
  EXPECT_EQ(s_.state().share_used(NodeId(0), 0), 1000);
  EXPECT_EQ(s_.state().share_used(NodeId(0), 1), 300);
  EXPECT_EQ(s_.state().owner(NodeId(0), 0), kSharedGpu);
  EXPECT_EQ(s_.state().ShareCapacity(GpuTypeId(0), 300), 2);  // GPU 1's room of 0.7
  EXPECT_EQ(s_.state().AllocatedGpus(), 4);
  // A 0.8 share does not fit the 0.7 left: it waits, and says why.
  ASSERT_TRUE(Submit(Share(6, 800)));
  Round();
  EXPECT_FALSE(Running(6));
  EXPECT_THAT(s_.Explain(JobId(6), now_), HasSubstr("needs 1 task(s) x 0.8 of a H100 GPU"));

  // Releasing one share of a full GPU frees room, not the GPU.
  ASSERT_TRUE(s_.Remove(JobId(1)).ok());
  EXPECT_EQ(s_.state().share_used(NodeId(0), 0), 500);
  Round();
  EXPECT_FALSE(Running(5));
  EXPECT_FALSE(Running(6));
  // The last share of GPU 1 goes: the GPU is whole again, and the 1-GPU job takes it
  // before the 0.8 behind it.
  ASSERT_TRUE(s_.Remove(JobId(3)).ok());
  EXPECT_EQ(s_.state().owner(NodeId(0), 1), JobId::Invalid());
  Round();
  ASSERT_TRUE(Running(5));
  EXPECT_EQ(AllocOf(5).tasks[0], (TaskPlacement{NodeId(0), GpuMask({1})}));
  EXPECT_FALSE(Running(6));
  ASSERT_TRUE(s_.Remove(JobId(2)).ok());
  Round();
  ASSERT_TRUE(Running(6));
  EXPECT_EQ(AllocOf(6).tasks[0], (TaskPlacement{NodeId(0), GpuMask({0})}));
}

TEST_F(ShareTest, FractionalGangsShareGpusAcrossTasks) {
  ASSERT_TRUE(Submit(Share(1, 400, 3)));
  Round();
  ASSERT_TRUE(Running(1));
  const Allocation& a = AllocOf(1);
  ASSERT_EQ(a.tasks.size(), 3u);
  // Tasks 0 and 1 share GPU 0 (0.8), task 2 opens GPU 1 on the same node.
  EXPECT_EQ(a.tasks[0], (TaskPlacement{NodeId(0), GpuMask({0})}));
  EXPECT_EQ(a.tasks[1], (TaskPlacement{NodeId(0), GpuMask({0})}));
  EXPECT_EQ(a.tasks[2], (TaskPlacement{NodeId(0), GpuMask({1})}));
  EXPECT_EQ(s_.Find(JobId(1))->req.gpu_milli(), 1200);
  ASSERT_TRUE(s_.Remove(JobId(1)).ok());
  EXPECT_TRUE(StateIsConsistent(s_.state()));
  EXPECT_EQ(s_.state().AllocatedGpus(), 0);
  // Never fits: 4 GPUs hold at most 8 shares of 0.4... so 9 are refused.
  auto nine = s_.Submit(Share(2, 400, 9), now_);
  ASSERT_TRUE(nine.ok());
  EXPECT_FALSE(nine->queued);
  EXPECT_THAT(nine->reason, HasSubstr("holds only 8 such shares"));
}

TEST_F(ShareTest, PreemptionFreesSharesAndOnlyTheNeededOnes) {
  for (uint64_t id = 1; id <= 8; ++id) {
    JobRequest r = Share(id, 500);
    r.checkpoint_interval = Seconds(3600);  // nothing saved within the test: all is lost
    ASSERT_TRUE(Submit(r));
  }
  Round();
  for (uint64_t id = 1; id <= 8; ++id) ASSERT_TRUE(Running(id));
  now_ += Seconds(60);
  // A higher-priority share needs the room of one low share only.
  JobRequest hi = Share(9, 500);
  hi.priority = 5;
  ASSERT_TRUE(Submit(hi));
  RoundResult r = Round();
  ASSERT_TRUE(Running(9));
  ASSERT_EQ(r.preempted.size(), 1u);
  EXPECT_EQ(r.preempted[0].by, JobId(9));
  EXPECT_NEAR(r.preempted[0].lost_gpu_s, 30.0, 1e-9);  // 60 s x 0.5 GPU
  now_ += Seconds(60);
  // A higher-priority whole GPU: both shares of one GPU go.
  JobRequest whole = Whole(10, 1);
  whole.priority = 5;
  ASSERT_TRUE(Submit(whole));
  r = Round();
  ASSERT_TRUE(Running(10));
  EXPECT_EQ(r.preempted.size(), 2u);
  const TaskPlacement& w = AllocOf(10).tasks[0];
  EXPECT_EQ(s_.state().owner(w.node, std::countr_zero(w.gpus)), JobId(10));
  // Victims are pending again and hold nothing.
  for (const auto& p : r.preempted) {
    EXPECT_EQ(s_.Find(p.job)->phase, JobPhase::kPending);
    EXPECT_TRUE(s_.Find(p.job)->alloc.tasks.empty());
  }
}

TEST_F(ShareTest, DrainedAndUnschedulableGpusOfferNoShares) {
  ASSERT_TRUE(Submit(Share(1, 250)));
  Round();
  ASSERT_EQ(AllocOf(1).tasks[0], (TaskPlacement{NodeId(0), GpuMask({0})}));
  s_.mutable_state().SetDisabledGpus(NodeId(0), GpuMask({0}));
  EXPECT_TRUE(StateIsConsistent(s_.state()));
  ASSERT_TRUE(Submit(Share(2, 250)));
  Round();
  // Not next to job 1 on the drained GPU: on GPU 1.
  EXPECT_EQ(AllocOf(2).tasks[0], (TaskPlacement{NodeId(0), GpuMask({1})}));
  s_.mutable_state().SetSchedulable(NodeId(0), false);
  EXPECT_TRUE(StateIsConsistent(s_.state()));
  ASSERT_TRUE(Submit(Share(3, 250)));
  Round();
  EXPECT_EQ(AllocOf(3).tasks[0].node, NodeId(1));
  s_.mutable_state().SetSchedulable(NodeId(0), true);
  s_.mutable_state().SetDisabledGpus(NodeId(0), 0);
  EXPECT_TRUE(StateIsConsistent(s_.state()));
  ASSERT_TRUE(Submit(Share(4, 750)));
  Round();
  // Best fit: GPU 0 of node 0 (0.75 room) beats GPU 1 (0.75) by index; node 1 also 0.75.
  EXPECT_EQ(AllocOf(4).tasks[0], (TaskPlacement{NodeId(0), GpuMask({0})}));
}

TEST_F(ShareTest, AdoptionRebooksSharesAndRefusesOverbooking) {
  Allocation a;
  a.type = GpuTypeId(0);
  a.share_milli = 600;
  a.tasks = {{NodeId(1), GpuMask({1})}};
  ASSERT_TRUE(s_.Adopt(Share(1, 600), a, now_).ok());
  EXPECT_EQ(s_.state().share_used(NodeId(1), 1), 600);
  // 0.6 + 0.6 would overbook the GPU.
  Status st = s_.Adopt(Share(2, 600), a, now_);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("no room for the share"));
  a.share_milli = 400;
  ASSERT_TRUE(s_.Adopt(Share(3, 400), a, now_).ok());
  // Whole over a shared GPU: refused.
  Allocation w;
  w.type = GpuTypeId(0);
  w.tasks = {{NodeId(1), GpuMask({1})}};
  EXPECT_FALSE(s_.Adopt(Whole(4, 1), w, now_).ok());
  EXPECT_TRUE(StateIsConsistent(s_.state()));
}

// Random whole, MIG and fractional jobs with finishes, priority preemption, drains and
// backfill: after every round the books are exact and every running job holds exactly
// the kind of device it asked for.
TEST(GpuSharingPropertyTest, MixedRequestsKeepExactBooks) {
  // Two MIG nodes (as above) and two plain ones.
  model::Cluster base = MigCluster();
  std::vector<model::NodeInventory> inv;
  for (int i = 0; i < 4; ++i) {
    model::NodeInventory n;
    n.name = fmt::format("n{}", i);
    n.gpu_model = "A100";
    n.rack = i < 2 ? "r0" : "r1";
    for (int g = 0; g < 4; ++g) {
      model::NodeInventory::Gpu gpu;
      gpu.uuid = fmt::format("GPU-{}-{}", i, g);
      gpu.nvlink_domain = g < 2 ? 0 : 2;
      if (i % 2 == 0 && g == 3) {
        gpu.mig_enabled = true;
        for (int m = 0; m < 3; ++m) {
          gpu.mig.push_back({fmt::format("MIG-{}-{}", i, m), m == 0 ? "3g.40gb" : "1g.10gb", 0});
        }
      }
      n.gpus.push_back(gpu);
    }
    inv.push_back(n);
  }
  auto c = model::Cluster::FromNodes(inv);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (std::string placement : {"binpack", "topology", "spread"}) {
    for (BackfillMode backfill : {BackfillMode::kNone, BackfillMode::kEasy}) {
      SCOPED_TRACE(placement + " " + std::string(BackfillModeName(backfill)));
      SchedulerOptions o;
      o.preempt_lower_priority = true;
      o.backfill = backfill;
      Scheduler s(*c, OrderNamed("fifo"), PlacementNamed(placement), o);
      Rng rng(7), round_rng(8);
      std::set<uint64_t> live;
      Time now = At(0);
      int64_t placed = 0, preempted = 0, shares = 0, migs = 0;
      for (uint64_t id = 1; id <= 400; ++id) {
        now += Seconds(rng.UniformInt(1, 120));
        JobRequest r;
        r.id = JobId(id);
        r.submit = now;
        r.priority = static_cast<int32_t>(rng.UniformInt(0, 2));
        r.runtime_estimate = Seconds(rng.UniformInt(60, 3600));
        const int64_t kind = rng.UniformInt(0, 2);
        if (kind == 0) {
          r.gpus_per_task = static_cast<int32_t>(rng.UniformInt(1, 3));
          r.tasks = static_cast<int32_t>(rng.UniformInt(1, 2));
        } else if (kind == 1) {
          const bool big = rng.Bernoulli(0.3);
          r.allowed = c->MigTypes(big ? "3g.40gb" : "1g.10gb");
          r.device_milli = model::MigProfileMilli(big ? "3g.40gb" : "1g.10gb");
          r.gpus_per_task = big ? 1 : static_cast<int32_t>(rng.UniformInt(1, 2));
        } else {
          static constexpr int32_t kShares[] = {100, 250, 300, 500, 700};
          r.gpu_share_milli = kShares[rng.UniformInt(0, 4)];
          r.tasks = static_cast<int32_t>(rng.UniformInt(1, 3));
        }
        auto a = s.Submit(r, now);
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        if (a->queued) live.insert(id);
        for (auto it = live.begin(); it != live.end();) {
          if (rng.Bernoulli(0.08)) {
            ASSERT_TRUE(s.Remove(JobId(*it)).ok());
            it = live.erase(it);
          } else {
            ++it;
          }
        }
        if (rng.Bernoulli(0.05)) {
          const NodeId n(static_cast<uint32_t>(rng.UniformInt(0, 3)));
          s.mutable_state().SetDisabledGpus(
              n, c->node(n).WithMigInstances(static_cast<uint64_t>(rng.UniformInt(0, 15))));
        }
        const RoundResult res = s.RunRound(now, round_rng);
        placed += static_cast<int64_t>(res.placed.size());
        preempted += static_cast<int64_t>(res.preempted.size());
        ASSERT_TRUE(StateIsConsistent(s.state())) << "job " << id;
        // Every running job holds what it asked for; shares add up per GPU.
        std::map<std::pair<uint32_t, int>, int32_t> share_sum;
        for (uint64_t jid : live) {
          const JobInfo* j = s.Find(JobId(jid));
          if (j->phase != JobPhase::kRunning) continue;
          const Allocation& al = j->alloc;
          ASSERT_EQ(al.tasks.size(), static_cast<size_t>(j->req.tasks));
          const bool mig = c->gpu_type(al.type).is_mig();
          ASSERT_TRUE((c->Resolve(j->req.allowed) >> al.type.value()) & 1) << "job " << jid;
          for (const TaskPlacement& tp : al.tasks) {
            const model::Node& node = c->node(tp.node);
            ASSERT_EQ(tp.gpus & ~node.kind_mask(al.type), 0u) << "job " << jid;
            if (j->req.gpu_share_milli > 0) {
              ASSERT_EQ(std::popcount(tp.gpus), 1);
              ASSERT_FALSE(mig);
              share_sum[{tp.node.value(), std::countr_zero(tp.gpus)}] += al.share_milli;
              ++shares;
              continue;
            }
            ASSERT_EQ(std::popcount(tp.gpus), j->req.gpus_per_task);
            for (uint64_t m = tp.gpus; m; m &= m - 1) {
              ASSERT_EQ(s.state().owner(tp.node, std::countr_zero(m)), JobId(jid));
              ASSERT_FALSE(node.gpus[static_cast<size_t>(std::countr_zero(m))].mig_enabled);
            }
            migs += mig ? 1 : 0;
          }
        }
        for (const auto& n : c->nodes()) {
          for (int g = 0; g < n.gpu_count(); ++g) {
            auto it = share_sum.find({n.id.value(), g});
            ASSERT_EQ(s.state().share_used(n.id, g), it == share_sum.end() ? 0 : it->second)
                << "node " << n.id << " GPU " << g;
          }
        }
      }
      EXPECT_GT(placed, 150);
      EXPECT_GT(preempted, 0);
      EXPECT_GT(shares, 0);
      EXPECT_GT(migs, 0);
    }
  }
}

}  // namespace
}  // namespace baton::sched
