#include "baton/store/etcd/etcd_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

namespace baton::store {

namespace {

using EtcdCompare = etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;

// Keys per Range page in List: bounded answers, yet few round trips for 100k keys.
constexpr int64_t kListPage = 2000;
// Room left in a request for what etcd adds around it (its raft entry header).
constexpr size_t kRequestSlack = 1024;

// The etcd range [begin, end) of every key starting with `prefix`.
std::string RangeEnd(std::string_view prefix) {
  auto end = PrefixEnd(prefix);
  return end.has_value() ? *end : std::string(1, '\0');  // "\0" = every key >= begin
}

}  // namespace

// One Watcher's etcd stream and the thread that reads it. The Watcher owns it (through an
// aliasing shared_ptr to `queue`); destroying it cancels the stream and joins the thread.
class EtcdWatchStream {
 public:
  EtcdWatchStream(std::shared_ptr<EtcdClient> client, std::string ns, std::string prefix,
                  int64_t start_etcd_revision)
      : queue(prefix),
        client_(std::move(client)),
        ns_(std::move(ns)),
        begin_(ns_ + prefix),
        end_(RangeEnd(begin_)),
        next_revision_(start_etcd_revision) {}

  ~EtcdWatchStream() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (ctx_) ctx_->TryCancel();
    }
    cv_.notify_all();
    if (reader_.joinable()) reader_.join();
  }

  // Opens the stream (trying every member) and starts reading it.
  Status Start() {
    Status s = Open();
    if (!s.ok()) return s;
    reader_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  WatchQueue queue;

 private:
  using Stream = grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;

  Status Open() {
    Status last;
    for (size_t t = 0; t < client_->endpoint_count(); ++t) {
      const size_t i = client_->current();
      auto ctx = std::make_unique<grpc::ClientContext>();
      grpc::ClientContext* raw = ctx.get();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return FailedPrecondition("watch: cancelled");
        ctx_ = std::move(ctx);
      }
      std::unique_ptr<Stream> stream = client_->watch_stub(i)->Watch(raw);
      etcdserverpb::WatchRequest req;
      auto* create = req.mutable_create_request();
      create->set_key(begin_);
      create->set_range_end(end_);
      create->set_start_revision(next_revision_);
      etcdserverpb::WatchResponse resp;
      if (stream->Write(req) && stream->Read(&resp)) {
        if (resp.created() && !resp.canceled()) {
          std::lock_guard<std::mutex> lock(mu_);
          stream_ = std::move(stream);
          return Status::Ok();
        }
        raw->TryCancel();
        stream->Finish().ok();
        if (resp.compact_revision() > 0) {
          return FailedPrecondition(
              fmt::format("watch: revision {} is compacted in etcd (oldest kept: {})",
                          StoreRevision(next_revision_), StoreRevision(resp.compact_revision())));
        }
        return FailedPrecondition("watch: etcd refused: " + resp.cancel_reason());
      }
      raw->TryCancel();
      last = client_->FromGrpc(i, stream->Finish());
      if (last.ok()) last = Status(StatusCode::kUnavailable, "watch: stream closed");
      client_->Failed(i);
    }
    return last;
  }

  void Run() {
    for (;;) {
      Stream* stream;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        stream = stream_.get();
      }
      etcdserverpb::WatchResponse resp;
      while (stream->Read(&resp)) {
        if (resp.canceled()) {
          spdlog::warn("etcd watch on '{}' cancelled by etcd: {}", begin_, resp.cancel_reason());
          return;
        }
        std::vector<WatchEvent> events;
        events.reserve(resp.events_size());
        for (const mvccpb::Event& ev : resp.events()) {
          WatchEvent e;
          e.type = ev.type() == mvccpb::Event::DELETE ? WatchEvent::kDelete : WatchEvent::kPut;
          e.kv.key = ev.kv().key().substr(ns_.size());
          e.kv.mod_revision = StoreRevision(ev.kv().mod_revision());
          if (e.type == WatchEvent::kPut) {
            e.kv.value = ev.kv().value();
            e.kv.create_revision = StoreRevision(ev.kv().create_revision());
            e.kv.version = ev.kv().version();
          }
          e.revision = e.kv.mod_revision;
          next_revision_ = ev.kv().mod_revision() + 1;
          events.push_back(std::move(e));
        }
        queue.Deliver(events);
      }
      // The stream broke (member gone, cancelled): resume after the last event seen.
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (stop_) return;
        stream_.reset();
        // Back off a little so a dead cluster is not hammered; Cancel/destroy wakes it.
        cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; });
        if (stop_) return;
      }
      client_->Failed(client_->current());
      Status s = Open();
      while (!s.ok()) {
        if (s.code() == StatusCode::kFailedPrecondition) {
          spdlog::warn("etcd watch on '{}' ended: {}", begin_, s.message());
          return;
        }
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
        if (stop_) return;
        lock.unlock();
        s = Open();
      }
    }
  }

  std::shared_ptr<EtcdClient> client_;
  const std::string ns_;
  const std::string begin_;
  const std::string end_;
  int64_t next_revision_;  // etcd revision of the next event wanted; reader thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<Stream> stream_;
  std::thread reader_;
};

Result<std::unique_ptr<EtcdStore>> EtcdStore::Open(EtcdStoreOptions options) {
  BATON_ASSIGN_OR_RETURN(std::shared_ptr<EtcdClient> client, EtcdClient::Create(options.etcd));
  return Open(std::move(client), std::move(options));
}

Result<std::unique_ptr<EtcdStore>> EtcdStore::Open(std::shared_ptr<EtcdClient> client,
                                                   EtcdStoreOptions options) {
  if (options.prefix.empty()) {
    return InvalidArgument("etcd store: the key prefix must not be empty");
  }
  if (options.max_txn_ops == 0 || options.max_request_bytes <= kRequestSlack) {
    return InvalidArgument("etcd store: max_txn_ops and max_request_bytes must be positive");
  }
  std::unique_ptr<EtcdStore> s(new EtcdStore(std::move(client), std::move(options)));
  // A linearizable read: proves a member answers and the cluster has quorum.
  RangeRequest probe;
  probe.set_key(s->options_.prefix);
  probe.set_count_only(true);
  const auto deadline = std::chrono::steady_clock::now() + s->options_.open_wait;
  auto r = s->client_->Range(probe);
  while (!r.ok() && r.status().code() == StatusCode::kUnavailable &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // between probes
    r = s->client_->Range(probe);
  }
  if (!r.ok()) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("etcd store: no member of {} answered: {}",
                              s->client_->endpoints_text(), r.status().message()));
  }
  s->Seen(r->header().revision());
  return s;
}

EtcdStore::EtcdStore(std::shared_ptr<EtcdClient> client, EtcdStoreOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

void EtcdStore::SetFence(EtcdFence fence) {
  std::lock_guard<std::mutex> lock(fence_mu_);
  if (fence.key.empty()) {
    fence_.reset();
  } else {
    fence_ = std::move(fence);
  }
}

std::optional<EtcdFence> EtcdStore::fence() const {
  std::lock_guard<std::mutex> lock(fence_mu_);
  return fence_;
}

void EtcdStore::Seen(int64_t etcd_revision) const {
  int64_t cur = last_revision_.load();
  while (etcd_revision > cur && !last_revision_.compare_exchange_weak(cur, etcd_revision)) {
  }
}

KeyValue EtcdStore::FromEtcd(const mvccpb::KeyValue& kv) const {
  return KeyValue{kv.key().substr(options_.prefix.size()), kv.value(),
                  StoreRevision(kv.create_revision()), StoreRevision(kv.mod_revision()),
                  kv.version()};
}

Status EtcdStore::Fenced() const {
  std::optional<EtcdFence> f = fence();
  return FailedPrecondition(fmt::format(
      "fenced: this replica is no longer the leader (election key '{}' no longer has epoch "
      "{}); the write was not applied",
      f ? f->key : "", f ? f->epoch : 0));
}

Result<std::optional<KeyValue>> EtcdStore::Get(std::string_view key) {
  RangeRequest req;
  req.set_key(options_.prefix + std::string(key));
  BATON_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse resp, client_->Range(req));
  Seen(resp.header().revision());
  if (resp.kvs_size() == 0) return std::optional<KeyValue>();
  return std::optional<KeyValue>(FromEtcd(resp.kvs(0)));
}

Result<std::vector<KeyValue>> EtcdStore::List(std::string_view prefix, size_t limit) {
  const std::string begin = options_.prefix + std::string(prefix);
  RangeRequest req;
  req.set_key(begin);
  req.set_range_end(RangeEnd(begin));
  std::vector<KeyValue> out;
  for (;;) {
    int64_t page = kListPage;
    if (limit != 0) page = std::min<int64_t>(page, static_cast<int64_t>(limit - out.size()));
    req.set_limit(page);
    BATON_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse resp, client_->Range(req));
    Seen(resp.header().revision());
    for (const mvccpb::KeyValue& kv : resp.kvs()) out.push_back(FromEtcd(kv));
    if (!resp.more() || resp.kvs_size() == 0 || (limit != 0 && out.size() >= limit)) break;
    // Later pages read the same revision as the first: one consistent snapshot.
    req.set_revision(resp.header().revision());
    req.set_key(resp.kvs(resp.kvs_size() - 1).key() + std::string(1, '\0'));
  }
  return out;
}

Result<TxnRequest> EtcdStore::Build(const store::Txn& txn) const {
  BATON_RETURN_IF_ERROR(ValidateTxn(txn));
  // The fence adds one compare; etcd counts compares and ops against the same limit.
  if (txn.ops.size() > options_.max_txn_ops || txn.compares.size() + 1 > options_.max_txn_ops) {
    return ResourceExhausted(
        fmt::format("txn: {} ops and {} compares; etcd takes at most {} of each per transaction "
                    "(--max-txn-ops)",
                    txn.ops.size(), txn.compares.size(), options_.max_txn_ops));
  }
  TxnRequest req;
  for (const store::Compare& c : txn.compares) {
    EtcdCompare* cmp = req.add_compare();
    cmp->set_key(options_.prefix + c.key);
    switch (c.op) {
      case store::Compare::kModRevisionEquals:
        cmp->set_target(EtcdCompare::MOD);
        cmp->set_result(EtcdCompare::EQUAL);
        cmp->set_mod_revision(EtcdRevision(c.mod_revision));
        break;
      case store::Compare::kExists:  // an absent key compares as create_revision 0
        cmp->set_target(EtcdCompare::CREATE);
        cmp->set_result(EtcdCompare::GREATER);
        cmp->set_create_revision(0);
        break;
      case store::Compare::kNotExists:
        cmp->set_target(EtcdCompare::CREATE);
        cmp->set_result(EtcdCompare::EQUAL);
        cmp->set_create_revision(0);
        break;
    }
  }
  for (const store::Op& op : txn.ops) {
    RequestOp* r = req.add_success();
    if (op.type == store::Op::kPut) {
      r->mutable_request_put()->set_key(options_.prefix + op.key);
      r->mutable_request_put()->set_value(op.value);
    } else {
      r->mutable_request_delete_range()->set_key(options_.prefix + op.key);
    }
  }
  const size_t bytes = req.ByteSizeLong();
  if (bytes + kRequestSlack > options_.max_request_bytes) {
    return ResourceExhausted(
        fmt::format("txn: {} bytes; etcd takes at most {} per request (--max-request-bytes)", bytes,
                    options_.max_request_bytes));
  }
  return req;
}

Result<EtcdStore::Outcome> EtcdStore::Commit(TxnRequest req) {
  std::optional<EtcdFence> f = fence();
  if (f.has_value()) {
    EtcdCompare* cmp = req.add_compare();
    cmp->set_key(f->key);
    cmp->set_target(EtcdCompare::CREATE);
    cmp->set_result(EtcdCompare::EQUAL);
    cmp->set_create_revision(f->epoch);
    // On failure, read the fence key back to tell "fenced" from "a compare failed".
    req.add_failure()->mutable_request_range()->set_key(f->key);
  }
  Outcome out;
  BATON_ASSIGN_OR_RETURN(out.resp, client_->Txn(req));
  Seen(out.resp.header().revision());
  if (f.has_value() && !out.resp.succeeded()) {
    const int n = out.resp.responses_size();
    if (n == 0) return Internal("etcd txn: failure branch answered nothing");
    const etcdserverpb::RangeResponse& fr = out.resp.responses(n - 1).response_range();
    out.fenced_out = fr.kvs_size() == 0 || fr.kvs(0).create_revision() != f->epoch;
  }
  return out;
}

Result<int64_t> EtcdStore::Put(std::string_view key, std::string_view value,
                               std::optional<int64_t> expected_mod_revision) {
  BATON_ASSIGN_OR_RETURN(TxnRequest req, Build(PutTxn(key, value, expected_mod_revision)));
  BATON_ASSIGN_OR_RETURN(Outcome out, Commit(std::move(req)));
  if (out.fenced_out) return Fenced();
  if (!out.resp.succeeded()) return PutConflict(*expected_mod_revision);
  return StoreRevision(out.resp.header().revision());
}

Result<int64_t> EtcdStore::Delete(std::string_view key,
                                  std::optional<int64_t> expected_mod_revision) {
  BATON_ASSIGN_OR_RETURN(TxnRequest req, Build(DeleteTxn(key, expected_mod_revision)));
  // On failure, read the key: absent is NotFound, present is a revision mismatch.
  req.add_failure()->mutable_request_range()->set_key(options_.prefix + std::string(key));
  BATON_ASSIGN_OR_RETURN(Outcome out, Commit(std::move(req)));
  if (out.fenced_out) return Fenced();
  if (out.resp.succeeded()) {
    if (out.resp.responses_size() < 1 ||
        out.resp.responses(0).response_delete_range().deleted() == 0) {
      return NotFound("delete: no such key");
    }
    return StoreRevision(out.resp.header().revision());
  }
  if (out.resp.responses_size() < 1 || out.resp.responses(0).response_range().kvs_size() == 0) {
    return NotFound("delete: no such key");
  }
  return DeleteConflict(*expected_mod_revision);
}

Result<TxnResult> EtcdStore::Txn(const store::Txn& txn) {
  BATON_ASSIGN_OR_RETURN(TxnRequest req, Build(txn));
  BATON_ASSIGN_OR_RETURN(Outcome out, Commit(std::move(req)));
  if (out.fenced_out) return Fenced();
  return TxnResult{out.resp.succeeded(), StoreRevision(out.resp.header().revision())};
}

int64_t EtcdStore::Revision() const {
  RangeRequest req;
  req.set_key(options_.prefix);
  req.set_count_only(true);
  auto r = client_->Range(req);
  if (r.ok()) Seen(r->header().revision());
  return StoreRevision(last_revision_.load());
}

Result<std::unique_ptr<Watcher>> EtcdStore::Watch(std::string_view prefix, int64_t after_revision) {
  auto stream = std::make_shared<EtcdWatchStream>(client_, options_.prefix, std::string(prefix),
                                                  EtcdRevision(after_revision) + 1);
  BATON_RETURN_IF_ERROR(stream->Start());
  std::shared_ptr<WatchQueue> queue(stream, &stream->queue);
  return std::make_unique<Watcher>(std::move(queue));
}

}  // namespace baton::store
