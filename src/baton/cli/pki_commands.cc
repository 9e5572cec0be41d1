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
  return c;
}

namespace {

int CreateToken(const PkiFlags& f, std::ostream& out, std::ostream& err) {
  auto tls = ResolveTls(f.common);
  if (!tls.ok()) {
    err << "baton: " << tls.status().message() << "\n";
    return 2;
  }
  const std::string token = auth::ResolveToken(f.common.token);
  if (!tls->enabled() || (tls->cert_pem.empty() && token.empty())) {
    err << "baton: bootstrap-token create: needs TLS (--ca-file) and a cluster-admin token "
           "(--token, `baton login`) or a user certificate (--cert-file, --key-file; batond "
           "writes one to <tls-dir>/admin.crt)\n";
    return 2;
  }
  auto cp = ControlPlane::Connect(ResolveServer(f.common.server), kConnectTimeout, token, *tls);
  if (!cp.ok()) {
    err << "baton: " << cp.status().message() << "\n";
    return 1;
  }
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

}  // namespace

std::optional<int> RunPkiCommands(const PkiCommands& c, const PkiFlags& f, std::ostream& out,
                                  std::ostream& err, const Clock& clock) {
  if (c.token_create != nullptr && c.token_create->parsed()) return CreateToken(f, out, err);
  if (c.cert_issue != nullptr && c.cert_issue->parsed()) return IssueCert(f, out, err, clock);
  return std::nullopt;
}

}  // namespace baton::cli
