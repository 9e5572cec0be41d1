// PkiService: batond's Pki gRPC service (api/baton/v1/pki.proto) over its CA.
//
// Join (bootstrap token + CSR -> node certificate) is the one batond method a client may
// call without a client certificate. Renew needs the node's current certificate, verified
// against the CA at the service's clock, and issues for that node only.
// CreateBootstrapToken needs a cluster-admin: a token, or a user certificate from the CA
// (the operator's admin.crt) of a user with that role (access.h). Without an Access (unit
// tests of the service alone) any CA-issued user certificate may.
//
// Refusals are UNAUTHENTICATED or PERMISSION_DENIED with the reason, and a warning line
// naming the peer; the service keeps serving everyone else.
//
// Thread-safety: stateless beyond the thread-safe CA, verifier and token store it uses.
#pragma once

#include <grpcpp/grpcpp.h>

#include "baton/common/time.h"
#include "baton/security/pki.h"
#include "baton/server/bootstrap_tokens.h"
#include "baton/v1/pki.grpc.pb.h"

namespace baton::server {

class Access;

struct PkiServiceOptions {
  // Lifetime of node certificates (agents renew at 2/3 of it).
  Duration node_cert_validity = Seconds(24 * 3600);
};

class PkiService final : public v1::Pki::CallbackService {
 public:
  PkiService(const security::CertificateAuthority* ca, const security::CertVerifier* verifier,
             BootstrapTokens* tokens, const Clock* clock, PkiServiceOptions options)
      : ca_(ca), verifier_(verifier), tokens_(tokens), clock_(clock), options_(options) {}

  // Authorizes CreateBootstrapToken (set before serving).
  void set_access(Access* access) { access_ = access; }

  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* ctx, const v1::JoinRequest* req,
                                 v1::IssuedCertificate* resp) override;
  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* ctx, const v1::RenewRequest* req,
                                  v1::IssuedCertificate* resp) override;
  grpc::ServerUnaryReactor* CreateBootstrapToken(grpc::CallbackServerContext* ctx,
                                                 const v1::CreateBootstrapTokenRequest* req,
                                                 v1::BootstrapToken* resp) override;

 private:
  // Signs `csr` for `node` and fills `resp`.
  Status Issue(const std::string& csr, const std::string& node, v1::IssuedCertificate* resp);

  const security::CertificateAuthority* ca_;
  const security::CertVerifier* verifier_;
  BootstrapTokens* tokens_;
  const Clock* clock_;
  PkiServiceOptions options_;
  Access* access_ = nullptr;
};

}  // namespace baton::server
