// The `baton` commands of security (docs/security.md): credentials, users, tokens, the
// audit log and queue quotas.
//
//   login [--token T | --token-file F]   check a token (WhoAmI) and save it with the
//                                        server in the credentials file (0600)
//   logout                               delete the credentials file
//   whoami                               the token's user, roles and expiry
//   user create NAME [--bind ROLE[@QUEUE]]...   user list
//   user bind NAME ROLE[@QUEUE]          user unbind NAME ROLE[@QUEUE]
//   token create USER [--ttl 30d] [--description D]   prints the token once
//   token list [--user U] [--all]        token revoke ID
//   audit [--user U] [--action A] [--outcome O] [--since 1h|TIME] [--until TIME]
//         [--limit N] [-o table|json|jsonl]
//   queue set NAME [--parent P] [--quota GPUS] [--limit GPUS] [--weight W] [--priority P]
//
// Roles: viewer, submitter, queue-admin (on a queue: "submitter@team-a", "viewer@*"),
// cluster-admin, agent. Durations: "90s", "15m", "12h", "30d" or plain seconds. Times:
// "2026-01-02T03:04:05Z". Exit status as the other client commands (client_commands.h).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "baton/cli/client.h"
#include "baton/common/status.h"

namespace baton::cli {

struct AuthCommands {
  ClientFlags common;

  CLI::App* login = nullptr;
  std::string login_token_file;
  CLI::App* logout = nullptr;
  CLI::App* whoami = nullptr;

  CLI::App* user = nullptr;
  CLI::App* user_create = nullptr;
  CLI::App* user_list = nullptr;
  CLI::App* user_bind = nullptr;
  CLI::App* user_unbind = nullptr;
  std::string user_name;
  std::vector<std::string> user_bindings;  // create: --bind; bind/unbind: one positional

  CLI::App* token = nullptr;
  CLI::App* token_create = nullptr;
  CLI::App* token_list = nullptr;
  CLI::App* token_revoke = nullptr;
  std::string token_user;
  std::string token_ttl;
  std::string token_description;
  bool token_all = false;
  std::string token_id;

  CLI::App* audit = nullptr;
  std::string audit_user;
  std::string audit_action;
  std::string audit_outcome;
  std::string audit_since;
  std::string audit_until;
  int32_t audit_limit = 0;

  CLI::App* queue = nullptr;
  CLI::App* queue_set = nullptr;
  std::string queue_name;
  std::optional<std::string> queue_parent;
  std::optional<std::string> queue_quota;
  std::optional<std::string> queue_limit;
  std::optional<int32_t> queue_weight;
  std::optional<int32_t> queue_priority;
};

void AddAuthCommands(CLI::App& app, AuthCommands& c);
// The exit status of the selected command; nullopt when none of these was selected.
std::optional<int> RunAuthCommands(const AuthCommands& c, std::ostream& out, std::ostream& err);

// "30d", "12h", "15m", "90s", "3600" -> seconds. InvalidArgument naming `field`.
Result<int64_t> ParseDurationSeconds(std::string_view text, std::string_view field);

}  // namespace baton::cli
