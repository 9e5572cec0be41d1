#include "baton/server/batond.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "baton/common/limits.h"
#include "baton/metrics/http_server.h"
#include "baton/metrics/registry.h"
#include "baton/server/access.h"
#include "baton/server/auth_service.h"
#include "baton/server/events_service.h"
#include "baton/server/grpc_services.h"
#include "baton/server/http_api.h"
#include "baton/server/leader_election.h"
#include "baton/server/server_metrics.h"
#include "baton/server/sqlite_open.h"
#include "baton/store/etcd/etcd_store.h"
#include "baton/store/memory/memory_store.h"
#include "baton/store/sqlite/sqlite_store.h"

namespace baton::server {

struct Batond::Impl {
  BatondOptions options;
  int lock_fd = -1;
  SystemClock clock;
  std::unique_ptr<store::Store> store;
  // Before cp: the control plane reports to `metrics` until it is destroyed.
  metrics::Registry registry;
  std::unique_ptr<ServerMetrics> metrics;
  std::unique_ptr<ControlPlane> cp;
  std::unique_ptr<Principals> principals;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<Access> access;
  std::unique_ptr<AuthService> auth_service;
  std::unique_ptr<AuditService> audit_service;
  std::unique_ptr<JobsService> jobs;
  std::unique_ptr<ClusterService> cluster;
  std::unique_ptr<AgentService> agents;
  std::unique_ptr<EventsService> events;
  std::unique_ptr<BatondTls> tls;
  std::unique_ptr<grpc::Server> server;
  metrics::HttpServer http;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> loop_beats{0};
  std::thread loop;
  bool shut = false;

  // store == "etcd" only.
  store::EtcdStore* etcd_store = nullptr;
  std::unique_ptr<LeaderElection> election;
  std::thread campaign;
  std::mutex role_mu;
  std::condition_variable role_cv;
  bool serving = false;
  bool deposed = false;
  std::string deposed_reason;

  ~Impl() {
    if (lock_fd >= 0) close(lock_fd);
  }
};

Batond::Batond() : impl_(std::make_unique<Impl>()) {}

Batond::~Batond() { Shutdown(); }

Access& Batond::access() { return *impl_->access; }

std::vector<metrics::HttpRoute> Batond::http_routes() const { return impl_->http.routes(); }

BatondTls* Batond::tls() { return impl_->tls.get(); }

std::string Batond::grpc_address() const {
  const std::string& l = impl_->options.listen;
  auto colon = l.rfind(':');
  std::string host = colon == std::string::npos ? l : l.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return fmt::format("{}:{}", host, grpc_port_);
}

// store == "etcd": the store, fenced later with the epoch, and the election.
Status Batond::OpenEtcd(BatondOptions& options, Impl& d) {
  if (options.etcd_endpoints.empty()) {
    return InvalidArgument("--etcd-endpoints: required with --store etcd");
  }
  if (options.advertise.empty()) {
    const auto colon = options.listen.rfind(':');
    if (colon == std::string::npos || options.listen.substr(colon + 1) == "0") {
      return InvalidArgument(fmt::format(
          "--listen: '{}' needs a fixed port with --store etcd (clients and agents list "
          "every replica's address), or give --advertise",
          options.listen));
    }
    options.advertise = options.listen;
  }
  if (options.election_ttl_seconds < 1) {
    return InvalidArgument("--election-ttl: must be at least 1 second");
  }
  store::EtcdStoreOptions so;
  so.etcd.endpoints = options.etcd_endpoints;
  so.prefix = options.etcd_prefix;
  // A replica (re)started while etcd elects a leader waits that out instead of exiting.
  so.open_wait = std::chrono::seconds(15);
  auto st = store::EtcdStore::Open(so);
  if (!st.ok()) return st.status().WithPrefix("--etcd-endpoints");
  d.etcd_store = st->get();
  d.store = std::move(*st);
  // The election's requests must answer well within one TTL.
  store::EtcdOptions eo = so.etcd;
  eo.request_timeout = std::chrono::milliseconds(
      std::max<int64_t>(300, options.election_ttl_seconds * 1000 / 3));
  BATON_ASSIGN_OR_RETURN(auto client, store::EtcdClient::Create(eo));
  LeaderElectionOptions lo;
  lo.key = "baton-election/" + options.etcd_prefix;
  lo.identity = options.advertise;
  lo.ttl_seconds = options.election_ttl_seconds;
  d.election = std::make_unique<LeaderElection>(std::move(client), lo);
  if (!options.data_dir.empty() && options.control_plane.checkpoint_root.empty()) {
    options.control_plane.checkpoint_root =
        std::filesystem::absolute(options.data_dir).string() + "/checkpoints";
  }
  return Status::Ok();
}

Result<std::unique_ptr<Batond>> Batond::Start(BatondOptions options) {
  std::unique_ptr<Batond> b(new Batond());
  Impl& d = *b->impl_;
  d.options = options;
  if (options.store == "sqlite") {
    if (options.data_dir.empty()) return InvalidArgument("--data-dir: required");
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return FailedPrecondition(
          fmt::format("--data-dir: cannot create {}: {}", options.data_dir, ec.message()));
    }
    const std::string lock_path = options.data_dir + "/LOCK";
    d.lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d.lock_fd < 0 || flock(d.lock_fd, LOCK_EX | LOCK_NB) != 0) {
      return FailedPrecondition(fmt::format(
          "--data-dir: {} is in use by another batond (cannot lock {})", options.data_dir,
          lock_path));
    }
    // A damaged file: read-only over what could be salvaged (sqlite_open.h).
    BATON_ASSIGN_OR_RETURN(d.store, OpenSqliteStore(options.data_dir + "/state.db",
                                                    &options.control_plane.read_only));
    if (options.control_plane.checkpoint_root.empty()) {
      options.control_plane.checkpoint_root =
          std::filesystem::absolute(options.data_dir).string() + "/checkpoints";
    }
  } else if (options.store == "memory") {
    d.store = std::make_unique<store::MemoryStore>();
  } else if (options.store == "etcd") {
    BATON_RETURN_IF_ERROR(OpenEtcd(options, d));
  } else {
    return InvalidArgument(
        fmt::format("--store: '{}' is not a store; use sqlite, memory or etcd", options.store));
  }
  if (options.tls.enabled) {
    auto tls = BatondTls::Open(options.tls, options.data_dir, options.store == "etcd",
                               d.store.get());
    if (!tls.ok()) return tls.status();
    d.tls = std::move(*tls);
  }
  d.metrics = std::make_unique<ServerMetrics>(&d.registry);
  options.control_plane.observer = d.metrics.get();
  d.options = options;
  d.cp = std::make_unique<ControlPlane>(options.control_plane, d.store.get(), &d.clock);
  d.metrics->Attach(d.cp.get(), &d.loop_beats);
  b->cp_ = d.cp.get();
  if (!options.data_dir.empty()) {
    if (d.options.admin_token_file.empty()) {
      d.options.admin_token_file = options.data_dir + "/admin.token";
    }
    if (d.options.agent_token_file.empty()) {
      d.options.agent_token_file = options.data_dir + "/agent.token";
    }
  }
  d.principals = std::make_unique<Principals>(d.store.get(), &d.clock);
  d.audit = std::make_unique<AuditLog>(d.store.get(), &d.clock, options.audit);
  d.access = std::make_unique<Access>(d.principals.get(), d.audit.get(), &d.cp->queue_tree());
  if (!d.election) BATON_RETURN_IF_ERROR(b->Serve());

  if (!options.http_listen.empty()) {
    if (d.tls) {
      BATON_RETURN_IF_ERROR(
          d.http.EnableTls(d.tls->pki().server_cert_file, d.tls->pki().server_key_file));
    }
    Impl* impl = &d;
    // Prometheus scrapes with a token too (a viewer on "*", docs/security.md).
    BATON_RETURN_IF_ERROR(metrics::ServeMetrics(
        d.http, d.registry,
        [impl](const metrics::HttpRequest& req) -> std::optional<metrics::HttpResponse> {
          auto who = impl->access->Authenticate(req, "http.metrics");
          Status s = who.status();
          if (who.ok()) {
            s = impl->access->Check(*who, Permission::kViewMetrics, "http.metrics", "metrics",
                                    Resource{{}, "", "this cluster"});
          }
          if (s.ok()) return std::nullopt;
          return HttpError(s);
        }));
    BATON_RETURN_IF_ERROR(d.http.Handle("/healthz", [impl](const metrics::HttpRequest&) {
      metrics::HttpResponse r;
      if (impl->election) {
        std::lock_guard<std::mutex> lock(impl->role_mu);
        if (!impl->serving || impl->deposed) {
          const std::string leader = impl->election->leader();
          r.status = 503;
          r.body = impl->deposed ? fmt::format("deposed: {}\n", impl->deposed_reason)
                                 : fmt::format("follower; leader: {}\n",
                                               leader.empty() ? "none yet" : leader);
          return r;
        }
      }
      r.body = "ok\n";
      if (!impl->options.control_plane.read_only.empty()) {
        r.status = 503;
        r.body = fmt::format("read-only: {}\n", impl->options.control_plane.read_only);
        return r;
      }
      auto rev = impl->store->Get("nodes/");
      if (!rev.ok()) {
        r.status = 503;
        r.body = fmt::format("store: {}\n", rev.status().message());
      }
      return r;
    }));
    // The dashboard: its pages poll a few endpoints each, so more workers than /metrics needs.
    d.http.SetWorkerThreads(8);
    BATON_RETURN_IF_ERROR(ServeHttpApi(d.http, d.cp.get(), d.access.get(),
                                       HttpApiOptions{options.web_dir, d.tls.get()}));
    auto port = d.http.Start(options.http_listen);
    if (!port.ok()) return port.status().WithPrefix("--http");
    b->http_port_ = *port;
    spdlog::info("batond serving HTTP (/healthz, /metrics) on port {}", b->http_port_);
  }

  if (d.election) {
    // Campaign in the background; the winner serves (Serve) until deposed or shut down.
    Batond* self = b.get();
    d.campaign = std::thread([self] {
      Impl& d = *self->impl_;
      constexpr auto kForever = std::chrono::hours(24 * 365 * 100);
      auto epoch = d.election->Campaign(kForever, [&d](const std::string& why) {
        std::lock_guard<std::mutex> lock(d.role_mu);
        d.deposed = true;
        d.deposed_reason = why;
        d.role_cv.notify_all();
      });
      if (!epoch.ok()) return;  // stopped
      d.etcd_store->SetFence({d.election->key(), *epoch});
      Status s = self->Serve();
      std::lock_guard<std::mutex> lock(d.role_mu);
      if (s.ok()) {
        d.serving = true;
      } else {
        spdlog::error("batond: cannot serve as leader: {}", s.message());
        d.deposed = true;
        d.deposed_reason = "cannot serve as leader: " + s.message();
      }
      d.role_cv.notify_all();
    });
    spdlog::info("batond: campaigning for leadership as {} (etcd {}, lease ttl {} s)",
                 options.advertise, fmt::join(options.etcd_endpoints, ","),
                 options.election_ttl_seconds);
  }
  return b;
}

Status Batond::Serve() {
  Impl& d = *impl_;
  const BatondOptions& options = d.options;
  BATON_RETURN_IF_ERROR(d.cp->Recover());
  BATON_RETURN_IF_ERROR(d.principals->Load());
  BATON_RETURN_IF_ERROR(
      d.principals->Bootstrap({options.admin_token_file, options.agent_token_file}).status());

  Access* access = d.access.get();
  if (d.tls) {
    access->set_tls(d.tls.get());
    d.tls->set_access(access);
  }
  d.jobs = std::make_unique<JobsService>(d.cp.get(), access, d.tls.get());
  d.cluster = std::make_unique<ClusterService>(d.cp.get(), access);
  d.agents = std::make_unique<AgentService>(d.cp.get(), access, d.tls.get());
  d.auth_service = std::make_unique<AuthService>(access);
  d.audit_service = std::make_unique<AuditService>(access);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen,
                           d.tls ? d.tls->ServerCredentials() : grpc::InsecureServerCredentials(),
                           &grpc_port_);
  if (d.tls) {
    builder.RegisterService(d.tls->service());
    BATON_RETURN_IF_ERROR(d.tls->WriteBootstrapTokenFile());
  }
  builder.RegisterService(d.jobs.get());
  builder.RegisterService(d.cluster.get());
  builder.RegisterService(d.agents.get());
  d.events = std::make_unique<EventsService>(&d.cp->events(), access);
  builder.RegisterService(d.events.get());
  builder.RegisterService(d.auth_service.get());
  builder.RegisterService(d.audit_service.get());
  // Authentication backstop on every call (access.h).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(access->InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  // Up to this, an oversized request reaches its handler, which refuses it with an audit
  // record (Access::CheckSize); larger messages gRPC refuses (RESOURCE_EXHAUSTED) itself.
  builder.SetMaxReceiveMessageSize(limits::kMaxGrpcTransportBytes);
  d.server = builder.BuildAndStart();
  if (!d.server || grpc_port_ == 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("--listen: cannot listen on {} (in use or not a local address)",
                              options.listen));
  }

  d.loop = std::thread([impl = &d] {
    while (!impl->stop.load()) {
      impl->cp->WaitForWork(std::chrono::duration_cast<std::chrono::milliseconds>(
          impl->options.tick));
      if (impl->stop.load()) break;
      impl->cp->Tick();
      impl->loop_beats.fetch_add(1);
    }
  });
  spdlog::info("batond serving gRPC on port {}", grpc_port_);
  return Status::Ok();
}

bool Batond::WaitUntilServing(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  if (!d.election) return true;
  std::unique_lock<std::mutex> lock(d.role_mu);
  return d.role_cv.wait_for(lock, timeout, [&] { return d.serving || d.deposed; }) &&
         d.serving && !d.deposed;
}

bool Batond::WaitUntilDeposed(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  std::unique_lock<std::mutex> lock(d.role_mu);
  return d.role_cv.wait_for(lock, timeout, [&] { return d.deposed; });
}

std::string Batond::deposed_reason() const {
  std::lock_guard<std::mutex> lock(impl_->role_mu);
  return impl_->deposed_reason;
}

void Batond::Shutdown() {
  Impl& d = *impl_;
  if (d.shut) return;
  d.shut = true;
  d.http.Stop();
  if (d.election) d.election->Stop();  // ends a campaign in progress
  if (d.campaign.joinable()) d.campaign.join();
  if (d.server) d.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  d.stop.store(true);
  if (d.cp) d.cp->Wake();
  if (d.loop.joinable()) d.loop.join();
  if (d.cp) d.cp->Flush();
  if (d.audit) d.audit->Flush();
  if (d.server) d.server->Wait();
  // Written everything it acknowledged: hand over at once rather than after the TTL.
  if (d.election) d.election->Resign();
}

}  // namespace baton::server
