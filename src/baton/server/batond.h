// Batond: the control-plane process as a library — store, ControlPlane, gRPC services,
// the scheduling loop and the HTTP endpoint (/healthz, /metrics, the dashboard and its
// JSON API), started and stopped as one. programs/batond_main.cc and `baton up` run it; tests start it on port 0.
//
// The data directory holds state.db (SQLite, WAL), checkpoints/ and the bootstrap tokens
// (admin.token, agent.token: see BatondOptions); a LOCK file (flock) keeps two control
// planes off one directory. Every gRPC method and HTTP route but /healthz and the
// dashboard's static files needs a token (access.h, docs/security.md).
//
// With tls.enabled (docs/tls.md) gRPC and HTTP are served over TLS with a certificate
// from batond's CA (batond_tls.h), agents need node certificates (Pki.Join, Pki.Renew)
// and log reads from agents check the node's certificate.
//
// With store == "etcd" several replicas share one etcd cluster (docs/ha.md): each
// campaigns (LeaderElection); a follower serves only HTTP (/healthz names the leader) and
// does not open its gRPC port, so clients and agents given every replica's address reach
// the leader; the leader loads the state from etcd, fences every write with its epoch
// and serves. A leader that loses its lease is deposed() and must exit: its in-memory
// state may be stale, and its writes already fail.
//
// Thread-safety: Start and Shutdown from one thread; the rest is internally synchronised.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/metrics/http_server.h"
#include "baton/server/audit_log.h"
#include "baton/server/batond_tls.h"
#include "baton/server/control_plane.h"

namespace baton::server {

class Access;

struct BatondOptions {
  std::string data_dir;                  // required unless store == "memory"
  std::string listen = "127.0.0.1:7070";  // gRPC; port 0 picks one
  std::string http_listen = "127.0.0.1:7071";  // "" = no HTTP endpoint
  std::string store = "sqlite";          // "sqlite" | "memory" | "etcd"
  // store == "etcd": the members' client addresses, the key namespace, the lease TTL of
  // the leader election (failover takes about this long), and the address written into
  // the election key ("" = `listen`, which then needs a fixed port).
  std::vector<std::string> etcd_endpoints;
  std::string etcd_prefix = "baton/";
  int64_t election_ttl_seconds = 2;
  std::string advertise;
  // The dashboard's files; "" = the copy compiled into the binary (server/http_api.h).
  std::string web_dir;
  // Bootstrap credentials (docs/security.md): on a store without users, batond creates
  // a cluster-admin and an agent token and writes them here, 0600 ("" =
  // <data_dir>/admin.token and <data_dir>/agent.token). A file that already holds a
  // token is adopted instead.
  std::string admin_token_file;
  std::string agent_token_file;
  // Rate limit of refusal records in the audit log.
  AuditOptions audit;
  // How often the loop runs when nothing wakes it (node and start timeouts).
  Duration tick = std::chrono::milliseconds(200);
  ControlPlaneOptions control_plane;
  // TLS, the CA and agents' certificates; off = plaintext (batond_tls.h). Off by default
  // in this struct (in-process tests and embedders), on by default in the batond program
  // and `baton up`.
  BatondTlsOptions tls;
};

class Batond {
 public:
  static Result<std::unique_ptr<Batond>> Start(BatondOptions options);
  ~Batond();  // Shutdown()s

  // Stops accepting calls, ends streams, stops the loop and flushes the store.
  void Shutdown();

  // etcd: waits until this replica leads and serves gRPC (true) or `timeout` passes or it
  // was deposed (false). Other stores: true at once.
  bool WaitUntilServing(std::chrono::milliseconds timeout);
  // etcd: waits until leadership is lost (true) or `timeout` passes (false).
  bool WaitUntilDeposed(std::chrono::milliseconds timeout);
  // Why leadership was lost ("" while not deposed).
  std::string deposed_reason() const;

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // "127.0.0.1:7070" with the bound port.
  std::string grpc_address() const;
  ControlPlane& control_plane() { return *cp_; }
  // Authentication, authorization and the audit log of this batond.
  Access& access();
  // The HTTP routes served (every one but /healthz and the dashboard's files needs a
  // token; the route-table test walks them).
  std::vector<metrics::HttpRoute> http_routes() const;
  // nullptr without TLS.
  BatondTls* tls();

 private:
  struct Impl;
  Batond();
  // Recovers the state and starts the gRPC server and the loop (the leader's half).
  Status Serve();
  // --store etcd: the store and the election.
  static Status OpenEtcd(BatondOptions& options, Impl& d);
  std::unique_ptr<Impl> impl_;
  ControlPlane* cp_ = nullptr;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

}  // namespace baton::server
