// EtcdStore: the Store backend on an etcd v3 cluster, for highly available control planes.
//
// Every Store key lives under a namespace prefix in etcd ("baton/" by default), so one
// etcd cluster can hold several baton installations and the leader election's keys (which
// sit outside the namespace). Store calls map one-to-one onto etcd's KV API:
//   Get -> Range(key); List -> Range([prefix, prefix end)), paged, at one revision;
//   Put/Delete/Txn -> one etcd Txn (Compare on MOD / CREATE revision);
//   Watch -> an etcd Watch stream from the requested revision, re-opened on another
//   member if the stream breaks, resuming after the last event delivered.
//
// Revisions: etcd's revision is 1 on an empty cluster, so EtcdStore reports etcd's
// revision minus one (a fresh cluster is revision 0, as with every backend). Revisions
// are cluster-wide: writes outside the namespace (election keys, other tenants) also move
// them, so on a shared cluster a write bumps the revision by at least one, not exactly one.
//
// Limits: etcd refuses a Txn with more than --max-txn-ops ops (default 128) or a request
// over --max-request-bytes (default 1.5 MiB). EtcdStore does not split a Txn (that would
// break its atomicity): one over the limits fails with RESOURCE_EXHAUSTED before it is
// sent, and MaxTxnOps()/MaxTxnBytes() tell batching writers (GroupCommitter) where to cut.
//
// Fencing: after SetFence(key, epoch) every write carries "create_revision(key) == epoch"
// as an extra compare. A leader that lost its election key (lease expired, another
// replica took over) can therefore write nothing: its writes fail with
// FAILED_PRECONDITION "fenced: ...". Reads are not fenced.
//
// No quorum: etcd answers writes (and linearizable reads) with "no leader" / "request
// timed out"; they fail with UNAVAILABLE naming the member. A Txn whose answer was lost is
// reported UNAVAILABLE too: it may or may not have been applied.
//
// Thread-safety: as Store. Watchers keep the client alive and may outlive the store.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "baton/store/etcd/etcd_client.h"
#include "baton/store/store.h"

namespace baton::store {

struct EtcdStoreOptions {
  EtcdOptions etcd;
  std::string prefix = "baton/";           // namespace of every Store key; must not be empty
  size_t max_txn_ops = 128;                // etcd's --max-txn-ops
  size_t max_request_bytes = 1536 * 1024;  // etcd's --max-request-bytes
  // How long Open keeps probing while no member answers with quorum (UNAVAILABLE: an etcd
  // leader election in progress, "leader changed", a member restarting) before it gives
  // up. 0: one probe.
  std::chrono::milliseconds open_wait{0};
};

// The fence every write checks: etcd key `key` must exist with create_revision `epoch`
// (etcd's own revision numbering, not the store's).
struct EtcdFence {
  std::string key;
  int64_t epoch = 0;
};

class EtcdStore final : public Store {
 public:
  // Connects and checks that some member answers with quorum (UNAVAILABLE naming the
  // endpoints if none does within `open_wait`).
  static Result<std::unique_ptr<EtcdStore>> Open(EtcdStoreOptions options);
  // Over an existing client (shared with the leader election).
  static Result<std::unique_ptr<EtcdStore>> Open(std::shared_ptr<EtcdClient> client,
                                                 EtcdStoreOptions options);

  Result<std::optional<KeyValue>> Get(std::string_view key) override;
  Result<std::vector<KeyValue>> List(std::string_view prefix, size_t limit = 0) override;
  Result<int64_t> Put(std::string_view key, std::string_view value,
                      std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<int64_t> Delete(std::string_view key,
                         std::optional<int64_t> expected_mod_revision = std::nullopt) override;
  Result<TxnResult> Txn(const store::Txn& txn) override;
  // Asks etcd; if no member answers, the latest revision this store has seen.
  int64_t Revision() const override;
  Result<std::unique_ptr<Watcher>> Watch(std::string_view prefix, int64_t after_revision) override;
  size_t MaxTxnOps() const override { return options_.max_txn_ops; }
  size_t MaxTxnBytes() const override { return options_.max_request_bytes; }

  // Every later write also requires the fence to hold (see above). An empty key clears it.
  void SetFence(EtcdFence fence);
  std::optional<EtcdFence> fence() const;

  EtcdClient& client() { return *client_; }

 private:
  EtcdStore(std::shared_ptr<EtcdClient> client, EtcdStoreOptions options);
  struct Outcome {
    etcdserverpb::TxnResponse resp;
    bool fenced_out = false;  // the compares failed because the fence no longer holds
  };
  // Sends txn with the fence compare added (and a read of the fence key on failure).
  Result<Outcome> Commit(etcdserverpb::TxnRequest req);
  Result<etcdserverpb::TxnRequest> Build(const store::Txn& txn) const;
  Status Fenced() const;
  void Seen(int64_t etcd_revision) const;
  KeyValue FromEtcd(const mvccpb::KeyValue& kv) const;

  std::shared_ptr<EtcdClient> client_;
  const EtcdStoreOptions options_;
  mutable std::mutex fence_mu_;
  std::optional<EtcdFence> fence_;
  mutable std::atomic<int64_t> last_revision_{0};  // etcd numbering
};

// Store revision <-> etcd revision (etcd starts at 1 on an empty cluster).
inline int64_t StoreRevision(int64_t etcd_revision) {
  return etcd_revision > 0 ? etcd_revision - 1 : 0;
}
inline int64_t EtcdRevision(int64_t store_revision) { return store_revision + 1; }

}  // namespace baton::store
