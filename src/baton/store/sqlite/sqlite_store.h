// SqliteStore: the embedded, durable Store backend (SQLite in WAL mode).
//
// Schema (one database file):
//   kv(key BLOB PRIMARY KEY, value BLOB, create_rev, mod_rev, version)  current state
//   log(id INTEGER PRIMARY KEY, rev, type, key, value, create_rev, version)  change log;
//       one row per event (a Txn writes several rows under one rev), never compacted
//   meta(id = 0, revision)  the store-wide revision
// Every write runs in one BEGIN IMMEDIATE transaction with synchronous=FULL, so a write
// acknowledged to the caller survives a crash. Reopening a path keeps data and revision.
//
// Thread-safety: all methods may be called concurrently; one connection serves them all,
// serialised by a mutex. One SqliteStore per file per process.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baton/store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace baton::store {

class SqliteStore : public Store {
 public:
  // Opens (creating if needed) the database at path. A file that is not an SQLite
  // database, or that cannot be opened, is an error naming the path.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<std::vector<KeyValue>> List(std::string_view prefix, size_t limit = 0) override;
  Result<int64_t> Put(std::string_view key, std::string_view value,
                      std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<int64_t> Delete(std::string_view key,
                         std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<TxnResult> Txn(const store::Txn& txn) override;
  int64_t Revision() const override { return revision_.load(); }
  Result<std::unique_ptr<Watcher>> Watch(std::string_view prefix, int64_t after_revision) override;

  // PRAGMA quick_check: every page of the file is readable and every b-tree well formed
  // (about 0.2 s per 50 MiB with a warm page cache). FailedPrecondition naming the file
  // and SQLite's first findings when it is damaged.
  Status QuickCheck();

 private:
  enum Stmt {
    kGet,
    kList,
    kUpsert,
    kDeleteKey,
    kInsertLog,
    kSetRevision,
    kReadLog,
    kBegin,
    kCommit,
    kRollback,
    kNumStmts,
  };

  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  Status Init();
  Status Exec(const char* sql);
  Status Error(std::string_view what) const;  // from sqlite3_errmsg
  // Runs a statement that returns no rows (resets it afterwards).
  Status Step(Stmt s);
  Result<std::optional<KeyValue>> GetLocked(std::string_view key);
  // BEGIN IMMEDIATE .. COMMIT around ApplyLocked; rolls back on any error.
  // If must_exist is set, NotFound when that key is absent.
  Result<TxnResult> Commit(const store::Txn& txn, const std::string* must_exist);
  Result<TxnResult> ApplyLocked(const store::Txn& txn, const std::string* must_exist,
                                std::vector<WatchEvent>* events);

  const std::string path_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmts_[kNumStmts] = {};
  std::atomic<int64_t> revision_{0};
  WatchHub hub_;
};

}  // namespace baton::store
