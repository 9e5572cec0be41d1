// Random secrets and digests for bootstrap tokens: OpenSSL's CSPRNG (RAND_bytes) and
// SHA-256 from libcrypto.
//
// Not responsible for: storing secrets (server/bootstrap_tokens.h keeps only hashes).
// Thread-safety: free functions; OpenSSL 3's RAND and EVP are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::security {

// `bytes` random bytes as 2*bytes lower-case hex digits. Internal if the CSPRNG fails
// (never fall back to a weaker source).
Result<std::string> RandomHex(size_t bytes);
// Lower-case hex SHA-256 of `data` (64 digits).
std::string Sha256Hex(std::string_view data);
// a == b in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace baton::security
