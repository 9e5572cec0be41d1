#include "baton/store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <utility>

namespace baton::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS kv(
  key BLOB PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log(
  id INTEGER PRIMARY KEY,
  rev INTEGER NOT NULL,
  type INTEGER NOT NULL,
  key BLOB NOT NULL,
  value BLOB NOT NULL,
  create_rev INTEGER NOT NULL,
  version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS log_rev ON log(rev);
CREATE TABLE IF NOT EXISTS meta(
  id INTEGER PRIMARY KEY CHECK (id = 0),
  revision INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(id, revision) VALUES (0, 0);
)sql";

// Indexed by SqliteStore::Stmt.
constexpr const char* kStatements[] = {
    "SELECT value, create_rev, mod_rev, version FROM kv WHERE key = ?1",
    "SELECT key, value, create_rev, mod_rev, version FROM kv"
    " WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) ORDER BY key LIMIT ?3",
    "INSERT OR REPLACE INTO kv(key, value, create_rev, mod_rev, version)"
    " VALUES (?1, ?2, ?3, ?4, ?5)",
    "DELETE FROM kv WHERE key = ?1",
    "INSERT INTO log(rev, type, key, value, create_rev, version)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "UPDATE meta SET revision = ?1 WHERE id = 0",
    "SELECT rev, type, key, value, create_rev, version FROM log"
    " WHERE rev > ?1 AND key >= ?2 AND (?3 IS NULL OR key < ?3) ORDER BY id",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
};

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return StatusCode::kFailedPrecondition;
    case SQLITE_CANTOPEN:
      return StatusCode::kNotFound;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_FULL:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kInternal;
  }
}

// Binds bytes as a BLOB. A zero-length blob must not be bound from a null pointer,
// which SQLite would treat as NULL.
void BindBytes(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  if (bytes.empty()) {
    sqlite3_bind_zeroblob(stmt, index, 0);
  } else {
    sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  }
}

void BindPrefixRange(sqlite3_stmt* stmt, int lo, int hi, std::string_view prefix) {
  BindBytes(stmt, lo, prefix);
  std::optional<std::string> end = PrefixEnd(prefix);
  if (end.has_value()) {
    BindBytes(stmt, hi, *end);
  } else {
    sqlite3_bind_null(stmt, hi);
  }
}

std::string ColumnBytes(sqlite3_stmt* stmt, int col) {
  const void* data = sqlite3_column_blob(stmt, col);
  int n = sqlite3_column_bytes(stmt, col);
  if (data == nullptr || n <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(n));
}

// Resets a statement and clears its bindings when it goes out of scope.
class StmtGuard {
 public:
  explicit StmtGuard(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtGuard() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtGuard(const StmtGuard&) = delete;
  StmtGuard& operator=(const StmtGuard&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(path));
  BATON_RETURN_IF_ERROR(store->Init());
  return store;
}

Status SqliteStore::Init() {
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    if (db_ == nullptr) return Status(CodeFor(rc), "sqlite store " + path_ + ": open failed");
    return Error("open");
  }
  sqlite3_busy_timeout(db_, 5000);
  // journal_mode=WAL is the first statement that reads the file, so a file that is not a
  // database fails here.
  BATON_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  BATON_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
  BATON_RETURN_IF_ERROR(Exec(kSchema));
  for (int i = 0; i < kNumStmts; ++i) {
    if (sqlite3_prepare_v3(db_, kStatements[i], -1, SQLITE_PREPARE_PERSISTENT, &stmts_[i],
                           nullptr) != SQLITE_OK) {
      return Error(std::string("prepare ") + kStatements[i]);
    }
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT revision FROM meta WHERE id = 0", -1, &stmt, nullptr) !=
      SQLITE_OK) {
    return Error("read revision");
  }
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) revision_.store(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  if (step != SQLITE_ROW) return Error("read revision");
  return Status::Ok();
}

Status SqliteStore::QuickCheck() {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA quick_check(5)", -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Status(StatusCode::kFailedPrecondition,
                  "sqlite store " + path_ + ": integrity check failed: " + sqlite3_errmsg(db_));
  }
  std::string findings;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    std::string row = text ? reinterpret_cast<const char*>(text) : "";
    // One line per finding, without the "*** in database main ***" banner.
    for (size_t nl; (nl = row.find('\n')) != std::string::npos;) row.replace(nl, 1, "; ");
    if (row.rfind("*** in database main ***; ", 0) == 0) row.erase(0, 26);
    if (row != "ok") findings += (findings.empty() ? "" : "; ") + row;
  }
  if (rc != SQLITE_DONE) {
    findings += (findings.empty() ? "" : "; ") + std::string(sqlite3_errmsg(db_));
  }
  sqlite3_finalize(stmt);
  if (findings.empty()) return Status::Ok();
  return Status(StatusCode::kFailedPrecondition,
                "sqlite store " + path_ + ": integrity check failed: " + findings);
}

SqliteStore::~SqliteStore() {
  for (sqlite3_stmt* stmt : stmts_) sqlite3_finalize(stmt);  // null is a no-op
  sqlite3_close(db_);
}

Status SqliteStore::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error(sql);
  }
  return Status::Ok();
}

Status SqliteStore::Error(std::string_view what) const {
  return Status(CodeFor(sqlite3_extended_errcode(db_)),
                "sqlite store " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status SqliteStore::Step(Stmt s) {
  StmtGuard guard(stmts_[s]);
  if (sqlite3_step(stmts_[s]) != SQLITE_DONE) return Error(kStatements[s]);
  return Status::Ok();
}

Result<std::optional<KeyValue>> SqliteStore::GetLocked(std::string_view key) {
  sqlite3_stmt* stmt = stmts_[kGet];
  StmtGuard guard(stmt);
  BindBytes(stmt, 1, key);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::optional<KeyValue>();
  if (rc != SQLITE_ROW) return Error("get");
  return std::optional<KeyValue>(
      KeyValue{std::string(key), ColumnBytes(stmt, 0), sqlite3_column_int64(stmt, 1),
               sqlite3_column_int64(stmt, 2), sqlite3_column_int64(stmt, 3)});
}

Result<std::optional<KeyValue>> SqliteStore::Get(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetLocked(key);
}

Result<std::vector<KeyValue>> SqliteStore::List(std::string_view prefix, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* stmt = stmts_[kList];
  StmtGuard guard(stmt);
  BindPrefixRange(stmt, 1, 2, prefix);
  sqlite3_bind_int64(stmt, 3, limit == 0 ? -1 : static_cast<sqlite3_int64>(limit));
  std::vector<KeyValue> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out.push_back(KeyValue{ColumnBytes(stmt, 0), ColumnBytes(stmt, 1),
                           sqlite3_column_int64(stmt, 2), sqlite3_column_int64(stmt, 3),
                           sqlite3_column_int64(stmt, 4)});
  }
  if (rc != SQLITE_DONE) return Error("list");
  return out;
}

Result<TxnResult> SqliteStore::ApplyLocked(const store::Txn& txn, const std::string* must_exist,
                                           std::vector<WatchEvent>* events) {
  const int64_t current = revision_.load();
  if (must_exist != nullptr) {
    BATON_ASSIGN_OR_RETURN(std::optional<KeyValue> kv, GetLocked(*must_exist));
    if (!kv.has_value()) return NotFound("delete: no such key");
  }
  for (const Compare& c : txn.compares) {
    BATON_ASSIGN_OR_RETURN(std::optional<KeyValue> kv, GetLocked(c.key));
    bool holds = false;
    switch (c.op) {
      case Compare::kExists:
        holds = kv.has_value();
        break;
      case Compare::kNotExists:
        holds = !kv.has_value();
        break;
      case Compare::kModRevisionEquals:
        holds = kv.has_value() && kv->mod_revision == c.mod_revision;
        break;
    }
    if (!holds) return TxnResult{false, current};
  }
  const int64_t rev = current + 1;
  for (const Op& op : txn.ops) {
    BATON_ASSIGN_OR_RETURN(std::optional<KeyValue> existing, GetLocked(op.key));
    WatchEvent event;
    event.revision = rev;
    if (op.type == Op::kPut) {
      event.type = WatchEvent::kPut;
      event.kv = KeyValue{op.key, op.value, existing ? existing->create_revision : rev, rev,
                          existing ? existing->version + 1 : 1};
      sqlite3_stmt* stmt = stmts_[kUpsert];
      BindBytes(stmt, 1, event.kv.key);
      BindBytes(stmt, 2, event.kv.value);
      sqlite3_bind_int64(stmt, 3, event.kv.create_revision);
      sqlite3_bind_int64(stmt, 4, event.kv.mod_revision);
      sqlite3_bind_int64(stmt, 5, event.kv.version);
      BATON_RETURN_IF_ERROR(Step(kUpsert));
    } else {
      if (!existing.has_value()) continue;
      event.type = WatchEvent::kDelete;
      event.kv = KeyValue{op.key, "", 0, rev, 0};
      BindBytes(stmts_[kDeleteKey], 1, op.key);
      BATON_RETURN_IF_ERROR(Step(kDeleteKey));
    }
    sqlite3_stmt* log = stmts_[kInsertLog];
    sqlite3_bind_int64(log, 1, rev);
    sqlite3_bind_int(log, 2, event.type);
    BindBytes(log, 3, event.kv.key);
    BindBytes(log, 4, event.kv.value);
    sqlite3_bind_int64(log, 5, event.kv.create_revision);
    sqlite3_bind_int64(log, 6, event.kv.version);
    BATON_RETURN_IF_ERROR(Step(kInsertLog));
    events->push_back(std::move(event));
  }
  if (events->empty()) return TxnResult{true, current};
  sqlite3_bind_int64(stmts_[kSetRevision], 1, rev);
  BATON_RETURN_IF_ERROR(Step(kSetRevision));
  return TxnResult{true, rev};
}

Result<TxnResult> SqliteStore::Commit(const store::Txn& txn, const std::string* must_exist) {
  std::lock_guard<std::mutex> lock(mu_);
  BATON_RETURN_IF_ERROR(Step(kBegin));
  std::vector<WatchEvent> events;
  Result<TxnResult> result = ApplyLocked(txn, must_exist, &events);
  if (!result.ok() || events.empty()) {
    (void)Step(kRollback);
    return result;
  }
  if (Status s = Step(kCommit); !s.ok()) {
    if (sqlite3_get_autocommit(db_) == 0) (void)Step(kRollback);
    return s;
  }
  revision_.store(result->revision);
  hub_.Publish(events);
  return result;
}

Result<int64_t> SqliteStore::Put(std::string_view key, std::string_view value,
                                 std::optional<int64_t> expected_mod_revision) {
  const store::Txn txn = PutTxn(key, value, expected_mod_revision);
  BATON_ASSIGN_OR_RETURN(TxnResult r, Commit(txn, nullptr));
  if (!r.succeeded) {
    return PutConflict(*expected_mod_revision);
  }
  return r.revision;
}

Result<int64_t> SqliteStore::Delete(std::string_view key,
                                    std::optional<int64_t> expected_mod_revision) {
  const store::Txn txn = DeleteTxn(key, expected_mod_revision);
  const std::string k(key);
  BATON_ASSIGN_OR_RETURN(TxnResult r, Commit(txn, &k));
  if (!r.succeeded) {
    return DeleteConflict(*expected_mod_revision);
  }
  return r.revision;
}

Result<TxnResult> SqliteStore::Txn(const store::Txn& txn) {
  BATON_RETURN_IF_ERROR(ValidateTxn(txn));
  return Commit(txn, nullptr);
}

Result<std::unique_ptr<Watcher>> SqliteStore::Watch(std::string_view prefix,
                                                    int64_t after_revision) {
  auto queue = std::make_shared<WatchQueue>(std::string(prefix));
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* stmt = stmts_[kReadLog];
  std::vector<WatchEvent> replay;
  {
    StmtGuard guard(stmt);
    sqlite3_bind_int64(stmt, 1, after_revision);
    BindPrefixRange(stmt, 2, 3, prefix);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      WatchEvent e;
      e.revision = sqlite3_column_int64(stmt, 0);
      e.type = sqlite3_column_int(stmt, 1) == WatchEvent::kDelete ? WatchEvent::kDelete
                                                                  : WatchEvent::kPut;
      e.kv = KeyValue{ColumnBytes(stmt, 2), ColumnBytes(stmt, 3), sqlite3_column_int64(stmt, 4),
                      e.revision, sqlite3_column_int64(stmt, 5)};
      replay.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return Error("watch: read log");
  }
  queue->Deliver(replay);
  hub_.Add(queue);
  return std::make_unique<Watcher>(queue);
}

}  // namespace baton::store
