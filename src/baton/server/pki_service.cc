#include "baton/server/pki_service.h"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "baton/security/tls.h"
#include "baton/server/access.h"
#include "baton/server/grpc_services.h"

namespace baton::server {
namespace {

google::protobuf::Timestamp ToProto(Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(t.time_since_epoch().count());
}

std::string NotAfter(const v1::IssuedCertificate& c) {
  return FormatTime(
      Time(Duration(google::protobuf::util::TimeUtil::TimestampToMicroseconds(c.not_after()))));
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
  auto* r = ctx->DefaultReactor();
  r->Finish(s);
  return r;
}

// Logs a refusal with the peer and answers with it.
grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx, std::string_view what,
                                 const Status& s) {
  spdlog::warn("pki: {} from {} refused: {}", what, ctx->peer(), s.message());
  return Done(ctx, ToGrpc(s));
}

}  // namespace

Status PkiService::Issue(const std::string& csr, const std::string& node,
                         v1::IssuedCertificate* resp) {
  security::IssueOptions o;
  o.now = clock_->Now();
  o.validity = options_.node_cert_validity;
  // Tolerate an agent clock a little behind batond's, without making short test
  // lifetimes start long in the past.
  o.backdate = std::min<Duration>(Seconds(60), options_.node_cert_validity / 10);
  BATON_ASSIGN_OR_RETURN(security::Issued issued,
                         ca_->SignCsr(csr, security::PeerKind::kNode, node, o));
  resp->set_certificate_pem(issued.cert_pem);
  resp->set_ca_bundle_pem(ca_->bundle_pem());
  *resp->mutable_not_before() = ToProto(issued.not_before);
  *resp->mutable_not_after() = ToProto(issued.not_after);
  return Status::Ok();
}

grpc::ServerUnaryReactor* PkiService::Join(grpc::CallbackServerContext* ctx,
                                           const v1::JoinRequest* req,
                                           v1::IssuedCertificate* resp) {
  const std::string what = fmt::format("join of node '{}'", req->node_name());
  if (Status s = security::ValidateCertName(req->node_name(), "node_name"); !s.ok()) {
    return Refuse(ctx, what, s);
  }
  // The CSR first, so that a bad request does not spend the token.
  v1::IssuedCertificate issued;
  if (Status s = Issue(req->csr_pem(), req->node_name(), &issued); !s.ok()) {
    return Refuse(ctx, what, s);
  }
  auto id = tokens_->Consume(req->bootstrap_token(), req->node_name());
  if (!id.ok()) return Refuse(ctx, what, id.status());
  *resp = std::move(issued);
  spdlog::info(
      "pki: node {} joined with bootstrap token {} from {} (certificate valid until "
      "{} UTC)",
      req->node_name(), *id, ctx->peer(), NotAfter(*resp));
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PkiService::Renew(grpc::CallbackServerContext* ctx,
                                            const v1::RenewRequest* req,
                                            v1::IssuedCertificate* resp) {
  auto who = security::VerifyPeer(*ctx->auth_context(), *verifier_, clock_->Now());
  if (!who.ok()) return Refuse(ctx, "renewal", who.status());
  if (who->kind != security::PeerKind::kNode) {
    return Refuse(ctx, "renewal",
                  PermissionDenied(fmt::format("only node certificates are renewed here; this "
                                               "is {} {}'s",
                                               security::PeerKindName(who->kind), who->name)));
  }
  if (Status s = Issue(req->csr_pem(), who->name, resp); !s.ok()) {
    return Refuse(ctx, fmt::format("renewal for node {}", who->name), s);
  }
  spdlog::info("pki: node {} renewed its certificate (valid until {} UTC)", who->name,
               NotAfter(*resp));
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PkiService::CreateBootstrapToken(
    grpc::CallbackServerContext* ctx, const v1::CreateBootstrapTokenRequest* req,
    v1::BootstrapToken* resp) {
  std::string user;
  if (access_ != nullptr) {
    constexpr std::string_view kAction = "pki.create_bootstrap_token";
    auto id = access_->Authenticate(*ctx, kAction);
    if (!id.ok()) return Refuse(ctx, "bootstrap token creation", id.status());
    Resource res;
    res.describe = "this cluster's bootstrap tokens";
    Status allowed =
        access_->Check(*id, Permission::kManageNodes, kAction, "bootstrap-tokens", res);
    if (!allowed.ok()) return Refuse(ctx, "bootstrap token creation", allowed);
    user = id->user;
  } else {
    auto who = security::VerifyPeer(*ctx->auth_context(), *verifier_, clock_->Now());
    if (!who.ok()) return Refuse(ctx, "bootstrap token creation", who.status());
    if (who->kind != security::PeerKind::kUser) {
      return Refuse(ctx, "bootstrap token creation",
                    PermissionDenied(fmt::format("needs a user certificate; this is {} {}'s",
                                                 security::PeerKindName(who->kind), who->name)));
    }
    user = who->name;
  }
  if (req->ttl_seconds() < 0) {
    return Done(ctx, ToGrpc(InvalidArgument("ttl_seconds: negative")));
  }
  BootstrapTokenSpec spec;
  if (req->ttl_seconds() > 0) spec.ttl = Seconds(req->ttl_seconds());
  if (req->uses() != 0) spec.uses = req->uses();
  spec.node_name = req->node_name();
  spec.description = req->description();
  auto token = tokens_->Create(spec);
  if (!token.ok()) return Done(ctx, ToGrpc(token.status()));
  resp->set_token(token->token);
  resp->set_id(token->id);
  *resp->mutable_expires_at() = ToProto(token->expires_at);
  resp->set_uses(token->uses);
  resp->set_node_name(token->node_name);
  spdlog::info("pki: user {} created bootstrap token {}", user, token->id);
  return Done(ctx, grpc::Status::OK);
}

}  // namespace baton::server
