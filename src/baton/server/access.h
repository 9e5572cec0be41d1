// Access: authentication and authorization of every batond request, with their audit.
//
// Every gRPC handler and HTTP route starts with Authenticate() (the bearer token; with TLS,
// a gRPC caller without one may instead show a user certificate from the cluster CA, which
// stands for that user and its roles) and then
// Check()s a Permission (authz.h) on the object it touches. Both record refusals in the
// audit log (rate-limited). Successful changes get their audit record through Origin(),
// which the ControlPlane writes in the change's own transaction.
//
// A server interceptor (InterceptorFactory) authenticates every call once more, whatever
// its handler does: a call without valid credentials never receives the handler's data
// (every message it would send is emptied) nor a status other than UNAUTHENTICATED. It is
// a backstop for a handler that forgot to authenticate (a bug: backstop_refusals() counts
// them; the route-table test asserts none), not a replacement for the handlers' checks:
// it cannot undo what such a handler did. Calls that arrive with valid credentials are not
// intercepted at all (the check is made when the call is created), so the guard costs
// nothing on the busy paths. Pki.Join and Pki.Renew are not guarded: their credentials
// are a bootstrap token and a node certificate, which their handler checks
// (pki_service.h).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <google/protobuf/message_lite.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/limits.h"
#include "baton/common/status.h"
#include "baton/metrics/http_server.h"
#include "baton/server/audit_log.h"
#include "baton/server/authz.h"
#include "baton/server/change_origin.h"
#include "baton/server/principals.h"
#include "baton/server/queue_tree.h"
#include "baton/v1/types.pb.h"

namespace baton::server {

class BatondTls;

// gRPC methods with credentials of their own (checked by their handlers), which the
// interceptor lets through: Pki.Join (a bootstrap token) and Pki.Renew (a node certificate).
bool HasOwnCredentials(std::string_view method);

class Access {
 public:
  Access(Principals* principals, AuditLog* audit, const QueueTree* queues)
      : principals_(principals), audit_(audit), queues_(queues) {}
  // With TLS: user certificates are accepted as credentials (call before serving).
  void set_tls(const BatondTls* tls) { tls_ = tls; }
  // For fuzz harnesses only, which call handlers directly with contexts that cannot carry
  // metadata: a request without any credentials is `who` instead of refused (a token
  // that is present is still checked). batond never calls this.
  void TreatCallsWithoutCredentialsAs(Identity who) { anonymous_ = std::move(who); }

  // The caller of a gRPC call, from its "authorization: Bearer <token>" metadata.
  // Unauthenticated (recorded as a denial of `action`) otherwise.
  Result<Identity> Authenticate(const grpc::ServerContextBase& ctx, std::string_view action);
  // The caller of an HTTP request, from its Authorization header.
  Result<Identity> Authenticate(const metrics::HttpRequest& req, std::string_view action);
  // OK, or ResourceExhausted when `request` is over limits::kMaxGrpcMessageBytes, recorded
  // as a denial of `action` by the caller its credentials name (or just its address).
  // Every handler checks this first: gRPC lets messages up to kMaxGrpcTransportBytes
  // through precisely so that an oversized request is refused here, with its audit record,
  // and not by gRPC with none (docs/limits.md).
  Status CheckSize(const grpc::ServerContextBase& ctx, std::string_view action,
                   const google::protobuf::MessageLite& request);
  // The same for a message on a stream `who` opened (an agent's).
  Status CheckSize(const Identity& who, std::string_view action,
                   const google::protobuf::MessageLite& message);
  // Records an HTTP request refused before any route saw it (`why`: e.g. a body over the
  // limit) as a denial of `action` by whoever its credentials name.
  void RefusedHttp(const metrics::HttpRequest& req, std::string_view action, std::string why);
  // Verifies an Authorization header value without recording anything.
  Result<Identity> Verify(std::string_view authorization) const;

  // OK, or PermissionDenied (recorded as a denial of `action` on `object`).
  Status Check(const Identity& who, Permission p, std::string_view action, std::string_view object,
               const Resource& r);
  Resource QueueResource(std::string_view queue) const;
  Resource JobResource(const v1::Job& job) const;

  // The origin of a change `who` asked for: its audit record is written with the change.
  ChangeOrigin Origin(const Identity& who, std::string action, std::string detail = "");
  // The audit record of a successful change (for changes made outside the ControlPlane).
  store::Op Record(const Identity& who, std::string_view action, std::string_view object,
                   std::string detail = "");
  // Records a refusal of `who`'s request that Check did not make (e.g. a bad certificate
  // behind a valid token).
  void Deny(const Identity& who, std::string_view action, std::string_view object,
            const Status& s);
  // Records a refusal of `who`'s `action` on `object` with `outcome` ("denied" or
  // "error") and why (rate-limited, AuditLog::Refuse).
  void Refused(const Identity& who, std::string_view action, std::string_view object,
               std::string outcome, std::string detail);
  // Records a change `who` asked for that failed.
  void Failed(const Identity& who, std::string_view action, std::string_view object,
              const Status& s);

  // The queues' subtrees `who` may see jobs of (nullopt = all).
  std::optional<std::vector<std::string>> Viewable(const Identity& who) const {
    return ViewableSubtrees(who);
  }
  bool CanView(const Identity& who, std::string_view queue) const;

  Principals& principals() { return *principals_; }
  AuditLog& audit() { return *audit_; }
  const QueueTree& queues() const { return *queues_; }

  // Calls the interceptor refused although their handler did not (see above).
  int64_t backstop_refusals() const { return backstop_.load(); }
  // Calls that got the interceptor (those without valid credentials when they arrived).
  int64_t guarded_calls() const { return guarded_.load(); }
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  class Interceptor;
  Result<Identity> Denied(const Status& s, std::string peer, std::string_view action);
  // An audit record of `who` doing `action` on `object` (outcome and detail left to fill).
  static AuditEntry Entry(const Identity& who, std::string_view action, std::string_view object);
  // The user of a verified user certificate the gRPC peer showed; nullopt without TLS or
  // without a client certificate, an error for a bad one.
  std::optional<Result<Identity>> FromCertificate(const grpc::ServerContextBase& ctx) const;

  Principals* principals_;
  AuditLog* audit_;
  const QueueTree* queues_;
  const BatondTls* tls_ = nullptr;
  std::optional<Identity> anonymous_;
  std::atomic<int64_t> backstop_{0};
  std::atomic<int64_t> guarded_{0};
};

// OK, or ResourceExhausted naming the size when `message` is over
// limits::kMaxGrpcMessageBytes (Access::CheckSize records it too).
Status CheckMessageSize(const google::protobuf::MessageLite& message);

// The message of a request without credentials.
inline constexpr std::string_view kNoCredentials =
    "no credentials: this API needs a token (baton: --token, $BATON_TOKEN or `baton login`; "
    "HTTP and gRPC: the header 'authorization: Bearer <token>')";

}  // namespace baton::server
