// Property tests: random submits, removals and drains on a small heterogeneous cluster,
// for every order x placement policy, with the books checked after every round.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "baton/common/rng.h"
#include "baton/sched/registry.h"
#include "baton/sched/scheduler.h"
#include "baton/sched/test_util.h"

namespace baton::sched {
namespace {

// The most tasks of g GPUs that fit nodes of type t on an empty cluster, by brute force.
int64_t EmptyCapacity(const model::Cluster& c, GpuTypeId t, int g) {
  int64_t cap = 0;
  for (const auto& n : c.nodes()) {
    if (n.gpu_type == t) cap += n.gpu_count() / g;
  }
  return cap;
}

bool CanEverFit(const model::Cluster& c, const JobRequest& r) {
  for (int t = 0; t < c.num_gpu_types(); ++t) {
    if (!((r.allowed >> t) & 1)) continue;
    if (EmptyCapacity(c, GpuTypeId(static_cast<uint16_t>(t)), r.gpus_per_task) >= r.tasks) {
      return true;
    }
  }
  return false;
}

// Whether some allowed type has room for the job right now (brute force over nodes).
bool FitsNow(const ClusterState& s, const JobRequest& r) {
  const model::Cluster& c = s.cluster();
  for (int t = 0; t < c.num_gpu_types(); ++t) {
    if (!((r.allowed >> t) & 1)) continue;
    int64_t cap = 0;
    for (const auto& n : c.nodes()) {
      if (n.gpu_type.value() == t) cap += s.free_gpus(n.id) / r.gpus_per_task;
    }
    if (cap >= r.tasks) return true;
  }
  return false;
}

std::string AllocString(const Allocation& a) {
  std::string out = fmt::format("t{}", a.type.value());
  for (const auto& t : a.tasks) out += fmt::format(" {}:{:x}", t.node.value(), t.gpus);
  return out;
}

// Checks every invariant tying the scheduler's jobs to the GPU books.
::testing::AssertionResult BooksAgree(const Scheduler& s, const std::set<uint64_t>& live) {
  const ClusterState& st = s.state();
  const model::Cluster& c = st.cluster();
  if (auto r = StateIsConsistent(st); !r) return r;
  size_t running = 0, pending = 0;
  std::map<uint64_t, int64_t> owned;  // GPUs per job, from the per-GPU owners
  for (const auto& n : c.nodes()) {
    for (int g = 0; g < n.gpu_count(); ++g) {
      const JobId o = st.owner(n.id, g);
      if (o.valid()) owned[o.value()]++;
    }
  }
  for (uint64_t id : live) {
    const JobInfo* j = s.Find(JobId(id));
    if (j == nullptr) return ::testing::AssertionFailure() << "job " << id << " lost";
    const JobRequest& r = j->req;
    if (j->phase == JobPhase::kPending) {
      ++pending;
      if (owned.count(id)) {
        return ::testing::AssertionFailure() << "pending job " << id << " holds GPUs";
      }
      if (!j->alloc.tasks.empty()) {
        return ::testing::AssertionFailure() << "pending job " << id << " has an allocation";
      }
      continue;
    }
    ++running;
    const Allocation& a = j->alloc;
    if (a.tasks.size() != static_cast<size_t>(r.tasks)) {
      return ::testing::AssertionFailure()
             << "job " << id << " runs " << a.tasks.size() << " of " << r.tasks << " tasks";
    }
    if (!a.type.valid() || !((r.allowed >> a.type.value()) & 1)) {
      return ::testing::AssertionFailure() << "job " << id << " on a type it does not allow";
    }
    uint64_t seen_gpus = 0;
    std::map<uint32_t, uint64_t> per_node;
    for (const auto& t : a.tasks) {
      const model::Node& n = c.node(t.node);
      if (n.gpu_type != a.type) {
        return ::testing::AssertionFailure()
               << "job " << id << " task on node " << n.id << " of another type";
      }
      if (std::popcount(t.gpus) != r.gpus_per_task || (t.gpus & ~n.all_gpus_mask()) != 0) {
        return ::testing::AssertionFailure() << "job " << id << " task with GPUs " << t.gpus;
      }
      if (per_node[t.node.value()] & t.gpus) {
        return ::testing::AssertionFailure() << "job " << id << " tasks share a GPU";
      }
      per_node[t.node.value()] |= t.gpus;
      for (uint64_t m = t.gpus; m != 0; m &= m - 1) {
        if (st.owner(t.node, std::countr_zero(m)) != JobId(id)) {
          return ::testing::AssertionFailure()
                 << "GPU " << std::countr_zero(m) << " of node " << t.node << " is job "
                 << st.owner(t.node, std::countr_zero(m)) << "'s, allocated to job " << id;
        }
        ++seen_gpus;
      }
    }
    if (owned[id] != r.gpus() || static_cast<int64_t>(seen_gpus) != r.gpus()) {
      return ::testing::AssertionFailure()
             << "job " << id << " owns " << owned[id] << " GPUs, wants " << r.gpus();
    }
  }
  // Every owned GPU belongs to a live running job (checked above for each such job).
  for (const auto& [id, n] : owned) {
    const JobInfo* j = s.Find(JobId(id));
    if (!live.count(id) || j == nullptr || j->phase != JobPhase::kRunning) {
      return ::testing::AssertionFailure() << "GPUs owned by job " << id << " which is not running";
    }
  }
  if (running != s.running_count() || pending != s.pending_count()) {
    return ::testing::AssertionFailure()
           << "counts: running " << s.running_count() << " vs " << running << ", pending "
           << s.pending_count() << " vs " << pending;
  }
  for (JobId id : s.PendingInOrder()) {
    if (!live.count(id.value()) || s.Find(id)->phase != JobPhase::kPending) {
      return ::testing::AssertionFailure() << "job " << id << " in the pending order";
    }
  }
  return ::testing::AssertionSuccess();
}

JobRequest RandomJob(Rng& rng, uint64_t id, Time now) {
  static constexpr int kGpus[] = {1, 1, 2, 2, 3, 4, 4, 8, 8, 6};
  JobRequest r;
  r.id = JobId(id);
  r.submit = now;
  r.tasks = static_cast<int32_t>(rng.Bernoulli(0.7) ? 1 : rng.UniformInt(2, 6));
  r.gpus_per_task = kGpus[rng.UniformInt(0, 9)];
  if (rng.Bernoulli(0.05)) r.tasks = static_cast<int32_t>(rng.UniformInt(10, 40));  // refused
  if (rng.Bernoulli(0.4)) {
    r.allowed = static_cast<model::GpuTypeMask>(rng.UniformInt(1, 7));
    if (rng.Bernoulli(0.1)) r.allowed |= model::GpuTypeMask{1} << 9;  // no such type
    if (rng.Bernoulli(0.03)) r.allowed = model::GpuTypeMask{1} << 9;  // refused
  }
  if (rng.Bernoulli(0.3))
    r.preference.push_back(GpuTypeId(static_cast<uint16_t>(rng.UniformInt(0, 2))));
  r.priority = static_cast<int32_t>(rng.UniformInt(0, 3));
  if (rng.Bernoulli(0.8)) r.runtime_estimate = Seconds(rng.UniformInt(60, 20000));
  return r;
}

struct RunLog {
  std::string log;  // every decision, for the determinism check
  int64_t placed = 0;
  int64_t preempted = 0;
  int64_t refused = 0;
};

// Drives one scheduler through `rounds` random rounds; checks invariants after each.
// Shared-cluster mode: queues with guarantees and limits, priority preemption, a minimum
// run time, checkpoints and backfill on top of the policy's own behaviour.
struct SharedMode {
  SchedulerOptions options;
  std::vector<model::QueueSpec> queues;
};

RunLog RandomRun(const model::Cluster& c, std::string_view order, std::string_view placement,
                 uint64_t seed, int rounds, const SharedMode* shared = nullptr) {
  RunLog run;
  Scheduler s(c, OrderNamed(order), PlacementNamed(placement),
              shared ? shared->options : SchedulerOptions{});
  if (shared) {
    EXPECT_TRUE(s.SetQueues(shared->queues).ok());
  }
  Rng rng(seed);
  Rng round_rng(seed + 1000);
  std::set<uint64_t> live;
  uint64_t next_id = 1;
  Time now = At(1000);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    now += Seconds(rng.UniformInt(1, 600));
    // Jobs end: each live job with some probability, in id order.
    for (auto it = live.begin(); it != live.end();) {
      if (rng.Bernoulli(0.12)) {
        EXPECT_TRUE(s.Remove(JobId(*it)).ok());
        run.log += fmt::format("-{} ", *it);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
    // Drain or restore a node now and then.
    if (rng.Bernoulli(0.05)) {
      const NodeId n(static_cast<uint32_t>(rng.UniformInt(0, c.nodes().size() - 1)));
      s.mutable_state().SetSchedulable(n, !s.state().schedulable(n));
      run.log += fmt::format("d{} ", n.value());
    }
    const int64_t submits = rng.UniformInt(0, 3);
    for (int64_t i = 0; i < submits; ++i) {
      JobRequest r = RandomJob(rng, next_id++, now);
      if (shared) {
        r.queue = QueueId(static_cast<uint32_t>(rng.UniformInt(0, shared->queues.size() - 1)));
        if (rng.Bernoulli(0.5)) r.checkpoint_interval = Seconds(rng.UniformInt(60, 3600));
      }
      auto a = s.Submit(r, now);
      if (!a.ok()) {
        ADD_FAILURE() << a.status().ToString();
        continue;
      }
      EXPECT_EQ(a->queued, CanEverFit(c, r)) << "job " << r.id << ": " << a->reason;
      if (a->queued) {
        EXPECT_TRUE(a->reason.empty());
        live.insert(r.id.value());
      } else {
        EXPECT_FALSE(a->reason.empty());
        EXPECT_EQ(s.Find(r.id), nullptr);
        ++run.refused;
      }
      run.log += fmt::format("+{}{} ", r.id.value(), a->queued ? "" : "x");
    }
    const RoundResult res = s.RunRound(now, round_rng);
    std::set<uint64_t> placed_now;
    for (const auto& p : res.placed) {
      const JobInfo* j = s.Find(p.job);
      EXPECT_TRUE(j != nullptr && j->phase == JobPhase::kRunning && j->run_start == now);
      if (j != nullptr) {
        EXPECT_EQ(AllocString(j->alloc), AllocString(p.alloc));
      }
      EXPECT_FALSE(p.reason.empty());
      EXPECT_TRUE(placed_now.insert(p.job.value()).second) << "placed twice: " << p.job;
      run.log += fmt::format("p{}[{}] ", p.job.value(), AllocString(p.alloc));
    }
    for (const auto& v : res.preempted) {
      const JobInfo* j = s.Find(v.job);
      EXPECT_TRUE(j != nullptr && j->phase == JobPhase::kPending);
      EXPECT_TRUE(placed_now.count(v.by.value())) << "preempted by a job not placed";
      EXPECT_FALSE(placed_now.count(v.job.value())) << "placed and preempted in one round";
      if (j != nullptr) {
        EXPECT_EQ(j->last_preempted_by, v.by);
        EXPECT_EQ(j->pending_since, now);
        EXPECT_GE(v.lost_gpu_s, 0);
        // The policy still ranks the preemptor above its victim.
        if (!shared) {
          EXPECT_TRUE(s.order().MayPreempt(*s.Find(v.by), *j, now)) << "job " << v.job;
        }
        if (shared) {
          const JobInfo* by = s.Find(v.by);
          const bool priority = by->req.priority > j->req.priority;
          const bool order_right = s.order().MayPreempt(*by, *j, now);
          const bool reclaim = v.reason.find("reclaimed") != std::string::npos;
          EXPECT_TRUE(priority || order_right || reclaim) << v.reason;
          EXPECT_GE(now - j->run_start, shared->options.min_run_time) << "job " << v.job;
        }
      }
      run.log += fmt::format("v{}by{} ", v.job.value(), v.by.value());
    }
    EXPECT_LE(res.examined, static_cast<int64_t>(s.pending_count() + res.placed.size()));
    run.log += fmt::format("e{}\n", res.examined);
    run.placed += static_cast<int64_t>(res.placed.size());
    run.preempted += static_cast<int64_t>(res.preempted.size());
    EXPECT_TRUE(BooksAgree(s, live));
    if (shared) {
      // The queue book holds exactly the running jobs' GPUs, and no limit is exceeded.
      std::vector<int64_t> used(shared->queues.size(), 0);
      for (uint64_t id : live) {
        const JobInfo* j = s.Find(JobId(id));
        if (j->phase != JobPhase::kRunning) continue;
        for (QueueId q : s.queues().Path(j->req.queue)) used[q.value()] += j->req.gpus() * 1000;
      }
      for (uint32_t q = 0; q < used.size(); ++q) {
        EXPECT_EQ(s.queues().used_milli(QueueId(q)), used[q]) << "queue " << q;
        EXPECT_LE(used[q], s.queues().limit_milli(QueueId(q))) << "queue " << q;
      }
    }
    if (::testing::Test::HasFailure()) return run;
    // Work conservation: after a round without preemptions nothing pending fits now.
    if (res.preempted.empty() && !shared) {
      for (JobId id : s.PendingInOrder()) {
        EXPECT_FALSE(FitsNow(s.state(), s.Find(id)->req)) << "job " << id << " fits but waits";
      }
    }
    // A victim can never preempt its preemptor back.
    for (const auto& v : shared ? std::vector<PreemptedJob>{} : res.preempted) {
      EXPECT_FALSE(s.order().MayPreempt(*s.Find(v.job), *s.Find(v.by), now))
          << "job " << v.job << " could preempt its preemptor back";
    }
  }
  return run;
}

using PolicyPair = std::tuple<std::string, std::string>;

class SchedulerPropertyTest : public ::testing::TestWithParam<PolicyPair> {};

TEST_P(SchedulerPropertyTest, BooksStayExactAndDecisionsRepeat) {
  const auto& [order, placement] = GetParam();
  const model::Cluster c = MixedTestCluster();
  int64_t placed = 0, preempted = 0, refused = 0;
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    const RunLog first = RandomRun(c, order, placement, seed, 250);
    ASSERT_FALSE(HasFailure());
    const RunLog second = RandomRun(c, order, placement, seed, 250);
    ASSERT_EQ(first.log, second.log) << "the same calls gave different decisions";
    placed += first.placed;
    preempted += first.preempted;
    refused += first.refused;
  }
  // The workload really exercised the scheduler.
  EXPECT_GT(placed, 300);
  EXPECT_GT(refused, 0);
  if (MakeOrderPolicy(order).value()->preemptive()) {
    EXPECT_GT(preempted, 0);
  }
}

// The same random workload with queues, guarantees and limits, priority preemption, a
// minimum run time, checkpoints and backfill: books stay exact, no gang runs partly, no
// queue exceeds a limit, every victim was preempted by a right, and it all repeats.
TEST_P(SchedulerPropertyTest, SharedClusterMechanismsKeepTheBooks) {
  const auto& [order, placement] = GetParam();
  const model::Cluster c = MixedTestCluster();
  for (BackfillMode backfill : {BackfillMode::kEasy, BackfillMode::kConservative}) {
    SharedMode mode;
    mode.options.preempt_lower_priority = true;
    mode.options.min_run_time = Seconds(300);
    mode.options.backfill = backfill;
    mode.options.fair_share_half_life = Seconds(3600);
    mode.options.max_reservations = 3;
    auto q = [](std::string name, std::string parent, std::optional<int> quota,
                std::optional<int> limit) {
      model::QueueSpec s;
      s.name = std::move(name);
      s.parent = std::move(parent);
      if (quota) s.quota_gpus = Quantity::Whole(*quota);
      if (limit) s.limit_gpus = Quantity::Whole(*limit);
      return s;
    };
    mode.queues = {q("org", "", 40, 60), q("team-a", "org", 24, 48), q("team-b", "org", 8, 20),
                   q("other", "", 16, std::nullopt)};
    int64_t preempted = 0, placed = 0;
    for (uint64_t seed : {1u, 2u}) {
      SCOPED_TRACE(fmt::format("seed {} backfill {}", seed, BackfillModeName(backfill)));
      const RunLog first = RandomRun(c, order, placement, seed, 200, &mode);
      ASSERT_FALSE(HasFailure());
      const RunLog second = RandomRun(c, order, placement, seed, 200, &mode);
      ASSERT_EQ(first.log, second.log) << "the same calls gave different decisions";
      preempted += first.preempted;
      placed += first.placed;
    }
    EXPECT_GT(placed, 200);
    EXPECT_GT(preempted, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, SchedulerPropertyTest,
                         ::testing::Combine(::testing::ValuesIn(OrderPolicyNames()),
                                            ::testing::ValuesIn(PlacementPolicyNames())),
                         [](const ::testing::TestParamInfo<PolicyPair>& info) {
                           std::string name = std::get<0>(info.param).substr(6) + "_" +
                                              std::get<1>(info.param).substr(10);
                           // "hetero-las": gtest names allow only letters, digits and _.
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

// Two schedulers given the same calls in the same order stay identical round by round,
// even when one of them is asked to explain itself in between.
TEST(SchedulerDeterminismTest, SameCallsSameDecisions) {
  const model::Cluster c = MixedTestCluster();
  Scheduler a(c, OrderNamed("las"), PlacementNamed("topology"));
  Scheduler b(c, OrderNamed("las"), PlacementNamed("topology"));
  Rng gen(42), ra(7), rb(7);
  Time now = At(0);
  for (uint64_t id = 1; id <= 300; ++id) {
    now += Seconds(gen.UniformInt(1, 300));
    const JobRequest r = RandomJob(gen, id, now);
    ASSERT_EQ(a.Submit(r, now)->queued, b.Submit(r, now)->queued);
    if (id % 3 == 0) {
      const uint64_t victim = static_cast<uint64_t>(gen.UniformInt(1, static_cast<int64_t>(id)));
      EXPECT_EQ(a.Remove(JobId(victim)).ok(), b.Remove(JobId(victim)).ok());
    }
    for (JobId p : a.PendingInOrder()) (void)a.Explain(p, now);
    const RoundResult x = a.RunRound(now, ra);
    const RoundResult y = b.RunRound(now, rb);
    ASSERT_EQ(x.placed.size(), y.placed.size());
    for (size_t i = 0; i < x.placed.size(); ++i) {
      EXPECT_EQ(x.placed[i].job, y.placed[i].job);
      EXPECT_EQ(AllocString(x.placed[i].alloc), AllocString(y.placed[i].alloc));
      EXPECT_EQ(x.placed[i].reason, y.placed[i].reason);
    }
    ASSERT_EQ(x.preempted.size(), y.preempted.size());
    for (size_t i = 0; i < x.preempted.size(); ++i) {
      EXPECT_EQ(x.preempted[i].job, y.preempted[i].job);
      EXPECT_EQ(x.preempted[i].by, y.preempted[i].by);
    }
    EXPECT_EQ(a.PendingInOrder(), b.PendingInOrder());
  }
}

}  // namespace
}  // namespace baton::sched
