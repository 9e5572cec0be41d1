#include "baton/sched/queues.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace baton::sched {

Result<QueueBook> QueueBook::Build(const std::vector<model::QueueSpec>& specs,
                                   const model::Cluster& cluster, Duration half_life) {
  QueueBook b;
  if (half_life < Duration::zero()) {
    return InvalidArgument("fair-share half-life: must be >= 0");
  }
  b.half_life_ = half_life;
  b.cap_gpu_milli_ = static_cast<double>(cluster.total_gpus()) * 1000.0;
  for (const auto& n : cluster.nodes()) {
    b.cap_cpus_ += n.cpus;
    b.cap_mem_ += static_cast<double>(n.memory_mib);
  }
  if (specs.size() > kMaxQueues) return InvalidArgument("queues: too many queues");
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < specs.size(); ++i) {
    const model::QueueSpec& s = specs[i];
    if (s.name.empty()) return InvalidArgument(fmt::format("queues[{}].name: must not be empty", i));
    if (!index.emplace(s.name, i).second) {
      return InvalidArgument(fmt::format("queues[{}].name: duplicate queue name '{}'", i, s.name));
    }
    if (s.weight < 1) {
      return InvalidArgument(fmt::format("queues[{}].weight: must be >= 1, got {}", i, s.weight));
    }
    if (s.priority < kMinPriority || s.priority > kMaxPriority) {
      return InvalidArgument(fmt::format("queues[{}].priority: must be between {} and {}, got {}",
                                         i, kMinPriority, kMaxPriority, s.priority));
    }
    if (s.quota_gpus && *s.quota_gpus < Quantity()) {
      return InvalidArgument(fmt::format("queues[{}].quota_gpus: must be >= 0", i));
    }
    if (s.limit_gpus && *s.limit_gpus < Quantity()) {
      return InvalidArgument(fmt::format("queues[{}].limit_gpus: must be >= 0", i));
    }
    if (s.quota_gpus && s.limit_gpus && *s.limit_gpus < *s.quota_gpus) {
      return InvalidArgument(fmt::format("queues[{}].limit_gpus: must be >= quota_gpus ({}), got {}",
                                         i, s.quota_gpus->ToString(), s.limit_gpus->ToString()));
    }
    Book q;
    q.name = s.name;
    q.guarantee = s.quota_gpus ? s.quota_gpus->milli() : 0;
    q.limit = s.limit_gpus ? s.limit_gpus->milli() : kNoLimit;
    q.weight = s.weight;
    if (q.guarantee > 0) b.has_guarantees_ = true;
    b.queues_.push_back(std::move(q));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].parent.empty()) continue;
    auto it = index.find(specs[i].parent);
    if (it == index.end()) {
      return InvalidArgument(
          fmt::format("queues[{}].parent: no queue named '{}'", i, specs[i].parent));
    }
    b.queues_[i].parent = static_cast<int32_t>(it->second);
  }
  // Following parents from each queue finds every cycle (one parent each).
  for (size_t start = 0; start < specs.size(); ++start) {
    std::vector<size_t> walk;
    for (int32_t at = static_cast<int32_t>(start); at >= 0; at = b.queues_[at].parent) {
      auto seen = std::find(walk.begin(), walk.end(), static_cast<size_t>(at));
      if (seen != walk.end()) {
        std::vector<size_t> cycle(seen, walk.end());
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        std::string text;
        for (size_t q : cycle) text += specs[q].name + " -> ";
        return InvalidArgument(fmt::format("queues: cycle {}{}", text, specs[cycle.front()].name));
      }
      walk.push_back(static_cast<size_t>(at));
    }
  }
  // Guarantees must add up: children within their parent's, top level within the cluster.
  // The error names the child that completes the over-commitment.
  int64_t top = 0;
  std::optional<size_t> last_top;
  for (size_t p = 0; p < specs.size(); ++p) {
    if (!specs[p].quota_gpus) continue;
    if (specs[p].parent.empty()) {
      top += b.queues_[p].guarantee;
      last_top = p;
    }
    int64_t sum = 0;
    std::optional<size_t> last;
    for (size_t c = 0; c < specs.size(); ++c) {
      if (b.queues_[c].parent != static_cast<int32_t>(p) || !specs[c].quota_gpus) continue;
      sum += b.queues_[c].guarantee;
      last = c;
    }
    if (last && sum > b.queues_[p].guarantee) {
      return InvalidArgument(fmt::format(
          "queues[{}].quota_gpus: children of {} guarantee {} GPUs but {} has {}", *last,
          specs[p].name, Quantity::FromMilli(sum).ToString(), specs[p].name,
          specs[p].quota_gpus->ToString()));
    }
  }
  if (last_top && top > cluster.total_gpus() * 1000) {
    return InvalidArgument(fmt::format(
        "queues[{}].quota_gpus: top-level queues guarantee {} GPUs but the cluster has {}",
        *last_top, Quantity::FromMilli(top).ToString(), cluster.total_gpus()));
  }
  b.configured_ = b.queues_.size();
  return b;
}

Status QueueBook::Ensure(QueueId q) {
  if (!q.valid() || q.value() >= kMaxQueues) {
    return InvalidArgument(fmt::format("queue id {} is out of range", q));
  }
  while (queues_.size() <= q.value()) {
    Book b;
    b.name = fmt::format("queue {}", queues_.size());
    queues_.push_back(std::move(b));
  }
  return Status::Ok();
}

std::string QueueBook::name(QueueId q) const {
  if (q.value() >= queues_.size()) return fmt::format("queue {}", q);
  return Get(q).name;
}

std::vector<QueueId> QueueBook::Path(QueueId q) const {
  std::vector<QueueId> out;
  for (int32_t at = static_cast<int32_t>(q.value()); at >= 0; at = queues_[at].parent) {
    out.push_back(QueueId(static_cast<uint32_t>(at)));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

int64_t QueueBook::guarantee_milli(QueueId q) const { return Get(q).guarantee; }
int64_t QueueBook::limit_milli(QueueId q) const { return Get(q).limit; }
int32_t QueueBook::weight(QueueId q) const { return Get(q).weight; }
int64_t QueueBook::used_milli(QueueId q) const { return Get(q).used.gpu_milli; }
const Resources& QueueBook::used(QueueId q) const { return Get(q).used; }

std::optional<QueueId> QueueBook::LimitBlocker(QueueId q, int64_t gpu_milli) const {
  for (int32_t at = static_cast<int32_t>(q.value()); at >= 0; at = queues_[at].parent) {
    const Book& b = queues_[at];
    if (b.limit != kNoLimit && b.used.gpu_milli + gpu_milli > b.limit) {
      return QueueId(static_cast<uint32_t>(at));
    }
  }
  return std::nullopt;
}

int64_t QueueBook::Headroom(QueueId q) const {
  int64_t room = kNoLimit;
  for (int32_t at = static_cast<int32_t>(q.value()); at >= 0; at = queues_[at].parent) {
    const Book& b = queues_[at];
    if (b.limit != kNoLimit) room = std::min(room, b.limit - b.used.gpu_milli);
  }
  return room;
}

std::pair<QueueId, QueueId> QueueBook::Branches(QueueId p, QueueId v) const {
  const auto pp = Path(p), vp = Path(v);
  size_t i = 0;
  while (i < pp.size() && i < vp.size() && pp[i] == vp[i]) ++i;
  // i < both sizes unless one is an ancestor of the other; then that one is its own
  // branch (its own jobs compete with its children's at its level).
  return {pp[std::min(i, pp.size() - 1)], vp[std::min(i, vp.size() - 1)]};
}

bool QueueBook::AnyBorrowing() const {
  for (const Book& b : queues_) {
    if (b.used.gpu_milli > b.guarantee) return true;
  }
  return false;
}

bool QueueBook::WithinGuarantee(QueueId q, int64_t gpu_milli) const {
  const Book& b = Get(q);
  return b.used.gpu_milli + gpu_milli <= b.guarantee;
}

bool QueueBook::MayReclaim(QueueId p, int64_t gpu_milli, QueueId v) const {
  if (p == v) return false;
  auto [pb, vb] = Branches(p, v);
  if (pb == vb) return false;
  const Book& P = Get(pb);
  const Book& V = Get(vb);
  return V.used.gpu_milli > V.guarantee && P.used.gpu_milli + gpu_milli <= P.guarantee;
}

bool QueueBook::OutsideGuarantee(QueueId p, QueueId v) const {
  if (p == v) return true;
  auto [pb, vb] = Branches(p, v);
  if (pb == vb) return true;
  const Book& V = Get(vb);
  return V.used.gpu_milli > V.guarantee;
}

void QueueBook::AveragesAt(const Book& b, Time now, double out[3]) const {
  if (half_life_ <= Duration::zero() || now <= b.as_of) {
    out[0] = b.avg_gpu;
    out[1] = b.avg_cpu;
    out[2] = b.avg_mem;
    if (half_life_ <= Duration::zero()) {
      out[0] = static_cast<double>(b.used.gpu_milli);
      out[1] = static_cast<double>(b.used.cpus);
      out[2] = static_cast<double>(b.used.memory_mib);
    }
    return;
  }
  // `used` was constant since as_of: the average moves towards it by 1 - 2^(-dt/h).
  const double d = std::exp2(-ToSeconds(now - b.as_of) / ToSeconds(half_life_));
  out[0] = b.avg_gpu * d + static_cast<double>(b.used.gpu_milli) * (1 - d);
  out[1] = b.avg_cpu * d + static_cast<double>(b.used.cpus) * (1 - d);
  out[2] = b.avg_mem * d + static_cast<double>(b.used.memory_mib) * (1 - d);
}

void QueueBook::Decay(Book& b, Time now) const {
  if (now <= b.as_of) return;
  double a[3];
  AveragesAt(b, now, a);
  b.avg_gpu = a[0];
  b.avg_cpu = a[1];
  b.avg_mem = a[2];
  b.as_of = now;
}

void QueueBook::Add(QueueId q, const Resources& r, Time now) {
  for (int32_t at = static_cast<int32_t>(q.value()); at >= 0; at = queues_[at].parent) {
    Decay(queues_[at], now);
    queues_[at].used += r;
  }
}

void QueueBook::Sub(QueueId q, const Resources& r, Time now) {
  for (int32_t at = static_cast<int32_t>(q.value()); at >= 0; at = queues_[at].parent) {
    Decay(queues_[at], now);
    queues_[at].used -= r;
  }
}

double QueueBook::DominantShare(QueueId q, Time now) const {
  const Book& b = Get(q);
  double avg[3];
  AveragesAt(b, now, avg);
  const double held[3] = {static_cast<double>(b.used.gpu_milli), static_cast<double>(b.used.cpus),
                          static_cast<double>(b.used.memory_mib)};
  const double cap[3] = {cap_gpu_milli_, cap_cpus_, cap_mem_};
  double share = 0;
  for (int i = 0; i < 3; ++i) {
    if (cap[i] <= 0) continue;  // a resource the cluster does not report is not compared
    share = std::max(share, std::max(held[i], avg[i]) / cap[i]);
  }
  return share / b.weight;
}

std::vector<double> QueueBook::SharePath(QueueId q, Time now) const {
  std::vector<double> out;
  for (QueueId a : Path(q)) out.push_back(DominantShare(a, now));
  return out;
}

}  // namespace baton::sched
