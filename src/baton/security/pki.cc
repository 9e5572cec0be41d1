// Keys, CSRs, certificate parsing and baton identities (pki.h). The CA is in ca.cc, chain
// verification in verify.cc.
#include "baton/security/pki.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <optional>

#include "baton/security/openssl_util.h"

namespace baton::security {

using internal::OpenSslError;

namespace {

constexpr std::string_view kNodeScheme = "baton-node:";
constexpr std::string_view kUserScheme = "baton-user:";
constexpr std::string_view kControlPlaneScheme = "baton-control-plane:";

std::string Asn1String(const ASN1_STRING* s) {
  if (s == nullptr) return "";
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::string CommonName(const X509_NAME* name) {
  if (name == nullptr) return "";
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  return Asn1String(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

std::string IpToString(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {0};
  const unsigned char* d = ASN1_STRING_get0_data(ip);
  if (ASN1_STRING_length(ip) == 4) {
    inet_ntop(AF_INET, d, buf, sizeof(buf));
  } else if (ASN1_STRING_length(ip) == 16) {
    inet_ntop(AF_INET6, d, buf, sizeof(buf));
  }
  return buf;
}

std::string SerialHex(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace

namespace internal {
// Shared with ca.cc and verify.cc (declared there).
CertInfo InfoOf(X509* cert) {
  CertInfo info;
  info.subject_cn = CommonName(X509_get_subject_name(cert));
  info.issuer_cn = CommonName(X509_get_issuer_name(cert));
  info.not_before = FromAsn1(X509_get0_notBefore(cert));
  info.not_after = FromAsn1(X509_get0_notAfter(cert));
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  info.serial = SerialHex(cert);
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      switch (g->type) {
        case GEN_DNS:
          info.dns_names.push_back(Asn1String(g->d.dNSName));
          break;
        case GEN_URI:
          info.uris.push_back(Asn1String(g->d.uniformResourceIdentifier));
          break;
        case GEN_IPADD:
          info.ip_addresses.push_back(IpToString(g->d.iPAddress));
          break;
        default:
          break;
      }
    }
    GENERAL_NAMES_free(names);
  }
  return info;
}

Result<CertIdentity> IdentityOfInfo(const CertInfo& info) {
  std::optional<CertIdentity> found;
  for (const std::string& uri : info.uris) {
    CertIdentity id;
    std::string_view u = uri;
    if (u.starts_with(kNodeScheme)) {
      id.kind = PeerKind::kNode;
      id.name = std::string(u.substr(kNodeScheme.size()));
    } else if (u.starts_with(kUserScheme)) {
      id.kind = PeerKind::kUser;
      id.name = std::string(u.substr(kUserScheme.size()));
    } else if (u.starts_with(kControlPlaneScheme)) {
      id.kind = PeerKind::kControlPlane;
      id.name = std::string(u.substr(kControlPlaneScheme.size()));
    } else {
      continue;
    }
    if (found) {
      return InvalidArgument(fmt::format(
          "certificate '{}' carries more than one baton identity URI", info.subject_cn));
    }
    found = std::move(id);
  }
  if (!found) {
    return InvalidArgument(
        fmt::format("certificate '{}' carries no baton identity (no baton-node:, baton-user: or "
                    "baton-control-plane: URI)",
                    info.subject_cn));
  }
  if (Status s = ValidateCertName(found->name, "certificate identity"); !s.ok()) return s;
  if (found->name != info.subject_cn) {
    return InvalidArgument(
        fmt::format("certificate names '{}' in its CN but '{}' in its identity URI",
                    info.subject_cn, found->name));
  }
  found->not_before = info.not_before;
  found->not_after = info.not_after;
  found->serial = info.serial;
  return *found;
}
}  // namespace internal

std::string_view PeerKindName(PeerKind kind) {
  switch (kind) {
    case PeerKind::kNode:
      return "node";
    case PeerKind::kUser:
      return "user";
    case PeerKind::kControlPlane:
      return "control-plane";
  }
  return "unknown";
}

Status ValidateCertName(std::string_view name, std::string_view field) {
  if (name.empty()) return InvalidArgument(fmt::format("{}: must not be empty", field));
  if (name.size() > 253) {
    return InvalidArgument(fmt::format("{}: longer than 253 characters", field));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      return InvalidArgument(
          fmt::format("{}: '{}' may only hold letters, digits, '-', '.' and '_'", field, name));
    }
  }
  return Status::Ok();
}

std::string IdentityUri(PeerKind kind, std::string_view name) {
  switch (kind) {
    case PeerKind::kNode:
      return fmt::format("{}{}", kNodeScheme, name);
    case PeerKind::kUser:
      return fmt::format("{}{}", kUserScheme, name);
    case PeerKind::kControlPlane:
      return fmt::format("{}{}", kControlPlaneScheme, name);
  }
  return "";
}

std::string NodeDnsName(std::string_view node) {
  return fmt::format("{}.node.baton.invalid", node);
}

Result<std::string> GenerateKey() {
  internal::PKey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError(StatusCode::kInternal, "generate EC P-256 key");
  return internal::WritePrivateKey(key.get());
}

Result<std::string> MakeCsr(std::string_view key_pem, std::string_view common_name) {
  BATON_ASSIGN_OR_RETURN(internal::PKey key, internal::ReadPrivateKey(key_pem, "key"));
  internal::Req req(X509_REQ_new());
  internal::Name name(X509_NAME_new());
  if (!req || !name || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return OpenSslError(StatusCode::kInternal, "make certificate request");
  }
  return internal::WriteCsr(req.get());
}

Result<CertInfo> ParseCertificate(std::string_view pem) {
  BATON_ASSIGN_OR_RETURN(internal::Cert cert, internal::ReadCertificate(pem, "certificate"));
  return internal::InfoOf(cert.get());
}

Result<CertIdentity> IdentityOf(std::string_view pem) {
  BATON_ASSIGN_OR_RETURN(CertInfo info, ParseCertificate(pem));
  return internal::IdentityOfInfo(info);
}

Status CheckKeyMatches(std::string_view key_pem, std::string_view cert_pem) {
  BATON_ASSIGN_OR_RETURN(internal::PKey key, internal::ReadPrivateKey(key_pem, "key"));
  BATON_ASSIGN_OR_RETURN(internal::Cert cert, internal::ReadCertificate(cert_pem, "certificate"));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument("the private key does not belong to the certificate");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SplitCertificates(std::string_view pem, std::string_view what) {
  BATON_ASSIGN_OR_RETURN(std::vector<internal::Cert> certs, internal::ReadCertificates(pem, what));
  std::vector<std::string> out;
  for (auto& c : certs) out.push_back(internal::WriteCertificate(c.get()));
  return out;
}

}  // namespace baton::security
