#include "baton/cli/auth_commands.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/authz.h"
#include "baton/v1/auth.grpc.pb.h"
#include "baton/v1/cluster.grpc.pb.h"

namespace baton::cli {
namespace {

using google::protobuf::util::TimeUtil;

int Fail(std::ostream& err, std::string_view cmd, std::string_view message) {
  err << "baton: " << cmd << ": " << message << "\n";
  return 1;
}

std::unique_ptr<ControlPlane> Dial(const ClientFlags& flags, std::ostream& err) {
  auto cp = ControlPlane::Connect(flags);
  if (!cp.ok()) {
    err << "baton: " << cp.status().message() << "\n";
    return nullptr;
  }
  return std::move(cp).value();
}

int RpcFail(const ControlPlane& cp, std::string_view cmd, const grpc::Status& s,
            std::ostream& err) {
  if (cp.IsUnreachable(s)) {
    err << "baton: " << cp.Describe(s) << "\n";
    return 1;
  }
  return Fail(err, cmd, cp.Describe(s));
}

// "submitter@team-a" / "cluster-admin" -> a binding; InvalidArgument otherwise.
Result<v1::RoleBinding> ParseBinding(const std::string& text) {
  v1::RoleBinding b;
  const size_t at = text.find('@');
  const std::string role = text.substr(0, at);
  auto r = server::ParseRole(role);
  if (!r) {
    return InvalidArgument(fmt::format(
        "'{}': the role must be viewer, submitter, queue-admin, cluster-admin or agent", role));
  }
  b.set_role(*r);
  if (at != std::string::npos) b.set_queue(text.substr(at + 1));
  BATON_RETURN_IF_ERROR(server::ValidateBinding(b, text));
  return b;
}

std::string Bindings(const google::protobuf::RepeatedPtrField<v1::RoleBinding>& bs) {
  std::string out;
  for (const auto& b : bs) {
    if (!out.empty()) out += ",";
    out += server::BindingName(b);
  }
  return out.empty() ? "-" : out;
}

// A time given as "1h" (that long ago) or "2026-01-02T03:04:05Z".
Result<google::protobuf::Timestamp> ParseWhen(const std::string& text, std::string_view field) {
  google::protobuf::Timestamp ts;
  if (TimeUtil::FromString(text, &ts)) return ts;
  auto ago = ParseDurationSeconds(text, field);
  if (!ago.ok()) {
    return InvalidArgument(fmt::format(
        "{}: '{}' is neither a duration (90s, 15m, 12h, 30d) nor a time (2026-01-02T03:04:05Z)",
        field, text));
  }
  return TimeUtil::SecondsToTimestamp(TimeUtil::TimestampToSeconds(TimeUtil::GetCurrentTime()) -
                                      *ago);
}

int RunLogin(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  std::string token = c.common.token;
  if (token.empty() && !c.login_token_file.empty()) {
    auto t = auth::ReadTokenFile(c.login_token_file);
    if (!t.ok()) return Fail(err, "login", t.status().message());
    token = *t;
  }
  if (token.empty()) {
    if (const char* env = std::getenv("BATON_TOKEN"); env && *env) token = env;
  }
  if (token.empty()) {
    if (isatty(STDIN_FILENO)) err << "Token: " << std::flush;
    std::getline(std::cin, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
  }
  if (token.empty()) {
    return Fail(err, "login", "no token: pass --token, --token-file, or type it on stdin");
  }
  if (auto parsed = auth::ParseToken(token); !parsed.ok()) {
    return Fail(err, "login", parsed.status().message());
  }
  ClientFlags flags = c.common;
  flags.token = token;
  const std::string server = ResolveServer(flags.server);
  flags.server = server;
  auto cp = Dial(flags, err);
  if (!cp) return 1;
  auto stub = v1::Auth::NewStub(cp->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  v1::WhoAmIResponse me;
  grpc::Status s = stub->WhoAmI(&ctx, v1::WhoAmIRequest(), &me);
  if (!s.ok()) return RpcFail(*cp, "login", s, err);
  const std::string path = auth::CredentialsPath();
  // The CA this login trusted is saved with it, so later commands speak TLS without flags.
  std::string ca_file = ResolveCaFile(flags);
  if (!ca_file.empty()) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(ca_file, ec);
    if (!ec) ca_file = absolute.string();
  }
  Status saved = auth::SaveCredentials(path, {server, token, ca_file});
  if (!saved.ok()) return Fail(err, "login", saved.message());
  out << fmt::format("logged in to {} as {} ({}){}; credentials saved in {}\n", server,
                     me.user(), Bindings(me.bindings()),
                     ca_file.empty() ? "" : ", trusting the CA in " + ca_file, path);
  return 0;
}

int RunLogout(std::ostream& out, std::ostream& err) {
  const std::string path = auth::CredentialsPath();
  std::error_code ec;
  if (path.empty() || !std::filesystem::remove(path, ec)) {
    if (ec) return Fail(err, "logout", fmt::format("cannot remove {}: {}", path, ec.message()));
    out << "not logged in (no credentials file)\n";
    return 0;
  }
  out << "removed " << path << "\n";
  return 0;
}

int RunWhoAmI(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  auto stub = v1::Auth::NewStub(cp->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  v1::WhoAmIResponse me;
  grpc::Status s = stub->WhoAmI(&ctx, v1::WhoAmIRequest(), &me);
  if (!s.ok()) return RpcFail(*cp, "whoami", s, err);
  if (c.common.json()) {
    out << ToJson(me) << "\n";
    return 0;
  }
  out << fmt::format(
      "user {}\nroles {}\ntoken {} (expires {})\n", me.user(), Bindings(me.bindings()),
      me.token_id(),
      me.has_token_expire_time() ? FormatTimestamp(me.token_expire_time()) + " UTC" : "never");
  return 0;
}

void PrintUser(const v1::User& u, const ClientFlags& flags, std::ostream& out) {
  if (flags.json()) {
    out << ToJson(u) << "\n";
  } else {
    out << fmt::format("user {}: {}\n", u.name(), Bindings(u.bindings()));
  }
}

int RunUser(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  std::vector<v1::RoleBinding> bindings;
  for (const auto& text : c.user_bindings) {
    auto b = ParseBinding(text);
    if (!b.ok()) {
      err << "baton: user: " << b.status().message() << "\n";
      return 2;
    }
    bindings.push_back(*b);
  }
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  auto stub = v1::Auth::NewStub(cp->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  if (c.user_list->parsed()) {
    v1::ListUsersResponse resp;
    grpc::Status s = stub->ListUsers(&ctx, v1::ListUsersRequest(), &resp);
    if (!s.ok()) return RpcFail(*cp, "user list", s, err);
    Table table({"NAME", "ROLES", "CREATED", "BY"});
    for (const auto& u : resp.users()) {
      if (c.common.json()) {
        out << ToJson(u) << "\n";
      } else {
        table.AddRow(
            {u.name(), Bindings(u.bindings()), FormatTimestamp(u.create_time()), u.created_by()});
      }
    }
    if (!c.common.json()) table.Print(out);
    return 0;
  }
  v1::User user;
  grpc::Status s;
  if (c.user_create->parsed()) {
    v1::CreateUserRequest req;
    req.set_name(c.user_name);
    for (const auto& b : bindings) *req.add_bindings() = b;
    s = stub->CreateUser(&ctx, req, &user);
  } else {
    v1::BindRequest req;
    req.set_user(c.user_name);
    *req.mutable_binding() = bindings.at(0);
    s = c.user_bind->parsed() ? stub->Bind(&ctx, req, &user) : stub->Unbind(&ctx, req, &user);
  }
  if (!s.ok()) return RpcFail(*cp, "user", s, err);
  PrintUser(user, c.common, out);
  return 0;
}

int RunToken(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  int64_t ttl = 0;
  if (!c.token_ttl.empty()) {
    auto t = ParseDurationSeconds(c.token_ttl, "--ttl");
    if (!t.ok()) {
      err << "baton: token: " << t.status().message() << "\n";
      return 2;
    }
    ttl = *t;
  }
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  auto stub = v1::Auth::NewStub(cp->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  if (c.token_create->parsed()) {
    v1::CreateTokenRequest req;
    req.set_user(c.token_user);
    req.set_description(c.token_description);
    req.set_ttl_seconds(ttl);
    v1::CreateTokenResponse resp;
    grpc::Status s = stub->CreateToken(&ctx, req, &resp);
    if (!s.ok()) return RpcFail(*cp, "token create", s, err);
    if (c.common.json()) {
      out << ToJson(resp) << "\n";
    } else {
      // The secret alone on stdout, so `baton token create bob > bob.token` works.
      out << resp.secret() << "\n";
      err << fmt::format("token {} for {} ({}); it is not shown again\n", resp.token().id(),
                         resp.token().user(),
                         resp.token().has_expire_time()
                             ? "expires " + FormatTimestamp(resp.token().expire_time()) + " UTC"
                             : "never expires");
    }
    return 0;
  }
  if (c.token_list->parsed()) {
    v1::ListTokensRequest req;
    req.set_user(c.token_user);
    req.set_all(c.token_all);
    v1::ListTokensResponse resp;
    grpc::Status s = stub->ListTokens(&ctx, req, &resp);
    if (!s.ok()) return RpcFail(*cp, "token list", s, err);
    Table table({"ID", "USER", "CREATED", "EXPIRES", "REVOKED", "DESCRIPTION"});
    for (const auto& t : resp.tokens()) {
      if (c.common.json()) {
        out << ToJson(t) << "\n";
        continue;
      }
      table.AddRow({t.id(), t.user(), FormatTimestamp(t.create_time()),
                    t.has_expire_time() ? FormatTimestamp(t.expire_time()) : "never",
                    t.revoked() ? FormatTimestamp(t.revoke_time()) : "", t.description()});
    }
    if (!c.common.json()) table.Print(out);
    return 0;
  }
  v1::RevokeTokenRequest req;
  req.set_id(c.token_id);
  v1::Token t;
  grpc::Status s = stub->RevokeToken(&ctx, req, &t);
  if (!s.ok()) return RpcFail(*cp, "token revoke", s, err);
  if (c.common.json()) {
    out << ToJson(t) << "\n";
  } else {
    out << fmt::format("token {} of {} revoked\n", t.id(), t.user());
  }
  return 0;
}

int RunAudit(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  v1::ListAuditRequest req;
  req.set_user(c.audit_user);
  req.set_action(c.audit_action);
  req.set_outcome(c.audit_outcome);
  for (auto [text, field, ts] : {std::tuple{&c.audit_since, "--since", req.mutable_since()},
                                 std::tuple{&c.audit_until, "--until", req.mutable_until()}}) {
    if (text->empty()) continue;
    auto when = ParseWhen(*text, field);
    if (!when.ok()) {
      err << "baton: audit: " << when.status().message() << "\n";
      return 2;
    }
    *ts = *when;
  }
  if (c.audit_since.empty()) req.clear_since();
  if (c.audit_until.empty()) req.clear_until();
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  auto stub = v1::Audit::NewStub(cp->channel());
  const bool lines = c.common.output != "table";
  Table table({"TIME (UTC)", "USER", "ACTION", "OBJECT", "OUTCOME", "PEER", "DETAIL"});
  int64_t shown = 0;
  const int64_t want = c.audit_limit > 0 ? c.audit_limit : INT64_MAX;
  do {
    req.set_limit(static_cast<int32_t>(std::min<int64_t>(want - shown, 1000)));
    grpc::ClientContext ctx;
    SetCallDeadline(ctx);
    v1::ListAuditResponse resp;
    grpc::Status s = stub->List(&ctx, req, &resp);
    if (!s.ok()) return RpcFail(*cp, "audit", s, err);
    for (const auto& r : resp.records()) {
      if (lines) {
        out << ToJson(r) << "\n";
      } else {
        table.AddRow({FormatTimestamp(r.time()), r.user().empty() ? "-" : r.user(), r.action(),
                      r.object(), r.outcome(), r.peer(), r.detail().substr(0, 120)});
      }
      ++shown;
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty() && shown < want);
  if (!lines) table.Print(out);
  return 0;
}

int RunQueueSet(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  v1::UpdateQueueRequest req;
  req.set_name(c.queue_name);
  if (c.queue_parent) req.set_parent(*c.queue_parent);
  if (c.queue_quota) req.set_quota_gpus(*c.queue_quota == "none" ? "" : *c.queue_quota);
  if (c.queue_limit) req.set_limit_gpus(*c.queue_limit == "none" ? "" : *c.queue_limit);
  if (c.queue_weight) req.set_weight(*c.queue_weight);
  if (c.queue_priority) req.set_priority(*c.queue_priority);
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  v1::Queue q;
  grpc::Status s = cp->cluster().UpdateQueue(&ctx, req, &q);
  if (!s.ok()) return RpcFail(*cp, "queue set", s, err);
  if (c.common.json()) {
    out << ToJson(q) << "\n";
  } else {
    out << fmt::format("queue {}{}: quota {}, limit {}, weight {}, priority {}\n", q.name(),
                       q.parent().empty() ? "" : " (in " + q.parent() + ")",
                       q.quota_gpus().empty() ? "none" : q.quota_gpus(),
                       q.limit_gpus().empty() ? "none" : q.limit_gpus(), q.weight(), q.priority());
  }
  return 0;
}

}  // namespace

Result<int64_t> ParseDurationSeconds(std::string_view text, std::string_view field) {
  int64_t unit = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        unit = 1;
        digits.remove_suffix(1);
        break;
      case 'm':
        unit = 60;
        digits.remove_suffix(1);
        break;
      case 'h':
        unit = 3600;
        digits.remove_suffix(1);
        break;
      case 'd':
        unit = 86400;
        digits.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || n < 0 ||
      n > INT64_MAX / 86400) {
    return InvalidArgument(
        fmt::format("{}: '{}' is not a duration (a whole number of seconds, or with s, m, h or d)",
                    field, std::string(text.substr(0, 32))));
  }
  return n * unit;
}

void AddAuthCommands(CLI::App& app, AuthCommands& c) {
  c.login = app.add_subcommand(
      "login", "Check a token and save it, with the server, in ~/.config/baton/credentials");
  c.login->add_option("--token-file", c.login_token_file, "Read the token from this file");
  c.logout = app.add_subcommand("logout", "Delete the saved credentials");
  c.whoami = app.add_subcommand("whoami", "Show the user, roles and expiry of your token");

  c.user = app.add_subcommand("user", "Manage users and their roles (cluster-admin)");
  c.user->require_subcommand(1);
  c.user_create = c.user->add_subcommand("create", "Create a user");
  c.user_create->add_option("name", c.user_name, "User name")->required();
  c.user_create
      ->add_option("--bind", c.user_bindings,
                   "Role binding ROLE[@QUEUE], e.g. submitter@team-a (repeatable)")
      ->allow_extra_args(false);
  c.user_list = c.user->add_subcommand("list", "List users and their roles");
  c.user_bind = c.user->add_subcommand("bind", "Give a user a role: bind NAME ROLE[@QUEUE]");
  c.user_unbind = c.user->add_subcommand("unbind", "Take a role away: unbind NAME ROLE[@QUEUE]");
  for (CLI::App* cmd : {c.user_bind, c.user_unbind}) {
    cmd->add_option("name", c.user_name, "User name")->required();
    cmd->add_option("binding", c.user_bindings, "ROLE[@QUEUE]")->required()->expected(1);
  }

  c.token = app.add_subcommand("token", "Manage API tokens");
  c.token->require_subcommand(1);
  c.token_create = c.token->add_subcommand("create", "Create a token for a user (cluster-admin)");
  c.token_create->add_option("user", c.token_user, "Whose token")->required();
  c.token_create->add_option("--ttl", c.token_ttl,
                             "Lifetime: 90s, 15m, 12h, 30d (default: never expires)");
  c.token_create->add_option("--description", c.token_description, "What it is for");
  c.token_list =
      c.token->add_subcommand("list", "List tokens (yours, or anyone's as cluster-admin)");
  c.token_list->add_option("--user", c.token_user, "Only this user's tokens");
  c.token_list->add_flag("--all", c.token_all, "Include revoked and expired tokens");
  c.token_revoke = c.token->add_subcommand("revoke", "Revoke a token at once");
  c.token_revoke->add_option("id", c.token_id, "Token id (baton token list)")->required();

  c.audit = app.add_subcommand("audit", "Show the audit log (cluster-admin), oldest first");
  c.audit->add_option("--user", c.audit_user, "Only this user's requests");
  c.audit->add_option("--action", c.audit_action, "Only this action, e.g. jobs.submit");
  c.audit->add_option("--outcome", c.audit_outcome, "Only ok, denied or error")
      ->check(CLI::IsMember({"ok", "denied", "error"}));
  c.audit->add_option("--since", c.audit_since,
                      "From this long ago (1h, 7d) or time (default 24h)");
  c.audit->add_option("--until", c.audit_until, "Up to this long ago or time (default now)");
  c.audit->add_option("--limit", c.audit_limit, "At most N records (default: all)");

  c.queue =
      app.add_subcommand("queue", "Change queues (queue-admins of the parent, cluster-admins)");
  c.queue->require_subcommand(1);
  c.queue_set = c.queue->add_subcommand("set", "Create a queue or change its quota, durably");
  c.queue_set->add_option("name", c.queue_name, "Queue")->required();
  c.queue_set->add_option("--parent", c.queue_parent, "Parent queue (new queues only)");
  c.queue_set->add_option("--quota", c.queue_quota, "Guaranteed GPUs (\"16\", \"none\")");
  c.queue_set->add_option("--limit", c.queue_limit,
                          "Most GPUs, borrowing included (\"32\", \"none\")");
  c.queue_set->add_option("--weight", c.queue_weight, "Fair-share weight, 1..1000000");
  c.queue_set->add_option("--priority", c.queue_priority, "Priority, -1000..1000");

  for (CLI::App* cmd : {c.login, c.whoami, c.user_create, c.user_list, c.user_bind, c.user_unbind,
                        c.token_create, c.token_list, c.token_revoke, c.queue_set}) {
    AddClientFlags(cmd, c.common);
  }
  // The audit log also prints JSON lines under the name the issue uses.
  c.audit->add_option("--server", c.common.server, "Control plane address host:port");
  c.audit->add_option("--token", c.common.token, "API token");
  c.audit
      ->add_option("--output,-o", c.common.output,
                   "table, json or jsonl (both: one JSON object per line)")
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
}

std::optional<int> RunAuthCommands(const AuthCommands& c, std::ostream& out, std::ostream& err) {
  if (c.login->parsed()) return RunLogin(c, out, err);
  if (c.logout->parsed()) return RunLogout(out, err);
  if (c.whoami->parsed()) return RunWhoAmI(c, out, err);
  if (c.user->parsed()) return RunUser(c, out, err);
  if (c.token->parsed()) return RunToken(c, out, err);
  if (c.audit->parsed()) return RunAudit(c, out, err);
  if (c.queue_set->parsed()) return RunQueueSet(c, out, err);
  return std::nullopt;
}

}  // namespace baton::cli
