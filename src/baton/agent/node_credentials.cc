#include "baton/agent/node_credentials.h"

#include <fmt/format.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "baton/security/files.h"
#include "baton/v1/pki.grpc.pb.h"

namespace baton::agent {
namespace {

Status FromGrpc(const grpc::Status& s, std::string_view what) {
  StatusCode code = StatusCode::kUnavailable;
  switch (s.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      code = StatusCode::kUnauthenticated;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = StatusCode::kPermissionDenied;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = StatusCode::kInvalidArgument;
      break;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = StatusCode::kUnavailable;
      break;
    default:
      code = StatusCode::kFailedPrecondition;
      break;
  }
  return Status(code, fmt::format("{}: {}", what, s.error_message()));
}

// One unary call, retried while batond cannot be reached, until `timeout`.
template <typename Call>
grpc::Status WithRetry(std::chrono::milliseconds timeout, Call call) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    grpc::Status s = call(ctx);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE ||
        std::chrono::steady_clock::now() + backoff >= deadline) {
      return s;
    }
    // Waiting for batond to come up (an agent may start first): a product retry loop.
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace

Result<std::unique_ptr<NodeCredentials>> NodeCredentials::Obtain(
    const NodeCredentialsOptions& options, const Clock& clock) {
  if (options.ca_pem.empty()) return InvalidArgument("--ca-file: required for TLS");
  BATON_RETURN_IF_ERROR(security::ValidateCertName(options.node, "--name"));
  std::unique_ptr<NodeCredentials> c(new NodeCredentials(options, clock));
  if (c->LoadFromDir()) {
    spdlog::info("agent {}: using its certificate in {} (valid until {} UTC)", options.node,
                 options.dir, FormatTime(c->identity().not_after));
    return c;
  }
  BATON_RETURN_IF_ERROR(c->Join());
  return c;
}

std::string NodeCredentials::key_file() const {
  return options_.dir.empty() ? "" : options_.dir + "/node.key";
}
std::string NodeCredentials::cert_file() const {
  return options_.dir.empty() ? "" : options_.dir + "/node.crt";
}
std::string NodeCredentials::ca_file() const {
  return options_.dir.empty() ? "" : options_.dir + "/ca.crt";
}

security::ClientTlsOptions NodeCredentials::tls() const {
  std::lock_guard lock(mu_);
  security::ClientTlsOptions o;
  o.ca_pem = options_.ca_pem;
  o.cert_pem = cert_pem_;
  o.key_pem = key_pem_;
  return o;
}

security::ServerTlsOptions NodeCredentials::server_tls() const {
  std::lock_guard lock(mu_);
  security::ServerTlsOptions o;
  o.cert_chain_pem = cert_pem_ + ca_bundle_;
  o.key_pem = key_pem_;
  o.ca_pem = options_.ca_pem;
  return o;
}

security::CertIdentity NodeCredentials::identity() const {
  std::lock_guard lock(mu_);
  return identity_;
}

std::shared_ptr<grpc::ServerCredentials> NodeCredentials::LogServerCredentials() const {
  if (options_.dir.empty()) return security::ServerCredentials(server_tls());
  const security::CertIdentity id = identity();
  const auto refresh = std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(id.not_after - id.not_before).count() / 10,
      1, 60);
  const std::string pair = options_.dir + "/node.pem";  // key + certificate (Adopt)
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      pair, pair, static_cast<unsigned int>(refresh));
  grpc::experimental::TlsServerCredentialsOptions o(provider);
  o.watch_identity_key_cert_pairs();
  o.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(o);
}

Time NodeCredentials::renew_at() const {
  std::lock_guard lock(mu_);
  const Duration life = identity_.not_after - identity_.not_before;
  return identity_.not_before +
         std::chrono::duration_cast<Duration>(life * options_.renew_fraction);
}

bool NodeCredentials::LoadFromDir() {
  if (options_.dir.empty()) return false;
  auto key = security::ReadFile(key_file());
  auto cert = security::ReadFile(cert_file());
  if (!key.ok() || !cert.ok()) return false;
  auto ca = security::ReadFile(ca_file());
  auto verifier = security::CertVerifier::Create(options_.ca_pem);
  if (!verifier.ok()) return false;
  const Time now = clock_.Now();
  auto id = verifier->Verify(*cert, ca.ok() ? *ca : "", now, security::Purpose::kClient);
  if (!id.ok()) {
    spdlog::warn("agent {}: the certificate in {} is not usable ({}); joining again", options_.node,
                 options_.dir, id.status().message());
    return false;
  }
  // Not one that runs out before the connection is up.
  const Duration margin = std::min<Duration>(Seconds(30), (id->not_after - id->not_before) / 10);
  if (id->kind != security::PeerKind::kNode || id->name != options_.node ||
      now + margin >= id->not_after) {
    spdlog::warn("agent {}: the certificate in {} is {} {}'s, valid until {} UTC; joining again",
                 options_.node, options_.dir, security::PeerKindName(id->kind), id->name,
                 FormatTime(id->not_after));
    return false;
  }
  return Adopt(*key, *cert, ca.ok() ? *ca : options_.ca_pem).ok();
}

Status NodeCredentials::Adopt(std::string key_pem, std::string cert_pem, std::string ca_bundle) {
  BATON_RETURN_IF_ERROR(security::CheckKeyMatches(key_pem, cert_pem));
  BATON_ASSIGN_OR_RETURN(security::CertIdentity id, security::IdentityOf(cert_pem));
  if (id.kind != security::PeerKind::kNode || id.name != options_.node) {
    return FailedPrecondition(fmt::format("the certificate batond issued is {} {}'s, not node {}'s",
                                          security::PeerKindName(id.kind), id.name, options_.node));
  }
  if (!options_.dir.empty()) {
    BATON_RETURN_IF_ERROR(security::WriteFileAtomic(key_file(), key_pem, 0600));
    BATON_RETURN_IF_ERROR(security::WriteFileAtomic(cert_file(), cert_pem, 0644));
    BATON_RETURN_IF_ERROR(security::WriteFileAtomic(ca_file(), ca_bundle, 0644));
    // Key and certificate in one file, replaced in one rename, for the log server's file
    // watcher: it can never read a new key with an old certificate.
    BATON_RETURN_IF_ERROR(
        security::WriteFileAtomic(options_.dir + "/node.pem", key_pem + cert_pem, 0600));
  }
  std::lock_guard lock(mu_);
  key_pem_ = std::move(key_pem);
  cert_pem_ = std::move(cert_pem);
  ca_bundle_ = std::move(ca_bundle);
  identity_ = std::move(id);
  return Status::Ok();
}

Status NodeCredentials::Join() {
  if (options_.bootstrap_token.empty()) {
    return FailedPrecondition(fmt::format(
        "--bootstrap-token: required: node {} has no valid certificate{} to reach the control "
        "plane with (create a token with `baton bootstrap-token create`)",
        options_.node, options_.dir.empty() ? "" : " in " + options_.dir));
  }
  BATON_ASSIGN_OR_RETURN(std::string key, security::GenerateKey());
  BATON_ASSIGN_OR_RETURN(std::string csr, security::MakeCsr(key, options_.node));
  security::ClientTlsOptions trust;
  trust.ca_pem = options_.ca_pem;
  auto stub = v1::Pki::NewStub(security::MakeClientChannel(options_.server, trust));
  v1::JoinRequest req;
  req.set_bootstrap_token(options_.bootstrap_token);
  req.set_node_name(options_.node);
  req.set_csr_pem(csr);
  v1::IssuedCertificate resp;
  grpc::Status s = WithRetry(
      options_.rpc_timeout, [&](grpc::ClientContext& ctx) { return stub->Join(&ctx, req, &resp); });
  if (!s.ok()) {
    return FromGrpc(s, fmt::format("joining the control plane at {} as node {}", options_.server,
                                   options_.node));
  }
  BATON_RETURN_IF_ERROR(Adopt(std::move(key), resp.certificate_pem(), resp.ca_bundle_pem()));
  spdlog::info("agent {}: joined the control plane; certificate valid until {} UTC", options_.node,
               FormatTime(identity().not_after));
  return Status::Ok();
}

Status NodeCredentials::Renew() {
  BATON_ASSIGN_OR_RETURN(std::string key, security::GenerateKey());
  BATON_ASSIGN_OR_RETURN(std::string csr, security::MakeCsr(key, options_.node));
  auto stub = v1::Pki::NewStub(security::MakeClientChannel(options_.server, tls()));
  v1::RenewRequest req;
  req.set_csr_pem(csr);
  v1::IssuedCertificate resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.rpc_timeout);
  grpc::Status s = stub->Renew(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, fmt::format("renewing node {}'s certificate", options_.node));
  BATON_RETURN_IF_ERROR(Adopt(std::move(key), resp.certificate_pem(), resp.ca_bundle_pem()));
  spdlog::info("agent {}: renewed its certificate; valid until {} UTC", options_.node,
               FormatTime(identity().not_after));
  return Status::Ok();
}

CertRenewer::~CertRenewer() { Stop(); }

void CertRenewer::Add(NodeCredentials* creds, OnRenewed on_renewed) {
  std::lock_guard lock(mu_);
  entries_.push_back(Entry{creds, std::move(on_renewed), creds->renew_at(), Seconds(1)});
}

void CertRenewer::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      Time next = Time::max();
      for (const Entry& e : entries_) next = std::min(next, e.due);
      if (next != Time::max()) {
        const Duration wait = next - clock_.Now();
        if (wait > Duration(0)) {
          // A product timer, not test synchronisation: sleep until the next renewal is due
          // (or Stop()).
          cv_.wait_for(lock, wait, [&] { return stop_; });
          continue;
        }
      } else {
        cv_.wait(lock, [&] { return stop_; });
        continue;
      }
      lock.unlock();
      RenewDue();
      lock.lock();
    }
  });
}

void CertRenewer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int CertRenewer::RenewDue() {
  int done = 0;
  size_t n;
  {
    std::lock_guard lock(mu_);
    n = entries_.size();
  }
  for (size_t i = 0; i < n; ++i) {
    NodeCredentials* creds;
    OnRenewed on_renewed;
    {
      std::lock_guard lock(mu_);
      if (stop_ || entries_[i].due > clock_.Now()) continue;
      creds = entries_[i].creds;
      on_renewed = entries_[i].on_renewed;
    }
    Status s = creds->Renew();
    if (s.ok() && on_renewed) on_renewed(*creds);
    std::lock_guard lock(mu_);
    Entry& e = entries_[i];
    if (s.ok()) {
      e.due = creds->renew_at();
      e.backoff = Seconds(1);
      ++renewals_;
      ++done;
    } else {
      // Retry well before expiry: a tenth of what is left, between 1 s and 1 min, doubling.
      const Duration left = creds->identity().not_after - clock_.Now();
      e.backoff = std::clamp<Duration>(std::min(e.backoff * 2, left / 10), Seconds(1), Seconds(60));
      e.due = clock_.Now() + e.backoff;
      spdlog::warn("agent {}: certificate renewal failed ({}); retrying in {}",
                   creds->identity().name, s.message(), FormatDuration(e.backoff));
    }
  }
  return done;
}

int CertRenewer::renewals() const {
  std::lock_guard lock(mu_);
  return renewals_;
}

}  // namespace baton::agent
