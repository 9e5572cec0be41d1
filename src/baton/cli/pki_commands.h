// The `baton` commands of the cluster's PKI (docs/tls.md):
//
//   baton bootstrap-token create [--uses N] [--ttl SECONDS] [--node NAME] [--description T]
//       asks batond (Pki.CreateBootstrapToken, over mutual TLS with a user certificate such
//       as batond's <tls-dir>/admin.crt) for a token an agent joins with; prints it.
//   baton cert issue --user NAME --ca-cert FILE --ca-key FILE --out PREFIX [--days N]
//       an operator's offline step: signs a user client certificate with the CA's key
//       (PREFIX.crt, PREFIX.key 0600) for people or CI who use mutual TLS.
//   baton cert revoke (--node NAME | --serial HEX | --certificate FILE) [--reason TEXT]
//       asks batond (Pki.RevokeCertificates, cluster-admin) to revoke a node's certificates
//       or one certificate; prints what was revoked.
//   baton cert list [--name NAME]
//       the unexpired certificates batond issued, and the revoked ones (cluster-admin).
//
// Thread-safety: none needed (one command per process).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "baton/cli/client.h"
#include "baton/common/time.h"

namespace baton::cli {

struct PkiFlags {
  ClientFlags common;
  // bootstrap-token create
  int32_t uses = 1;
  double ttl_s = 3600;
  std::string node;
  std::string description;
  // cert issue
  std::string user;
  std::string ca_cert;
  std::string ca_key;
  std::string out;
  int days = 90;
  // cert revoke / list
  std::string revoke_node;
  std::string revoke_serial;
  std::string revoke_certificate;
  std::string reason;
  std::string list_name;
};

struct PkiCommands {
  CLI::App* token_create = nullptr;
  CLI::App* cert_issue = nullptr;
  CLI::App* cert_revoke = nullptr;
  CLI::App* cert_list = nullptr;
};

PkiCommands AddPkiCommands(CLI::App& app, PkiFlags& flags);
// nullopt when none of them was parsed.
std::optional<int> RunPkiCommands(const PkiCommands& commands, const PkiFlags& flags,
                                  std::ostream& out, std::ostream& err, const Clock& clock);

}  // namespace baton::cli
