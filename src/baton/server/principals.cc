#include "baton/server/principals.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "baton/auth/secret.h"
#include "baton/auth/token.h"

namespace baton::server {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Stamp(Time t) {
  return TimeUtil::MicrosecondsToTimestamp(t.time_since_epoch().count());
}

Time FromStamp(const google::protobuf::Timestamp& ts) {
  return Time(Duration(TimeUtil::TimestampToMicroseconds(ts)));
}

bool Unset(const google::protobuf::Timestamp& ts) { return ts.seconds() == 0 && ts.nanos() == 0; }

Status ValidUserName(const std::string& name, std::string_view field) {
  const bool ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
               c == '-';
      });
  if (!ok) {
    return InvalidArgument(
        fmt::format("{}: '{}' is not a user name (1 to 64 of letters, digits, '.', '_', '@', "
                    "'-')",
                    field, name.substr(0, 64)));
  }
  return Status::Ok();
}

bool SameBinding(const v1::RoleBinding& a, const v1::RoleBinding& b) {
  return a.role() == b.role() && a.queue() == b.queue();
}

store::Op PutOp(std::string key, const google::protobuf::Message& m) {
  store::Op op;
  op.type = store::Op::kPut;
  op.key = std::move(key);
  op.value = m.SerializeAsString();
  return op;
}

}  // namespace

std::string UserKey(std::string_view name) { return fmt::format("auth/users/{}", name); }
std::string TokenKey(std::string_view id) { return fmt::format("auth/tokens/{}", id); }

Status Principals::Load() {
  BATON_ASSIGN_OR_RETURN(auto users, store_->List("auth/users/"));
  BATON_ASSIGN_OR_RETURN(auto tokens, store_->List("auth/tokens/"));
  std::map<std::string, v1::User> u;
  std::map<std::string, v1::StoredToken> t;
  // A damaged record is left out (logged): its user or token then cannot authenticate,
  // which fails safe, and batond still starts (a salvaged store is served read-only).
  for (const auto& kv : users) {
    v1::User user;
    if (!user.ParseFromString(kv.value) || user.name().empty()) {
      spdlog::error("store: {} does not hold a user record; left out", kv.key);
      continue;
    }
    u[user.name()] = std::move(user);
  }
  for (const auto& kv : tokens) {
    v1::StoredToken st;
    if (!st.ParseFromString(kv.value) || st.token().id().empty()) {
      spdlog::error("store: {} does not hold a token record; left out", kv.key);
      continue;
    }
    t[st.token().id()] = std::move(st);
  }
  std::unique_lock lock(mu_);
  users_ = std::move(u);
  tokens_ = std::move(t);
  return Status::Ok();
}

Status Principals::Write(std::vector<store::Op> ops, const store::Op* audit) {
  store::Txn txn;
  txn.ops = std::move(ops);
  if (audit != nullptr) txn.ops.push_back(*audit);
  BATON_ASSIGN_OR_RETURN(store::TxnResult r, store_->Txn(txn));
  if (!r.succeeded) return Internal("auth: a transaction without compares did not apply");
  return Status::Ok();
}

Result<bool> Principals::Bootstrap(const BootstrapOptions& options) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  {
    std::shared_lock lock(mu_);
    if (!users_.empty()) return false;
  }
  if (options.admin_token_file.empty() || options.agent_token_file.empty()) {
    return InvalidArgument(
        "--admin-token-file and --agent-token-file: required on a first start (no data "
        "directory to write the bootstrap tokens to)");
  }
  struct Boot {
    const char* user;
    v1::Role role;
    const std::string* file;
  };
  for (const Boot& b : {Boot{"admin", v1::ROLE_CLUSTER_ADMIN, &options.admin_token_file},
                        Boot{"agent", v1::ROLE_AGENT, &options.agent_token_file}}) {
    // A file that already holds a token is adopted (fixtures, HA replicas).
    std::string adopt;
    auto existing = auth::ReadTokenFile(*b.file);
    if (existing.ok()) {
      adopt = *existing;
    } else if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    }
    v1::User user;
    user.set_name(b.user);
    v1::RoleBinding* rb = user.add_bindings();
    rb->set_role(b.role);
    *user.mutable_create_time() = Stamp(clock_->Now());
    BATON_RETURN_IF_ERROR(Write({PutOp(UserKey(user.name()), user)}, nullptr));
    {
      std::unique_lock lock(mu_);
      users_[user.name()] = user;
    }
    BATON_ASSIGN_OR_RETURN(NewToken t,
                           MintLocked(b.user, "bootstrap token", 0, "", nullptr, adopt));
    if (adopt.empty()) {
      BATON_RETURN_IF_ERROR(auth::WriteSecretFile(*b.file, t.secret + "\n"));
      spdlog::info("bootstrap: created user '{}' ({}); its token is in {}", b.user,
                   RoleName(b.role), *b.file);
    } else {
      spdlog::info("bootstrap: created user '{}' ({}) with the token already in {}", b.user,
                   RoleName(b.role), *b.file);
    }
  }
  return true;
}

Result<Identity> Principals::Authenticate(std::string_view text) const {
  BATON_ASSIGN_OR_RETURN(auth::ApiToken token, auth::ParseToken(text));
  const std::string hash = auth::HashSecret(token.secret);
  std::shared_lock lock(mu_);
  auto it = tokens_.find(token.id);
  if (it == tokens_.end() || !auth::ConstantTimeEquals(hash, it->second.secret_sha256())) {
    return Unauthenticated(
        fmt::format("token {} is not valid (unknown, or a wrong secret): log in again with a token "
                    "from your administrator",
                    token.id));
  }
  const v1::Token& t = it->second.token();
  if (t.revoked()) {
    return Unauthenticated(
        fmt::format("token {} was revoked at {}", t.id(), FormatTime(FromStamp(t.revoke_time()))));
  }
  const Time now = clock_->Now();
  if (Expired(t, now)) {
    return Unauthenticated(
        fmt::format("token {} expired at {} UTC", t.id(), FormatTime(FromStamp(t.expire_time()))));
  }
  auto u = users_.find(t.user());
  if (u == users_.end()) {
    return Unauthenticated(
        fmt::format("token {}: its user '{}' no longer exists", t.id(), t.user()));
  }
  Identity id;
  id.user = t.user();
  id.token_id = t.id();
  id.bindings.assign(u->second.bindings().begin(), u->second.bindings().end());
  if (!Unset(t.expire_time())) id.token_expires = FromStamp(t.expire_time());
  return id;
}

Result<Identity> Principals::IdentityOf(const std::string& user) const {
  std::shared_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) {
    return Unauthenticated(fmt::format(
        "the client certificate names user '{}', who does not exist here (baton user create)",
        user));
  }
  Identity id;
  id.user = user;
  id.bindings.assign(u->second.bindings().begin(), u->second.bindings().end());
  return id;
}

bool Principals::Expired(const v1::Token& t, Time now) const {
  return !Unset(t.expire_time()) && FromStamp(t.expire_time()) <= now;
}

Result<v1::User> Principals::CreateUser(const std::string& name,
                                        const std::vector<v1::RoleBinding>& bindings,
                                        const std::string& created_by, const store::Op* audit) {
  BATON_RETURN_IF_ERROR(ValidUserName(name, "name"));
  if (bindings.size() > kMaxBindingsPerUser) {
    return InvalidArgument(fmt::format("bindings: at most {}", kMaxBindingsPerUser));
  }
  v1::User user;
  user.set_name(name);
  for (size_t i = 0; i < bindings.size(); ++i) {
    BATON_RETURN_IF_ERROR(ValidateBinding(bindings[i], fmt::format("bindings[{}]", i)));
    bool dup = false;
    for (const auto& b : user.bindings()) dup = dup || SameBinding(b, bindings[i]);
    if (!dup) *user.add_bindings() = bindings[i];
  }
  *user.mutable_create_time() = Stamp(clock_->Now());
  user.set_created_by(created_by);
  std::lock_guard<std::mutex> wlock(write_mu_);
  {
    std::shared_lock lock(mu_);
    if (users_.count(name)) {
      return Status(StatusCode::kAlreadyExists, fmt::format("user '{}' already exists", name));
    }
    if (users_.size() >= kMaxUsers) {
      return ResourceExhausted(fmt::format("users: at most {}", kMaxUsers));
    }
  }
  BATON_RETURN_IF_ERROR(Write({PutOp(UserKey(name), user)}, audit));
  std::unique_lock lock(mu_);
  users_[name] = user;
  return user;
}

Result<v1::User> Principals::Bind(const std::string& name, const v1::RoleBinding& binding,
                                  const store::Op* audit) {
  BATON_RETURN_IF_ERROR(ValidateBinding(binding, "binding"));
  std::lock_guard<std::mutex> wlock(write_mu_);
  v1::User user;
  {
    std::shared_lock lock(mu_);
    auto it = users_.find(name);
    if (it == users_.end()) return NotFound(fmt::format("user '{}' not found", name));
    user = it->second;
  }
  for (const auto& b : user.bindings()) {
    if (SameBinding(b, binding)) return user;
  }
  if (static_cast<size_t>(user.bindings_size()) >= kMaxBindingsPerUser) {
    return ResourceExhausted(
        fmt::format("user '{}': at most {} bindings", name, kMaxBindingsPerUser));
  }
  *user.add_bindings() = binding;
  BATON_RETURN_IF_ERROR(Write({PutOp(UserKey(name), user)}, audit));
  std::unique_lock lock(mu_);
  users_[name] = user;
  return user;
}

Result<v1::User> Principals::Unbind(const std::string& name, const v1::RoleBinding& binding,
                                    const store::Op* audit) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  v1::User user;
  {
    std::shared_lock lock(mu_);
    auto it = users_.find(name);
    if (it == users_.end()) return NotFound(fmt::format("user '{}' not found", name));
    user = it->second;
  }
  auto* bs = user.mutable_bindings();
  auto it = std::find_if(bs->begin(), bs->end(),
                         [&](const v1::RoleBinding& b) { return SameBinding(b, binding); });
  if (it == bs->end()) {
    return NotFound(fmt::format("user '{}' has no binding {}", name, BindingName(binding)));
  }
  bs->erase(it);
  BATON_RETURN_IF_ERROR(Write({PutOp(UserKey(name), user)}, audit));
  std::unique_lock lock(mu_);
  users_[name] = user;
  return user;
}

Result<Principals::NewToken> Principals::CreateToken(const std::string& user,
                                                     const std::string& description,
                                                     int64_t ttl_seconds,
                                                     const std::string& created_by,
                                                     const store::Op* audit) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  return MintLocked(user, description, ttl_seconds, created_by, audit);
}

Result<Principals::NewToken> Principals::MintLocked(
    const std::string& user, const std::string& description, int64_t ttl_seconds,
    const std::string& created_by, const store::Op* audit, const std::string& adopt) {
  if (description.size() > 256) return InvalidArgument("description: at most 256 bytes");
  if (ttl_seconds < 0 || ttl_seconds > kMaxTtlSeconds) {
    return InvalidArgument(
        fmt::format("ttl_seconds: must be between 0 (never expires) and {} (10 years), got {}",
                    kMaxTtlSeconds, ttl_seconds));
  }
  const Time now = clock_->Now();
  {
    std::shared_lock lock(mu_);
    if (!users_.count(user)) return NotFound(fmt::format("user '{}' not found", user));
    size_t live = 0;
    for (const auto& [id, st] : tokens_) {
      if (st.token().user() == user && !st.token().revoked() && !Expired(st.token(), now)) {
        ++live;
      }
    }
    if (live >= kMaxTokensPerUser) {
      return ResourceExhausted(fmt::format(
          "user '{}' has {} live tokens (the most allowed): revoke some first", user, live));
    }
  }
  auth::ApiToken token;
  if (!adopt.empty()) {
    BATON_ASSIGN_OR_RETURN(token, auth::ParseToken(adopt));
  } else {
    BATON_ASSIGN_OR_RETURN(token, auth::GenerateToken());
  }
  v1::StoredToken st;
  v1::Token* t = st.mutable_token();
  t->set_id(token.id);
  t->set_user(user);
  t->set_description(description);
  *t->mutable_create_time() = Stamp(now);
  if (ttl_seconds > 0) *t->mutable_expire_time() = Stamp(now + Seconds(ttl_seconds));
  t->set_created_by(created_by);
  st.set_secret_sha256(auth::HashSecret(token.secret));
  {
    std::shared_lock lock(mu_);
    if (tokens_.count(token.id)) {
      return Status(StatusCode::kAlreadyExists, fmt::format("token {} already exists", token.id));
    }
  }
  BATON_RETURN_IF_ERROR(Write({PutOp(TokenKey(token.id), st)}, audit));
  {
    std::unique_lock lock(mu_);
    tokens_[token.id] = st;
  }
  return NewToken{st.token(), token.ToString()};
}

Result<v1::Token> Principals::Revoke(const std::string& id, const store::Op* audit) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  v1::StoredToken st;
  {
    std::shared_lock lock(mu_);
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound(fmt::format("token {} not found", id.substr(0, 64)));
    st = it->second;
  }
  if (st.token().revoked()) return st.token();
  st.mutable_token()->set_revoked(true);
  *st.mutable_token()->mutable_revoke_time() = Stamp(clock_->Now());
  BATON_RETURN_IF_ERROR(Write({PutOp(TokenKey(id), st)}, audit));
  std::unique_lock lock(mu_);
  tokens_[id] = st;
  return st.token();
}

std::vector<v1::User> Principals::Users() const {
  std::shared_lock lock(mu_);
  std::vector<v1::User> out;
  for (const auto& [name, u] : users_) out.push_back(u);
  return out;
}

std::vector<v1::Token> Principals::Tokens(const std::string& user, bool all) const {
  const Time now = clock_->Now();
  std::shared_lock lock(mu_);
  std::vector<v1::Token> out;
  for (const auto& [id, st] : tokens_) {
    if (!user.empty() && st.token().user() != user) continue;
    if (!all && (st.token().revoked() || Expired(st.token(), now))) continue;
    out.push_back(st.token());
  }
  return out;
}

std::optional<v1::Token> Principals::FindToken(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = tokens_.find(id);
  if (it == tokens_.end()) return std::nullopt;
  return it->second.token();
}

}  // namespace baton::server
