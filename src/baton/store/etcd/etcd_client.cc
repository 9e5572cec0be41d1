#include "baton/store/etcd/etcd_client.h"

#include <fmt/format.h>

namespace baton::store {

Result<std::vector<std::string>> ParseEndpoints(std::string_view list, std::string_view field) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("http://")) item.remove_prefix(7);
    if (item.empty()) {
      return InvalidArgument(fmt::format("{}: empty endpoint in '{}'", field, list));
    }
    if (item.find(':') == std::string_view::npos) {
      return InvalidArgument(
          fmt::format("{}: endpoint '{}' has no port (want host:port)", field, item));
    }
    out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

Result<std::shared_ptr<EtcdClient>> EtcdClient::Create(EtcdOptions options) {
  if (options.endpoints.empty()) return InvalidArgument("etcd: no endpoints given");
  return std::shared_ptr<EtcdClient>(new EtcdClient(std::move(options)));
}

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {
  endpoints_ = options_.endpoints;
  for (const std::string& ep : endpoints_) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);  // big List pages; etcd bounds what it sends
    args.SetMaxSendMessageSize(-1);     // etcd's own request limit answers, with its words
    // A restarted member is found again quickly.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Our own connections: a client made after a member restarts does not inherit a
    // half-open connection from an older client's shared pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto ch = grpc::CreateCustomChannel(ep, grpc::InsecureChannelCredentials(), args);
    kv_.push_back(etcdserverpb::KV::NewStub(ch));
    watch_.push_back(etcdserverpb::Watch::NewStub(ch));
    lease_.push_back(etcdserverpb::Lease::NewStub(ch));
    maintenance_.push_back(etcdserverpb::Maintenance::NewStub(ch));
    channels_.push_back(std::move(ch));
  }
}

std::string EtcdClient::endpoints_text() const {
  std::string out;
  for (const std::string& ep : endpoints_) {
    if (!out.empty()) out += ",";
    out += ep;
  }
  return out;
}

void EtcdClient::Failed(size_t i) {
  size_t expected = i;
  current_.compare_exchange_strong(expected, (i + 1) % endpoints_.size());
}

Status EtcdClient::FromGrpc(size_t endpoint, const grpc::Status& s) const {
  if (s.ok()) return Status::Ok();
  const std::string msg = fmt::format("etcd {}: {}", endpoints_[endpoint], s.error_message());
  const std::string& m = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      if (m.find("too many operations") != std::string::npos ||
          m.find("too large") != std::string::npos) {
        return ResourceExhausted(msg);
      }
      return InvalidArgument(msg);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // e.g. "database space exceeded"
      return ResourceExhausted(msg);
    case grpc::StatusCode::NOT_FOUND:  // e.g. "requested lease not found"
      return NotFound(msg);
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:  // compacted revision
      return FailedPrecondition(msg);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(StatusCode::kUnavailable, msg + " (deadline exceeded; outcome unknown)");
    default:  // UNAVAILABLE ("no leader", "request timed out", connection refused), ...
      return Status(StatusCode::kUnavailable, msg);
  }
}

namespace {
bool IsTransport(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}
}  // namespace

template <typename Fn>
Status EtcdClient::Call(bool retry, Fn&& call) {
  const size_t tries = retry ? endpoints_.size() : 1;
  Status last;
  for (size_t t = 0; t < tries; ++t) {
    const size_t i = current_.load();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.request_timeout);
    grpc::Status s = call(i, &ctx);
    if (s.ok()) return Status::Ok();
    last = FromGrpc(i, s);
    if (!IsTransport(s)) return last;
    Failed(i);
  }
  return last;
}

Result<etcdserverpb::RangeResponse> EtcdClient::Range(const etcdserverpb::RangeRequest& req) {
  etcdserverpb::RangeResponse resp;
  BATON_RETURN_IF_ERROR(Call(true, [&](size_t i, grpc::ClientContext* ctx) {
    resp.Clear();
    return kv_[i]->Range(ctx, req, &resp);
  }));
  return resp;
}

Result<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& req) {
  etcdserverpb::TxnResponse resp;
  BATON_RETURN_IF_ERROR(Call(
      false, [&](size_t i, grpc::ClientContext* ctx) { return kv_[i]->Txn(ctx, req, &resp); }));
  return resp;
}

Result<etcdserverpb::LeaseGrantResponse> EtcdClient::LeaseGrant(int64_t ttl_seconds) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  etcdserverpb::LeaseGrantResponse resp;
  // A grant whose answer was lost leaves an unused lease that expires by itself.
  BATON_RETURN_IF_ERROR(Call(true, [&](size_t i, grpc::ClientContext* ctx) {
    resp.Clear();
    return lease_[i]->LeaseGrant(ctx, req, &resp);
  }));
  if (!resp.error().empty()) return Status(StatusCode::kUnavailable, "etcd: " + resp.error());
  return resp;
}

Status EtcdClient::LeaseRevoke(int64_t lease_id) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse resp;
  return Call(true, [&](size_t i, grpc::ClientContext* ctx) {
    return lease_[i]->LeaseRevoke(ctx, req, &resp);
  });
}

Result<etcdserverpb::LeaseKeepAliveResponse> EtcdClient::LeaseKeepAliveOnce(int64_t lease_id) {
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(lease_id);
  etcdserverpb::LeaseKeepAliveResponse resp;
  BATON_RETURN_IF_ERROR(Call(true, [&](size_t i, grpc::ClientContext* ctx) {
    resp.Clear();
    auto stream = lease_[i]->LeaseKeepAlive(ctx);
    if (!stream->Write(req) || !stream->Read(&resp)) {
      ctx->TryCancel();
      grpc::Status s = stream->Finish();
      return s.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "keepalive stream ended") : s;
    }
    stream->WritesDone();
    return stream->Finish();
  }));
  return resp;
}

Result<etcdserverpb::StatusResponse> EtcdClient::MemberStatus() {
  etcdserverpb::StatusResponse resp;
  BATON_RETURN_IF_ERROR(Call(true, [&](size_t i, grpc::ClientContext* ctx) {
    resp.Clear();
    return maintenance_[i]->Status(ctx, etcdserverpb::StatusRequest(), &resp);
  }));
  return resp;
}

}  // namespace baton::store
