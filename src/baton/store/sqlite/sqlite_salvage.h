// SalvageSqlite: reads what can still be read of a damaged SqliteStore file, so a control
// plane can serve reads (read-only) instead of refusing to start or dropping records.
//
// SqliteStore keeps every write twice: the current value in `kv` and the change in `log`
// (never compacted). The salvage opens the file read-only (it never writes it), reads
// `kv` in key order until the first unreadable page, reads `log` in id order skipping
// unreadable ranges (probing ahead past them), and keeps for every key the newest state
// either table shows: a key whose kv row is lost comes back from its log rows, and one
// deleted by a readable log row stays deleted. What could not be read is listed in
// `problems`; a key with no readable row in either table is missing from the result, and
// nothing says it existed (callers that know their key space, such as sequential job ids,
// can say which ones are missing).
//
// Thread-safety: a free function; the file must not be written while it runs.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/store/store.h"

namespace baton::store {

struct SalvageResult {
  std::vector<KeyValue> kvs;  // live keys, in key order
  int64_t revision = 0;       // the highest revision seen
  int64_t kv_rows = 0;        // rows read from each table
  int64_t log_rows = 0;
  std::vector<std::string> problems;  // what could not be read, for people
};

// NotFound / FailedPrecondition naming the path when the file cannot be opened at all or
// is not an SQLite database (nothing to salvage).
Result<SalvageResult> SalvageSqlite(const std::string& path);

}  // namespace baton::store
