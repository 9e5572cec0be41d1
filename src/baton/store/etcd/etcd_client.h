// EtcdClient: gRPC stubs to the members of one etcd v3 cluster, with the error mapping and
// endpoint failover that EtcdStore and the leader election share.
//
// Each endpoint ("host:port") gets its own channel. Calls go to the current endpoint; when
// it answers UNAVAILABLE or misses the deadline, the next call goes to the next endpoint.
// Reads (Range, Status) and lease calls are retried once on every other endpoint; Txn is
// never retried, because a write whose answer was lost may still have been applied: the
// caller gets UNAVAILABLE ("outcome unknown") and decides.
//
// Errors become a baton Status naming the endpoint and carrying etcd's message, e.g.
// "UNAVAILABLE: etcd 127.0.0.1:2379: etcdserver: no leader". Limits etcd enforces on a
// request (too many txn ops, request too large) are RESOURCE_EXHAUSTED.
//
// Not responsible for: the key namespace, revision mapping (EtcdStore), leases' lifetime
// (LeaderElection).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "etcd/rpc.grpc.pb.h"

namespace baton::store {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "host:port" of each member's client URL
  // Deadline of one unary request. etcd answers a request it cannot commit (no quorum)
  // with "request timed out" after about 5 s of its own, so this bounds the wait.
  std::chrono::milliseconds request_timeout{5000};
};

// "a:1,b:2" -> {"a:1", "b:2"}; InvalidArgument naming `field` on an empty list or item.
Result<std::vector<std::string>> ParseEndpoints(std::string_view list, std::string_view field);

class EtcdClient {
 public:
  // InvalidArgument if there is no endpoint. Does not connect (see MemberStatus()).
  static Result<std::shared_ptr<EtcdClient>> Create(EtcdOptions options);

  Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req);
  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req);
  Result<etcdserverpb::LeaseGrantResponse> LeaseGrant(int64_t ttl_seconds);
  Status LeaseRevoke(int64_t lease_id);
  // One keepalive round trip (a short-lived LeaseKeepAlive stream). TTL <= 0 in the
  // answer means the lease no longer exists.
  Result<etcdserverpb::LeaseKeepAliveResponse> LeaseKeepAliveOnce(int64_t lease_id);
  // Asks each member in turn until one answers.
  Result<etcdserverpb::StatusResponse> MemberStatus();

  size_t endpoint_count() const { return endpoints_.size(); }
  const std::string& endpoint(size_t i) const { return endpoints_[i]; }
  std::string endpoints_text() const;
  // The endpoint the next call goes to, and a way to move on from it.
  size_t current() const { return current_.load(); }
  void Failed(size_t i);
  etcdserverpb::Watch::Stub* watch_stub(size_t i) { return watch_[i].get(); }
  etcdserverpb::Lease::Stub* lease_stub(size_t i) { return lease_[i].get(); }

  // grpc::Status -> Status naming the endpoint.
  Status FromGrpc(size_t endpoint, const grpc::Status& s) const;
  std::chrono::milliseconds request_timeout() const { return options_.request_timeout; }

 private:
  explicit EtcdClient(EtcdOptions options);
  // Runs `call` against the current endpoint, moving on after transport failures; with
  // `retry`, tries each endpoint once.
  template <typename Fn>
  Status Call(bool retry, Fn&& call);

  EtcdOptions options_;
  std::vector<std::string> endpoints_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> watch_;
  std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>> lease_;
  std::vector<std::unique_ptr<etcdserverpb::Maintenance::Stub>> maintenance_;
  std::atomic<size_t> current_{0};
};

}  // namespace baton::store
