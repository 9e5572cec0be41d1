#include "baton/server/access.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "baton/security/tls.h"
#include "baton/server/batond_tls.h"

namespace baton::server {
namespace {

// "Bearer <token>" (the scheme is case-insensitive, as HTTP says) -> the token.
Result<std::string_view> BearerToken(std::string_view value) {
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), value.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return Unauthenticated(
        "the authorization header must read 'Bearer <token>' (the token from `baton token "
        "create`, batond's bootstrap token file or `baton login`)");
  }
  std::string_view token = value.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.remove_suffix(1);
  return token;
}

std::optional<std::string_view> Header(const grpc::ServerContextBase& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return std::nullopt;
  return std::string_view(it->second.data(), it->second.size());
}

}  // namespace

Status CheckMessageSize(const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  if (size <= static_cast<size_t>(limits::kMaxGrpcMessageBytes)) return Status::Ok();
  return ResourceExhausted(fmt::format("message of {} bytes; at most {} ({} MiB)", size,
                                       limits::kMaxGrpcMessageBytes,
                                       limits::kMaxGrpcMessageBytes >> 20));
}

bool HasOwnCredentials(std::string_view method) {
  return method == "/baton.v1.Pki/Join" || method == "/baton.v1.Pki/Renew";
}

std::optional<Result<Identity>> Access::FromCertificate(const grpc::ServerContextBase& ctx) const {
  if (tls_ == nullptr) return std::nullopt;
  auto auth = ctx.auth_context();
  if (auth == nullptr || auth->GetPeerIdentity().empty()) return std::nullopt;
  auto cert = tls_->VerifyCertificate(*auth);
  if (!cert.ok()) return Result<Identity>(cert.status());
  if (cert->kind != security::PeerKind::kUser) {
    // Agents authenticate with their token (and, on their stream, their node certificate):
    // a node certificate alone stands for no user.
    return Result<Identity>(Unauthenticated(fmt::format(
        "the client certificate is {} {}'s, not a user's: use a token or a user certificate",
        security::PeerKindName(cert->kind), cert->name)));
  }
  auto id = principals_->IdentityOf(cert->name);
  if (id.ok()) id->token_id = "cert:" + cert->serial;
  return id;
}

Result<Identity> Access::Verify(std::string_view authorization) const {
  BATON_ASSIGN_OR_RETURN(std::string_view token, BearerToken(authorization));
  return principals_->Authenticate(token);
}

Result<Identity> Access::Denied(const Status& s, std::string peer, std::string_view action) {
  AuditEntry e;
  e.peer = std::move(peer);
  e.action = std::string(action);
  e.outcome = "denied";
  e.detail = s.message();
  audit_->Refuse(std::move(e));
  return s;
}

Result<Identity> Access::Authenticate(const grpc::ServerContextBase& ctx, std::string_view action) {
  std::string peer = ctx.peer();
  auto header = Header(ctx);
  if (!header) {
    if (auto cert = FromCertificate(ctx)) {
      if (!cert->ok()) return Denied(cert->status(), peer, action);
      (*cert)->peer = std::move(peer);
      return *std::move(cert);
    }
    if (anonymous_) return *anonymous_;
    return Denied(Unauthenticated(std::string(kNoCredentials)), peer, action);
  }
  auto id = Verify(*header);
  if (!id.ok()) return Denied(id.status(), peer, action);
  id->peer = std::move(peer);
  return id;
}

Status Access::CheckSize(const grpc::ServerContextBase& ctx, std::string_view action,
                         const google::protobuf::MessageLite& request) {
  if (request.ByteSizeLong() <= static_cast<size_t>(limits::kMaxGrpcMessageBytes)) {
    return Status::Ok();
  }
  // Who asked, as far as valid credentials tell; the refusal is about size, not them.
  Identity who;
  if (auto header = Header(ctx)) {
    if (auto id = Verify(*header); id.ok()) who = *std::move(id);
  } else if (auto cert = FromCertificate(ctx); cert && cert->ok()) {
    who = **cert;
  }
  who.peer = ctx.peer();
  return CheckSize(who, action, request);
}

Status Access::CheckSize(const Identity& who, std::string_view action,
                         const google::protobuf::MessageLite& message) {
  Status s = CheckMessageSize(message);
  if (!s.ok()) Refused(who, action, "request", "denied", s.message());
  return s;
}

void Access::RefusedHttp(const metrics::HttpRequest& req, std::string_view action,
                         std::string why) {
  Identity who;
  if (auto it = req.headers.find("authorization"); it != req.headers.end()) {
    if (auto id = Verify(it->second); id.ok()) who = *std::move(id);
  }
  who.peer = req.peer;
  Refused(who, action, req.path.substr(0, 200), "denied", std::move(why));
}

Result<Identity> Access::Authenticate(const metrics::HttpRequest& req, std::string_view action) {
  auto it = req.headers.find("authorization");
  if (it == req.headers.end()) {
    if (anonymous_) return *anonymous_;
    return Denied(Unauthenticated(std::string(kNoCredentials)), req.peer, action);
  }
  auto id = Verify(it->second);
  if (!id.ok()) return Denied(id.status(), req.peer, action);
  id->peer = req.peer;
  return id;
}

AuditEntry Access::Entry(const Identity& who, std::string_view action, std::string_view object) {
  AuditEntry e;
  e.user = who.user;
  e.token_id = who.token_id;
  e.peer = who.peer;
  e.action = std::string(action);
  e.object = std::string(object);
  return e;
}

Status Access::Check(const Identity& who, Permission p, std::string_view action,
                     std::string_view object, const Resource& r) {
  Status s = Decide(who, p, r);
  if (!s.ok()) Refused(who, action, object, "denied", s.message());
  return s;
}

Resource Access::QueueResource(std::string_view queue) const {
  Resource r;
  r.queue_path = queues_->Path(queue);
  r.describe = fmt::format("queue {}", r.queue_path.back());
  return r;
}

Resource Access::JobResource(const v1::Job& job) const {
  Resource r;
  r.queue_path = queues_->Path(job.spec().queue());
  r.owner = job.user();
  r.describe = fmt::format("job {} (queue {})", job.id(), r.queue_path.back());
  return r;
}

bool Access::CanView(const Identity& who, std::string_view queue) const {
  auto subtrees = Viewable(who);
  return !subtrees || queues_->Within(queue, *subtrees);
}

store::Op Access::Record(const Identity& who, std::string_view action, std::string_view object,
                         std::string detail) {
  AuditEntry e = Entry(who, action, object);
  e.detail = std::move(detail);
  return audit_->Record(e);
}

ChangeOrigin Access::Origin(const Identity& who, std::string action, std::string detail) {
  ChangeOrigin o;
  o.user = who.user;
  o.audit = [this, who, action = std::move(action), detail = std::move(detail)](
                const std::string& object) { return Record(who, action, object, detail); };
  return o;
}

void Access::Deny(const Identity& who, std::string_view action, std::string_view object,
                  const Status& s) {
  Refused(who, action, object, "denied", s.message());
}

void Access::Failed(const Identity& who, std::string_view action, std::string_view object,
                    const Status& s) {
  Refused(who, action, object, "error", s.ToString());
}

void Access::Refused(const Identity& who, std::string_view action, std::string_view object,
                     std::string outcome, std::string detail) {
  AuditEntry e = Entry(who, action, object);
  e.outcome = std::move(outcome);
  e.detail = std::move(detail);
  audit_->Refuse(std::move(e));
}

// ---------------------------------------------------------------------------------------
// The backstop.

class Access::Interceptor final : public grpc::experimental::Interceptor {
 public:
  Interceptor(Access* access, grpc::experimental::ServerRpcInfo* info)
      : access_(access), method_(info->method() ? info->method() : "?") {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using grpc::experimental::InterceptionHookPoints;
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = m->GetRecvInitialMetadata();
      auto it = md->find("authorization");
      authenticated_ = it != md->end() &&
                       access_->Verify(std::string_view(it->second.data(), it->second.size())).ok();
    }
    if (!authenticated_ &&
        m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      // Nothing of the handler's may reach an unauthenticated caller.
      if (grpc::ByteBuffer* buf = m->GetSerializedSendMessage()) {
        grpc::Slice empty("");
        *buf = grpc::ByteBuffer(&empty, 1);
      }
      Refused();
    }
    if (!authenticated_ && m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::StatusCode code = m->GetSendStatus().error_code();
      if (code != grpc::StatusCode::UNAUTHENTICATED) {
        // An unknown method has no handler to blame; strangers still learn nothing of
        // what the server serves.
        if (code != grpc::StatusCode::UNIMPLEMENTED) Refused();
        m->ModifySendStatus(
            grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(kNoCredentials)));
      }
    }
    m->Proceed();
  }

 private:
  void Refused() {
    if (counted_) return;
    counted_ = true;
    access_->backstop_.fetch_add(1);
    spdlog::error("BUG: {} answered an unauthenticated call; the backstop refused it", method_);
  }

  Access* access_;
  std::string method_;
  bool authenticated_ = true;  // until the metadata says otherwise
  bool counted_ = false;
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Access::InterceptorFactory() {
  class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
   public:
    explicit Factory(Access* a) : a_(a) {}
    grpc::experimental::Interceptor* CreateServerInterceptor(
        grpc::experimental::ServerRpcInfo* info) override {
      // A call that already shows valid credentials needs no guard: no interceptor means
      // none of gRPC's per-message interception cost on the busy paths (agent streams,
      // submits). Anything else is guarded for its whole life.
      if (const grpc::ServerContextBase* ctx = info->server_context()) {
        const auto& md = ctx->client_metadata();
        auto it = md.find("authorization");
        if (it != md.end() &&
            a_->Verify(std::string_view(it->second.data(), it->second.size())).ok()) {
          return nullptr;
        }
        if (it == md.end()) {
          auto cert = a_->FromCertificate(*ctx);
          if (cert && cert->ok()) return nullptr;
        }
      }
      // Pki is served only with TLS; without it those methods are guarded like any other.
      if (a_->tls_ != nullptr && info->method() != nullptr &&
          HasOwnCredentials(info->method())) {
        return nullptr;
      }
      a_->guarded_.fetch_add(1);
      return new Interceptor(a_, info);
    }

   private:
    Access* a_;
  };
  return std::make_unique<Factory>(this);
}

}  // namespace baton::server
