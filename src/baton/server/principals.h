// Principals: batond's users, their role bindings and their API tokens, kept in the Store
// (both backends, through the Store interface) and cached in memory for authentication.
//
// Store layout: "auth/users/<name>" holds a v1::User, "auth/tokens/<id>" a
// v1::StoredToken: the token's metadata and the SHA-256 of its secret, never the secret.
// Every change is one store transaction that also carries the change's audit record
// (`audit`), so a change is never durable without its record; the cache is updated only
// after the transaction succeeded.
//
// Bootstrap: on a store without any user, Bootstrap() creates "admin" (cluster-admin) and
// "agent" (agent role) with a token each, and writes the tokens 0600 to the given files
// (a file that already holds a token is adopted instead of minting a new one: test
// fixtures and HA replicas can agree on a token beforehand).
//
// Authenticate() checks, in order: the token's shape, that its id is known and the
// secret's hash matches (constant-time), that it is not revoked, not expired, and that
// its user exists. Each failure is Unauthenticated with a message that says which, but
// never echoes a secret.
//
// Not responsible for: authorization decisions (authz.h), TLS identities (later: an
// Identity from the peer certificate will be added in Access::Authenticate).
//
// Thread-safety: every method may be called concurrently; writers are serialised.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/server/authz.h"
#include "baton/store/store.h"
#include "baton/v1/auth.pb.h"

namespace baton::server {

struct BootstrapOptions {
  // Where the bootstrap tokens go; both required.
  std::string admin_token_file;
  std::string agent_token_file;
};

class Principals {
 public:
  static constexpr size_t kMaxUsers = 10000;
  static constexpr size_t kMaxTokensPerUser = 100;
  static constexpr size_t kMaxBindingsPerUser = 256;
  static constexpr int64_t kMaxTtlSeconds = int64_t{10} * 366 * 24 * 3600;

  Principals(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // Loads users and tokens from the store (replacing the cache); damaged records are left
  // out with an error logged.
  Status Load();
  // Creates the bootstrap users and tokens if the store has no user; returns whether it
  // did. Call after Load().
  Result<bool> Bootstrap(const BootstrapOptions& options);

  // The identity a bearer token stands for; Unauthenticated with the reason otherwise.
  Result<Identity> Authenticate(std::string_view token) const;
  // The identity of a user who showed a client certificate from the cluster CA (mTLS):
  // the user's bindings; Unauthenticated when no such user exists.
  Result<Identity> IdentityOf(const std::string& user) const;

  // Changes. `audit` (may be null) is written in the same transaction.
  Result<v1::User> CreateUser(const std::string& name, const std::vector<v1::RoleBinding>& bindings,
                              const std::string& created_by, const store::Op* audit);
  Result<v1::User> Bind(const std::string& user, const v1::RoleBinding& binding,
                        const store::Op* audit);
  Result<v1::User> Unbind(const std::string& user, const v1::RoleBinding& binding,
                          const store::Op* audit);
  struct NewToken {
    v1::Token token;
    std::string secret;  // the whole "baton_<id>_<secret>"
  };
  Result<NewToken> CreateToken(const std::string& user, const std::string& description,
                               int64_t ttl_seconds, const std::string& created_by,
                               const store::Op* audit);
  Result<v1::Token> Revoke(const std::string& id, const store::Op* audit);

  // Views.
  std::vector<v1::User> Users() const;
  // `user` "" = everyone's; `all` = revoked and expired ones too.
  std::vector<v1::Token> Tokens(const std::string& user, bool all) const;
  std::optional<v1::Token> FindToken(const std::string& id) const;

 private:
  // Writes `ops` (+ `audit`) in one transaction. Only the serving replica writes (etcd
  // fences a deposed leader's writes), so no compare is needed.
  Status Write(std::vector<store::Op> ops, const store::Op* audit);
  Result<NewToken> MintLocked(const std::string& user, const std::string& description,
                              int64_t ttl_seconds, const std::string& created_by,
                              const store::Op* audit, const std::string& adopt = "");
  bool Expired(const v1::Token& t, Time now) const;

  store::Store* store_;
  const Clock* clock_;
  std::mutex write_mu_;           // one change at a time
  mutable std::shared_mutex mu_;  // the cache
  std::map<std::string, v1::User> users_;
  std::map<std::string, v1::StoredToken> tokens_;
};

// Store keys.
std::string UserKey(std::string_view name);
std::string TokenKey(std::string_view id);

}  // namespace baton::server
