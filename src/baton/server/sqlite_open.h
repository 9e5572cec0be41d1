// Opening batond's SQLite store, and what to do when the file is damaged.
//
// A healthy file (it opens and PRAGMA quick_check passes) gives a SqliteStore. A damaged
// one gives a ReadOnlyStore over what SalvageSqlite could read, and `read_only` is set to
// the reason (naming the file and what to do): batond then serves reads and refuses every
// change (ControlPlaneOptions::read_only) rather than writing into a damaged file or
// starting with records silently missing. A file that cannot be opened or is not a
// database at all (nothing to salvage) is an error naming the file.
#pragma once

#include <memory>
#include <string>

#include "baton/common/status.h"
#include "baton/store/store.h"

namespace baton::server {

Result<std::unique_ptr<store::Store>> OpenSqliteStore(const std::string& path,
                                                      std::string* read_only);

}  // namespace baton::server
