#include "baton/server/batond_tls.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "baton/security/files.h"
#include "baton/server/access.h"

namespace baton::server {

Result<std::unique_ptr<BatondTls>> BatondTls::Open(const BatondTlsOptions& options,
                                                   const std::string& data_dir, bool replicated,
                                                   store::Store* store) {
  if (options.node_cert_validity < Seconds(1)) {
    return InvalidArgument("--agent-cert-validity: must be at least 1 second");
  }
  security::CaDirOptions co;
  co.dir = options.dir;
  if (co.dir.empty()) {
    if (data_dir.empty()) return InvalidArgument("--tls-dir: required without --data-dir");
    co.dir = (std::filesystem::path(data_dir) / "pki").string();
  }
  co.ca_cert_file = options.ca_cert_file;
  co.ca_key_file = options.ca_key_file;
  co.may_generate = !replicated;
  co.hosts = options.hosts;
  SystemClock system;
  const Clock* clock = options.clock != nullptr ? options.clock : &system;
  BATON_ASSIGN_OR_RETURN(security::ServerPki pki, security::OpenCaDir(co, clock->Now()));
  BATON_ASSIGN_OR_RETURN(security::CertVerifier verifier,
                         security::CertVerifier::Create(pki.ca.bundle_pem()));
  std::unique_ptr<BatondTls> t(new BatondTls(options, std::move(pki), std::move(verifier)));
  if (options.clock != nullptr) t->clock_ = options.clock;
  t->tokens_ = std::make_unique<BootstrapTokens>(store, t->clock_);
  t->registry_ = std::make_unique<CertRegistry>(store, t->clock_);
  PkiServiceOptions po;
  po.node_cert_validity = options.node_cert_validity;
  t->service_ = std::make_unique<PkiService>(&t->pki_.ca, &t->verifier_, t->tokens_.get(),
                                             t->registry_.get(), t->clock_, po);
  spdlog::info("batond: TLS with {} CA '{}' (trust {}); agents' certificates last {}",
               t->pki_.generated ? "a new" : "the", t->pki_.ca.info().subject_cn, t->pki_.ca_file,
               FormatDuration(options.node_cert_validity));
  return t;
}

std::shared_ptr<grpc::ServerCredentials> BatondTls::ServerCredentials() const {
  security::ServerTlsOptions o;
  o.cert_chain_pem = pki_.server.cert_pem;
  o.key_pem = pki_.server.key_pem;
  o.ca_pem = pki_.ca.bundle_pem();
  o.client_certs = security::ClientCerts::kRequest;
  return security::ServerCredentials(o);
}

void BatondTls::set_access(Access* access) {
  access_ = access;
  service_->set_access(access);
}

Result<security::CertIdentity> BatondTls::VerifyCertificate(const grpc::AuthContext& ctx) const {
  return registry_->VerifyPeer(ctx, verifier_, clock_->Now());
}

Result<security::CertIdentity> BatondTls::VerifyAgent(const grpc::AuthContext& ctx,
                                                      std::string_view peer) const {
  auto id = VerifyCertificate(ctx);
  if (id.ok() && id->kind != security::PeerKind::kNode) {
    id = PermissionDenied(fmt::format("agent stream: needs a node certificate; this is {} {}'s",
                                      security::PeerKindName(id->kind), id->name));
  }
  if (!id.ok()) {
    spdlog::warn("agent stream from {} refused: {}", peer, id.status().message());
  }
  return id;
}

Status BatondTls::CheckAgentMessage(const security::CertIdentity& cert,
                                    const v1::AgentMessage& message) const {
  if (message.has_register_() && message.register_().node_name() != cert.name) {
    Status s = PermissionDenied(
        fmt::format("agent stream: the certificate is node {}'s; it may not register node '{}'",
                    cert.name, message.register_().node_name()));
    spdlog::warn("{}", s.message());
    return s;
  }
  const Time now = clock_->Now();
  if (now >= cert.not_after) {
    Status s = Unauthenticated(fmt::format(
        "agent stream: node {}'s certificate expired at {} UTC (now {} UTC); reconnect with "
        "the renewed certificate",
        cert.name, FormatTime(cert.not_after), FormatTime(now)));
    spdlog::warn("{}", s.message());
    return s;
  }
  // Revoked meanwhile: the stream ends here (the copy of the revocations is in memory).
  if (Status s = registry_->CheckNotRevoked(cert); !s.ok()) {
    spdlog::warn("agent stream: {}", s.message());
    return s;
  }
  return Status::Ok();
}

security::ClientTlsOptions BatondTls::AgentLogsTls(std::string_view node) const {
  security::ClientTlsOptions o;
  o.ca_pem = pki_.ca.bundle_pem();
  o.cert_pem = pki_.server.cert_pem;
  o.key_pem = pki_.server.key_pem;
  o.server_name = security::NodeDnsName(node);
  return o;
}

Status BatondTls::WriteBootstrapTokenFile() {
  if (options_.bootstrap_token_file.empty()) return Status::Ok();
  auto token = tokens_->Create(options_.bootstrap_token, [&](const std::string& id) {
    if (access_ == nullptr) return std::vector<store::Op>{};
    Identity batond;
    batond.user = "batond";
    return std::vector<store::Op>{
        access_->Record(batond, "pki.create_bootstrap_token", "bootstrap-token/" + id,
                        fmt::format("--bootstrap-token-file {}", options_.bootstrap_token_file))};
  });
  if (!token.ok()) return token.status().WithPrefix("--bootstrap-token-file");
  Status s = security::WriteFileAtomic(options_.bootstrap_token_file, token->token + "\n", 0600);
  if (!s.ok()) return s.WithPrefix("--bootstrap-token-file");
  return Status::Ok();
}

}  // namespace baton::server
