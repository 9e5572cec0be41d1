#include "baton/store/memory/memory_store.h"

#include <algorithm>

namespace baton::store {

Result<std::optional<KeyValue>> MemoryStore::Get(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(it->second);
}

Result<std::vector<KeyValue>> MemoryStore::List(std::string_view prefix, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KeyValue> out;
  for (auto it = kv_.lower_bound(prefix); it != kv_.end() && HasPrefix(it->first, prefix); ++it) {
    if (limit != 0 && out.size() >= limit) break;
    out.push_back(it->second);
  }
  return out;
}

bool MemoryStore::CompareHolds(const Compare& c) const {
  auto it = kv_.find(c.key);
  switch (c.op) {
    case Compare::kExists:
      return it != kv_.end();
    case Compare::kNotExists:
      return it == kv_.end();
    case Compare::kModRevisionEquals:
      return it != kv_.end() && it->second.mod_revision == c.mod_revision;
  }
  return false;
}

TxnResult MemoryStore::ApplyLocked(const store::Txn& txn) {
  const int64_t current = revision_.load();
  for (const Compare& c : txn.compares) {
    if (!CompareHolds(c)) return TxnResult{false, current};
  }
  const int64_t rev = current + 1;
  std::vector<WatchEvent> events;
  for (const Op& op : txn.ops) {
    auto it = kv_.find(op.key);
    if (op.type == Op::kPut) {
      if (it == kv_.end()) {
        it = kv_.emplace(op.key, KeyValue{op.key, "", rev, rev, 0}).first;
      }
      KeyValue& kv = it->second;
      kv.value = op.value;
      kv.mod_revision = rev;
      ++kv.version;
      events.push_back(WatchEvent{WatchEvent::kPut, kv, rev});
    } else {
      if (it == kv_.end()) continue;
      kv_.erase(it);
      events.push_back(WatchEvent{WatchEvent::kDelete, KeyValue{op.key, "", 0, rev, 0}, rev});
    }
  }
  if (events.empty()) return TxnResult{true, current};
  log_.insert(log_.end(), events.begin(), events.end());
  revision_.store(rev);
  hub_.Publish(events);
  return TxnResult{true, rev};
}

Result<int64_t> MemoryStore::Put(std::string_view key, std::string_view value,
                                 std::optional<int64_t> expected_mod_revision) {
  const store::Txn txn = PutTxn(key, value, expected_mod_revision);
  std::lock_guard<std::mutex> lock(mu_);
  TxnResult r = ApplyLocked(txn);
  if (!r.succeeded) {
    return PutConflict(*expected_mod_revision);
  }
  return r.revision;
}

Result<int64_t> MemoryStore::Delete(std::string_view key,
                                    std::optional<int64_t> expected_mod_revision) {
  const store::Txn txn = DeleteTxn(key, expected_mod_revision);
  std::lock_guard<std::mutex> lock(mu_);
  if (kv_.find(key) == kv_.end()) return NotFound("delete: no such key");
  TxnResult r = ApplyLocked(txn);
  if (!r.succeeded) {
    return DeleteConflict(*expected_mod_revision);
  }
  return r.revision;
}

Result<TxnResult> MemoryStore::Txn(const store::Txn& txn) {
  BATON_RETURN_IF_ERROR(ValidateTxn(txn));
  std::lock_guard<std::mutex> lock(mu_);
  return ApplyLocked(txn);
}

Result<std::unique_ptr<Watcher>> MemoryStore::Watch(std::string_view prefix,
                                                    int64_t after_revision) {
  auto queue = std::make_shared<WatchQueue>(std::string(prefix));
  std::lock_guard<std::mutex> lock(mu_);
  auto first = std::upper_bound(log_.begin(), log_.end(), after_revision,
                                [](int64_t rev, const WatchEvent& e) { return rev < e.revision; });
  queue->Deliver(std::vector<WatchEvent>(first, log_.end()));
  hub_.Add(queue);
  return std::make_unique<Watcher>(queue);
}

}  // namespace baton::store
