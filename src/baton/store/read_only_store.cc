#include "baton/store/read_only_store.h"

#include <fmt/format.h>

namespace baton::store {
namespace {

std::map<std::string, KeyValue, std::less<>> ByKey(std::vector<KeyValue> records) {
  std::map<std::string, KeyValue, std::less<>> out;
  for (KeyValue& kv : records) {
    std::string key = kv.key;
    out.insert_or_assign(std::move(key), std::move(kv));
  }
  return out;
}

}  // namespace

ReadOnlyStore::ReadOnlyStore(std::vector<KeyValue> records, int64_t revision,
                             std::string reason)
    : kv_(ByKey(std::move(records))), revision_(revision), reason_(std::move(reason)) {}

Status ReadOnlyStore::Refused() const {
  return FailedPrecondition(fmt::format("read-only store: {}", reason_));
}

Result<std::optional<KeyValue>> ReadOnlyStore::Get(std::string_view key) {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(it->second);
}

Result<std::vector<KeyValue>> ReadOnlyStore::List(std::string_view prefix, size_t limit) {
  std::vector<KeyValue> out;
  for (auto it = kv_.lower_bound(prefix);
       it != kv_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (limit != 0 && out.size() == limit) break;
    out.push_back(it->second);
  }
  return out;
}

Result<int64_t> ReadOnlyStore::Put(std::string_view, std::string_view, std::optional<int64_t>) {
  return Refused();
}

Result<int64_t> ReadOnlyStore::Delete(std::string_view, std::optional<int64_t>) {
  return Refused();
}

Result<TxnResult> ReadOnlyStore::Txn(const store::Txn&) { return Refused(); }

Result<std::unique_ptr<Watcher>> ReadOnlyStore::Watch(std::string_view prefix,
                                                      int64_t /*after_revision*/) {
  return std::make_unique<Watcher>(std::make_shared<WatchQueue>(std::string(prefix)));
}

}  // namespace baton::store
