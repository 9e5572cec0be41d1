// API tokens: the credential people, CI and agents send to batond.
//
// A token reads "baton_<id>_<secret>": <id> is 16 hex digits that name the token (in
// lists, audit records, revocation; not secret), <secret> is 64 hex digits (256 bits from
// the CSPRNG). batond stores only SHA-256(<secret>) (server/principals.h), so a copy of
// its store does not give anyone a working token.
//
// Token files (batond's bootstrap tokens, agents' --token-file) hold one token, possibly
// followed by a newline; they are written 0600.
//
// Thread-safety: free functions and values.
#pragma once

#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::auth {

inline constexpr std::string_view kTokenPrefix = "baton_";
inline constexpr size_t kTokenIdHexDigits = 16;
inline constexpr size_t kTokenSecretHexDigits = 64;

struct ApiToken {
  std::string id;
  std::string secret;
  // "baton_<id>_<secret>".
  std::string ToString() const;
};

// A fresh token from the CSPRNG.
Result<ApiToken> GenerateToken();
// Splits a token into id and secret. Unauthenticated "malformed token ..." for anything
// else; the message never repeats the secret.
Result<ApiToken> ParseToken(std::string_view text);
// What batond stores of a token: SHA-256 of the secret, hex.
std::string HashSecret(std::string_view secret);

// Reads a file holding one secret (an API token, an agent's bootstrap token): its content
// without surrounding whitespace. NotFound when the file does not exist, InvalidArgument
// when it cannot be read or is empty.
Result<std::string> ReadSecretFile(const std::string& path);
// ReadSecretFile, and InvalidArgument when the content is not an API token.
Result<std::string> ReadTokenFile(const std::string& path);
// Writes `content` to `path` readable by its owner only (0600), atomically (a temporary
// file renamed over it); creates missing parent directories (0700).
Status WriteSecretFile(const std::string& path, std::string_view content);

}  // namespace baton::auth
