#include "baton/cli/pki_commands.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "baton/auth/credentials.h"
#include "baton/security/files.h"
#include "baton/security/pki.h"
#include "baton/v1/pki.grpc.pb.h"

namespace baton::cli {

PkiCommands AddPkiCommands(CLI::App& app, PkiFlags& f) {
  PkiCommands c;
  CLI::App* token = app.add_subcommand("bootstrap-token", "Tokens agents join the cluster with");
  token->require_subcommand(1);
  c.token_create = token->add_subcommand(
      "create", "Create a bootstrap token (needs a user certificate: --cert-file/--key-file)");
  c.token_create->add_option("--uses", f.uses, "Joins it allows (machines)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  c.token_create->add_option("--ttl", f.ttl_s, "Seconds it may be used (at most 7 days)")
      ->check(CLI::Range(1.0, 7.0 * 24 * 3600))
      ->capture_default_str();
  c.token_create->add_option("--node", f.node, "Only this node may join with it");
  c.token_create->add_option("--description", f.description, "A note kept with the token");
  AddClientFlags(c.token_create, f.common);

  CLI::App* cert = app.add_subcommand("cert", "Client certificates from the cluster CA");
  cert->require_subcommand(1);
  c.cert_issue = cert->add_subcommand(
      "issue", "Sign a user certificate with the CA's key (offline, on the CA's machine)");
  c.cert_issue->add_option("--user", f.user, "The user the certificate names")->required();
  c.cert_issue->add_option("--ca-cert", f.ca_cert, "The CA certificate (batond's ca.crt)")
      ->required();
  c.cert_issue->add_option("--ca-key", f.ca_key, "The CA key (batond's ca.key)")->required();
  c.cert_issue->add_option("--out", f.out, "Writes OUT.crt and OUT.key (0600)")->required();
  c.cert_issue->add_option("--days", f.days, "Validity in days")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();

  c.cert_revoke = cert->add_subcommand(
      "revoke",
      "Revoke certificates now: all of a node's (it must join again with a new bootstrap "
      "token) or one (cluster-admin)");
  auto* by_node =
      c.cert_revoke->add_option("--node", f.revoke_node, "Every unexpired certificate of this node");
  auto* by_serial = c.cert_revoke->add_option(
      "--serial", f.revoke_serial, "One certificate by serial number (as `baton cert list` shows)");
  auto* by_file = c.cert_revoke->add_option(
      "--certificate", f.revoke_certificate,
      "One certificate by its PEM file (e.g. a user certificate from `baton cert issue`)");
  by_node->excludes(by_serial)->excludes(by_file);
  by_serial->excludes(by_file);
  c.cert_revoke->add_option("--reason", f.reason, "Why (kept with it and in the audit log)");
  AddClientFlags(c.cert_revoke, f.common);

  c.cert_list = cert->add_subcommand(
      "list", "The unexpired certificates batond issued, and the revoked ones (cluster-admin)");
  c.cert_list->add_option("--name", f.list_name, "Only this node's or user's");
  AddClientFlags(c.cert_list, f.common);
  return c;
}

namespace {

// A connection for the Pki service's admin methods (TLS, and a token or a user
// certificate), or the exit code after saying why not.
Result<std::unique_ptr<ControlPlane>> ConnectPki(const PkiFlags& f, std::string_view command,
                                                 std::ostream& err, int* code) {
  auto tls = ResolveTls(f.common);
  if (!tls.ok()) {
    err << "baton: " << tls.status().message() << "\n";
    *code = 2;
    return tls.status();
  }
  const std::string token = auth::ResolveToken(f.common.token);
  if (!tls->enabled() || (tls->cert_pem.empty() && token.empty())) {
    err << "baton: " << command
        << ": needs TLS (--ca-file, or `baton login` with a CA) and a cluster-admin token "
           "(--token, `baton login`) or a user certificate (--cert-file, --key-file; batond "
           "writes one to <tls-dir>/admin.crt)\n";
    *code = 2;
    return InvalidArgument("no TLS");
  }
  auto cp = ControlPlane::Connect(ResolveServer(f.common.server), kConnectTimeout, token, *tls);
  if (!cp.ok()) {
    err << "baton: " << cp.status().message() << "\n";
    *code = 1;
  }
  return cp;
}

std::string Stamp(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? "-" : FormatTimestamp(t) + " UTC";
}

int CreateToken(const PkiFlags& f, std::ostream& out, std::ostream& err) {
  int code = 0;
  auto cp = ConnectPki(f, "bootstrap-token create", err, &code);
  if (!cp.ok()) return code;
  auto stub = v1::Pki::NewStub((*cp)->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  v1::CreateBootstrapTokenRequest req;
  req.set_ttl_seconds(static_cast<int64_t>(f.ttl_s));
  req.set_uses(f.uses);
  req.set_node_name(f.node);
  req.set_description(f.description);
  v1::BootstrapToken resp;
  grpc::Status s = stub->CreateBootstrapToken(&ctx, req, &resp);
  if (!s.ok()) {
    err << "baton: bootstrap-token create: " << (*cp)->Describe(s) << "\n";
    return 1;
  }
  out << resp.token() << "\n";
  err << fmt::format("token {}: {} join(s), until {} UTC{}\n", resp.id(), resp.uses(),
                     FormatTimestamp(resp.expires_at()),
                     resp.node_name().empty() ? "" : ", only for node " + resp.node_name());
  return 0;
}

int IssueCert(const PkiFlags& f, std::ostream& out, std::ostream& err, const Clock& clock) {
  auto bundle = security::ReadFile(f.ca_cert);
  if (!bundle.ok()) {
    err << "baton: --ca-cert: " << bundle.status().message() << "\n";
    return 2;
  }
  auto key = security::ReadFile(f.ca_key);
  if (!key.ok()) {
    err << "baton: --ca-key: " << key.status().message() << "\n";
    return 2;
  }
  auto ca = security::CertificateAuthority::FromPem(*bundle, *key, clock.Now());
  if (!ca.ok()) {
    err << "baton: " << ca.status().message() << "\n";
    return 2;
  }
  security::IssueOptions o;
  o.now = clock.Now();
  o.validity = Seconds(int64_t{f.days} * 24 * 3600);
  o.backdate = Seconds(300);
  auto issued = ca->IssueClient(security::PeerKind::kUser, f.user, o);
  if (!issued.ok()) {
    err << "baton: --user: " << issued.status().message() << "\n";
    return 2;
  }
  for (const auto& [path, data] :
       {std::pair{f.out + ".key", issued->key_pem},
        std::pair{f.out + ".crt", issued->cert_pem + ca->bundle_pem()}}) {
    if (Status s = security::WriteFileAtomic(path, data, 0600); !s.ok()) {
      err << "baton: --out: " << s.message() << "\n";
      return 1;
    }
  }
  out << fmt::format("wrote {0}.crt and {0}.key: user {1}, valid until {2} UTC\n", f.out, f.user,
                     FormatTime(issued->not_after));
  return 0;
}

int RevokeCerts(const PkiFlags& f, std::ostream& out, std::ostream& err) {
  v1::RevokeCertificatesRequest req;
  req.set_node_name(f.revoke_node);
  req.set_serial(f.revoke_serial);
  req.set_reason(f.reason);
  if (!f.revoke_certificate.empty()) {
    auto pem = security::ReadFile(f.revoke_certificate);
    if (!pem.ok()) {
      err << "baton: --certificate: " << pem.status().message() << "\n";
      return 2;
    }
    req.set_certificate_pem(*pem);
  }
  if (f.revoke_node.empty() && f.revoke_serial.empty() && f.revoke_certificate.empty()) {
    err << "baton: cert revoke: give --node, --serial or --certificate\n";
    return 2;
  }
  int code = 0;
  auto cp = ConnectPki(f, "cert revoke", err, &code);
  if (!cp.ok()) return code;
  auto stub = v1::Pki::NewStub((*cp)->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  v1::RevokeCertificatesResponse resp;
  grpc::Status s = stub->RevokeCertificates(&ctx, req, &resp);
  if (!s.ok()) {
    err << "baton: cert revoke: " << (*cp)->Describe(s) << "\n";
    return 1;
  }
  for (const auto& c : resp.revoked()) {
    out << fmt::format("revoked {} {}'s certificate {} (valid until {})\n", c.kind(), c.name(),
                       c.serial(), Stamp(c.not_after()));
  }
  return 0;
}

int ListCerts(const PkiFlags& f, std::ostream& out, std::ostream& err) {
  int code = 0;
  auto cp = ConnectPki(f, "cert list", err, &code);
  if (!cp.ok()) return code;
  auto stub = v1::Pki::NewStub((*cp)->channel());
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  v1::ListCertificatesRequest req;
  req.set_name(f.list_name);
  v1::ListCertificatesResponse resp;
  grpc::Status s = stub->ListCertificates(&ctx, req, &resp);
  if (!s.ok()) {
    err << "baton: cert list: " << (*cp)->Describe(s) << "\n";
    return 1;
  }
  out << fmt::format("{:<6} {:<20} {:<34} {:<24} {:<24} {}\n", "KIND", "NAME", "SERIAL",
                     "ISSUED", "NOT AFTER", "REVOKED");
  for (const auto& c : resp.certificates()) {
    std::string revoked = "-";
    if (c.revoked()) {
      revoked = fmt::format("{} by {}{}{}", Stamp(c.revoked_at()), c.revoked_by(),
                            c.reason().empty() ? "" : ": ", c.reason());
    }
    out << fmt::format("{:<6} {:<20} {:<34} {:<24} {:<24} {}\n", c.kind(), c.name(), c.serial(),
                       Stamp(c.issued_at()), Stamp(c.not_after()), revoked);
  }
  return 0;
}

}  // namespace

std::optional<int> RunPkiCommands(const PkiCommands& c, const PkiFlags& f, std::ostream& out,
                                  std::ostream& err, const Clock& clock) {
  if (c.token_create != nullptr && c.token_create->parsed()) return CreateToken(f, out, err);
  if (c.cert_issue != nullptr && c.cert_issue->parsed()) return IssueCert(f, out, err, clock);
  if (c.cert_revoke != nullptr && c.cert_revoke->parsed()) return RevokeCerts(f, out, err);
  if (c.cert_list != nullptr && c.cert_list->parsed()) return ListCerts(f, out, err);
  return std::nullopt;
}

}  // namespace baton::cli
