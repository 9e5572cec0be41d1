// BatondTls: everything TLS of one batond (docs/tls.md) — its CA directory, the server
// credentials of its gRPC port, the Pki service, the bootstrap tokens, verification of
// agents' certificates, and the client side of its reads from agents' log servers.
//
// With TLS, batond's one gRPC port serves every service over TLS and asks clients for a
// certificate without requiring one (security/tls.h: kRequest). The Agent service then
// requires a node certificate from the CA (VerifyAgent) and binds the stream to that
// node; Pki.Join needs none; the user API takes a user certificate as an option (the auth
// work will map it to a principal: VerifyPeer).
//
// Thread-safety: immutable after Open, apart from the thread-safe BootstrapTokens.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/ca_dir.h"
#include "baton/security/pki.h"
#include "baton/security/tls.h"
#include "baton/server/bootstrap_tokens.h"
#include "baton/server/cert_registry.h"
#include "baton/server/pki_service.h"
#include "baton/store/store.h"
#include "baton/v1/agent.pb.h"

namespace baton::server {

struct BatondTlsOptions {
  // false: plaintext gRPC and HTTP. Off here on purpose: in-process tests and embedders
  // that build BatondOptions by hand (often --store memory, with no directory for a CA)
  // ask for TLS where they test it. The programs default to TLS: batond's flags set this
  // unless --plaintext (programs/batond_main.cc), and so does `baton up`.
  bool enabled = false;
  std::string dir;       // "" = <data-dir>/pki
  // The operator's CA (both or neither); required for replicas on etcd unless `dir`
  // already holds ca.crt and ca.key.
  std::string ca_cert_file;
  std::string ca_key_file;
  // Names and addresses clients dial batond at (server certificate SANs), beyond
  // localhost, 127.0.0.1 and ::1.
  std::vector<std::string> hosts;
  Duration node_cert_validity = Seconds(24 * 3600);
  // When set, a new bootstrap token is created once serving and written here (0600).
  std::string bootstrap_token_file;
  BootstrapTokenSpec bootstrap_token;
  // The clock of certificate checks and token expiry; nullptr = the system clock. Tests
  // give a ManualClock (the handshake itself does not check client certificates).
  const Clock* clock = nullptr;
};

class Access;

class BatondTls {
 public:
  // `replicated`: several replicas share the store (etcd), so no CA is generated.
  static Result<std::unique_ptr<BatondTls>> Open(const BatondTlsOptions& options,
                                                 const std::string& data_dir, bool replicated,
                                                 store::Store* store);

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  PkiService* service() { return service_.get(); }
  BootstrapTokens& tokens() { return *tokens_; }
  CertRegistry& certificates() { return *registry_; }
  // Authorizes and audits the Pki service and the bootstrap token file (before serving).
  void set_access(Access* access);
  const security::ServerPki& pki() const { return pki_; }
  const security::CertVerifier& verifier() const { return verifier_; }
  Time Now() const { return clock_->Now(); }

  // The verified identity of the peer's certificate, which must not be revoked.
  Result<security::CertIdentity> VerifyCertificate(const grpc::AuthContext& ctx) const;
  // The node an agent stream speaks for: its certificate, verified now. Unauthenticated
  // (and a warning line naming the peer) otherwise.
  Result<security::CertIdentity> VerifyAgent(const grpc::AuthContext& ctx,
                                             std::string_view peer) const;
  // Each message of a stream bound to `cert`: PermissionDenied when it registers another
  // node than the certificate's, Unauthenticated once the certificate has expired (the
  // agent reconnects with its renewed one) or been revoked. Logs a warning for each.
  Status CheckAgentMessage(const security::CertIdentity& cert,
                           const v1::AgentMessage& message) const;
  // How batond dials node `node`'s log server: the CA, batond's certificate as client
  // certificate, and the node's certificate name to check.
  security::ClientTlsOptions AgentLogsTls(std::string_view node) const;

  // Creates the bootstrap token of options.bootstrap_token_file (no-op when unset).
  Status WriteBootstrapTokenFile();

 private:
  BatondTls(BatondTlsOptions options, security::ServerPki pki, security::CertVerifier verifier)
      : options_(std::move(options)), pki_(std::move(pki)), verifier_(std::move(verifier)) {}

  BatondTlsOptions options_;
  SystemClock system_clock_;
  const Clock* clock_ = &system_clock_;
  security::ServerPki pki_;
  security::CertVerifier verifier_;
  std::unique_ptr<BootstrapTokens> tokens_;
  std::unique_ptr<CertRegistry> registry_;
  std::unique_ptr<PkiService> service_;
  Access* access_ = nullptr;
};

}  // namespace baton::server
