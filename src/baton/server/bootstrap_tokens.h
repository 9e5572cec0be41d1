// BootstrapTokens: the short-lived secrets an agent joins the cluster with (Pki.Join).
//
// A token reads "bjt_<id>.<secret>" (id: 12 hex digits, secret: 32). The store keeps
// only SHA-256 of the secret, under pki/bootstrap/<id>, with its expiry, the joins it
// still allows (1 unless created for several machines) and the node it is bound to
// ("" = any). Consume spends one use with a compare-and-swap on the record, so two
// replicas (etcd) or two racing joins can never spend one use twice; a used-up token
// stays until it expires, so a replay is refused as "already used". Expired records are
// deleted when the next token is created.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/store/store.h"

namespace baton::server {

struct BootstrapTokenSpec {
  Duration ttl = Seconds(3600);
  int32_t uses = 1;
  std::string node_name;  // "" = any node
  std::string description;
};

struct CreatedBootstrapToken {
  std::string token;  // the secret form, shown once
  std::string id;
  Time expires_at;
  int32_t uses = 1;
  std::string node_name;
};

inline constexpr Duration kMaxBootstrapTokenTtl = Seconds(7 * 24 * 3600);
inline constexpr int32_t kMaxBootstrapTokenUses = 100000;

class BootstrapTokens {
 public:
  BootstrapTokens(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // Store ops written in the same transaction as a token's creation or use (its audit
  // record, the certificate issued with a join), given the token's id.
  using WithOps = std::function<std::vector<store::Op>(const std::string& id)>;

  // InvalidArgument naming the field for a ttl outside (0, 7 days], uses outside
  // [1, 100000] or a bad node name.
  Result<CreatedBootstrapToken> Create(const BootstrapTokenSpec& spec, const WithOps& with = {});
  // Spends one use of `token` for a join of `node_name`, returning the token's id.
  // Unauthenticated, saying which: malformed, unknown, wrong secret, expired, already used,
  // bound to another node.
  Result<std::string> Consume(std::string_view token, std::string_view node_name,
                              const WithOps& with = {});

 private:
  store::Store* store_;
  const Clock* clock_;
  std::mutex mu_;  // one consumer at a time here; the CAS guards against other replicas
};

}  // namespace baton::server
