// CertRegistry: the certificates batond's CA issued to agents, and the revoked ones
// (docs/tls.md, "Revoking certificates").
//
// Short-lived node certificates (a day by default) bound the damage of a stolen key, but
// an operator who retires or distrusts a machine needs it out now: `baton cert revoke
// --node n1` revokes every unexpired certificate batond issued to n1, and `--serial` or
// `--cert-file` one certificate (user certificates are signed offline by `baton cert
// issue`, so batond knows them only when shown one).
//
// Store layout (the same Store as the rest of batond, so replicas share it):
//   pki/issued/<serial>   a certificate Pki.Join or Pki.Renew issued; written in the same
//                         transaction as the token use (Join) and the audit record
//   pki/revoked/<serial>  a revocation; written in the same transaction as its audit record
// Both are JSON. Records of certificates past their not_after are deleted by Revoke() and
// List(): an expired certificate is refused anyway.
//
// CheckNotRevoked() answers from a copy of the revoked serials, read again from the store
// when older than `refresh` (and at once after this replica's own Revoke): a revocation
// made through another replica takes effect here within `refresh`.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/pki.h"
#include "baton/security/tls.h"
#include "baton/store/store.h"

namespace baton::server {

struct CertRecord {
  std::string serial;  // as CertInfo::serial: upper-case hex, whole bytes
  security::PeerKind kind = security::PeerKind::kNode;
  std::string name;
  Time issued_at;  // unknown (epoch) for certificates batond did not issue
  Time not_after;
  bool revoked = false;
  Time revoked_at;
  std::string revoked_by;
  std::string reason;
};

// What to revoke: exactly one of the three.
struct RevokeTarget {
  std::string node_name;
  std::string serial;
  std::string certificate_pem;
};

// "00:0a:1B" -> "0A1B": what a user may type for a serial, in the form CertInfo uses
// (upper-case hex, whole bytes, no leading zero byte).
// InvalidArgument naming `field` when it is not hex.
Result<std::string> NormalizeSerial(std::string_view serial, std::string_view field);

class CertRegistry {
 public:
  CertRegistry(store::Store* store, const Clock* clock, Duration refresh = Seconds(5))
      : store_(store), clock_(clock), refresh_(refresh) {}

  // The store op that records a certificate batond issued (write it with the issuance).
  store::Op IssuedOp(const CertRecord& issued) const;
  // Writes that record, with `with` (its audit record), in one transaction.
  Status RecordIssued(const CertRecord& issued, std::vector<store::Op> with);

  // The verified identity of the gRPC peer's certificate (security::VerifyPeer at `now`),
  // which must not be revoked.
  Result<security::CertIdentity> VerifyPeer(const grpc::AuthContext& ctx,
                                            const security::CertVerifier& verifier, Time now);

  // OK, or Unauthenticated "node n1's certificate (serial 5F..) was revoked at ... by
  // admin: <reason>".
  Status CheckNotRevoked(const security::CertIdentity& cert);

  // Revokes what `target` names, by `by` for `reason`; `audit(object)` gives the audit
  // record written in the same transaction. Returns the certificates revoked now.
  // InvalidArgument naming the field for a bad target; NotFound when nothing unexpired
  // matches; FailedPrecondition when they were all revoked already.
  Result<std::vector<CertRecord>> Revoke(const RevokeTarget& target, const std::string& by,
                                         const std::string& reason,
                                         const std::function<std::vector<store::Op>(const std::string&)>& audit);

  // Unexpired issued and revoked certificates (of `name` only when not empty), by name.
  Result<std::vector<CertRecord>> List(std::string_view name = "");

 private:
  // Re-reads the revoked serials when the copy is older than refresh_ (or `force`).
  Status Refresh(bool force);

  store::Store* store_;
  const Clock* clock_;
  const Duration refresh_;
  std::mutex write_mu_;  // one Revoke at a time on this replica
  std::shared_mutex mu_;
  std::unordered_map<std::string, CertRecord> revoked_;  // by serial
  Time loaded_{};
  bool loaded_once_ = false;
};

}  // namespace baton::server
