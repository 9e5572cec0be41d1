// The built-in order policies.
#include "baton/sched/order.h"

#include <algorithm>
#include <limits>

#include "baton/sched/registry.h"

namespace baton::sched {
namespace {

constexpr int64_t kUnknownRuntime = std::numeric_limits<int64_t>::max() / 4;

class FifoOrder final : public OrderPolicy {
 public:
  std::string_view name() const override { return "order/fifo"; }
  OrderKey Key(const JobInfo& j, Time) const override {
    return {0, 0, j.req.submit, j.req.id};
  }
};

class PriorityOrder final : public OrderPolicy {
 public:
  std::string_view name() const override { return "order/priority"; }
  OrderKey Key(const JobInfo& j, Time) const override {
    return {-int64_t{j.req.priority}, 0, j.req.submit, j.req.id};
  }
};

int64_t EstimateUs(const JobInfo& j) {
  return j.req.runtime_estimate > Duration::zero() ? j.req.runtime_estimate.count()
                                                   : kUnknownRuntime;
}

// Shortest job first by the oracle runtime; never preempts.
class SjfOrder final : public OrderPolicy {
 public:
  std::string_view name() const override { return "order/sjf"; }
  OrderKey Key(const JobInfo& j, Time) const override {
    return {EstimateUs(j), 0, j.req.submit, j.req.id};
  }
};

// Shortest remaining time first; a pending job preempts a running one that has more
// time left. Remaining time only shrinks while running, so a job that was preempted
// for a shorter one never becomes shorter than it and cannot preempt it back.
class SrtfOrder final : public OrderPolicy {
 public:
  std::string_view name() const override { return "order/srtf"; }
  static int64_t Remaining(const JobInfo& j, Time now) {
    int64_t est = EstimateUs(j);
    if (est == kUnknownRuntime) return est;
    return std::max<int64_t>(0, est - j.Attained(now).count());
  }
  OrderKey Key(const JobInfo& j, Time now) const override {
    return {Remaining(j, now), 0, j.req.submit, j.req.id};
  }
  bool preemptive() const override { return true; }
  bool MayPreempt(const JobInfo& p, const JobInfo& r, Time now) const override {
    return Remaining(p, now) < Remaining(r, now);
  }
};

class LasOrder final : public OrderPolicy {
 public:
  explicit LasOrder(LasOptions opts) : opts_(std::move(opts)) {}
  std::string_view name() const override { return "order/las"; }

  int Level(const JobInfo& j, Time now) const {
    const int64_t service_us = j.Attained(now).count() * j.req.gpus();
    int level = 0;
    for (int64_t t : opts_.thresholds_gpu_s) {
      if (service_us < t * 1000000) break;
      ++level;
    }
    return level;
  }
  OrderKey Key(const JobInfo& j, Time now) const override {
    return {Level(j, now), 0, j.req.submit, j.req.id};
  }
  bool preemptive() const override { return true; }
  bool MayPreempt(const JobInfo& p, const JobInfo& r, Time now) const override {
    return Level(p, now) < Level(r, now);
  }
  std::optional<Time> NextKeyChange(const JobInfo& r, Time now) const override {
    const int level = Level(r, now);
    if (level >= static_cast<int>(opts_.thresholds_gpu_s.size())) return std::nullopt;
    const int64_t gpus = std::max<int64_t>(1, r.req.gpus());
    // Wall time at which GPUs x attained reaches the next boundary (rounded up).
    const int64_t need_us = (opts_.thresholds_gpu_s[level] * 1000000 + gpus - 1) / gpus;
    return r.run_start + (Duration(need_us) - r.executed);
  }

 private:
  LasOptions opts_;
};

// Dominant-resource fair share across queues (the ranking is the scheduler's, from its
// QueueBook); within a queue, higher priority first, then submit order.
class DrfOrder final : public OrderPolicy {
 public:
  std::string_view name() const override { return "order/drf"; }
  OrderKey Key(const JobInfo& j, Time) const override {
    return {-int64_t{j.req.priority}, 0, j.req.submit, j.req.id};
  }
  bool ranks_queues() const override { return true; }
};

}  // namespace

std::unique_ptr<OrderPolicy> MakeDrfOrder() { return std::make_unique<DrfOrder>(); }
std::unique_ptr<OrderPolicy> MakeFifoOrder() { return std::make_unique<FifoOrder>(); }
std::unique_ptr<OrderPolicy> MakePriorityOrder() { return std::make_unique<PriorityOrder>(); }
std::unique_ptr<OrderPolicy> MakeSjfOrder() { return std::make_unique<SjfOrder>(); }
std::unique_ptr<OrderPolicy> MakeSrtfOrder() { return std::make_unique<SrtfOrder>(); }
std::unique_ptr<OrderPolicy> MakeLasOrder(LasOptions opts) {
  return std::make_unique<LasOrder>(std::move(opts));
}

}  // namespace baton::sched
