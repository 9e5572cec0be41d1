// GroupCommitter: makes the control plane's writes durable in batches.
//
// Every change the control plane acknowledges must be on disk first, but one fsync per
// change would cap the API at a few hundred changes a second. Callers enqueue writes with a
// completion callback; one writer thread takes everything queued so far, writes it as one
// Store transaction (one fsync), then runs the callbacks in enqueue order. Under load the
// batches grow by themselves; with one caller the latency is a single transaction.
//
// Two writes to the same key in one batch collapse to the later one (both callbacks run):
// the store sees each key at most once per transaction, as Txn requires. Batches are cut to
// the store's MaxTxnOps()/MaxTxnBytes() (etcd's request limits); callbacks still run in
// enqueue order, batch after batch.
//
// Not responsible for: retrying a failed transaction (each callback gets the error and
// decides), ordering against writes made to the store directly.
//
// Thread-safety: Enqueue may be called from any thread, including from a callback.
// Callbacks run on the writer thread with no lock of this class held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/store/store.h"

namespace baton::server {

struct GroupCommitStats {
  int64_t batches = 0;
  int64_t writes = 0;
  int64_t failed_batches = 0;
  int64_t largest_batch = 0;
};

class GroupCommitter {
 public:
  using Done = std::function<void(const Status&)>;
  // Told of each transaction: how long the store took, how many writes it carried and
  // whether it succeeded (for metrics). Runs on the writer thread; must be quick.
  using OnCommit = std::function<void(Duration took, int64_t writes, bool ok)>;

  // `max_batch` bounds one transaction's size; more waits for the next one.
  explicit GroupCommitter(store::Store* store, size_t max_batch = 4096,
                          OnCommit on_commit = {});
  // Flushes what is queued, then stops the writer.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Puts `value` at `key` durably, then calls `done` (may be empty).
  void Put(std::string key, std::string value, Done done);
  // Deletes `key` durably (absent keys are fine), then calls `done`.
  void Delete(std::string key, Done done);
  // Writes `ops` durably in one transaction, never split across batches (a change and
  // its audit record), then calls `done`. The ops must name distinct keys.
  void Commit(std::vector<store::Op> ops, Done done);
  // Blocks until everything enqueued before the call has been written and its callbacks
  // have run. For tests and shutdown.
  void Flush();

  GroupCommitStats stats() const;

 private:
  struct Write {
    std::vector<store::Op> ops;  // usually one; a group is never split
    Done done;
  };
  void Enqueue(Write w);
  void Run();
  // How many queued writes the next transaction takes (mu_ held).
  size_t BatchSize() const;

  store::Store* store_;
  const size_t max_batch_;
  const OnCommit on_commit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // writer waits for work
  std::condition_variable flushed_;   // Flush waits for completed_ to pass its ticket
  std::vector<Write> queue_;
  int64_t enqueued_ = 0;              // writes (groups) ever enqueued
  int64_t completed_ = 0;             // writes (groups) whose callbacks have run
  bool stopping_ = false;
  GroupCommitStats stats_;
  std::thread writer_;
};

}  // namespace baton::server
