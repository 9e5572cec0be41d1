// ControlPlaneHarness: a ControlPlane on a MemoryStore with a ManualClock, served by the
// real v1 gRPC services (Jobs, Cluster, Agent, Events) over an in-process channel, and the
// HTTP API routes (server/http_api.h) on an unstarted HttpServer — for the fuzz targets
// that drive the control plane (control_plane_fuzzer.cc, http_api_fuzzer.cc).
//
// Unary handlers are called directly (CallUnary: gRPC's own test seam for callback
// handlers, DefaultReactorTestPeer), which is what the server would run for the request
// minus the transport; a transport round trip costs thread handoffs that made fuzzing
// ~30 inputs/s. Streams that need a transport (Jobs.Logs, Agent.Connect) go through the
// in-process server. The gRPC server is built once per process (building one costs about 1.5 ms, too much per
// input); the control plane, its store and its clock are made by Begin() and destroyed by
// End() around every input, so an input's outcome never depends on the inputs before it,
// libFuzzer's reproducers are exact, and an input frees what it allocated (libFuzzer's
// leak check runs whenever an input ends with more allocations than frees). The services
// keep pointing at the same ControlPlane storage, where Begin constructs each new one.
// End first waits until no server-side call is alive (an interceptor counts them; gRPC
// destroys a call's interceptors after its reactor's OnDone), so nothing of one input can
// reach the next input's control plane.
//
// Not thread-safe: one fuzzing thread drives it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <grpcpp/test/default_reactor_test_peer.h>

#include "baton/common/time.h"
#include "baton/metrics/http_server.h"
#include "baton/server/control_plane.h"
#include "baton/server/events_service.h"
#include "baton/server/grpc_services.h"
#include "baton/store/memory/memory_store.h"
#include "baton/v1/agent.grpc.pb.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/events.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::fuzz {

class ControlPlaneHarness {
 public:
  // The process's harness, built on first use.
  static ControlPlaneHarness& Get();

  // A fresh control plane (recovered from an empty store) at a fixed start time.
  void Begin();
  // Waits for the calls still alive, then destroys the control plane, store and clock.
  void End();
  // Waits until every server-side call has finished; aborts after 30 s (a hang).
  void WaitIdle();

  server::ControlPlane& cp() { return *cp_; }
  ManualClock& clock() { return *clock_; }
  // Advances the clock and runs one loop pass, waiting for its writes.
  void Tick(Duration advance);

  // The services themselves, for calling their handlers directly (CallUnary below).
  server::JobsService& jobs_service();
  server::ClusterService& cluster_service();
  server::EventsService& events_service();
  // Stubs over the in-process channel, for the streaming calls that need a transport.
  v1::Jobs::Stub& jobs() { return *jobs_; }
  v1::Agent::Stub& agent() { return *agent_; }
  // batond's HTTP routes over the current control plane (not listening on any port).
  metrics::HttpServer& http() { return *http_; }

  // Where Register.log_endpoint is pointed before a fuzzed Register reaches the control
  // plane: Jobs.Logs dials it, and a fuzzed address must not reach the network.
  static constexpr char kDeadLogEndpoint[] = "unix:/nonexistent/baton-fuzz-agent.sock";

 private:
  ControlPlaneHarness();
  void Construct();
  void Destroy();

  std::unique_ptr<store::MemoryStore> store_;
  std::unique_ptr<ManualClock> clock_;
  // The ControlPlane's storage; cp_ points into it whether or not it holds one now.
  alignas(server::ControlPlane) unsigned char cp_storage_[sizeof(server::ControlPlane)];
  server::ControlPlane* cp_ = nullptr;
  bool constructed_ = false;

  std::atomic<int> live_calls_{0};
  struct Services;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Jobs::Stub> jobs_;
  std::unique_ptr<v1::Agent::Stub> agent_;
  std::unique_ptr<metrics::HttpServer> http_;
};

// Calls a unary callback handler directly and waits (up to 30 s, else abort: a hang) for
// it to finish, possibly on another thread (Submit finishes on the commit thread).
template <typename Service, typename Req, typename Resp>
grpc::Status CallUnary(Service& service,
                       grpc::ServerUnaryReactor* (Service::*method)(grpc::CallbackServerContext*,
                                                                    const Req*, Resp*),
                       const Req& req, Resp* resp) {
  grpc::CallbackServerContext ctx;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::testing::DefaultReactorTestPeer peer(&ctx, [&](grpc::Status) {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  (service.*method)(&ctx, &req, resp);
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) {
      std::fprintf(stderr, "fuzz harness: a unary handler did not finish in 30 s\n");
      std::abort();
    }
  }
  // Finish sets the status flag after calling back; wait for that last write to ctx.
  while (!peer.test_status_set()) std::this_thread::yield();
  return peer.test_status();
}

}  // namespace baton::fuzz
