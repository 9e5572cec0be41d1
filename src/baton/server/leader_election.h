// LeaderElection: one batond replica campaigns to lead, on an etcd lease.
//
// Protocol (one key, no queue): the replica grants a lease of `ttl` seconds, then in one
// etcd Txn creates the election key (value = its advertised gRPC address) under that
// lease if, and only if, the key does not exist. Winning makes the key's create revision
// the leader's epoch: EtcdStore::SetFence({key, epoch}) then makes every write of this
// replica conditional on that exact key still existing, so a leader that lost the key
// (lease expired while it was paused or cut off, another replica took over) cannot
// write. Losers watch the key and try again as soon as it is deleted (its lease expired
// or the leader resigned).
//
// The leader renews the lease every ttl/3. It reports leadership lost (once, through
// on_lost) when etcd says the lease is gone, when the key no longer carries its epoch, or
// when no renewal got through for ttl + unreachable_grace (etcd unreachable or without
// quorum for that long). Resign() revokes the lease, so a successor takes over at once
// instead of after the ttl.
//
// Failover after a leader's death is bounded by ttl (etcd expires leases with about
// half a second of slack) plus the successor's watch round trip. etcd raises TTLs below
// its minimum (1.5 x election timeout, 2 s with defaults) to that minimum.
//
// Not responsible for: what a leader does (Batond), fencing the writes (EtcdStore).
//
// Thread-safety: Campaign and Resign from one thread; leader(), is_leader() and epoch()
// from any thread. on_lost runs on the keepalive thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "baton/common/status.h"
#include "baton/store/etcd/etcd_client.h"

namespace baton::server {

struct LeaderElectionOptions {
  std::string key = "baton-election/leader";  // etcd key, outside the store's namespace
  std::string identity;                       // this replica's gRPC address
  int64_t ttl_seconds = 2;
  // How long past its lease's last sure expiry a leader that cannot reach etcd at all keeps
  // leading. An etcd leader election (one member killed) takes a few seconds, during which
  // no renewal succeeds but etcd extends every lease, so nobody else can take over; a
  // leader that really lost its lease finds out at the first renewal that gets through,
  // and its writes are fenced meanwhile. Past the grace it steps down anyway, so agents and
  // clients of a replica cut off from etcd move on to the new leader.
  std::chrono::milliseconds unreachable_grace{5000};
};

class LeaderElection {
 public:
  using LostFn = std::function<void(const std::string& why)>;

  LeaderElection(std::shared_ptr<store::EtcdClient> client, LeaderElectionOptions options);
  // Stops renewing; does not resign (call Resign for a clean hand-over).
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // Blocks until this replica leads (returns its epoch: the etcd create revision of the
  // election key), Stop() is called (FailedPrecondition) or `within` passes (Unavailable).
  // etcd errors while campaigning are logged and retried. After winning, the lease is
  // renewed in the background and `on_lost` is called if leadership is lost.
  Result<int64_t> Campaign(std::chrono::milliseconds within, LostFn on_lost);
  // Ends a Campaign in progress and the renewals.
  void Stop();
  // Stops renewing and revokes the lease (deleting the key) if this replica leads.
  void Resign();

  bool is_leader() const { return leader_.load(); }
  int64_t epoch() const { return epoch_.load(); }
  // The address in the election key as last seen ("" = none seen).
  std::string leader() const;
  const std::string& key() const { return options_.key; }

 private:
  // Waits until the key changes after `after_revision` (or a short while passes).
  void WaitForChange(int64_t after_revision, std::chrono::steady_clock::time_point deadline);
  void KeepAlive();
  void Lost(const std::string& why);
  bool Sleep(std::chrono::milliseconds d);  // false once stopped

  std::shared_ptr<store::EtcdClient> client_;
  const LeaderElectionOptions options_;
  LostFn on_lost_;
  std::atomic<bool> leader_{false};
  std::atomic<int64_t> epoch_{0};
  std::atomic<int64_t> lease_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string seen_leader_;
  grpc::ClientContext* watch_ctx_ = nullptr;  // the campaign's open watch, for Stop
  std::thread keepalive_;
};

}  // namespace baton::server
