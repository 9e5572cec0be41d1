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
#include "baton/server/events_service.h"
#include "baton/server/grpc_services.h"
#include "baton/server/http_api.h"
#include "baton/store/memory/memory_store.h"
#include "baton/store/sqlite/sqlite_store.h"

namespace baton::server {

struct Batond::Impl {
  BatondOptions options;
  int lock_fd = -1;
  SystemClock clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ControlPlane> cp;
  std::unique_ptr<JobsService> jobs;
  std::unique_ptr<ClusterService> cluster;
  std::unique_ptr<AgentService> agents;
  std::unique_ptr<EventsService> events;
  std::unique_ptr<grpc::Server> server;
  metrics::Registry registry;
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

namespace {

void AddMetrics(metrics::Registry& reg, ControlPlane* cp, std::atomic<int64_t>* beats) {
  auto stat = [cp](auto field) { return [cp, field] { return double(field(cp->Stats())); }; };
  reg.AddGaugeCallback("baton_jobs_submitted_total", "Jobs accepted since the start.",
                       stat([](const ControlPlaneStats& s) { return s.submitted; }));
  reg.AddGaugeCallback("baton_jobs_finished_total", "Jobs that reached a terminal state.",
                       stat([](const ControlPlaneStats& s) { return s.finished; }));
  reg.AddGaugeCallback("baton_jobs_active", "Jobs not in a terminal state.",
                       stat([](const ControlPlaneStats& s) { return s.active; }));
  reg.AddGaugeCallback("baton_jobs_pending", "Jobs waiting in the scheduler's queue.",
                       stat([](const ControlPlaneStats& s) { return s.pending; }));
  reg.AddGaugeCallback("baton_sched_rounds_total", "Scheduling rounds run.",
                       stat([](const ControlPlaneStats& s) { return s.rounds; }));
  reg.AddGaugeCallback("baton_sched_placed_total", "Jobs placed by the scheduler.",
                       stat([](const ControlPlaneStats& s) { return s.placed; }));
  reg.AddGaugeCallback("baton_sched_last_round_seconds", "Duration of the last round.",
                       [cp] { return std::chrono::duration<double>(cp->Stats().last_round).count(); });
  reg.AddGaugeCallback("baton_gpus_total", "GPUs on registered nodes.",
                       stat([](const ControlPlaneStats& s) { return s.gpus_total; }));
  reg.AddGaugeCallback("baton_gpus_allocated", "GPUs held by tasks.",
                       stat([](const ControlPlaneStats& s) { return s.gpus_allocated; }));
  reg.AddGaugeFamilyCallback("baton_nodes", "Nodes by state.", {"state"}, [cp] {
    ControlPlaneStats s = cp->Stats();
    return std::vector<metrics::GaugeSample>{
        {{"ready"}, double(s.nodes_ready)},
        {{"not-ready"}, double(s.nodes_not_ready)},
        {{"lost"}, double(s.nodes_lost)}};
  });
  reg.AddGaugeCallback("baton_store_commits_total", "Store transactions (group commits).",
                       stat([](const ControlPlaneStats& s) { return s.commits.batches; }));
  reg.AddGaugeCallback("baton_store_writes_total", "Records written to the store.",
                       stat([](const ControlPlaneStats& s) { return s.commits.writes; }));
  reg.AddGaugeCallback("baton_store_failed_commits_total", "Store transactions that failed.",
                       stat([](const ControlPlaneStats& s) { return s.commits.failed_batches; }));
  reg.AddGaugeCallback("baton_loop_iterations_total", "Control loop iterations.",
                       [beats] { return double(beats->load()); });
}

}  // namespace

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
  d.cp = std::make_unique<ControlPlane>(options.control_plane, d.store.get(), &d.clock);
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
  d.events = std::make_unique<EventsService>(&d.cp->events());
  builder.RegisterService(d.events.get());
  builder.SetMaxReceiveMessageSize(4 << 20);
  d.server = builder.BuildAndStart();
  if (!d.server || b->grpc_port_ == 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("--listen: cannot listen on {} (in use or not a local address)",
                              options.listen));
  }

  if (!options.http_listen.empty()) {
    AddMetrics(d.registry, d.cp.get(), &d.loop_beats);
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
    // The dashboard: its pages poll a few endpoints each, so more workers than /metrics needs.
    d.http.SetWorkerThreads(8);
    BATON_RETURN_IF_ERROR(ServeHttpApi(d.http, d.cp.get(), HttpApiOptions{options.web_dir, {}}));
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
