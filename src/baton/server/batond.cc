#include "baton/server/batond.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "baton/metrics/http_server.h"
#include "baton/metrics/registry.h"
#include "baton/server/grpc_services.h"
#include "baton/server/server_metrics.h"
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
  std::unique_ptr<JobsService> jobs;
  std::unique_ptr<ClusterService> cluster;
  std::unique_ptr<AgentService> agents;
  std::unique_ptr<grpc::Server> server;
  metrics::HttpServer http;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> loop_beats{0};
  std::thread loop;
  bool shut = false;

  ~Impl() {
    if (lock_fd >= 0) close(lock_fd);
  }
};

Batond::Batond() : impl_(std::make_unique<Impl>()) {}

Batond::~Batond() { Shutdown(); }

std::string Batond::grpc_address() const {
  const std::string& l = impl_->options.listen;
  auto colon = l.rfind(':');
  std::string host = colon == std::string::npos ? l : l.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return fmt::format("{}:{}", host, grpc_port_);
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
    auto store = store::SqliteStore::Open(options.data_dir + "/state.db");
    if (!store.ok()) return store.status().WithPrefix("store");
    d.store = std::move(*store);
    if (options.control_plane.checkpoint_root.empty()) {
      options.control_plane.checkpoint_root =
          std::filesystem::absolute(options.data_dir).string() + "/checkpoints";
    }
  } else if (options.store == "memory") {
    d.store = std::make_unique<store::MemoryStore>();
  } else {
    return InvalidArgument(
        fmt::format("--store: '{}' is not a store; use sqlite or memory", options.store));
  }
  d.metrics = std::make_unique<ServerMetrics>(&d.registry);
  options.control_plane.observer = d.metrics.get();
  d.cp = std::make_unique<ControlPlane>(options.control_plane, d.store.get(), &d.clock);
  d.metrics->Attach(d.cp.get(), &d.loop_beats);
  BATON_RETURN_IF_ERROR(d.cp->Recover());
  b->cp_ = d.cp.get();

  d.jobs = std::make_unique<JobsService>(d.cp.get());
  d.cluster = std::make_unique<ClusterService>(d.cp.get());
  d.agents = std::make_unique<AgentService>(d.cp.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &b->grpc_port_);
  builder.RegisterService(d.jobs.get());
  builder.RegisterService(d.cluster.get());
  builder.RegisterService(d.agents.get());
  builder.SetMaxReceiveMessageSize(4 << 20);
  d.server = builder.BuildAndStart();
  if (!d.server || b->grpc_port_ == 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("--listen: cannot listen on {} (in use or not a local address)",
                              options.listen));
  }

  if (!options.http_listen.empty()) {
    BATON_RETURN_IF_ERROR(metrics::ServeMetrics(d.http, d.registry));
    Impl* impl = &d;
    BATON_RETURN_IF_ERROR(d.http.Handle("/healthz", [impl](const metrics::HttpRequest&) {
      metrics::HttpResponse r;
      r.body = "ok\n";
      auto rev = impl->store->Get("nodes/");
      if (!rev.ok()) {
        r.status = 503;
        r.body = fmt::format("store: {}\n", rev.status().message());
      }
      return r;
    }));
    auto port = d.http.Start(options.http_listen);
    if (!port.ok()) return port.status().WithPrefix("--http");
    b->http_port_ = *port;
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
  spdlog::info("batond serving gRPC on port {}{}", b->grpc_port_,
               b->http_port_ ? fmt::format(", HTTP on port {}", b->http_port_) : "");
  return b;
}

void Batond::Shutdown() {
  Impl& d = *impl_;
  if (d.shut) return;
  d.shut = true;
  d.http.Stop();
  if (d.server) d.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  d.stop.store(true);
  if (d.cp) d.cp->Wake();
  if (d.loop.joinable()) d.loop.join();
  if (d.cp) d.cp->Flush();
  if (d.server) d.server->Wait();
}

}  // namespace baton::server
