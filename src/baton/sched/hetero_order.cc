#include "baton/sched/hetero_order.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "baton/sched/maxmin_lp.h"

namespace baton::sched {
namespace {

// Priorities are x / share received; a share not yet received counts as this (infinite).
constexpr double kInfinitePriority = 1e9;
// Keys hold -priority in thousandths, so the sort is exact and integer.
constexpr double kKeyScale = 1e3;

// Steps/s of `r` on type `t`, or 0 when it cannot run there; 1 on every allowed type when
// the job has no throughputs or the policy ignores them.
double Rate(const JobRequest& r, int t, bool aware) {
  if (t >= model::kMaxGpuTypes || !(r.allowed & (model::GpuTypeMask{1} << t))) return 0;
  if (r.throughput.empty()) return 1;
  const double v = static_cast<size_t>(t) < r.throughput.size() ? r.throughput[t] : 0;
  if (!(v > 0)) return 0;
  return aware ? v : 1;
}

class HeteroLasOrder final : public OrderPolicy {
 public:
  explicit HeteroLasOrder(HeteroLasOptions o) : opts_(o) {}
  std::string_view name() const override {
    return opts_.aware ? "order/hetero-las" : "order/agnostic-las";
  }
  bool preemptive() const override { return true; }
  bool replans() const override { return true; }

  OrderKey Key(const JobInfo& j, Time) const override {
    return {-static_cast<int64_t>(std::llround(KeyPriority(j.req.id) * kKeyScale)), 0,
            j.req.submit, j.req.id};
  }
  bool MayPreempt(const JobInfo& p, const JobInfo& r, Time now) const override {
    return Key(p, now).primary < Key(r, now).primary;
  }
  std::optional<Time> NextKeyChange(const JobInfo&, Time now) const override {
    const int64_t round_us = std::max<int64_t>(1, opts_.round_s) * 1'000'000;
    const int64_t t = now.time_since_epoch().count();
    return Time(Duration((t / round_us + 1) * round_us));
  }
  std::vector<GpuTypeId> TypePreference(const JobRequest& r) const override {
    auto it = plan_.find(r.id);
    if (it == plan_.end()) return {};
    return it->second.types;
  }
  std::vector<GpuTypeId> MoveTargets(const JobInfo& j) const override {
    auto it = plan_.find(j.req.id);
    if (it == plan_.end()) return {};
    return it->second.move_to;
  }

  void Plan(const PlanInput& in) override {
    const int types = static_cast<int>(in.gpus_per_type.size());
    // Account the time each running job has run on its type since the last plan.
    std::map<JobId, State> next;
    for (const JobInfo* j : in.jobs) {
      State s;
      if (auto it = plan_.find(j->req.id); it != plan_.end()) s = std::move(it->second);
      s.received.resize(types, Duration::zero());
      if (j->phase == JobPhase::kRunning && j->alloc.type.value() < types) {
        const Time from = std::max(j->run_start, last_plan_);
        if (in.now > from) s.received[j->alloc.type.value()] += in.now - from;
      }
      next.emplace(j->req.id, std::move(s));
    }
    plan_ = std::move(next);
    last_plan_ = in.now;

    MaxMinProblem p;
    p.jobs = static_cast<int>(in.jobs.size());
    p.types = types;
    p.value.assign(static_cast<size_t>(p.jobs) * types, 0.0);
    p.demand.resize(p.jobs);
    p.capacity.resize(types);
    double total_gpus = 0;
    for (int t = 0; t < types; ++t) {
      p.capacity[t] = static_cast<double>(in.gpus_per_type[t]);
      total_gpus += p.capacity[t];
    }
    for (int j = 0; j < p.jobs; ++j) {
      const JobRequest& r = in.jobs[j]->req;
      p.demand[j] = static_cast<double>(r.gpus());
      // Normalize by the job's throughput on the cluster's average GPU.
      double norm = 0;
      for (int t = 0; t < types; ++t) norm += Rate(r, t, opts_.aware) * p.capacity[t];
      norm = total_gpus > 0 ? norm / total_gpus : 0;
      for (int t = 0; t < types; ++t) {
        const double rate = Rate(r, t, opts_.aware);
        // A type too small for the whole gang can never hold it.
        if (rate > 0 && norm > 0 && p.capacity[t] >= p.demand[j]) {
          p.value[static_cast<size_t>(j) * types + t] = rate / norm;
        }
      }
    }
    auto x = SolveMaxMin(p);
    if (!x.ok()) {
      // Cannot happen for a well-formed problem; fall back to equal shares so the
      // round still runs (every job gets the same priority on every type it can use).
      x = std::vector<double>(p.value.size());
      for (size_t c = 0; c < p.value.size(); ++c) (*x)[c] = p.value[c] > 0 ? 1.0 : 0.0;
    }

    for (int j = 0; j < p.jobs; ++j) {
      const JobInfo& info = *in.jobs[j];
      State& s = plan_.at(info.req.id);
      const double in_system = std::max(0.0, ToSeconds(in.now - info.req.submit));
      std::vector<std::pair<double, double>> prio(types);  // (priority, x)
      double best = 0;
      for (int t = 0; t < types; ++t) {
        const double share_wanted = (*x)[static_cast<size_t>(j) * types + t];
        double pr = 0;
        if (share_wanted > 1e-9) {
          const double got = in_system > 0 ? ToSeconds(s.received[t]) / in_system : 0;
          pr = got > 0 ? std::min(kInfinitePriority, share_wanted / got) : kInfinitePriority;
        }
        prio[t] = {pr, share_wanted};
        best = std::max(best, pr);
      }
      // A pending job ranks by its best type; a running job by the type it holds, so a
      // job stuck on a type it has no share of ranks low there and is the first to make
      // room (it then competes for its better types as a pending job).
      s.key_priority = info.phase == JobPhase::kRunning && info.alloc.type.value() < types
                           ? prio[info.alloc.type.value()].first
                           : best;
      s.move_to.clear();
      if (opts_.aware && info.phase == JobPhase::kRunning && info.alloc.type.value() < types) {
        const double here = Rate(info.req, info.alloc.type.value(), true);
        for (int t = 0; t < types; ++t) {
          if (prio[t].second > 1e-9 && Rate(info.req, t, true) > here) {
            s.move_to.push_back(GpuTypeId(static_cast<uint16_t>(t)));
          }
        }
        std::stable_sort(s.move_to.begin(), s.move_to.end(), [&](GpuTypeId a, GpuTypeId b) {
          return Rate(info.req, a.value(), true) > Rate(info.req, b.value(), true);
        });
      }
      s.types.clear();
      for (int t = 0; t < types; ++t) {
        if (Rate(info.req, t, true) > 0) s.types.push_back(GpuTypeId(static_cast<uint16_t>(t)));
      }
      // Highest priority first, then the larger share, then the faster type, then id.
      std::stable_sort(s.types.begin(), s.types.end(), [&](GpuTypeId a, GpuTypeId b) {
        const auto& pa = prio[a.value()];
        const auto& pb = prio[b.value()];
        if (pa.first != pb.first) return pa.first > pb.first;
        if (pa.second != pb.second) return pa.second > pb.second;
        return Rate(info.req, a.value(), opts_.aware) > Rate(info.req, b.value(), opts_.aware);
      });
    }
  }

 private:
  struct State {
    std::vector<Duration> received;  // time run on each type
    std::vector<GpuTypeId> types;    // preferred types this round
    // What the job's key says until the next plan, whatever happens in the round: so a
    // job placed or preempted in a round keeps its rank in it (victims never outrank
    // their preemptors, and nobody preempts a job placed in the same round).
    double key_priority = kInfinitePriority;
    // Running jobs: faster types it has a share of, fastest first (MoveTargets).
    std::vector<GpuTypeId> move_to;
  };
  // A job not planned yet (arrived since the last plan) has not received anything.
  double KeyPriority(JobId id) const {
    auto it = plan_.find(id);
    return it == plan_.end() ? kInfinitePriority : it->second.key_priority;
  }

  HeteroLasOptions opts_;
  std::map<JobId, State> plan_;
  Time last_plan_ = Time::min();
};

class HeteroFifoOrder final : public OrderPolicy {
 public:
  std::string_view name() const override { return "order/hetero-fifo"; }
  OrderKey Key(const JobInfo& j, Time) const override {
    return {0, 0, j.req.submit, j.req.id};
  }
  std::vector<GpuTypeId> TypePreference(const JobRequest& r) const override {
    std::vector<GpuTypeId> out;
    for (int t = 0; t < static_cast<int>(r.throughput.size()); ++t) {
      if (Rate(r, t, true) > 0) out.push_back(GpuTypeId(static_cast<uint16_t>(t)));
    }
    std::stable_sort(out.begin(), out.end(), [&](GpuTypeId a, GpuTypeId b) {
      return r.throughput[a.value()] > r.throughput[b.value()];
    });
    return out;
  }
};

}  // namespace

std::unique_ptr<OrderPolicy> MakeHeteroLasOrder(HeteroLasOptions opts) {
  return std::make_unique<HeteroLasOrder>(opts);
}
std::unique_ptr<OrderPolicy> MakeAgnosticLasOrder() {
  HeteroLasOptions o;
  o.aware = false;
  return std::make_unique<HeteroLasOrder>(o);
}
std::unique_ptr<OrderPolicy> MakeHeteroFifoOrder() { return std::make_unique<HeteroFifoOrder>(); }

}  // namespace baton::sched
