// Store: the control plane's durable key-value state, etcd-shaped.
//
// Keys and values are byte strings (any bytes, embedded NULs included); keys sort by
// unsigned byte order. Every write (Put, Delete, or a Txn that changes something) bumps
// one store-wide revision, which starts at 0 (empty store) and is 1 after the first write.
// Each key carries create_revision (revision of the write that created it), mod_revision
// (revision of its latest write) and version (1 at creation, +1 per Put; a delete ends the
// key's life, and re-creating it starts again at version 1).
//
// Watchers see every change under a prefix, in revision order and without gaps, starting
// after any revision the backend still has in its change log. No backend compacts its log
// yet, so every revision since 0 can be replayed (see docs/store.md).
//
// Backends: MemoryStore (memory/, for tests and the simulator), SqliteStore (sqlite/, the
// embedded default), EtcdStore (etcd/, for HA control planes). The conformance suite
// store_conformance_test.cc runs against all three.
//
// Thread-safety: every Store method may be called concurrently; a Watcher may be used from
// one thread at a time, and Cancel() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/common/status.h"

namespace baton::store {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// A condition on the current state of one key, checked at the start of a Txn.
struct Compare {
  enum Op { kModRevisionEquals, kExists, kNotExists };
  std::string key;
  Op op = kExists;
  int64_t mod_revision = 0;  // only for kModRevisionEquals
};

// One write inside a Txn. Deleting an absent key inside a Txn is a no-op.
struct Op {
  enum Type { kPut, kDelete };
  Type type = kPut;
  std::string key;
  std::string value;  // only for kPut
};

// If every compare holds, every op is applied atomically under one new revision;
// otherwise nothing is applied. Two ops on the same key are InvalidArgument.
struct Txn {
  std::vector<Compare> compares;
  std::vector<Op> ops;
};

struct TxnResult {
  bool succeeded = false;
  // The new revision when succeeded and something changed; otherwise the current one.
  int64_t revision = 0;
};

struct WatchEvent {
  enum Type { kPut, kDelete };
  Type type = kPut;
  // For kPut: the key's state after the write. For kDelete: key, empty value,
  // create_revision 0, mod_revision = the deleting revision, version 0.
  KeyValue kv;
  int64_t revision = 0;  // == kv.mod_revision

  friend bool operator==(const WatchEvent&, const WatchEvent&) = default;
};

// For backends: one watcher's queue, shared between the Watcher handle and the backend's
// WatchHub.
class WatchQueue {
 public:
  explicit WatchQueue(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  // Appends the events whose key is under prefix(); wakes a waiting Next.
  void Deliver(const std::vector<WatchEvent>& events);
  bool Next(WatchEvent* out, std::chrono::milliseconds timeout);
  void Cancel();
  bool cancelled() const;

 private:
  const std::string prefix_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  bool cancelled_ = false;
};

// A stream of changes under one prefix. Destroying it cancels it. The queue is unbounded:
// a consumer that never calls Next holds every event since it started.
class Watcher {
 public:
  explicit Watcher(std::shared_ptr<WatchQueue> queue) : queue_(std::move(queue)) {}
  ~Watcher() { Cancel(); }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Waits up to `timeout` for the next event (a condition-variable wait with a deadline).
  // Returns false on timeout or once cancelled (events still queued at Cancel are dropped).
  bool Next(WatchEvent* out, std::chrono::milliseconds timeout) {
    return queue_->Next(out, timeout);
  }
  // Ends the stream; a Next blocked in another thread returns false.
  void Cancel() { queue_->Cancel(); }

 private:
  std::shared_ptr<WatchQueue> queue_;
};

// For backends: the set of live watchers. Backends replay their log into a new queue and
// Add it, and Publish each commit's events, while holding their own write lock, so no
// watcher can miss or double-see a revision.
class WatchHub {
 public:
  void Add(const std::shared_ptr<WatchQueue>& q);
  void Publish(const std::vector<WatchEvent>& events);

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<WatchQueue>> queues_;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::optional<KeyValue>> Get(std::string_view key) = 0;
  // Keys starting with prefix (empty = all), sorted by key; limit 0 = no limit.
  virtual Result<std::vector<KeyValue>> List(std::string_view prefix, size_t limit = 0) = 0;
  // Compare-and-swap put. expected_mod_revision: nullopt = unconditional; 0 = the key must
  // not exist; N = the key's mod_revision must be N. Returns the new revision, or
  // FailedPrecondition on mismatch.
  virtual Result<int64_t> Put(std::string_view key, std::string_view value,
                              std::optional<int64_t> expected_mod_revision = std::nullopt) = 0;
  // NotFound if the key is absent; FailedPrecondition if expected_mod_revision is given
  // and differs. Returns the new revision.
  virtual Result<int64_t> Delete(std::string_view key,
                                 std::optional<int64_t> expected_mod_revision = std::nullopt) = 0;
  virtual Result<TxnResult> Txn(const store::Txn& txn) = 0;
  // The revision of the latest write (0 for a fresh store).
  virtual int64_t Revision() const = 0;
  // Events for keys under prefix with revision > after_revision: first those already in
  // the change log, then live ones.
  virtual Result<std::unique_ptr<Watcher>> Watch(std::string_view prefix,
                                                 int64_t after_revision) = 0;
  // The most ops, and the most bytes of keys and values (roughly: the encoded request),
  // one Txn may carry; 0 = no limit. A Txn over them fails with ResourceExhausted. Writers
  // that batch (GroupCommitter) cut their batches to fit.
  virtual size_t MaxTxnOps() const { return 0; }
  virtual size_t MaxTxnBytes() const { return 0; }
};

// Helpers shared by backends.
// Put and Delete are one-op transactions; every backend builds them, and words their
// compare failures, the same way.
Txn PutTxn(std::string_view key, std::string_view value,
           std::optional<int64_t> expected_mod_revision);
Txn DeleteTxn(std::string_view key, std::optional<int64_t> expected_mod_revision);
Status PutConflict(int64_t expected_mod_revision);
Status DeleteConflict(int64_t expected_mod_revision);

bool HasPrefix(std::string_view key, std::string_view prefix);
// The smallest key greater than every key with this prefix, or nullopt if there is none
// (empty prefix, or all bytes 0xff).
std::optional<std::string> PrefixEnd(std::string_view prefix);
// InvalidArgument if two ops touch the same key.
Status ValidateTxn(const store::Txn& txn);

}  // namespace baton::store
