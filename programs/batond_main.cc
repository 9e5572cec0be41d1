// batond: baton's control plane. See src/baton/server/batond.h.
#include <csignal>
#include <iostream>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <absl/synchronization/mutex.h>
#include <spdlog/spdlog.h>

#include "baton/server/batond.h"
#include "baton/spec/cluster_yaml.h"
#include "baton/store/etcd/etcd_client.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's locks) runs
  // deadlock-cycle detection, a graph lookup per lock: about 3% of batond's CPU and 8% of
  // a 1,000-agent simulator's (perf, bench/results/tls.md). baton's own locks are
  // std::mutex; gRPC's lock order is gRPC's to check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  baton::server::BatondOptions opts;
  CLI::App app{"batond: baton's control plane", "batond"};
  app.add_option("--data-dir", opts.data_dir,
                 "State directory (SQLite database, checkpoints, bootstrap tokens; the TLS CA "
                 "in pki/)");
  app.add_option("--listen", opts.listen, "gRPC address (port 0 picks one)")
      ->capture_default_str();
  app.add_option("--http", opts.http_listen, "HTTP address for /healthz and /metrics ('' = off)")
      ->capture_default_str();
  app.add_option("--store", opts.store, "sqlite, memory or etcd")->capture_default_str();
  std::string etcd_endpoints;
  app.add_option("--etcd-endpoints", etcd_endpoints,
                 "--store etcd: the etcd members' client addresses, host:port,host:port,...");
  app.add_option("--etcd-prefix", opts.etcd_prefix, "--store etcd: key namespace in etcd")
      ->capture_default_str();
  app.add_option("--election-ttl", opts.election_ttl_seconds,
                 "--store etcd: leader lease TTL in seconds (failover takes about this long)")
      ->capture_default_str();
  app.add_option("--advertise", opts.advertise,
                 "--store etcd: this replica's gRPC address for clients (default: --listen)");
  app.add_option("--policy", opts.control_plane.policy, "Scheduling policy, e.g. fifo+binpack")
      ->capture_default_str();
  double lost_s = 8, not_ready_s = 3;
  app.add_option("--node-lost-after", lost_s, "Seconds without heartbeat before a node is lost")
      ->capture_default_str();
  app.add_option("--node-not-ready-after", not_ready_s,
                 "Seconds without heartbeat before a node takes no new work")
      ->capture_default_str();
  app.add_option("--mass-silence-fraction", opts.control_plane.mass_silence_fraction,
                 "Evict nothing when more than this share of nodes goes silent at once")
      ->capture_default_str();
  app.add_option("--mass-silence-min-nodes", opts.control_plane.mass_silence_min_nodes,
                 "... and at least this many nodes")
      ->capture_default_str();
  std::string port_file;
  app.add_option("--port-file", port_file, "Write the bound gRPC port here once serving");
  app.add_option("--web-dir", opts.web_dir,
                 "Serve the dashboard from this directory (default: the built-in copy)");
  std::string http_port_file;
  app.add_option("--http-port-file", http_port_file,
                 "Write the bound HTTP port here once serving");
  app.add_option("--admin-token-file", opts.admin_token_file,
                 "First start: write the cluster-admin token here (default <data-dir>/"
                 "admin.token; a file that holds a token is adopted)");
  app.add_option("--agent-token-file", opts.agent_token_file,
                 "First start: write the agents' token here (default <data-dir>/agent.token)");
  std::string queues_file;
  app.add_option("--queues", queues_file,
                 "Queue tree (YAML with queues:, as baton sim's cluster files) for a store "
                 "without one; later changes: baton queue set");
  // TLS (docs/tls.md), on by default, as in `baton up`. The default is flipped here, in
  // the flags, and not in BatondOptions (tls.enabled stays false there): in-process tests
  // and embedders build BatondOptions by hand, often with --store memory and no directory
  // for a CA, and ask for TLS explicitly where they test it (tests/tls_test.cc).
  bool plaintext = false;
  app.add_flag("--plaintext", plaintext,
               "Serve gRPC and HTTP without TLS: the API and the agents' channel are "
               "unencrypted and bearer tokens travel in clear (default: TLS with batond's CA "
               "in <data-dir>/pki or --tls-dir; agents need node certificates)");
  bool tls_flag = false;
  app.add_flag("--tls", tls_flag,
               "Serve gRPC and HTTP over TLS: the default (kept for compatibility; see "
               "--plaintext)");
  app.add_option("--tls-dir", opts.tls.dir,
                 "TLS: CA, server and admin certificates (default <data-dir>/pki)");
  app.add_option("--tls-ca-cert", opts.tls.ca_cert_file,
                 "TLS: the operator's CA certificate (bundle) instead of a generated CA");
  app.add_option("--tls-ca-key", opts.tls.ca_key_file, "TLS: the operator's CA key");
  std::string tls_hostnames;
  app.add_option("--tls-hostnames", tls_hostnames,
                 "TLS: names/addresses clients dial batond at, comma-separated (besides "
                 "localhost, 127.0.0.1, ::1)");
  double agent_cert_validity_s = 86400;
  app.add_option("--agent-cert-validity", agent_cert_validity_s,
                 "TLS: seconds an agent's certificate lasts (renewed at 2/3)")
      ->capture_default_str();
  app.add_option("--bootstrap-token-file", opts.tls.bootstrap_token_file,
                 "TLS: create a bootstrap token at start and write it here (0600)");
  app.add_option("--bootstrap-token-uses", opts.tls.bootstrap_token.uses,
                 "TLS: joins that token allows")
      ->capture_default_str();
  double bootstrap_token_ttl_s = 3600;
  app.add_option("--bootstrap-token-ttl", bootstrap_token_ttl_s,
                 "TLS: seconds that token may be used")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!queues_file.empty()) {
    auto queues = baton::spec::LoadQueuesYaml(queues_file);
    if (!queues.ok()) {
      std::cerr << "batond: --queues: " << queues.status().message() << "\n";
      return 2;
    }
    opts.control_plane.queues = *std::move(queues);
  }
  opts.tls.node_cert_validity = baton::SecondsF(agent_cert_validity_s);
  opts.tls.bootstrap_token.ttl = baton::SecondsF(bootstrap_token_ttl_s);
  for (size_t start = 0; start < tls_hostnames.size();) {
    size_t end = tls_hostnames.find(',', start);
    if (end == std::string::npos) end = tls_hostnames.size();
    if (end > start) opts.tls.hosts.push_back(tls_hostnames.substr(start, end - start));
    start = end + 1;
  }
  if (tls_flag && plaintext) {
    std::cerr << "batond: --tls and --plaintext contradict each other: TLS is the default, "
                 "--plaintext turns it off; give one of them\n";
    return 2;
  }
  opts.tls.enabled = !plaintext;
  if (plaintext) {
    std::string tls_only;
    for (const char* flag :
         {"--tls-dir", "--tls-ca-cert", "--tls-ca-key", "--tls-hostnames", "--agent-cert-validity",
          "--bootstrap-token-file", "--bootstrap-token-uses", "--bootstrap-token-ttl"}) {
      if (app.count(flag) > 0) tls_only += std::string(tls_only.empty() ? "" : ", ") + flag;
    }
    if (!tls_only.empty()) {
      std::cerr << "batond: " << tls_only
                << ": TLS settings, and --plaintext turns TLS off (drop --plaintext: TLS is "
                   "the default)\n";
      return 2;
    }
  }
  if (opts.store == "sqlite" && opts.data_dir.empty()) {
    std::cerr << "batond: --data-dir is required (or --store memory)\n";
    return 2;
  }
  if (opts.tls.enabled && opts.tls.dir.empty() && opts.data_dir.empty()) {
    std::cerr << "batond serves TLS by default: its CA needs --data-dir (it goes to "
                 "<data-dir>/pki) or --tls-dir (or pass --plaintext)\n";
    return 2;
  }
  if (!etcd_endpoints.empty()) {
    auto eps = baton::store::ParseEndpoints(etcd_endpoints, "--etcd-endpoints");
    if (!eps.ok()) {
      std::cerr << "batond: " << eps.status().message() << "\n";
      return 2;
    }
    opts.etcd_endpoints = *eps;
  }
  opts.control_plane.lost_after = baton::Duration(static_cast<int64_t>(lost_s * 1e6));
  opts.control_plane.not_ready_after = baton::Duration(static_cast<int64_t>(not_ready_s * 1e6));

  if (plaintext) {
    spdlog::warn(
        "batond: --plaintext: TLS is OFF. The API (gRPC, HTTP, dashboard) and the agents' "
        "channel are UNENCRYPTED: bearer tokens (admin, users', agents') travel in clear and "
        "anyone on the network path can read and replay them. Use it only on a trusted "
        "network or for tests; drop --plaintext to serve TLS (the default, docs/tls.md)");
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  auto b = baton::server::Batond::Start(opts);
  if (!b.ok()) {
    std::cerr << "batond: " << b.status().message() << "\n";
    return 1;
  }
  // --store etcd: a follower waits here until it leads (or is told to stop).
  while (!g_stop && !(*b)->WaitUntilServing(std::chrono::milliseconds(200))) {
    if ((*b)->WaitUntilDeposed(std::chrono::milliseconds(0))) break;
  }
  if (g_stop || !(*b)->deposed_reason().empty()) {
    (*b)->Shutdown();
    if (!(*b)->deposed_reason().empty()) {
      std::cerr << "batond: " << (*b)->deposed_reason() << "\n";
      return 3;
    }
    return 0;
  }
  std::cout << "batond: gRPC on " << (*b)->grpc_address();
  if ((*b)->http_port()) std::cout << ", HTTP on port " << (*b)->http_port();
  if (baton::server::BatondTls* tls = (*b)->tls()) {
    std::cout << "; TLS (clients trust " << tls->pki().ca_file << ")";
  } else {
    std::cout << "; PLAINTEXT (unencrypted, tokens in clear)";
  }
  std::cout << std::endl;
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f) {
      std::fprintf(f, "%d\n", (*b)->grpc_port());
      std::fclose(f);
      std::rename(tmp.c_str(), port_file.c_str());
    }
  }
  if (!http_port_file.empty() && (*b)->http_port()) {
    std::string tmp = http_port_file + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%d\n", (*b)->http_port());
      std::fclose(f);
      std::rename(tmp.c_str(), http_port_file.c_str());
    }
  }
  // Deposed (--store etcd: the lease was lost): the state held here may be stale and every
  // write already fails, so exit; a supervisor restarts this replica as a follower.
  bool deposed = false;
  while (!g_stop && !(deposed = (*b)->WaitUntilDeposed(std::chrono::milliseconds(200)))) {
  }
  spdlog::info("batond: shutting down");
  (*b)->Shutdown();
  if (deposed) {
    std::cerr << "batond: leadership lost: " << (*b)->deposed_reason() << "; exiting\n";
    return 3;
  }
  return 0;
}
