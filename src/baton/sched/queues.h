// QueueBook: the scheduler's books on tenants' queues — the queue tree, what each queue
// holds right now, and its recent usage for fair share.
//
// A queue has a guarantee (`quota_gpus`: GPUs it is entitled to whenever it has work), a
// limit (`limit_gpus`: the most it may hold, borrowing included; unset = no limit of its
// own) and a weight (its share of what is left over, under order/drf). Queues form a
// tree (org -> team); a job's GPUs count against its queue and every ancestor, so an
// org's limit bounds all its teams together.
//
// Lending and reclaim: GPUs nobody uses may be used by any queue up to its limits. A
// queue holding more than its guarantee is *borrowing*. When a job of queue P that fits
// in P's guarantee is waiting, the scheduler may reclaim borrowed GPUs: it preempts jobs
// of queue V if, below the lowest common ancestor of P and V, V's branch holds more than
// its guarantee and P's branch, with the job, stays within its own. The same rule keeps
// other queues' guaranteed GPUs safe from priority and order-policy preemption. Since a
// reclaiming branch ends within its guarantee, it can never be reclaimed from in turn
// by the branch it took from: reclaim cannot loop.
//
// Fair share (order/drf): a queue's dominant share is the largest, over GPUs, CPUs and
// memory, of max(what it holds now, its usage averaged with exponential decay over the
// configured half-life) divided by the cluster's capacity, divided by its weight. The
// average forgets usage with the half-life (0 = no memory: only what it holds now); taking
// the larger of the two keeps a queue that just grabbed a lot from looking idle, and a
// queue that used a lot lately from jumping ahead the moment its jobs end.
//
// Not responsible for: job order within a queue, placement, preemption choices
// (Scheduler). Thread-safety: none; owned by one scheduler. Deterministic: plain
// arithmetic in a fixed order, no hashing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/ids.h"
#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/model/cluster.h"
#include "baton/model/cluster_spec.h"

namespace baton::sched {

// Amounts of the resources fair share looks at. GPUs in milli-GPUs (exact fractions),
// CPUs in cores, memory in MiB.
struct Resources {
  int64_t gpu_milli = 0;
  int64_t cpus = 0;
  int64_t memory_mib = 0;
  Resources& operator+=(const Resources& o) {
    gpu_milli += o.gpu_milli;
    cpus += o.cpus;
    memory_mib += o.memory_mib;
    return *this;
  }
  Resources& operator-=(const Resources& o) {
    gpu_milli -= o.gpu_milli;
    cpus -= o.cpus;
    memory_mib -= o.memory_mib;
    return *this;
  }
};

constexpr int32_t kMinPriority = -1000;
constexpr int32_t kMaxPriority = 1000;

class QueueBook {
 public:
  static constexpr int64_t kNoLimit = INT64_MAX / 4;

  // An empty book: every queue id names a queue with no guarantee, no limit, weight 1.
  QueueBook() = default;

  // Builds the tree from specs (QueueId i = specs[i]). Errors name the field:
  // "queues[2].parent: no queue named 'x'", "queues: cycle a -> b -> a",
  // "queues[3].quota_gpus: children of org guarantee 96 GPUs but org has 64",
  // "queues[1].quota_gpus: top-level queues guarantee 500 GPUs but the cluster has 448",
  // weight below 1, priority outside -1000..1000, limit below quota, duplicate names.
  static Result<QueueBook> Build(const std::vector<model::QueueSpec>& specs,
                                 const model::Cluster& cluster, Duration half_life);

  // Queues named in specs; ids past these are implicit queues with no guarantee or limit
  // and weight 1, created by Ensure (traces and drivers with no queue config).
  size_t configured() const { return configured_; }
  static constexpr uint32_t kMaxQueues = 1 << 20;
  // Makes q known (an implicit queue if past the configured ones). Errors: q beyond
  // kMaxQueues.
  Status Ensure(QueueId q);
  bool has_guarantees() const { return has_guarantees_; }
  // "team-a", or "queue 7" for an implicit queue.
  std::string name(QueueId q) const;
  // Root first, `q` last.
  std::vector<QueueId> Path(QueueId q) const;
  int64_t guarantee_milli(QueueId q) const;
  int64_t limit_milli(QueueId q) const;
  int32_t weight(QueueId q) const;
  // GPUs held by the queue and its descendants, in milli-GPUs.
  int64_t used_milli(QueueId q) const;
  const Resources& used(QueueId q) const;

  // The queue (q or an ancestor) whose limit a job of `gpu_milli` more would exceed, or
  // nullopt when it may start as far as quotas go. Nearest to q first.
  std::optional<QueueId> LimitBlocker(QueueId q, int64_t gpu_milli) const;
  // Largest number of milli-GPUs q could still take under its and its ancestors' limits.
  int64_t Headroom(QueueId q) const;

  // Whether a job of `gpu_milli` in queue p may take GPUs held by a job of queue v
  // without touching v's guarantee: false for the same queue; else, below their lowest
  // common ancestor, v's branch must hold more than its guarantee and p's branch, job
  // included, must stay within its own.
  bool MayReclaim(QueueId p, int64_t gpu_milli, QueueId v) const;
  // Whether a job of queue v may be preempted for queue p by priority or order policy:
  // yes within one queue; across queues only if v's branch (below the common ancestor)
  // is borrowing, i.e. holds more than its guarantee.
  bool OutsideGuarantee(QueueId p, QueueId v) const;
  // Whether some queue holds more than its guarantee.
  bool AnyBorrowing() const;
  // Whether a job of `gpu_milli` in q fits in q's own guarantee (reclaim may help it).
  bool WithinGuarantee(QueueId q, int64_t gpu_milli) const;

  // Book keeping; `now` advances the decayed averages (never backwards).
  void Add(QueueId q, const Resources& r, Time now);
  void Sub(QueueId q, const Resources& r, Time now);

  // The dominant share of q alone (see the header comment), at `now`.
  double DominantShare(QueueId q, Time now) const;
  // Dominant shares along the path from the top-level queue down to q: hierarchical
  // fair share compares these lexicographically (orgs first, then teams within an org).
  std::vector<double> SharePath(QueueId q, Time now) const;

 private:
  struct Book {
    std::string name;
    int32_t parent = -1;
    int64_t guarantee = 0;  // milli-GPUs
    int64_t limit = kNoLimit;
    int32_t weight = 1;
    Resources used;
    // Decayed averages of `used`, as of `as_of`.
    double avg_gpu = 0, avg_cpu = 0, avg_mem = 0;
    Time as_of;
  };
  const Book& Get(QueueId q) const { return queues_[q.value()]; }
  // Folds the time since b.as_of into the decayed averages.
  void Decay(Book& b, Time now) const;
  // The decayed averages at `now`, without updating them.
  void AveragesAt(const Book& b, Time now, double out[3]) const;
  // The children of the lowest common ancestor on the paths to p and v (either may be
  // the root of its own tree when they share none).
  std::pair<QueueId, QueueId> Branches(QueueId p, QueueId v) const;

  std::vector<Book> queues_;
  size_t configured_ = 0;
  Duration half_life_{0};
  double cap_gpu_milli_ = 0, cap_cpus_ = 0, cap_mem_ = 0;
  bool has_guarantees_ = false;
};

}  // namespace baton::sched
