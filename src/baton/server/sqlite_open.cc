#include "baton/server/sqlite_open.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "baton/store/read_only_store.h"
#include "baton/store/sqlite/sqlite_salvage.h"
#include "baton/store/sqlite/sqlite_store.h"

namespace baton::server {

Result<std::unique_ptr<store::Store>> OpenSqliteStore(const std::string& path,
                                                      std::string* read_only) {
  read_only->clear();
  std::string damage;
  {
    auto opened = store::SqliteStore::Open(path);
    if (opened.ok()) {
      const auto t0 = std::chrono::steady_clock::now();
      Status check = (*opened)->QuickCheck();
      spdlog::info("store: {} integrity check {} in {} ms", path, check.ok() ? "passed" : "failed",
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t0)
                       .count());
      if (check.ok()) return std::unique_ptr<store::Store>(std::move(*opened));
      damage = check.message();
    } else if (opened.status().code() == StatusCode::kFailedPrecondition) {
      damage = opened.status().message();  // corrupt, or not a database
    } else {
      return opened.status().WithPrefix("store");  // missing directory, permissions, ...
    }
  }  // the read-write connection is closed before the salvage reads the file
  spdlog::error("store: {}", damage);
  auto salvaged = store::SalvageSqlite(path);
  if (!salvaged.ok()) {
    return FailedPrecondition(fmt::format("store: {}; and nothing could be salvaged: {}",
                                          damage, salvaged.status().message()));
  }
  for (const std::string& p : salvaged->problems) spdlog::error("store salvage: {}", p);
  *read_only = fmt::format(
      "{} is damaged ({}); serving the {} records that could still be read{}. Stop batond, "
      "keep a copy of the file, then restore it from a backup or rebuild it (sqlite3 {} "
      "\".recover\") and start batond again",
      path, damage, salvaged->kvs.size(),
      salvaged->problems.empty() ? ""
                                 : fmt::format(" (unreadable: {})",
                                               fmt::join(salvaged->problems, "; ")),
      path);
  spdlog::error("store: read-only: {}", *read_only);
  const int64_t revision = salvaged->revision;
  return std::unique_ptr<store::Store>(std::make_unique<store::ReadOnlyStore>(
      std::move(salvaged->kvs), revision, *read_only));
}

}  // namespace baton::server
