#include "baton/store/sqlite/sqlite_salvage.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

namespace baton::store {
namespace {

constexpr int kChunk = 512;
constexpr int64_t kMaxProbe = int64_t{1} << 40;  // rowids beyond this are not ours

std::string Bytes(sqlite3_stmt* s, int col) {
  const void* data = sqlite3_column_blob(s, col);
  const int n = sqlite3_column_bytes(s, col);
  return data == nullptr || n <= 0 ? std::string()
                                   : std::string(static_cast<const char*>(data),
                                                 static_cast<size_t>(n));
}

// The newest state of one key seen so far.
struct Seen {
  KeyValue kv;
  bool deleted = false;
  int64_t revision = 0;
  bool in_kv = false;  // kv had a row for it
};

class Salvager {
 public:
  explicit Salvager(sqlite3* db) : db_(db) {}

  void ReadKv(SalvageResult& out) {
    std::string after;
    bool first = true;
    for (;;) {
      sqlite3_stmt* s =
          Prepare(first ? "SELECT key, value, create_rev, mod_rev, version FROM kv "
                          "ORDER BY key LIMIT ?2"
                        : "SELECT key, value, create_rev, mod_rev, version FROM kv "
                          "WHERE key > ?1 ORDER BY key LIMIT ?2");
      if (s == nullptr) {
        out.problems.push_back(fmt::format("kv: unreadable: {}", sqlite3_errmsg(db_)));
        return;
      }
      if (!first) sqlite3_bind_blob64(s, 1, after.data(), after.size(), SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 2, kChunk);
      int rows = 0, rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        KeyValue kv{Bytes(s, 0), Bytes(s, 1), sqlite3_column_int64(s, 2),
                    sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4)};
        after = kv.key;
        kv_last_ = kv.key;
        seen_[kv.key].in_kv = true;
        Note(kv, /*deleted=*/false, kv.mod_revision);
        ++rows;
        ++out.kv_rows;
      }
      if (rc != SQLITE_DONE) {
        // A WITHOUT ROWID table cannot be entered past a damaged page by key: the log
        // still has every write.
        out.problems.push_back(fmt::format("kv: unreadable after {} rows{}: {}", out.kv_rows,
                                           after.empty() ? "" : " (key '" + after + "')",
                                           sqlite3_errmsg(db_)));
        sqlite3_finalize(s);
        return;
      }
      sqlite3_finalize(s);
      first = false;
      if (rows < kChunk) {
        kv_complete_ = true;
        return;
      }
    }
  }

  void ReadLog(SalvageResult& out) {
    int64_t next = 0;  // the next id to read from
    for (;;) {
      sqlite3_stmt* s = Prepare(
          "SELECT id, rev, type, key, value, create_rev, version FROM log WHERE id >= ?1 "
          "ORDER BY id LIMIT ?2");
      if (s == nullptr) {
        out.problems.push_back(fmt::format("log: unreadable: {}", sqlite3_errmsg(db_)));
        return;
      }
      sqlite3_bind_int64(s, 1, next);
      sqlite3_bind_int(s, 2, kChunk);
      int rows = 0, rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const int64_t id = sqlite3_column_int64(s, 0);
        const int64_t rev = sqlite3_column_int64(s, 1);
        KeyValue kv{Bytes(s, 3), Bytes(s, 4), sqlite3_column_int64(s, 5), rev,
                    sqlite3_column_int64(s, 6)};
        Note(kv, /*deleted=*/sqlite3_column_int(s, 2) != 0, rev);
        next = id + 1;
        ++rows;
        ++out.log_rows;
      }
      const std::string err = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
      sqlite3_finalize(s);
      if (err.empty()) {
        if (rows < kChunk) return;
        continue;
      }
      // Probe ahead, doubling, for the first id past the damage that reads again.
      const int64_t from = next;
      std::optional<int64_t> resume;
      for (int64_t step = 1; from + step < kMaxProbe && !resume; step *= 2) {
        resume = FirstReadableId(from + step);
      }
      if (!resume) {
        out.problems.push_back(fmt::format("log: rows from id {} on unreadable: {}", from, err));
        return;
      }
      out.problems.push_back(
          fmt::format("log: rows {}..{} unreadable: {}", from, *resume - 1, err));
      next = *resume;
    }
  }

  // Where kv was read (all of it, or up to the key before its damage) it is the truth:
  // a key it lacks there was deleted, whatever older log rows say. Past that, the newest
  // readable log row decides (a delete whose log row is also lost cannot be known).
  void Finish(SalvageResult& out) {
    for (auto& [key, seen] : seen_) {
      out.revision = std::max(out.revision, seen.revision);
      const bool kv_knows = kv_complete_ || (kv_last_ && key <= *kv_last_);
      if (kv_knows ? seen.in_kv : !seen.deleted) out.kvs.push_back(std::move(seen.kv));
    }
  }

 private:
  sqlite3_stmt* Prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s);
      return nullptr;
    }
    return s;
  }

  // The first id >= from whose row reads, if the seek itself works.
  std::optional<int64_t> FirstReadableId(int64_t from) {
    sqlite3_stmt* s = Prepare("SELECT id, rev, type, key, value FROM log WHERE id >= ?1 "
                              "ORDER BY id LIMIT 1");
    if (s == nullptr) return std::nullopt;
    sqlite3_bind_int64(s, 1, from);
    std::optional<int64_t> id;
    if (sqlite3_step(s) == SQLITE_ROW) id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return id;
  }

  void Note(KeyValue kv, bool deleted, int64_t revision) {
    auto [it, inserted] = seen_.try_emplace(kv.key);
    if (!inserted && it->second.revision >= revision) return;
    it->second.revision = revision;
    it->second.deleted = deleted;
    it->second.kv = std::move(kv);
  }

  sqlite3* db_;
  std::map<std::string, Seen> seen_;
  bool kv_complete_ = false;             // kv read to its end
  std::optional<std::string> kv_last_;   // the last kv key read
};

}  // namespace

Result<SalvageResult> SalvageSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  // Read-only: the salvage must not make things worse (no checkpoint, no recovery write).
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return NotFound(fmt::format("salvage {}: cannot open it: {}", path, why));
  }
  // Reading the schema is the first read of the file: a file that is not a database
  // (or whose first page is gone) has nothing to salvage.
  if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    const std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    return FailedPrecondition(
        fmt::format("salvage {}: not a readable SQLite database: {}", path, why));
  }
  SalvageResult out;
  Salvager s(db);
  s.ReadKv(out);
  s.ReadLog(out);
  s.Finish(out);
  sqlite3_close(db);
  return out;
}

}  // namespace baton::store
