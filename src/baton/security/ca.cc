// CertificateAuthority (pki.h): making and loading a CA, and issuing certificates.
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>

#include "baton/security/openssl_util.h"
#include "baton/security/pki.h"

namespace baton::security {

using internal::OpenSslError;

struct CertificateAuthority::Impl {
  internal::Cert cert;  // the signing certificate (first of the bundle)
  internal::PKey key;
  std::string bundle_pem;
  std::string key_pem;
  CertInfo info;
};

namespace {

// One X509v3 extension from OpenSSL's config syntax (values here are fixed strings, never
// names from a request: those go through AddSubjectAltNames).
Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) {
    return OpenSslError(StatusCode::kInternal, fmt::format("certificate extension {}", value));
  }
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return OpenSslError(StatusCode::kInternal, "add certificate extension");
  return Status::Ok();
}

Status PushName(GENERAL_NAMES* names, int type, std::string_view value) {
  GENERAL_NAME* g = GENERAL_NAME_new();
  if (g == nullptr) return OpenSslError(StatusCode::kInternal, "subject alt name");
  if (type == GEN_IPADD) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(std::string(value).c_str());
    if (ip == nullptr) {
      GENERAL_NAME_free(g);
      return InvalidArgument(fmt::format("'{}' is not an IP address", value));
    }
    GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    if (s == nullptr || ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
      ASN1_IA5STRING_free(s);
      GENERAL_NAME_free(g);
      return OpenSslError(StatusCode::kInternal, "subject alt name");
    }
    GENERAL_NAME_set0_value(g, type, s);
  }
  sk_GENERAL_NAME_push(names, g);
  return Status::Ok();
}

bool LooksLikeIp(std::string_view host) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(std::string(host).c_str());
  ERR_clear_error();
  if (ip == nullptr) return false;
  ASN1_OCTET_STRING_free(ip);
  return true;
}

// A host name as a DNS SAN: letters, digits, '-', '.', and a leading "*." wildcard.
Status ValidateHost(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return InvalidArgument(fmt::format("host name '{}': must be 1..253 characters", host));
  }
  std::string_view rest = host.starts_with("*.") ? host.substr(2) : host;
  for (char c : rest) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      return InvalidArgument(
          fmt::format("host name '{}': may only hold letters, digits, '-', '.' and '_'", host));
    }
  }
  return Status::Ok();
}

// Builds the SAN extension from (type, value) pairs, without OpenSSL's config parser, so
// no character of a name can be read as syntax.
Status AddSubjectAltNames(X509* cert, const std::vector<std::pair<int, std::string>>& names) {
  internal::GeneralNames gens(sk_GENERAL_NAME_new_null());
  for (const auto& [type, value] : names) {
    BATON_RETURN_IF_ERROR(PushName(gens.get(), type, value));
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError(StatusCode::kInternal, "add subject alt names");
  }
  return Status::Ok();
}

Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return OpenSslError(StatusCode::kInternal, "random serial number");
  }
  bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  if (!ok) return OpenSslError(StatusCode::kInternal, "serial number");
  return Status::Ok();
}

// A version-3 certificate for `cn` over `pubkey`, valid [not_before, not_after], issued
// by `issuer` (nullptr: self-issued). Extensions and the signature come after.
Result<internal::Cert> NewCert(std::string_view cn, EVP_PKEY* pubkey, X509* issuer, Time not_before,
                               Time not_after) {
  internal::Cert cert(X509_new());
  internal::Name name(X509_NAME_new());
  if (!cert || !name || X509_set_version(cert.get(), 2) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1 ||
      X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_issuer_name(cert.get(),
                           issuer != nullptr ? X509_get_subject_name(issuer) : name.get()) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), internal::ToTimeT(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), internal::ToTimeT(not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), pubkey) != 1) {
    return OpenSslError(StatusCode::kInternal, "build certificate");
  }
  BATON_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  return cert;
}

Status CheckCsrKey(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1) {
      ERR_clear_error();
      return InvalidArgument("csr: EC key of unknown curve");
    }
    const std::string_view g(group, len);
    if (g != "prime256v1" && g != "P-256" && g != "secp384r1" && g != "P-384") {
      return InvalidArgument(fmt::format("csr: EC curve {} not accepted (use P-256 or P-384)", g));
    }
    return Status::Ok();
  }
  if (id == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) < 2048) {
      return InvalidArgument("csr: RSA key shorter than 2048 bits");
    }
    return Status::Ok();
  }
  return InvalidArgument("csr: key type not accepted (use EC P-256)");
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

const std::string& CertificateAuthority::bundle_pem() const { return impl_->bundle_pem; }
const std::string& CertificateAuthority::key_pem() const { return impl_->key_pem; }
const CertInfo& CertificateAuthority::info() const { return impl_->info; }

Result<CertificateAuthority> CertificateAuthority::Generate(std::string_view common_name, Time now,
                                                            Duration validity) {
  auto impl = std::make_unique<Impl>();
  impl->key.reset(EVP_EC_gen("P-256"));
  if (!impl->key) return OpenSslError(StatusCode::kInternal, "generate CA key");
  BATON_ASSIGN_OR_RETURN(impl->cert,
                         NewCert(common_name, impl->key.get(), nullptr, now, now + validity));
  X509* c = impl->cert.get();
  BATON_RETURN_IF_ERROR(AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  BATON_RETURN_IF_ERROR(AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  BATON_RETURN_IF_ERROR(AddExtension(c, c, NID_subject_key_identifier, "hash"));
  if (X509_sign(c, impl->key.get(), EVP_sha256()) <= 0) {
    return OpenSslError(StatusCode::kInternal, "sign CA certificate");
  }
  impl->bundle_pem = internal::WriteCertificate(c);
  impl->key_pem = internal::WritePrivateKey(impl->key.get());
  impl->info = internal::InfoOf(c);
  return CertificateAuthority(std::move(impl));
}

Result<CertificateAuthority> CertificateAuthority::FromPem(std::string_view bundle_pem,
                                                           std::string_view key_pem, Time now) {
  auto impl = std::make_unique<Impl>();
  BATON_ASSIGN_OR_RETURN(std::vector<internal::Cert> certs,
                         internal::ReadCertificates(bundle_pem, "CA certificate"));
  impl->cert = std::move(certs.front());
  BATON_ASSIGN_OR_RETURN(impl->key, internal::ReadPrivateKey(key_pem, "CA key"));
  X509* c = impl->cert.get();
  impl->info = internal::InfoOf(c);
  if (!impl->info.is_ca) {
    return InvalidArgument(
        fmt::format("CA certificate '{}' is not a CA (its basicConstraints lack CA:TRUE)",
                    impl->info.subject_cn));
  }
  if ((X509_get_key_usage(c) & KU_KEY_CERT_SIGN) == 0) {
    return InvalidArgument(
        fmt::format("CA certificate '{}' may not sign certificates (keyUsage lacks keyCertSign)",
                    impl->info.subject_cn));
  }
  if (X509_check_private_key(c, impl->key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument(
        fmt::format("CA key: does not belong to CA certificate '{}'", impl->info.subject_cn));
  }
  if (now < impl->info.not_before || now >= impl->info.not_after) {
    return InvalidArgument(fmt::format("CA certificate '{}' is valid only {} .. {} UTC",
                                       impl->info.subject_cn, FormatTime(impl->info.not_before),
                                       FormatTime(impl->info.not_after)));
  }
  // Everything the bundle holds, re-encoded: the signing certificate first.
  for (auto& extra : certs) {
    if (extra) impl->bundle_pem += internal::WriteCertificate(extra.get());
  }
  impl->bundle_pem = internal::WriteCertificate(c) + impl->bundle_pem;
  impl->key_pem = std::string(key_pem);
  return CertificateAuthority(std::move(impl));
}

namespace {

struct LeafSpec {
  PeerKind kind;
  std::string name;
  std::vector<std::string> hosts;  // control plane only
  bool server_auth = false;
};

// Fills, signs and encodes a leaf for `pubkey`.
Result<Issued> SignLeaf(const CertificateAuthority& ca, X509* ca_cert, EVP_PKEY* ca_key,
                        EVP_PKEY* pubkey, const LeafSpec& spec, const IssueOptions& o) {
  if (o.validity <= Duration(0)) return InvalidArgument("validity: must be positive");
  Time not_before = o.now - o.backdate;
  Time not_after = std::min(o.now + o.validity, ca.info().not_after);
  if (not_after <= o.now) {
    return FailedPrecondition(fmt::format("the CA certificate '{}' expired at {} UTC",
                                          ca.info().subject_cn, FormatTime(ca.info().not_after)));
  }
  BATON_ASSIGN_OR_RETURN(internal::Cert cert,
                         NewCert(spec.name, pubkey, ca_cert, not_before, not_after));
  X509* c = cert.get();
  const bool rsa = EVP_PKEY_get_base_id(pubkey) == EVP_PKEY_RSA;
  BATON_RETURN_IF_ERROR(AddExtension(c, ca_cert, NID_basic_constraints, "critical,CA:FALSE"));
  BATON_RETURN_IF_ERROR(AddExtension(
      c, ca_cert, NID_key_usage,
      rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"));
  BATON_RETURN_IF_ERROR(AddExtension(c, ca_cert, NID_ext_key_usage,
                                     spec.server_auth ? "serverAuth,clientAuth" : "clientAuth"));
  BATON_RETURN_IF_ERROR(AddExtension(c, ca_cert, NID_subject_key_identifier, "hash"));
  BATON_RETURN_IF_ERROR(AddExtension(c, ca_cert, NID_authority_key_identifier, "keyid:always"));
  std::vector<std::pair<int, std::string>> sans;
  sans.emplace_back(GEN_URI, IdentityUri(spec.kind, spec.name));
  if (spec.kind == PeerKind::kNode) sans.emplace_back(GEN_DNS, NodeDnsName(spec.name));
  for (const std::string& h : spec.hosts) {
    sans.emplace_back(LooksLikeIp(h) ? GEN_IPADD : GEN_DNS, h);
  }
  BATON_RETURN_IF_ERROR(AddSubjectAltNames(c, sans));
  if (X509_sign(c, ca_key, EVP_sha256()) <= 0) {
    return OpenSslError(StatusCode::kInternal, "sign certificate");
  }
  Issued out;
  out.cert_pem = internal::WriteCertificate(c);
  out.not_before = internal::FromAsn1(X509_get0_notBefore(c));
  out.not_after = internal::FromAsn1(X509_get0_notAfter(c));
  return out;
}

}  // namespace

Result<Issued> CertificateAuthority::IssueServer(const std::vector<std::string>& hosts,
                                                 std::string_view name,
                                                 const IssueOptions& options) const {
  BATON_RETURN_IF_ERROR(ValidateCertName(name, "control-plane name"));
  LeafSpec spec{PeerKind::kControlPlane, std::string(name), {}, true};
  for (const std::string& h : hosts) {
    if (!LooksLikeIp(h)) BATON_RETURN_IF_ERROR(ValidateHost(h));
    if (std::find(spec.hosts.begin(), spec.hosts.end(), h) == spec.hosts.end()) {
      spec.hosts.push_back(h);
    }
  }
  internal::PKey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError(StatusCode::kInternal, "generate server key");
  BATON_ASSIGN_OR_RETURN(
      Issued out, SignLeaf(*this, impl_->cert.get(), impl_->key.get(), key.get(), spec, options));
  out.key_pem = internal::WritePrivateKey(key.get());
  return out;
}

Result<Issued> CertificateAuthority::SignCsr(std::string_view csr_pem, PeerKind kind,
                                             std::string_view name,
                                             const IssueOptions& options) const {
  BATON_RETURN_IF_ERROR(ValidateCertName(name, fmt::format("{} name", PeerKindName(kind))));
  if (kind == PeerKind::kControlPlane) {
    return InvalidArgument("csr: control-plane certificates are not issued from requests");
  }
  if (csr_pem.size() > 64 * 1024) return InvalidArgument("csr: larger than 64 KiB");
  BATON_ASSIGN_OR_RETURN(internal::Req req, internal::ReadCsr(csr_pem, "csr"));
  EVP_PKEY* pubkey = X509_REQ_get0_pubkey(req.get());
  if (pubkey == nullptr) {
    return OpenSslError(StatusCode::kInvalidArgument, "csr: no readable public key");
  }
  BATON_RETURN_IF_ERROR(CheckCsrKey(pubkey));
  if (X509_REQ_verify(req.get(), pubkey) != 1) {
    ERR_clear_error();
    return InvalidArgument("csr: its signature does not verify with its own key");
  }
  LeafSpec spec{kind, std::string(name), {}, kind == PeerKind::kNode};
  return SignLeaf(*this, impl_->cert.get(), impl_->key.get(), pubkey, spec, options);
}

Result<Issued> CertificateAuthority::IssueClient(PeerKind kind, std::string_view name,
                                                 const IssueOptions& options) const {
  BATON_ASSIGN_OR_RETURN(std::string key, GenerateKey());
  BATON_ASSIGN_OR_RETURN(std::string csr, MakeCsr(key, name));
  BATON_ASSIGN_OR_RETURN(Issued out, SignCsr(csr, kind, name, options));
  out.key_pem = std::move(key);
  return out;
}

}  // namespace baton::security
