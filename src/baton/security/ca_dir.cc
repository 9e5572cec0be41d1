#include "baton/security/ca_dir.h"

#include <fmt/format.h>

#include <optional>

#include "baton/security/files.h"

namespace baton::security {
namespace {

// The admin certificate on disk is kept while it verifies against `ca` and has more than
// a third of its life left.
bool AdminCertGood(const CertificateAuthority& ca, const std::string& cert_file,
                   const std::string& key_file, Time now) {
  auto cert = ReadFile(cert_file);
  auto key = ReadFile(key_file);
  if (!cert.ok() || !key.ok() || !CheckKeyMatches(*key, *cert).ok()) return false;
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  if (!verifier.ok()) return false;
  auto id = verifier->Verify(*cert, "", now, Purpose::kClient);
  if (!id.ok() || id->kind != PeerKind::kUser) return false;
  return now < id->not_after - (id->not_after - id->not_before) / 3;
}

}  // namespace

Result<ServerPki> OpenCaDir(const CaDirOptions& o, Time now) {
  if (o.dir.empty()) return InvalidArgument("--tls-dir: required");
  if (o.ca_cert_file.empty() != o.ca_key_file.empty()) {
    return InvalidArgument(o.ca_cert_file.empty() ? "--tls-ca-cert: required with --tls-ca-key"
                                                  : "--tls-ca-key: required with --tls-ca-cert");
  }
  const std::string ca_file = o.dir + "/ca.crt";
  const std::string ca_key_file = o.dir + "/ca.key";
  std::optional<CertificateAuthority> ca;
  bool generated = false;
  if (!o.ca_cert_file.empty()) {
    auto bundle = ReadFile(o.ca_cert_file);
    if (!bundle.ok()) return bundle.status().WithPrefix("--tls-ca-cert");
    auto key = ReadFile(o.ca_key_file);
    if (!key.ok()) return key.status().WithPrefix("--tls-ca-key");
    auto loaded = CertificateAuthority::FromPem(*bundle, *key, now);
    if (!loaded.ok()) return loaded.status().WithPrefix("--tls-ca-cert");
    ca = std::move(*loaded);
  } else if (FileExists(ca_file) || FileExists(ca_key_file)) {
    auto bundle = ReadFile(ca_file);
    if (!bundle.ok()) return bundle.status().WithPrefix("--tls-dir");
    auto key = ReadFile(ca_key_file);
    if (!key.ok()) return key.status().WithPrefix("--tls-dir");
    auto loaded = CertificateAuthority::FromPem(*bundle, *key, now);
    if (!loaded.ok()) return loaded.status().WithPrefix(fmt::format("--tls-dir: {}", ca_file));
    ca = std::move(*loaded);
  } else if (!o.may_generate) {
    return FailedPrecondition(fmt::format(
        "--tls-ca-cert/--tls-ca-key: required here (replicas of one control plane must share "
        "a CA, so none is generated); or place ca.crt and ca.key in {}",
        o.dir));
  } else {
    auto made = CertificateAuthority::Generate(fmt::format("baton cluster CA {}", FormatTime(now)),
                                               now, o.ca_validity);
    if (!made.ok()) return made.status();
    ca = std::move(*made);
    generated = true;
    BATON_RETURN_IF_ERROR(WriteFileAtomic(ca_key_file, ca->key_pem(), 0600));
  }
  // ca.crt always mirrors the CA in use, so agents and CLIs can be pointed at it.
  BATON_RETURN_IF_ERROR(WriteFileAtomic(ca_file, ca->bundle_pem(), 0644));

  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  hosts.insert(hosts.end(), o.hosts.begin(), o.hosts.end());
  IssueOptions io;
  io.now = now;
  io.validity = o.server_validity;
  io.backdate = Seconds(300);
  auto server = ca->IssueServer(hosts, o.server_name, io);
  if (!server.ok()) return server.status().WithPrefix("--tls-hostnames");

  ServerPki out{std::move(*ca), std::move(*server)};
  out.server.cert_pem += out.ca.bundle_pem();
  out.generated = generated;
  out.ca_file = ca_file;
  out.server_cert_file = o.dir + "/server.crt";
  out.server_key_file = o.dir + "/server.key";
  out.admin_cert_file = o.dir + "/admin.crt";
  out.admin_key_file = o.dir + "/admin.key";
  BATON_RETURN_IF_ERROR(WriteFileAtomic(out.server_key_file, out.server.key_pem, 0600));
  BATON_RETURN_IF_ERROR(WriteFileAtomic(out.server_cert_file, out.server.cert_pem, 0644));
  if (!AdminCertGood(out.ca, out.admin_cert_file, out.admin_key_file, now)) {
    IssueOptions ao = io;
    ao.validity = o.admin_validity;
    BATON_ASSIGN_OR_RETURN(Issued admin, out.ca.IssueClient(PeerKind::kUser, "admin", ao));
    BATON_RETURN_IF_ERROR(WriteFileAtomic(out.admin_key_file, admin.key_pem, 0600));
    BATON_RETURN_IF_ERROR(
        WriteFileAtomic(out.admin_cert_file, admin.cert_pem + out.ca.bundle_pem(), 0600));
  }
  return out;
}

}  // namespace baton::security
