// QueueTree: batond's queue tree (names, parents, guarantees, limits, weights), shared by
// the scheduling loop (quotas) and authorization (a role on a queue covers its subtree).
//
// A queue named by a job but absent from the tree is a top-level queue of its own with no
// guarantee or limit (so a cluster without a queue file still has one tenant per queue
// name). Set() validates a whole tree; errors name the field ("queues[2].parent: no queue
// named 'x'", "queues: cycle a -> b -> a", "queues[3].quota_gpus: children of org
// guarantee 96 GPUs but org has 64"). Guarantees against the fleet's size are the
// scheduler's concern (ControlPlane), as the fleet changes.
//
// Thread-safety: every method may be called concurrently; the lock is a leaf (held by no
// callback, taken under the ControlPlane's lock).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/model/cluster_spec.h"
#include "baton/v1/cluster.pb.h"
#include "baton/v1/types.pb.h"

namespace baton::server {

class QueueTree {
 public:
  static constexpr size_t kMaxQueues = 10000;

  // Checks a tree: names, unique, parents that exist, no cycles, weights 1..1000000,
  // priorities -1000..1000, limits >= guarantees, children's guarantees within their
  // parent's.
  static Status Validate(const std::vector<model::QueueSpec>& specs);
  // Replaces the tree after Validate.
  Status Set(std::vector<model::QueueSpec> specs);
  std::vector<model::QueueSpec> Specs() const;
  std::optional<model::QueueSpec> Find(std::string_view name) const;

  // Root first, `queue` last ("" is "default").
  std::vector<std::string> Path(std::string_view queue) const;
  // The path a queue would have as a child of `parent` (for one not created yet).
  std::vector<std::string> PathUnder(std::string_view parent, std::string_view queue) const;
  // Whether `queue` is one of `subtrees` or below one of them.
  bool Within(std::string_view queue, const std::vector<std::string>& subtrees) const;

  // The tree with `req` applied (a change, or a new queue), validated; not installed.
  Result<std::vector<model::QueueSpec>> Updated(const v1::UpdateQueueRequest& req) const;

 private:
  std::vector<std::string> PathLocked(std::string_view queue) const;

  mutable std::mutex mu_;
  std::vector<model::QueueSpec> specs_;
  std::map<std::string, std::string, std::less<>> parent_;  // name -> parent ("" = top)
};

// The stored form of a queue (key "queues/<name>") and back.
v1::Queue QueueToProto(const model::QueueSpec& q);
Result<model::QueueSpec> QueueFromProto(const v1::Queue& q);
std::string QueueKey(std::string_view name);
// Letters, digits, '-', '_' and '.', 1..253 characters.
bool IsQueueName(std::string_view name);

}  // namespace baton::server
