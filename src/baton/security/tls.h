// TLS for baton's gRPC channels and servers, and the verified identity of a call's peer.
//
// MakeClientChannel is the one way baton code makes a client channel (CLI, SDK-facing
// tools, agents, batond's reads from agents, benches): plaintext when the options carry no
// CA, TLS (and mTLS with a client certificate) otherwise. Turning TLS on by default is a
// change of the options' defaults, not of the call sites.
//
// Servers: batond serves TLS with GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
// (ClientCerts::kRequest): the handshake proves the client holds the key of whatever
// certificate it presents, and the handlers that need a certificate verify it with
// VerifyPeer against the CA at the server's clock. That lets Pki.Join answer a client
// without a certificate on the same port, and lets an expired or forged certificate be
// refused with a status and a log line that say why, rather than a failed handshake.
// The flip side: the peer properties gRPC puts in the AuthContext (x509_common_name,
// ...) are NOT verified on such a server; only VerifyPeer's answer may be trusted.
//
// Thread-safety: free functions; the credentials and channels they make are thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/pki.h"

namespace baton::security {

struct ClientTlsOptions {
  std::string ca_pem;       // the CA bundle to trust; empty = plaintext
  std::string cert_pem;     // optional client certificate (mTLS) ...
  std::string key_pem;      // ... and its key
  std::string server_name;  // the name to check the server's certificate for ("" = the
                            // target's first host)
  bool enabled() const { return !ca_pem.empty(); }

  // From files ("" = not given). TLS is on when ca_file is given; cert_file and key_file
  // come together. Errors name the flag: "--ca-file: /x: no such file".
  static Result<ClientTlsOptions> FromFiles(const std::string& ca_file,
                                            const std::string& cert_file,
                                            const std::string& key_file);
};

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ClientTlsOptions& tls);
// A channel to `target` ("host:port", or ServerTarget's "ipv4:a:1,b:2" for HA replicas).
// Every call carries `token` as a bearer token (auth::CreateChannel; none when empty).
std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& target,
                                                 const ClientTlsOptions& tls,
                                                 grpc::ChannelArguments args = {},
                                                 const std::string& token = "");

// The host a client checks the server's certificate for: "10.0.0.1:7070" -> "10.0.0.1",
// "ipv4:10.0.0.1:7070,10.0.0.2:7070" -> "10.0.0.1", "[::1]:7070" -> "::1".
std::string TargetHost(std::string_view target);

enum class ClientCerts {
  kNone,              // no client certificates
  kRequest,           // asked for, verified by the handlers (VerifyPeer); batond
  kRequireAndVerify,  // required and verified against ca_pem in the handshake
};

struct ServerTlsOptions {
  std::string cert_chain_pem;  // empty = plaintext
  std::string key_pem;
  std::string ca_pem;  // for client certificates
  ClientCerts client_certs = ClientCerts::kNone;
  bool enabled() const { return !cert_chain_pem.empty(); }
};

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const ServerTlsOptions& tls);

// The certificate the peer presented in the handshake (PEM; both empty when none, or on
// a plaintext connection).
struct PeerCertificate {
  std::string leaf_pem;
  std::string chain_pem;
  bool present() const { return !leaf_pem.empty(); }
};
PeerCertificate PeerCertificateOf(const grpc::AuthContext& ctx);

// The verified identity of the peer: Unauthenticated "no client certificate" when it
// presented none, or CertVerifier's reason.
Result<CertIdentity> VerifyPeer(const grpc::AuthContext& ctx, const CertVerifier& verifier,
                                Time now, Purpose purpose = Purpose::kClient);

}  // namespace baton::security
