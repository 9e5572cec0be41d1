// baton's PKI: private keys, certificate requests, a small certificate authority, chain
// verification, and the identity a baton certificate carries (docs/tls.md).
//
// Keys are EC P-256. Every leaf certificate baton issues names its holder twice: the
// subject CN is the name, and exactly one URI SAN says what kind of holder it is:
//   baton-node:<node>        an agent (client auth to batond; server auth for its log
//                            server, which batond dials by the DNS SAN NodeDnsName(node))
//   baton-user:<name>        a person or CI presenting a client certificate (optional)
//   baton-control-plane:<n>  batond itself (server auth; client auth when reading logs)
// IdentityOf() reads that back. A certificate without exactly one such URI, or whose CN
// disagrees with it, has no baton identity.
//
// All of it takes and returns PEM text: OpenSSL's types stay inside security/*.cc.
//
// Not responsible for: files (files.h), gRPC credentials (tls.h), which CA batond uses
// (ca_dir.h), bootstrap tokens (server/bootstrap_tokens.h).
//
// Thread-safety: free functions are thread-safe; a CertificateAuthority and a
// CertVerifier may be used from many threads at once (their methods are const).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"

namespace baton::security {

enum class PeerKind { kNode, kUser, kControlPlane };
// "node", "user", "control-plane".
std::string_view PeerKindName(PeerKind kind);

// What a verified (or merely parsed) baton certificate says about its holder.
struct CertIdentity {
  PeerKind kind = PeerKind::kNode;
  std::string name;
  Time not_before;
  Time not_after;
  std::string serial;  // hex
};

// The fields of a certificate that baton looks at.
struct CertInfo {
  std::string subject_cn;
  std::string issuer_cn;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> uris;
  Time not_before;
  Time not_after;
  bool is_ca = false;
  std::string serial;  // hex
};

// Names in certificates: 1..253 of [A-Za-z0-9._-] (node names already are; see
// server/control_plane_agents.cc). InvalidArgument naming `field` otherwise.
Status ValidateCertName(std::string_view name, std::string_view field);
// The identity URI of a holder: "baton-node:n1".
std::string IdentityUri(PeerKind kind, std::string_view name);
// The DNS SAN of a node certificate, under a reserved name (RFC 2606 ".invalid") so that a
// node called "localhost" can never pass for a real host: "n1.node.baton.invalid".
std::string NodeDnsName(std::string_view node);

// A new EC P-256 private key, PKCS#8 PEM.
Result<std::string> GenerateKey();
// A certificate request with subject CN `common_name`, signed by `key_pem`.
Result<std::string> MakeCsr(std::string_view key_pem, std::string_view common_name);

// The first certificate in `pem`. InvalidArgument if there is none.
Result<CertInfo> ParseCertificate(std::string_view pem);
// The baton identity of the first certificate in `pem` (not verified: see CertVerifier).
// InvalidArgument if it has none.
Result<CertIdentity> IdentityOf(std::string_view pem);
// OK when `key_pem` is the private key of the first certificate in `cert_pem`.
Status CheckKeyMatches(std::string_view key_pem, std::string_view cert_pem);
// The certificates in `pem`, one PEM block each (at least one).
Result<std::vector<std::string>> SplitCertificates(std::string_view pem, std::string_view what);

// A certificate made by the CA; key_pem is empty when the holder sent a CSR (its key never
// leaves it).
struct Issued {
  std::string cert_pem;
  std::string key_pem;
  Time not_before;
  Time not_after;
};

struct IssueOptions {
  Time now;
  Duration validity = Seconds(24 * 3600);
  // not_before = now - backdate, for clocks a little behind batond's.
  Duration backdate = Duration(0);
};

// A certificate authority: one CA certificate (the first in bundle_pem()) and its key.
class CertificateAuthority {
 public:
  // A new self-signed CA with subject CN `common_name`, valid from now for `validity`.
  static Result<CertificateAuthority> Generate(std::string_view common_name, Time now,
                                               Duration validity);
  // An operator's CA: `bundle_pem` starts with the CA certificate (then, for an
  // intermediate, its chain up to the root); `key_pem` is that certificate's key.
  // InvalidArgument naming what is wrong: no certificate, not a CA (basicConstraints), the
  // key does not match, outside its validity at `now`.
  static Result<CertificateAuthority> FromPem(std::string_view bundle_pem, std::string_view key_pem,
                                              Time now);
  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  // What clients and agents trust (the CA certificate and its chain).
  const std::string& bundle_pem() const;
  const std::string& key_pem() const;
  const CertInfo& info() const;

  // batond's serving certificate with a new key: DNS/IP SANs for `hosts` (an entry that
  // parses as an IPv4/IPv6 address becomes an IP SAN) and the control-plane identity;
  // usable for server and client auth.
  Result<Issued> IssueServer(const std::vector<std::string>& hosts, std::string_view name,
                             const IssueOptions& options) const;
  // Signs a holder's CSR as `kind`/`name`. The CSR's own subject is ignored: the identity
  // comes from the caller (the bootstrap token or the certificate being renewed). The CSR
  // must carry a valid self-signature over an EC (P-256/P-384) or RSA (>= 2048 bit) key.
  Result<Issued> SignCsr(std::string_view csr_pem, PeerKind kind, std::string_view name,
                         const IssueOptions& options) const;
  // A key and a client certificate for `kind`/`name` in one step (user certificates made
  // by an operator; tests).
  Result<Issued> IssueClient(PeerKind kind, std::string_view name,
                             const IssueOptions& options) const;

 private:
  struct Impl;
  explicit CertificateAuthority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class Purpose { kClient, kServer };

// Verifies certificates against one CA bundle (the CA certificate is a trust anchor even
// when it is an intermediate).
class CertVerifier {
 public:
  static Result<CertVerifier> Create(std::string_view ca_bundle_pem);
  CertVerifier(CertVerifier&&) noexcept;
  CertVerifier& operator=(CertVerifier&&) noexcept;
  ~CertVerifier();

  // Verifies the first certificate of `leaf_pem` (with the certificates of `chain_pem`
  // as untrusted intermediates; may be empty) at `now` for `purpose`, and returns its baton
  // identity. Unauthenticated with the reason spelled out otherwise: "expired at
  // 2026-11-21 07:00:00 UTC", "not valid before ...", "not issued by this cluster's CA",
  // "signature does not verify (tampered or forged)", "carries no baton identity".
  Result<CertIdentity> Verify(std::string_view leaf_pem, std::string_view chain_pem, Time now,
                              Purpose purpose) const;

 private:
  struct Impl;
  explicit CertVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::security
