// MemoryStore: the in-memory Store backend, for tests and the simulator.
//
// A std::map of keys guarded by one mutex, plus a change log (every event since
// revision 0, never compacted) from which watchers replay. Nothing is persisted.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "baton/store/store.h"

namespace baton::store {

class MemoryStore : public Store {
 public:
  MemoryStore() = default;

  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<std::vector<KeyValue>> List(std::string_view prefix, size_t limit = 0) override;
  Result<int64_t> Put(std::string_view key, std::string_view value,
                      std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<int64_t> Delete(std::string_view key,
                         std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<TxnResult> Txn(const store::Txn& txn) override;
  int64_t Revision() const override { return revision_.load(); }
  Result<std::unique_ptr<Watcher>> Watch(std::string_view prefix, int64_t after_revision) override;

 private:
  bool CompareHolds(const Compare& c) const;     // requires mu_
  TxnResult ApplyLocked(const store::Txn& txn);  // requires mu_; txn validated

  std::mutex mu_;
  std::map<std::string, KeyValue, std::less<>> kv_;
  std::vector<WatchEvent> log_;  // in revision order
  std::atomic<int64_t> revision_{0};
  WatchHub hub_;
};

}  // namespace baton::store
