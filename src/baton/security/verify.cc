// CertVerifier (pki.h): chain verification against one CA bundle at a given time.
#include <fmt/format.h>
#include <openssl/err.h>

#include "baton/security/openssl_util.h"
#include "baton/security/pki.h"

namespace baton::security {

struct CertVerifier::Impl {
  internal::Store store;
};

CertVerifier::CertVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertVerifier::CertVerifier(CertVerifier&&) noexcept = default;
CertVerifier& CertVerifier::operator=(CertVerifier&&) noexcept = default;
CertVerifier::~CertVerifier() = default;

Result<CertVerifier> CertVerifier::Create(std::string_view ca_bundle_pem) {
  BATON_ASSIGN_OR_RETURN(std::vector<internal::Cert> certs,
                         internal::ReadCertificates(ca_bundle_pem, "CA bundle"));
  auto impl = std::make_unique<Impl>();
  impl->store.reset(X509_STORE_new());
  if (!impl->store) return internal::OpenSslError(StatusCode::kInternal, "certificate store");
  for (auto& c : certs) {
    if (X509_STORE_add_cert(impl->store.get(), c.get()) != 1) {
      return internal::OpenSslError(StatusCode::kInvalidArgument, "CA bundle");
    }
  }
  return CertVerifier(std::move(impl));
}

namespace {

// "node n1's certificate" when the (unverified) certificate names a baton identity.
std::string Whose(const CertInfo& info) {
  auto id = internal::IdentityOfInfo(info);
  if (id.ok()) return fmt::format("{} {}'s certificate", PeerKindName(id->kind), id->name);
  return fmt::format("certificate '{}'", info.subject_cn);
}

}  // namespace

Result<CertIdentity> CertVerifier::Verify(std::string_view leaf_pem, std::string_view chain_pem,
                                          Time now, Purpose purpose) const {
  BATON_ASSIGN_OR_RETURN(std::vector<internal::Cert> leaf_certs,
                         internal::ReadCertificates(leaf_pem, "peer certificate"));
  std::vector<internal::Cert> chain;
  if (!chain_pem.empty()) {
    auto parsed = internal::ReadCertificates(chain_pem, "peer certificate chain");
    if (parsed.ok()) chain = std::move(*parsed);
  }
  X509* leaf = leaf_certs.front().get();
  const CertInfo info = internal::InfoOf(leaf);
  const std::string whose = Whose(info);

  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < leaf_certs.size(); ++i) sk_X509_push(untrusted, leaf_certs[i].get());
  for (auto& c : chain) sk_X509_push(untrusted, c.get());
  internal::StoreCtx ctx(X509_STORE_CTX_new());
  int ok = 0;
  if (ctx && X509_STORE_CTX_init(ctx.get(), impl_->store.get(), leaf, untrusted) == 1) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    // The configured CA is the anchor even when an operator's CA is an intermediate.
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_CTX_set_time(ctx.get(), 0, internal::ToTimeT(now));
    X509_STORE_CTX_set_purpose(
        ctx.get(), purpose == Purpose::kClient ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
    ok = X509_verify_cert(ctx.get());
  }
  const int err = ctx ? X509_STORE_CTX_get_error(ctx.get()) : X509_V_ERR_UNSPECIFIED;
  const int depth = ctx ? X509_STORE_CTX_get_error_depth(ctx.get()) : 0;
  sk_X509_free(untrusted);  // the certificates themselves are owned above
  ERR_clear_error();
  if (ok == 1) {
    auto id = internal::IdentityOfInfo(info);
    if (!id.ok()) return Unauthenticated(id.status().message());
    return id;
  }
  const std::string subject = depth == 0 ? whose : "the CA certificate above " + whose;
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      if (depth != 0) return Unauthenticated(fmt::format("{}: has expired", subject));
      return Unauthenticated(fmt::format("{} expired at {} UTC (now {} UTC); it must be renewed",
                                         whose, FormatTime(info.not_after), FormatTime(now)));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Unauthenticated(fmt::format("{} is not valid before {} UTC (now {} UTC)", subject,
                                         FormatTime(info.not_before), FormatTime(now)));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return Unauthenticated(fmt::format("{} was not issued by this cluster's CA (issuer '{}')",
                                         whose, info.issuer_cn));
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return Unauthenticated(
          fmt::format("{}: signature does not verify (tampered or forged)", subject));
    case X509_V_ERR_INVALID_PURPOSE:
      return Unauthenticated(fmt::format("{} is not for {} authentication", whose,
                                         purpose == Purpose::kClient ? "client" : "server"));
    default:
      return Unauthenticated(
          fmt::format("{} does not verify: {}", subject, X509_verify_cert_error_string(err)));
  }
}

}  // namespace baton::security
