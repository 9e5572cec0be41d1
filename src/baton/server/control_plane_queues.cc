// ControlPlane: the queue tree — recovery, UpdateQueue, and its use by the scheduler.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <future>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_internal.h"

namespace baton::server {

Status ControlPlane::RecoverQueues() {
  BATON_ASSIGN_OR_RETURN(std::vector<store::KeyValue> kvs, store_->List("queues/"));
  std::vector<model::QueueSpec> specs;
  if (kvs.empty()) {
    specs = options_.queues;
    BATON_RETURN_IF_ERROR(QueueTree::Validate(specs).WithPrefix("--queues"));
    if (!specs.empty()) {
      store::Txn txn;
      for (const auto& q : specs) {
        txn.ops.push_back({store::Op::kPut, QueueKey(q.name), QueueToProto(q).SerializeAsString()});
      }
      BATON_ASSIGN_OR_RETURN(auto r, store_->Txn(txn));
      if (!r.succeeded) return Internal("store: the queue tree was not written");
      spdlog::info("queues: stored the tree from --queues ({} queues)", specs.size());
    }
  } else {
    for (const auto& kv : kvs) {
      v1::Queue p;
      if (!p.ParseFromString(kv.value)) {
        return Internal(fmt::format("store: {} does not hold a queue record", kv.key));
      }
      auto q = QueueFromProto(p);
      if (!q.ok()) return q.status().WithPrefix(fmt::format("store: {}", kv.key));
      specs.push_back(*std::move(q));
    }
    // Parents before children is not required; keep the stored (name) order.
    if (!options_.queues.empty()) {
      spdlog::info(
          "queues: the stored tree ({} queues) is used; --queues only seeds an empty "
          "store (change queues with `baton queue set`)",
          specs.size());
    }
  }
  return queue_tree_.Set(std::move(specs)).WithPrefix("queues");
}

QueueId ControlPlane::QueueIdOf(const std::string& name) const {
  auto it = queue_ids_.find(name);
  if (it != queue_ids_.end()) return it->second;
  auto im = implicit_queues_.find(name);
  if (im != implicit_queues_.end()) return im->second;
  const QueueId id(static_cast<uint32_t>(queue_ids_.size() + implicit_queues_.size()));
  implicit_queues_.emplace(name, id);
  return id;
}

void ControlPlane::ApplyQueues(sched::Scheduler& sched) {
  queue_ids_.clear();
  implicit_queues_.clear();
  const std::vector<model::QueueSpec> specs = queue_tree_.Specs();
  if (specs.empty()) return;
  std::string warning;
  Status s = sched.SetQueues(specs);
  if (!s.ok()) {
    // Usually the guarantees add up to more GPUs than the fleet has (agents still
    // joining, or nodes lost): keep limits, weights and the tree, drop the guarantees
    // (reclaim) until the fleet is big enough.
    std::vector<model::QueueSpec> relaxed = specs;
    for (auto& q : relaxed) q.quota_gpus.reset();
    Status r = sched.SetQueues(relaxed);
    if (!r.ok()) {
      warning = fmt::format("queues: not applied, every queue is unlimited: {}", r.message());
    } else {
      warning =
          fmt::format("queues: guarantees not enforced (limits and weights are): {}", s.message());
    }
    if (!r.ok()) {
      if (warning != queue_warning_) spdlog::error("{}", warning);
      queue_warning_ = warning;
      return;
    }
  }
  if (warning != queue_warning_ && !warning.empty()) spdlog::warn("{}", warning);
  queue_warning_ = warning;
  for (size_t i = 0; i < specs.size(); ++i) {
    queue_ids_[specs[i].name] = QueueId(static_cast<uint32_t>(i));
  }
}

Result<v1::Queue> ControlPlane::UpdateQueue(const v1::UpdateQueueRequest& req,
                                            const ChangeOrigin& origin) {
  BATON_RETURN_IF_ERROR(CheckWritable());
  std::lock_guard<std::mutex> serial(queue_update_mu_);
  BATON_ASSIGN_OR_RETURN(std::vector<model::QueueSpec> specs, queue_tree_.Updated(req));
  const auto it = std::find_if(specs.begin(), specs.end(),
                               [&](const model::QueueSpec& q) { return q.name == req.name(); });
  const v1::Queue stored = QueueToProto(*it);
  std::vector<store::Op> ops(1);
  ops[0].key = QueueKey(req.name());
  ops[0].value = stored.SerializeAsString();
  if (auto audit = origin.AuditOp("queue/" + req.name())) ops.push_back(*std::move(audit));
  // Durable first (without the control plane's lock), then in effect.
  std::promise<Status> written;
  committer_.Commit(std::move(ops), [&written](const Status& s) { written.set_value(s); });
  Status s = written.get_future().get();
  if (!s.ok()) {
    return Status(
        StatusCode::kUnavailable,
        fmt::format("queue {} not changed: cannot persist it: {}", req.name(), s.message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  BATON_RETURN_IF_ERROR(queue_tree_.Set(std::move(specs)));
  spdlog::info("queue {}: quota {}, limit {}, weight {}{}", stored.name(),
               stored.quota_gpus().empty() ? "none" : stored.quota_gpus(),
               stored.limit_gpus().empty() ? "none" : stored.limit_gpus(), stored.weight(),
               origin.user.empty() ? "" : " (by " + origin.user + ")");
  // Queue ids change with the tree: a new scheduler books everything again.
  RebuildScheduler(clock_->Now());
  work_ = true;
  work_cv_.notify_all();
  return stored;
}

}  // namespace baton::server
