#include "baton/security/tls.h"

#include "baton/auth/credentials.h"

#include <fmt/format.h>

#include "baton/security/files.h"

namespace baton::security {

Result<ClientTlsOptions> ClientTlsOptions::FromFiles(const std::string& ca_file,
                                                     const std::string& cert_file,
                                                     const std::string& key_file) {
  ClientTlsOptions o;
  if (cert_file.empty() != key_file.empty()) {
    return InvalidArgument(cert_file.empty() ? "--cert-file: required with --key-file"
                                             : "--key-file: required with --cert-file");
  }
  if (ca_file.empty()) {
    if (!cert_file.empty()) return InvalidArgument("--ca-file: required with --cert-file");
    return o;
  }
  auto ca = ReadFile(ca_file);
  if (!ca.ok()) return ca.status().WithPrefix("--ca-file");
  auto check = SplitCertificates(*ca, ca_file);
  if (!check.ok()) return check.status().WithPrefix("--ca-file");
  o.ca_pem = std::move(*ca);
  if (!cert_file.empty()) {
    auto cert = ReadFile(cert_file);
    if (!cert.ok()) return cert.status().WithPrefix("--cert-file");
    auto key = ReadFile(key_file);
    if (!key.ok()) return key.status().WithPrefix("--key-file");
    if (Status s = CheckKeyMatches(*key, *cert); !s.ok()) return s.WithPrefix("--key-file");
    o.cert_pem = std::move(*cert);
    o.key_pem = std::move(*key);
  }
  return o;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ClientTlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = tls.ca_pem;
  o.pem_private_key = tls.key_pem;
  o.pem_cert_chain = tls.cert_pem;
  return grpc::SslCredentials(o);
}

std::string TargetHost(std::string_view target) {
  for (std::string_view scheme : {"ipv4:", "ipv6:", "dns:///", "dns:"}) {
    if (target.starts_with(scheme)) {
      target.remove_prefix(scheme.size());
      break;
    }
  }
  if (auto comma = target.find(','); comma != std::string_view::npos) {
    target = target.substr(0, comma);
  }
  if (target.starts_with('[')) {
    auto close = target.find(']');
    return std::string(
        target.substr(1, close == std::string_view::npos ? target.size() - 1 : close - 1));
  }
  auto colon = target.rfind(':');
  return std::string(colon == std::string_view::npos ? target : target.substr(0, colon));
}

std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& target,
                                                 const ClientTlsOptions& tls,
                                                 grpc::ChannelArguments args,
                                                 const std::string& token) {
  if (tls.enabled()) {
    // A list of replicas has no single authority to check: use the first host (each
    // replica's certificate names every replica, docs/tls.md).
    std::string name = tls.server_name;
    if (name.empty() && (target.starts_with("ipv4:") || target.starts_with("ipv6:"))) {
      name = TargetHost(target);
    }
    if (!name.empty()) args.SetSslTargetNameOverride(name);
  }
  return auth::CreateChannel(target, token, args, ChannelCredentials(tls));
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const ServerTlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc_ssl_client_certificate_request_type request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  switch (tls.client_certs) {
    case ClientCerts::kNone:
      break;
    case ClientCerts::kRequest:
      request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
      break;
    case ClientCerts::kRequireAndVerify:
      request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
  }
  grpc::SslServerCredentialsOptions o(request);
  o.pem_root_certs = tls.ca_pem;
  o.pem_key_cert_pairs.push_back({tls.key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(o);
}

PeerCertificate PeerCertificateOf(const grpc::AuthContext& ctx) {
  PeerCertificate out;
  for (const auto& v : ctx.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
    out.leaf_pem.assign(v.data(), v.size());
    break;
  }
  for (const auto& v : ctx.FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME)) {
    out.chain_pem.assign(v.data(), v.size());
    break;
  }
  return out;
}

Result<CertIdentity> VerifyPeer(const grpc::AuthContext& ctx, const CertVerifier& verifier,
                                Time now, Purpose purpose) {
  PeerCertificate peer = PeerCertificateOf(ctx);
  if (!peer.present()) {
    return Unauthenticated(purpose == Purpose::kClient
                               ? "no client certificate: this method needs the caller's "
                                 "certificate from the cluster's CA (mutual TLS)"
                               : "the server presented no certificate");
  }
  return verifier.Verify(peer.leaf_pem, peer.chain_pem, now, purpose);
}

}  // namespace baton::security
