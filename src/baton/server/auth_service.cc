#include "baton/server/auth_service.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "baton/server/grpc_services.h"

namespace baton::server {
namespace {

grpc::ServerUnaryReactor* Done(grpc::ServerUnaryReactor* r, const Status& s) {
  r->Finish(ToGrpc(s));
  return r;
}

// Runs a change: check the request's size, authenticate, authorize (cluster-admin unless `self_ok`
// says the caller acts on their own things), then `fn(who, audit op)`; failures are audited.
template <typename Fn>
grpc::ServerUnaryReactor* Change(Access* access, grpc::CallbackServerContext* ctx,
                                 const google::protobuf::MessageLite& request,
                                 std::string_view action, const std::string& object, bool self_ok,
                                 Fn fn) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access->CheckSize(*ctx, action, request); !s.ok()) return Done(r, s);
  auto who = access->Authenticate(*ctx, action);
  if (!who.ok()) return Done(r, who.status());
  if (!self_ok) {
    Resource res;
    res.describe = object;
    Status s = access->Check(*who, Permission::kManageAuth, action, object, res);
    if (!s.ok()) return Done(r, s);
  }
  store::Op audit = access->Record(*who, action, object);
  Status s = fn(*who, &audit);
  if (!s.ok()) access->Failed(*who, action, object, s);
  return Done(r, s);
}

}  // namespace

grpc::ServerUnaryReactor* AuthService::WhoAmI(grpc::CallbackServerContext* ctx,
                                              const v1::WhoAmIRequest* req,
                                              v1::WhoAmIResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "auth.whoami", *req); !s.ok()) return Done(r, s);
  auto who = access_->Authenticate(*ctx, "auth.whoami");
  if (!who.ok()) return Done(r, who.status());
  resp->set_user(who->user);
  resp->set_token_id(who->token_id);
  for (const auto& b : who->bindings) *resp->add_bindings() = b;
  if (who->token_expires) {
    *resp->mutable_token_expire_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
        who->token_expires->time_since_epoch().count());
  }
  return Done(r, Status::Ok());
}

grpc::ServerUnaryReactor* AuthService::CreateUser(grpc::CallbackServerContext* ctx,
                                                  const v1::CreateUserRequest* req,
                                                  v1::User* resp) {
  return Change(
      access_, ctx, *req, "auth.create_user", "user/" + req->name().substr(0, 64), false,
      [&](const Identity& who, const store::Op* audit) -> Status {
        std::vector<v1::RoleBinding> bindings(req->bindings().begin(), req->bindings().end());
        BATON_ASSIGN_OR_RETURN(
            *resp, access_->principals().CreateUser(req->name(), bindings, who.user, audit));
        return Status::Ok();
      });
}

grpc::ServerUnaryReactor* AuthService::ListUsers(grpc::CallbackServerContext* ctx,
                                                 const v1::ListUsersRequest* req,
                                                 v1::ListUsersResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "auth.list_users", *req); !s.ok()) return Done(r, s);
  auto who = access_->Authenticate(*ctx, "auth.list_users");
  if (!who.ok()) return Done(r, who.status());
  Resource res;
  res.describe = "users";
  Status s = access_->Check(*who, Permission::kManageAuth, "auth.list_users", "users", res);
  if (!s.ok()) return Done(r, s);
  for (auto& u : access_->principals().Users()) *resp->add_users() = std::move(u);
  return Done(r, Status::Ok());
}

grpc::ServerUnaryReactor* AuthService::Bind(grpc::CallbackServerContext* ctx,
                                            const v1::BindRequest* req, v1::User* resp) {
  return Change(access_, ctx, *req, "auth.bind",
                fmt::format("user/{} {}", req->user().substr(0, 64), BindingName(req->binding())),
                false, [&](const Identity&, const store::Op* audit) -> Status {
                  BATON_ASSIGN_OR_RETURN(
                      *resp, access_->principals().Bind(req->user(), req->binding(), audit));
                  return Status::Ok();
                });
}

grpc::ServerUnaryReactor* AuthService::Unbind(grpc::CallbackServerContext* ctx,
                                              const v1::BindRequest* req, v1::User* resp) {
  return Change(access_, ctx, *req, "auth.unbind",
                fmt::format("user/{} {}", req->user().substr(0, 64), BindingName(req->binding())),
                false, [&](const Identity&, const store::Op* audit) -> Status {
                  BATON_ASSIGN_OR_RETURN(
                      *resp, access_->principals().Unbind(req->user(), req->binding(), audit));
                  return Status::Ok();
                });
}

grpc::ServerUnaryReactor* AuthService::CreateToken(grpc::CallbackServerContext* ctx,
                                                   const v1::CreateTokenRequest* req,
                                                   v1::CreateTokenResponse* resp) {
  return Change(access_, ctx, *req, "auth.create_token", "user/" + req->user().substr(0, 64), false,
                [&](const Identity& who, const store::Op* audit) -> Status {
                  BATON_ASSIGN_OR_RETURN(auto t, access_->principals().CreateToken(
                                                     req->user(), req->description(),
                                                     req->ttl_seconds(), who.user, audit));
                  *resp->mutable_token() = t.token;
                  resp->set_secret(t.secret);
                  return Status::Ok();
                });
}

grpc::ServerUnaryReactor* AuthService::ListTokens(grpc::CallbackServerContext* ctx,
                                                  const v1::ListTokensRequest* req,
                                                  v1::ListTokensResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "auth.list_tokens", *req); !s.ok()) return Done(r, s);
  auto who = access_->Authenticate(*ctx, "auth.list_tokens");
  if (!who.ok()) return Done(r, who.status());
  std::string user = req->user();
  if (!who->cluster_admin()) {
    // Anyone may list their own tokens.
    if (user.empty()) user = who->user;
    if (user != who->user) {
      Resource res;
      res.describe = "the tokens of " + user.substr(0, 64);
      Status s = access_->Check(*who, Permission::kManageAuth, "auth.list_tokens",
                                "user/" + user.substr(0, 64), res);
      if (!s.ok()) return Done(r, s);
    }
  }
  for (auto& t : access_->principals().Tokens(user, req->all())) *resp->add_tokens() = std::move(t);
  return Done(r, Status::Ok());
}

grpc::ServerUnaryReactor* AuthService::RevokeToken(grpc::CallbackServerContext* ctx,
                                                   const v1::RevokeTokenRequest* req,
                                                   v1::Token* resp) {
  const std::string object = "token/" + req->id().substr(0, 64);
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "auth.revoke_token", *req); !s.ok()) return Done(r, s);
  auto who = access_->Authenticate(*ctx, "auth.revoke_token");
  if (!who.ok()) return Done(r, who.status());
  // One's own tokens need no admin; anyone else's do (an unknown id is checked as
  // someone else's, so the answer does not tell whether it exists).
  auto token = access_->principals().FindToken(req->id());
  if (!token || token->user() != who->user) {
    Resource res;
    res.describe = object;
    Status s = access_->Check(*who, Permission::kManageAuth, "auth.revoke_token", object, res);
    if (!s.ok()) return Done(r, s);
  }
  store::Op audit = access_->Record(*who, "auth.revoke_token", object);
  auto revoked = access_->principals().Revoke(req->id(), &audit);
  if (!revoked.ok()) {
    access_->Failed(*who, "auth.revoke_token", object, revoked.status());
    return Done(r, revoked.status());
  }
  *resp = *std::move(revoked);
  return Done(r, Status::Ok());
}

grpc::ServerUnaryReactor* AuditService::List(grpc::CallbackServerContext* ctx,
                                             const v1::ListAuditRequest* req,
                                             v1::ListAuditResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "audit.list", *req); !s.ok()) return Done(r, s);
  auto who = access_->Authenticate(*ctx, "audit.list");
  if (!who.ok()) return Done(r, who.status());
  Resource res;
  res.describe = "the audit log";
  Status s = access_->Check(*who, Permission::kReadAudit, "audit.list", "audit", res);
  if (!s.ok()) return Done(r, s);
  auto page = access_->audit().List(*req);
  if (!page.ok()) return Done(r, page.status());
  *resp = *std::move(page);
  return Done(r, Status::Ok());
}

}  // namespace baton::server
