// PkiService: batond's Pki gRPC service (api/baton/v1/pki.proto) over its CA.
//
// Join (bootstrap token + CSR -> node certificate) is the one batond method a client may
// call without a client certificate. Renew needs the node's current certificate, verified
// against the CA at the service's clock, and issues for that node only.
// CreateBootstrapToken needs a cluster-admin: a token, or a user certificate from the CA
// (the operator's admin.crt) of a user with that role (access.h). Without an Access (unit
// tests of the service alone) any CA-issued user certificate may.
//
// RevokeCertificates and ListCertificates need a cluster-admin the same way
// (cert_registry.h). A revoked certificate is refused by Renew as by every other method.
//
// Refusals are UNAUTHENTICATED or PERMISSION_DENIED with the reason, a warning line
// naming the peer, and (with an Access) an audit record; the service keeps serving
// everyone else. What succeeds is audited in the same store transaction as its change: a
// join with the token use and the issued certificate, a renewal with its certificate, a
// new bootstrap token with the token, a revocation with the revocation records.
//
// Thread-safety: stateless beyond the thread-safe CA, verifier, token store and registry
// it uses.
#pragma once

#include <grpcpp/grpcpp.h>

#include "baton/common/time.h"
#include "baton/security/pki.h"
#include "baton/server/bootstrap_tokens.h"
#include "baton/server/cert_registry.h"
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
             BootstrapTokens* tokens, CertRegistry* registry, const Clock* clock,
             PkiServiceOptions options)
      : ca_(ca),
        verifier_(verifier),
        tokens_(tokens),
        registry_(registry),
        clock_(clock),
        options_(options) {}

  // Authorizes CreateBootstrapToken and the certificate methods, and audits (set before
  // serving).
  void set_access(Access* access) { access_ = access; }

  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* ctx, const v1::JoinRequest* req,
                                 v1::IssuedCertificate* resp) override;
  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* ctx, const v1::RenewRequest* req,
                                  v1::IssuedCertificate* resp) override;
  grpc::ServerUnaryReactor* CreateBootstrapToken(grpc::CallbackServerContext* ctx,
                                                 const v1::CreateBootstrapTokenRequest* req,
                                                 v1::BootstrapToken* resp) override;
  grpc::ServerUnaryReactor* RevokeCertificates(grpc::CallbackServerContext* ctx,
                                               const v1::RevokeCertificatesRequest* req,
                                               v1::RevokeCertificatesResponse* resp) override;
  grpc::ServerUnaryReactor* ListCertificates(grpc::CallbackServerContext* ctx,
                                             const v1::ListCertificatesRequest* req,
                                             v1::ListCertificatesResponse* resp) override;

 private:
  struct Caller;
  // Signs `csr` for `node` and fills `resp`; `record` gets the issued certificate.
  Status Issue(const std::string& csr, const std::string& node, v1::IssuedCertificate* resp,
               CertRecord* record);
  // The verified, unrevoked certificate of the caller.
  Result<security::CertIdentity> VerifyCaller(grpc::CallbackServerContext* ctx) const;
  // A cluster-admin caller of `action` (token or user certificate) whose `request` is
  // within the size limit, or why not.
  Result<Caller> Admin(grpc::CallbackServerContext* ctx, std::string_view action,
                       const google::protobuf::MessageLite& request);
  // OK, or ResourceExhausted for a request over the size limit (audited with an Access).
  Status CheckSize(grpc::CallbackServerContext* ctx, std::string_view action,
                   const google::protobuf::MessageLite& request);
  // Logs and audits a refusal of `action` on `object`, and answers with it.
  grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx, std::string_view action,
                                   std::string_view object, const Status& s,
                                   std::string_view user = "");
  // The audit record of a success, to write with its change (none without an Access).
  std::vector<store::Op> Audited(const Caller& who, std::string_view action,
                                 std::string_view object, std::string detail);

  const security::CertificateAuthority* ca_;
  const security::CertVerifier* verifier_;
  BootstrapTokens* tokens_;
  CertRegistry* registry_;
  const Clock* clock_;
  PkiServiceOptions options_;
  Access* access_ = nullptr;
};

}  // namespace baton::server
