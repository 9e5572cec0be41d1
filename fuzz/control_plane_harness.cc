#include "control_plane_harness.h"

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/support/server_interceptor.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <thread>

#include "baton/common/limits.h"
#include "baton/server/access.h"
#include "baton/server/audit_log.h"
#include "baton/server/http_api.h"
#include "baton/server/principals.h"

namespace baton::fuzz {
namespace {

// Counts the server-side calls alive: created when a call arrives, destroyed with it
// (after its reactor's OnDone).
class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(std::atomic<int>* live) : live_(live) { live_->fetch_add(1); }
  ~CountingInterceptor() override { live_->fetch_sub(1); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  std::atomic<int>* live_;
};

class CountingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingFactory(std::atomic<int>* live) : live_(live) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new CountingInterceptor(live_);
  }

 private:
  std::atomic<int>* live_;
};

server::ControlPlaneOptions Options() {
  server::ControlPlaneOptions o;
  o.checkpoint_root = "/nonexistent/baton-fuzz/checkpoints";
  o.event_history = 1000;
  return o;
}

}  // namespace

struct ControlPlaneHarness::Services {
  // Authentication is not what these targets fuzz (http_api's target sends headers): calls
  // without credentials act as a cluster-admin, so every handler runs its whole path.
  explicit Services(server::ControlPlane* cp)
      : principals(&auth_store, &auth_clock),
        audit(&auth_store, &auth_clock),
        access(&principals, &audit, &cp->queue_tree()),
        jobs(cp, &access),
        cluster(cp, &access),
        agents(cp, &access),
        events(&cp->events(), &access) {
    server::Identity admin;
    admin.user = "fuzz-admin";
    v1::RoleBinding b;
    b.set_role(v1::ROLE_CLUSTER_ADMIN);
    admin.bindings.push_back(b);
    access.TreatCallsWithoutCredentialsAs(admin);
  }
  store::MemoryStore auth_store;
  ManualClock auth_clock{Time(std::chrono::seconds(1'700'000'000))};
  server::Principals principals;
  server::AuditLog audit;
  server::Access access;
  server::JobsService jobs;
  server::ClusterService cluster;
  server::AgentService agents;
  server::EventsService events;
};

ControlPlaneHarness& ControlPlaneHarness::Get() {
  static ControlPlaneHarness* h = new ControlPlaneHarness();  // lives until exit
  return *h;
}

ControlPlaneHarness::ControlPlaneHarness() {
  // Fuzzed strings are often not UTF-8; protobuf logs each such parse to stderr, which
  // would fill long runs' logs. The parse result says enough.
  google::protobuf::SetLogHandler(nullptr);
  Construct();
  // The services hold cp_ (and the EventLog inside it) for good; Reset replaces the object
  // behind those pointers with one of the same type.
  services_ = std::make_unique<Services>(cp_);
  grpc::ServerBuilder builder;
  builder.RegisterService(&services_->jobs);
  builder.RegisterService(&services_->cluster);
  builder.RegisterService(&services_->agents);
  builder.RegisterService(&services_->events);
  builder.SetMaxReceiveMessageSize(limits::kMaxGrpcTransportBytes);  // as batond
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> icpt;
  icpt.push_back(std::make_unique<CountingFactory>(&live_calls_));
  builder.experimental().SetInterceptorCreators(std::move(icpt));
  server_ = builder.BuildAndStart();
  if (!server_) {
    std::fprintf(stderr, "fuzz harness: cannot build the in-process gRPC server\n");
    std::abort();
  }
  auto channel = server_->InProcessChannel(grpc::ChannelArguments());
  jobs_ = v1::Jobs::NewStub(channel);
  agent_ = v1::Agent::NewStub(channel);
  http_ = std::make_unique<metrics::HttpServer>();
  Status s = server::ServeHttpApi(*http_, cp_, &services_->access, server::HttpApiOptions{});
  if (!s.ok()) {
    std::fprintf(stderr, "fuzz harness: %s\n", s.ToString().c_str());
    std::abort();
  }
  Destroy();  // each input's Begin() makes its own
}

server::JobsService& ControlPlaneHarness::jobs_service() { return services_->jobs; }
server::ClusterService& ControlPlaneHarness::cluster_service() { return services_->cluster; }
server::EventsService& ControlPlaneHarness::events_service() { return services_->events; }

void ControlPlaneHarness::Construct() {
  store_ = std::make_unique<store::MemoryStore>();
  clock_ = std::make_unique<ManualClock>(Time(std::chrono::seconds(1'700'000'000)));
  cp_ = new (cp_storage_) server::ControlPlane(Options(), store_.get(), clock_.get());
  constructed_ = true;
  Status s = cp_->Recover();
  if (!s.ok()) {
    std::fprintf(stderr, "fuzz harness: recover: %s\n", s.ToString().c_str());
    std::abort();
  }
}

void ControlPlaneHarness::Destroy() {
  if (!constructed_) return;
  cp_->Flush();
  cp_->~ControlPlane();
  constructed_ = false;
  store_.reset();
  clock_.reset();
}

void ControlPlaneHarness::Begin() {
  Destroy();
  Construct();
}

void ControlPlaneHarness::End() {
  WaitIdle();
  Destroy();
}

void ControlPlaneHarness::WaitIdle() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (live_calls_.load() > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "fuzz harness: %d gRPC calls still alive after 30 s\n",
                   live_calls_.load());
      std::abort();
    }
    std::this_thread::yield();
  }
}

void ControlPlaneHarness::Tick(Duration advance) {
  clock_->Advance(advance);
  cp_->Tick();
  cp_->Flush();
}

}  // namespace baton::fuzz
