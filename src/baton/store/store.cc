#include "baton/store/store.h"

#include <set>

namespace baton::store {

void WatchQueue::Deliver(const std::vector<WatchEvent>& events) {
  bool added = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return;
    for (const WatchEvent& e : events) {
      if (HasPrefix(e.kv.key, prefix_)) {
        queue_.push_back(e);
        added = true;
      }
    }
  }
  if (added) cv_.notify_all();
}

bool WatchQueue::Next(WatchEvent* out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!cv_.wait_until(lock, deadline, [&] { return cancelled_ || !queue_.empty(); })) {
    return false;
  }
  if (cancelled_) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

void WatchQueue::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    queue_.clear();
  }
  cv_.notify_all();
}

bool WatchQueue::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void WatchHub::Add(const std::shared_ptr<WatchQueue>& q) {
  std::lock_guard<std::mutex> lock(mu_);
  queues_.push_back(q);
}

void WatchHub::Publish(const std::vector<WatchEvent>& events) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  size_t kept = 0;
  for (size_t i = 0; i < queues_.size(); ++i) {
    std::shared_ptr<WatchQueue> q = queues_[i].lock();
    if (q == nullptr || q->cancelled()) continue;
    q->Deliver(events);
    queues_[kept++] = queues_[i];
  }
  queues_.resize(kept);
}

Txn PutTxn(std::string_view key, std::string_view value,
           std::optional<int64_t> expected_mod_revision) {
  store::Txn txn;
  if (expected_mod_revision.has_value()) {
    txn.compares.push_back(*expected_mod_revision == 0
                               ? Compare{std::string(key), Compare::kNotExists, 0}
                               : Compare{std::string(key), Compare::kModRevisionEquals,
                                         *expected_mod_revision});
  }
  txn.ops.push_back(Op{Op::kPut, std::string(key), std::string(value)});
  return txn;
}

Txn DeleteTxn(std::string_view key, std::optional<int64_t> expected_mod_revision) {
  store::Txn txn;
  if (expected_mod_revision.has_value()) {
    txn.compares.push_back(
        Compare{std::string(key), Compare::kModRevisionEquals, *expected_mod_revision});
  }
  txn.ops.push_back(Op{Op::kDelete, std::string(key), ""});
  return txn;
}

Status PutConflict(int64_t expected) {
  return FailedPrecondition(expected == 0
                                ? std::string("put: key already exists")
                                : "put: key's mod_revision is not " + std::to_string(expected));
}

Status DeleteConflict(int64_t expected) {
  return FailedPrecondition("delete: key's mod_revision is not " + std::to_string(expected));
}

bool HasPrefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

std::optional<std::string> PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::nullopt;
}

Status ValidateTxn(const store::Txn& txn) {
  std::set<std::string_view> seen;
  for (const Op& op : txn.ops) {
    if (!seen.insert(op.key).second) {
      return InvalidArgument("txn: two ops on the same key");
    }
  }
  return Status::Ok();
}

}  // namespace baton::store
