// The v1 Auth and Audit gRPC services over Principals and the AuditLog (access.h): users,
// role bindings and tokens (cluster-admins; a user may list and revoke their own tokens,
// and anyone may ask WhoAmI), and the audit log (cluster-admins).
//
// Every change is written together with its audit record (Principals' transactions).
//
// Thread-safety: stateless apart from Access, which is thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include "baton/server/access.h"
#include "baton/v1/auth.grpc.pb.h"

namespace baton::server {

class AuthService final : public v1::Auth::CallbackService {
 public:
  explicit AuthService(Access* access) : access_(access) {}

  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* ctx, const v1::WhoAmIRequest* req,
                                   v1::WhoAmIResponse* resp) override;
  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* ctx,
                                       const v1::CreateUserRequest* req, v1::User* resp) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* ctx,
                                      const v1::ListUsersRequest* req,
                                      v1::ListUsersResponse* resp) override;
  grpc::ServerUnaryReactor* Bind(grpc::CallbackServerContext* ctx, const v1::BindRequest* req,
                                 v1::User* resp) override;
  grpc::ServerUnaryReactor* Unbind(grpc::CallbackServerContext* ctx, const v1::BindRequest* req,
                                   v1::User* resp) override;
  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* ctx,
                                        const v1::CreateTokenRequest* req,
                                        v1::CreateTokenResponse* resp) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* ctx,
                                       const v1::ListTokensRequest* req,
                                       v1::ListTokensResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* ctx,
                                        const v1::RevokeTokenRequest* req,
                                        v1::Token* resp) override;

 private:
  Access* access_;
};

class AuditService final : public v1::Audit::CallbackService {
 public:
  explicit AuditService(Access* access) : access_(access) {}
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const v1::ListAuditRequest* req,
                                 v1::ListAuditResponse* resp) override;

 private:
  Access* access_;
};

}  // namespace baton::server
