#include "baton/server/group_commit.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace baton::server {

GroupCommitter::GroupCommitter(store::Store* store, size_t max_batch, OnCommit on_commit)
    : store_(store), max_batch_(std::max<size_t>(1, max_batch)), on_commit_(std::move(on_commit)) {
  writer_ = std::thread([this] { Run(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void GroupCommitter::Put(std::string key, std::string value, Done done) {
  store::Op op;
  op.type = store::Op::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  std::vector<store::Op> ops;
  ops.push_back(std::move(op));
  Enqueue({std::move(ops), std::move(done)});
}

void GroupCommitter::Delete(std::string key, Done done) {
  store::Op op;
  op.type = store::Op::kDelete;
  op.key = std::move(key);
  std::vector<store::Op> ops;
  ops.push_back(std::move(op));
  Enqueue({std::move(ops), std::move(done)});
}

void GroupCommitter::Commit(std::vector<store::Op> ops, Done done) {
  Enqueue({std::move(ops), std::move(done)});
}

void GroupCommitter::Enqueue(Write w) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(w));
    ++enqueued_;
  }
  cv_.notify_one();
}

void GroupCommitter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t ticket = enqueued_;
  flushed_.wait(lock, [&] { return completed_ >= ticket; });
}

GroupCommitStats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t GroupCommitter::BatchSize() const {
  const size_t n = std::min(queue_.size(), max_batch_);
  // Stores with per-transaction limits (etcd: 128 ops, 1.5 MiB) get batches that fit;
  // one write (group) too big on its own still goes alone and gets the store's error.
  const size_t max_ops = store_->MaxTxnOps();
  const size_t max_bytes = store_->MaxTxnBytes();
  // Keys and values plus generous room per op for framing and the store's key prefix.
  constexpr size_t kPerOp = 128;
  const size_t budget = max_bytes > 8 * kPerOp ? max_bytes - 8 * kPerOp : max_bytes;
  size_t ops = 0, bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    ops += queue_[i].ops.size();
    for (const store::Op& op : queue_[i].ops) bytes += op.key.size() + op.value.size() + kPerOp;
    if ((max_ops != 0 && ops > max_ops) || (max_bytes != 0 && bytes > budget)) {
      return std::max<size_t>(i, 1);
    }
  }
  return n;
}

void GroupCommitter::Run() {
  std::vector<Write> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      const size_t n = BatchSize();
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    }

    // Later writes to a key replace earlier ones in the same transaction.
    store::Txn txn;
    std::unordered_map<std::string_view, size_t> slot;
    txn.ops.reserve(batch.size());
    for (const Write& w : batch) {
      for (const store::Op& op : w.ops) {
        auto [it, inserted] = slot.emplace(op.key, txn.ops.size());
        if (inserted) {
          txn.ops.push_back(op);
        } else {
          txn.ops[it->second] = op;
        }
      }
    }
    Status status;
    const auto t0 = std::chrono::steady_clock::now();
    auto result = store_->Txn(txn);
    const Duration took = std::chrono::duration_cast<Duration>(
        std::chrono::steady_clock::now() - t0);
    if (!result.ok()) {
      status = result.status();
    } else if (!result->succeeded) {
      status = Internal("group commit: transaction without compares did not apply");
    }
    if (on_commit_) on_commit_(took, static_cast<int64_t>(batch.size()), status.ok());

    for (Write& w : batch) {
      if (w.done) w.done(status);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      completed_ += static_cast<int64_t>(batch.size());
      stats_.batches++;
      stats_.writes += static_cast<int64_t>(batch.size());
      if (!status.ok()) stats_.failed_batches++;
      stats_.largest_batch = std::max<int64_t>(stats_.largest_batch,
                                               static_cast<int64_t>(batch.size()));
    }
    flushed_.notify_all();
    batch.clear();
  }
}

}  // namespace baton::server
