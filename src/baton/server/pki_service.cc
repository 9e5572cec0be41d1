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

void ToProto(const CertRecord& r, v1::CertificateRecord* out) {
  out->set_serial(r.serial);
  out->set_kind(std::string(security::PeerKindName(r.kind)));
  out->set_name(r.name);
  if (r.issued_at != Time{}) *out->mutable_issued_at() = ToProto(r.issued_at);
  *out->mutable_not_after() = ToProto(r.not_after);
  out->set_revoked(r.revoked);
  if (r.revoked) {
    *out->mutable_revoked_at() = ToProto(r.revoked_at);
    out->set_revoked_by(r.revoked_by);
    out->set_reason(r.reason);
  }
}

}  // namespace

// Who asked, for the audit log.
struct PkiService::Caller {
  Identity id;
};

grpc::ServerUnaryReactor* PkiService::Refuse(grpc::CallbackServerContext* ctx,
                                             std::string_view action, std::string_view object,
                                             const Status& s, std::string_view user) {
  spdlog::warn("pki: {} of {} from {} refused: {}", action, object, ctx->peer(), s.message());
  if (access_ != nullptr) {
    Identity who;
    who.user = std::string(user);
    who.peer = ctx->peer();
    const bool denied =
        s.code() == StatusCode::kUnauthenticated || s.code() == StatusCode::kPermissionDenied;
    access_->Refused(who, action, object, denied ? "denied" : "error", s.message());
  }
  return Done(ctx, ToGrpc(s));
}

std::vector<store::Op> PkiService::Audited(const Caller& who, std::string_view action,
                                           std::string_view object, std::string detail) {
  if (access_ == nullptr) return {};
  return {access_->Record(who.id, action, object, std::move(detail))};
}

Result<security::CertIdentity> PkiService::VerifyCaller(grpc::CallbackServerContext* ctx) const {
  return registry_->VerifyPeer(*ctx->auth_context(), *verifier_, clock_->Now());
}

Status PkiService::CheckSize(grpc::CallbackServerContext* ctx, std::string_view action,
                             const google::protobuf::MessageLite& request) {
  return access_ != nullptr ? access_->CheckSize(*ctx, action, request) : CheckMessageSize(request);
}

Result<PkiService::Caller> PkiService::Admin(grpc::CallbackServerContext* ctx,
                                             std::string_view action,
                                             const google::protobuf::MessageLite& request) {
  BATON_RETURN_IF_ERROR(CheckSize(ctx, action, request));
  Caller c;
  if (access_ != nullptr) {
    // Authenticate and Check record their own refusals.
    BATON_ASSIGN_OR_RETURN(c.id, access_->Authenticate(*ctx, action));
    Resource res;
    res.describe = "this cluster's certificates and bootstrap tokens";
    BATON_RETURN_IF_ERROR(access_->Check(c.id, Permission::kManageNodes, action, "pki", res));
    return c;
  }
  BATON_ASSIGN_OR_RETURN(security::CertIdentity who, VerifyCaller(ctx));
  if (who.kind != security::PeerKind::kUser) {
    return PermissionDenied(fmt::format("needs a user certificate; this is {} {}'s",
                                        security::PeerKindName(who.kind), who.name));
  }
  c.id.user = who.name;
  c.id.peer = ctx->peer();
  return c;
}

Status PkiService::Issue(const std::string& csr, const std::string& node,
                         v1::IssuedCertificate* resp, CertRecord* record) {
  security::IssueOptions o;
  o.now = clock_->Now();
  o.validity = options_.node_cert_validity;
  // Tolerate an agent clock a little behind batond's, without making short test
  // lifetimes start long in the past.
  o.backdate = std::min<Duration>(Seconds(60), options_.node_cert_validity / 10);
  BATON_ASSIGN_OR_RETURN(security::Issued issued,
                         ca_->SignCsr(csr, security::PeerKind::kNode, node, o));
  BATON_ASSIGN_OR_RETURN(security::CertInfo info, security::ParseCertificate(issued.cert_pem));
  resp->set_certificate_pem(issued.cert_pem);
  resp->set_ca_bundle_pem(ca_->bundle_pem());
  *resp->mutable_not_before() = ToProto(issued.not_before);
  *resp->mutable_not_after() = ToProto(issued.not_after);
  record->serial = info.serial;
  record->kind = security::PeerKind::kNode;
  record->name = node;
  record->issued_at = o.now;
  record->not_after = issued.not_after;
  return Status::Ok();
}

grpc::ServerUnaryReactor* PkiService::Join(grpc::CallbackServerContext* ctx,
                                           const v1::JoinRequest* req,
                                           v1::IssuedCertificate* resp) {
  constexpr std::string_view kAction = "pki.join";
  if (Status s = CheckSize(ctx, kAction, *req); !s.ok()) return Done(ctx, ToGrpc(s));
  const std::string object = fmt::format("node/{}", req->node_name());
  if (Status s = security::ValidateCertName(req->node_name(), "node_name"); !s.ok()) {
    return Refuse(ctx, kAction, "node", s);
  }
  // The CSR first, so that a bad request does not spend the token.
  v1::IssuedCertificate issued;
  CertRecord record;
  if (Status s = Issue(req->csr_pem(), req->node_name(), &issued, &record); !s.ok()) {
    return Refuse(ctx, kAction, object, s);
  }
  // The token's use, the issued certificate and the audit record: one transaction.
  auto id = tokens_->Consume(req->bootstrap_token(), req->node_name(), [&](const std::string& id) {
    Caller who;
    who.id.user = fmt::format("node:{}", req->node_name());
    who.id.token_id = fmt::format("bootstrap:{}", id);
    who.id.peer = ctx->peer();
    auto ops = Audited(who, kAction, object,
                       fmt::format("certificate {} until {} UTC", record.serial,
                                   FormatTime(record.not_after)));
    ops.push_back(registry_->IssuedOp(record));
    return ops;
  });
  if (!id.ok()) return Refuse(ctx, kAction, object, id.status());
  *resp = std::move(issued);
  spdlog::info(
      "pki: node {} joined with bootstrap token {} from {} (certificate {} valid until "
      "{} UTC)",
      req->node_name(), *id, ctx->peer(), record.serial, NotAfter(*resp));
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PkiService::Renew(grpc::CallbackServerContext* ctx,
                                            const v1::RenewRequest* req,
                                            v1::IssuedCertificate* resp) {
  constexpr std::string_view kAction = "pki.renew";
  if (Status s = CheckSize(ctx, kAction, *req); !s.ok()) return Done(ctx, ToGrpc(s));
  auto who = VerifyCaller(ctx);
  if (!who.ok()) return Refuse(ctx, kAction, "node", who.status());
  const std::string object = fmt::format("node/{}", who->name);
  const std::string user = fmt::format("{}:{}", security::PeerKindName(who->kind), who->name);
  if (who->kind != security::PeerKind::kNode) {
    return Refuse(ctx, kAction, object,
                  PermissionDenied(fmt::format("only node certificates are renewed here; this "
                                               "is {} {}'s",
                                               security::PeerKindName(who->kind), who->name)),
                  user);
  }
  CertRecord record;
  if (Status s = Issue(req->csr_pem(), who->name, resp, &record); !s.ok()) {
    return Refuse(ctx, kAction, object, s, user);
  }
  Caller caller;
  caller.id.user = user;
  caller.id.token_id = fmt::format("cert:{}", who->serial);
  caller.id.peer = ctx->peer();
  Status recorded = registry_->RecordIssued(
      record, Audited(caller, kAction, object,
                      fmt::format("certificate {} until {} UTC (replaces {})", record.serial,
                                  FormatTime(record.not_after), who->serial)));
  if (!recorded.ok()) {
    resp->Clear();
    return Refuse(ctx, kAction, object, recorded, user);
  }
  spdlog::info("pki: node {} renewed its certificate ({} valid until {} UTC)", who->name,
               record.serial, NotAfter(*resp));
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PkiService::CreateBootstrapToken(
    grpc::CallbackServerContext* ctx, const v1::CreateBootstrapTokenRequest* req,
    v1::BootstrapToken* resp) {
  constexpr std::string_view kAction = "pki.create_bootstrap_token";
  auto who = Admin(ctx, kAction, *req);
  if (!who.ok()) {
    // With an Access the refusal is audited already.
    spdlog::warn("pki: bootstrap token creation from {} refused: {}", ctx->peer(),
                 who.status().message());
    return Done(ctx, ToGrpc(who.status()));
  }
  if (req->ttl_seconds() < 0) {
    return Refuse(ctx, kAction, "bootstrap-token", InvalidArgument("ttl_seconds: negative"),
                  who->id.user);
  }
  BootstrapTokenSpec spec;
  if (req->ttl_seconds() > 0) spec.ttl = Seconds(req->ttl_seconds());
  if (req->uses() != 0) spec.uses = req->uses();
  spec.node_name = req->node_name();
  spec.description = req->description();
  auto token = tokens_->Create(spec, [&](const std::string& id) {
    return Audited(*who, kAction, fmt::format("bootstrap-token/{}", id),
                   fmt::format("{} use(s), for {}{}", spec.uses,
                               spec.node_name.empty() ? "any node" : "node " + spec.node_name,
                               spec.description.empty() ? "" : ": " + spec.description));
  });
  if (!token.ok()) return Refuse(ctx, kAction, "bootstrap-token", token.status(), who->id.user);
  resp->set_token(token->token);
  resp->set_id(token->id);
  *resp->mutable_expires_at() = ToProto(token->expires_at);
  resp->set_uses(token->uses);
  resp->set_node_name(token->node_name);
  spdlog::info("pki: user {} created bootstrap token {}", who->id.user, token->id);
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PkiService::RevokeCertificates(
    grpc::CallbackServerContext* ctx, const v1::RevokeCertificatesRequest* req,
    v1::RevokeCertificatesResponse* resp) {
  constexpr std::string_view kAction = "pki.revoke_certificates";
  auto who = Admin(ctx, kAction, *req);
  if (!who.ok()) return Done(ctx, ToGrpc(who.status()));
  RevokeTarget target;
  target.node_name = req->node_name();
  target.serial = req->serial();
  target.certificate_pem = req->certificate_pem();
  auto revoked = registry_->Revoke(target, who->id.user, req->reason(),
                                   [&](const std::string& object) {
                                     return Audited(*who, kAction, object, req->reason());
                                   });
  if (!revoked.ok()) {
    const std::string object = !req->node_name().empty() ? "node/" + req->node_name()
                                                         : "certificate/" + req->serial();
    return Refuse(ctx, kAction, object, revoked.status(), who->id.user);
  }
  for (const CertRecord& r : *revoked) {
    ToProto(r, resp->add_revoked());
    spdlog::warn("pki: {} revoked {} {}'s certificate {}{}{}", who->id.user,
                 security::PeerKindName(r.kind), r.name, r.serial,
                 r.reason.empty() ? "" : ": ", r.reason);
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PkiService::ListCertificates(grpc::CallbackServerContext* ctx,
                                                       const v1::ListCertificatesRequest* req,
                                                       v1::ListCertificatesResponse* resp) {
  auto who = Admin(ctx, "pki.list_certificates", *req);
  if (!who.ok()) return Done(ctx, ToGrpc(who.status()));
  auto all = registry_->List(req->name());
  if (!all.ok()) return Done(ctx, ToGrpc(all.status()));
  for (const CertRecord& r : *all) ToProto(r, resp->add_certificates());
  return Done(ctx, grpc::Status::OK);
}

}  // namespace baton::server
