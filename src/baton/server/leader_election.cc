#include "baton/server/leader_election.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace baton::server {

using Clock_ = std::chrono::steady_clock;

LeaderElection::LeaderElection(std::shared_ptr<store::EtcdClient> client,
                               LeaderElectionOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

LeaderElection::~LeaderElection() { Stop(); }

std::string LeaderElection::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_leader_;
}

bool LeaderElection::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_; });
  return !stop_;
}

void LeaderElection::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (watch_ctx_ != nullptr) watch_ctx_->TryCancel();
  }
  cv_.notify_all();
  if (keepalive_.joinable() && keepalive_.get_id() != std::this_thread::get_id()) {
    keepalive_.join();
  }
}

void LeaderElection::Resign() {
  Stop();
  const int64_t lease = lease_.exchange(0);
  if (lease != 0 && leader_.exchange(false)) {
    Status s = client_->LeaseRevoke(lease);
    if (s.ok()) {
      spdlog::info("leader election: resigned (epoch {})", epoch_.load());
    } else {
      spdlog::warn("leader election: resign failed ({}); the key expires with its lease",
                   s.message());
    }
  }
}

Result<int64_t> LeaderElection::Campaign(std::chrono::milliseconds within, LostFn on_lost) {
  on_lost_ = std::move(on_lost);
  const auto deadline = Clock_::now() + within;
  std::string last_error;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return FailedPrecondition("leader election: stopped");
    }
    if (Clock_::now() > deadline) {
      return Status(StatusCode::kUnavailable,
                    fmt::format("leader election: not elected within {} ms (leader: {}{})",
                                within.count(), leader().empty() ? "none" : leader(),
                                last_error.empty() ? "" : "; last error: " + last_error));
    }
    auto grant = client_->LeaseGrant(options_.ttl_seconds);
    if (!grant.ok()) {
      if (last_error != grant.status().message()) {
        spdlog::warn("leader election: cannot grant a lease: {}", grant.status().message());
      }
      last_error = grant.status().message();
      Sleep(std::chrono::milliseconds(500));
      continue;
    }
    const int64_t lease = grant->id();
    etcdserverpb::TxnRequest txn;
    auto* cmp = txn.add_compare();
    cmp->set_key(options_.key);
    cmp->set_target(etcdserverpb::Compare::CREATE);
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_create_revision(0);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(options_.key);
    put->set_value(options_.identity);
    put->set_lease(lease);
    txn.add_failure()->mutable_request_range()->set_key(options_.key);
    auto r = client_->Txn(txn);
    if (!r.ok()) {
      client_->LeaseRevoke(lease).ok();  // best effort; it expires anyway
      if (last_error != r.status().message()) {
        spdlog::warn("leader election: campaign failed: {}", r.status().message());
      }
      last_error = r.status().message();
      Sleep(std::chrono::milliseconds(500));
      continue;
    }
    if (r->succeeded()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_leader_ = options_.identity;
        if (stop_) {
          client_->LeaseRevoke(lease).ok();
          return FailedPrecondition("leader election: stopped");
        }
      }
      epoch_.store(r->header().revision());
      lease_.store(lease);
      leader_.store(true);
      keepalive_ = std::thread([this] { KeepAlive(); });
      spdlog::info("leader election: {} leads (epoch {}, lease ttl {} s)", options_.identity,
                   epoch_.load(), grant->ttl());
      return epoch_.load();
    }
    client_->LeaseRevoke(lease).ok();
    const auto& kvs = r->responses(0).response_range().kvs();
    if (kvs.empty()) continue;  // deleted in between: try again at once
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (seen_leader_ != kvs[0].value()) {
        spdlog::info("leader election: following {} (epoch {})", kvs[0].value(),
                     kvs[0].create_revision());
      }
      seen_leader_ = kvs[0].value();
    }
    WaitForChange(r->header().revision(), deadline);
  }
}

void LeaderElection::WaitForChange(int64_t after_revision, Clock_::time_point deadline) {
  // Re-check at least every few seconds even if the watch says nothing.
  const auto until = std::min(deadline, Clock_::now() + std::chrono::seconds(5));
  const size_t i = client_->current();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock_::now()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    watch_ctx_ = &ctx;
  }
  auto stream = client_->watch_stub(i)->Watch(&ctx);
  etcdserverpb::WatchRequest req;
  req.mutable_create_request()->set_key(options_.key);
  req.mutable_create_request()->set_start_revision(after_revision + 1);
  etcdserverpb::WatchResponse resp;
  bool changed = false;
  if (stream->Write(req)) {
    while (!changed && stream->Read(&resp)) {
      if (resp.canceled()) break;
      changed = resp.events_size() > 0;
    }
  }
  ctx.TryCancel();
  grpc::Status s = stream->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch_ctx_ = nullptr;
  }
  if (!changed && !s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
      s.error_code() != grpc::StatusCode::CANCELLED) {
    client_->Failed(i);
    Sleep(std::chrono::milliseconds(200));  // a dead member: do not spin
  }
}

void LeaderElection::KeepAlive() {
  const auto ttl = std::chrono::seconds(options_.ttl_seconds);
  const auto interval = std::chrono::milliseconds(options_.ttl_seconds * 1000 / 3);
  // The lease surely lives until `valid_until`: the time a renewal was *sent* plus the ttl.
  auto valid_until = Clock_::now() + ttl;
  const int64_t lease = lease_.load();
  const int64_t epoch = epoch_.load();
  while (Sleep(interval)) {
    const auto sent = Clock_::now();
    auto r = client_->LeaseKeepAliveOnce(lease);
    if (r.ok() && r->ttl() <= 0) {
      Lost(fmt::format("lease {:x} expired in etcd", lease));
      return;
    }
    if (r.ok()) {
      valid_until = sent + ttl;
      etcdserverpb::RangeRequest get;
      get.set_key(options_.key);
      auto k = client_->Range(get);
      if (k.ok() && (k->kvs_size() == 0 || k->kvs(0).create_revision() != epoch)) {
        Lost(fmt::format("election key {} no longer has epoch {} (now held by {})", options_.key,
                         epoch, k->kvs_size() ? k->kvs(0).value() : std::string("nobody")));
        return;
      }
      continue;
    }
    spdlog::warn("leader election: lease renewal failed ({}); writes stay fenced",
                 r.status().message());
    if (Clock_::now() >= valid_until + options_.unreachable_grace) {
      Lost(fmt::format(
          "could not renew the lease for {} s + {} ms grace ({}); another replica may lead",
          options_.ttl_seconds, options_.unreachable_grace.count(), r.status().message()));
      return;
    }
  }
}

void LeaderElection::Lost(const std::string& why) {
  if (!leader_.exchange(false)) return;
  spdlog::error("leader election: leadership lost (epoch {}): {}", epoch_.load(), why);
  if (on_lost_) on_lost_(why);
}

}  // namespace baton::server
