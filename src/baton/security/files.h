// Files of key material: read with a size bound, written atomically with a given mode.
//
// Private keys are written 0600 and their directory made 0700; WriteFileAtomic writes a
// temporary file, fsyncs it and renames it over the target, so a reader (or a crash) sees
// the old file or the new one, never half of one.
//
// Thread-safety: free functions; concurrent writers of one path leave one of their files.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::security {

// NotFound when `path` does not exist; InvalidArgument when it is larger than max_bytes.
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 1 << 20);
// Creates the parent directory (0700) when missing.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);
bool FileExists(const std::string& path);

}  // namespace baton::security
