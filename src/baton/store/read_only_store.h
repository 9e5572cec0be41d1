// ReadOnlyStore: a Store over a fixed set of records that refuses every write.
//
// What batond serves from when its SQLite file is damaged (sqlite/sqlite_salvage.h): the
// records that could still be read, so people can list and inspect their jobs, while every
// change fails with FAILED_PRECONDITION and `reason` (which names the file and what to
// do), instead of writing into a damaged file or starting with records silently missing.
//
// Watch delivers nothing (nothing changes). Thread-safety: as Store; the records never
// change after construction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "baton/store/store.h"

namespace baton::store {

class ReadOnlyStore final : public Store {
 public:
  ReadOnlyStore(std::vector<KeyValue> records, int64_t revision, std::string reason);

  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<std::vector<KeyValue>> List(std::string_view prefix, size_t limit = 0) override;
  Result<int64_t> Put(std::string_view key, std::string_view value,
                      std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<int64_t> Delete(std::string_view key,
                         std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<TxnResult> Txn(const store::Txn& txn) override;
  int64_t Revision() const override { return revision_; }
  Result<std::unique_ptr<Watcher>> Watch(std::string_view prefix, int64_t after_revision) override;

  const std::string& reason() const { return reason_; }

 private:
  Status Refused() const;

  const std::map<std::string, KeyValue, std::less<>> kv_;
  const int64_t revision_;
  const std::string reason_;
};

}  // namespace baton::store
