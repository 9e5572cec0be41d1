// NodeCredentials: an agent's TLS identity — its private key, its node certificate from
// the cluster's CA, and what it trusts for batond (docs/tls.md).
//
// Obtain() uses the certificate kept in the agent's data dir (<data-dir>/pki/node.key
// 0600, node.crt, ca.crt; node.pem 0600 holds key and certificate together for the log
// server) when it is still valid for this node and this CA; otherwise it
// joins: a new EC P-256 key, a CSR, and Pki.Join with the bootstrap token over TLS
// (checking batond's certificate against --ca-file). Renew() asks Pki.Renew over mutual
// TLS with the current certificate, with a new key, and keeps the result the same way.
// Simulated agents keep theirs in memory (dir "").
//
// CertRenewer runs the renewals: each certificate at 2/3 of its life, a failed renewal
// again after a backoff, and calls back with the new credentials so the agent reconnects
// with them (AgentConnection::Rotate) while its tasks keep running.
//
// Thread-safety: NodeCredentials' methods may be called from any thread; CertRenewer's
// callbacks run on its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/pki.h"
#include "baton/security/tls.h"

namespace baton::agent {

struct NodeCredentialsOptions {
  std::string server;                 // batond's address (ServerTarget form)
  std::string node;                   // this node's name: the certificate is bound to it
  std::string ca_pem;                 // what to trust for batond (--ca-file)
  std::string bootstrap_token;        // to join when there is no valid certificate
  std::string dir;                    // where the key and certificate live; "" = memory only
  double renew_fraction = 2.0 / 3.0;  // renew once this share of the lifetime has passed
  std::chrono::milliseconds rpc_timeout{10000};
};

class NodeCredentials {
 public:
  // FailedPrecondition naming --bootstrap-token when there is neither a valid certificate
  // nor a token; the refusal of Join (UNAUTHENTICATED: used, expired, ... token) or
  // Unavailable (batond unreachable) otherwise.
  static Result<std::unique_ptr<NodeCredentials>> Obtain(const NodeCredentialsOptions& options,
                                                         const Clock& clock);

  // The control-plane channel's TLS: the CA, and the node certificate as client cert.
  security::ClientTlsOptions tls() const;
  // The log server's TLS: the node certificate as server certificate.
  security::ServerTlsOptions server_tls() const;
  // Credentials for the log server. With a dir, they follow the files (gRPC's file
  // watcher reloads node.pem, key and certificate in one file, after a renewal, so open
  // log streams are not cut);
  // without one, the certificate of now.
  std::shared_ptr<grpc::ServerCredentials> LogServerCredentials() const;
  security::CertIdentity identity() const;
  // When Renew is due: not_before + renew_fraction * lifetime.
  Time renew_at() const;
  // Files in options.dir ("" without a dir).
  std::string key_file() const;
  std::string cert_file() const;
  std::string ca_file() const;

  // Pki.Renew with the current certificate and a new key; on success the new key and
  // certificate replace the old (in memory and in the dir).
  Status Renew();

 private:
  NodeCredentials(NodeCredentialsOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock) {}
  // Loads the dir's certificate when it is good for this node and CA at now + margin.
  bool LoadFromDir();
  Status Join();
  // Checks `cert_pem` (for this node, matching `key_pem`) and adopts it.
  Status Adopt(std::string key_pem, std::string cert_pem, std::string ca_bundle);

  const NodeCredentialsOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::string key_pem_;
  std::string cert_pem_;
  std::string ca_bundle_;  // as batond sent it (written to ca.crt)
  security::CertIdentity identity_;
};

// Renews a set of NodeCredentials on time, on a thread of its own.
class CertRenewer {
 public:
  using OnRenewed = std::function<void(NodeCredentials&)>;
  explicit CertRenewer(const Clock& clock) : clock_(clock) {}
  ~CertRenewer();  // Stop()s

  // Before Start(). `creds` must outlive the renewer.
  void Add(NodeCredentials* creds, OnRenewed on_renewed);
  void Start();
  void Stop();
  // Renews whatever is due at clock.Now() (what the thread does when it wakes); returns
  // how many renewals succeeded. For tests with a ManualClock, without Start().
  int RenewDue();
  // Renewals that succeeded so far.
  int renewals() const;

 private:
  struct Entry {
    NodeCredentials* creds;
    OnRenewed on_renewed;
    Time due;
    Duration backoff;
  };
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  bool stop_ = false;
  int renewals_ = 0;
  std::thread thread_;
};

}  // namespace baton::agent
