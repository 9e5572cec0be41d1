#include "baton/security/openssl_util.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

namespace baton::security::internal {

Status OpenSslError(StatusCode code, std::string_view what) {
  std::string reason;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    if (reason.empty()) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      reason = buf;
    }
  }
  if (reason.empty()) reason = "unknown OpenSSL error";
  return Status(code, fmt::format("{}: {}", what, reason));
}

namespace {

Bio MemBio(std::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string Drain(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Result<PKey> ReadPrivateKey(std::string_view pem, std::string_view what) {
  Bio bio = MemBio(pem);
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return OpenSslError(StatusCode::kInvalidArgument,
                        fmt::format("{}: not a PEM private key", what));
  return key;
}

Result<Cert> ReadCertificate(std::string_view pem, std::string_view what) {
  Bio bio = MemBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return OpenSslError(StatusCode::kInvalidArgument,
                        fmt::format("{}: not a PEM certificate", what));
  return cert;
}

Result<std::vector<Cert>> ReadCertificates(std::string_view pem, std::string_view what) {
  Bio bio = MemBio(pem);
  std::vector<Cert> out;
  for (;;) {
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  ERR_clear_error();  // the read past the last certificate
  if (out.empty()) {
    return InvalidArgument(fmt::format("{}: holds no PEM certificate", what));
  }
  return out;
}

Result<Req> ReadCsr(std::string_view pem, std::string_view what) {
  Bio bio = MemBio(pem);
  Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    return OpenSslError(StatusCode::kInvalidArgument,
                        fmt::format("{}: not a PEM certificate request", what));
  }
  return req;
}

std::string WritePrivateKey(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return Drain(bio.get());
}

std::string WriteCertificate(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return Drain(bio.get());
}

std::string WriteCsr(X509_REQ* req) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req);
  return Drain(bio.get());
}

Time FromAsn1(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return Time{};
  return TimeFromSeconds(static_cast<int64_t>(timegm(&tm)));
}

time_t ToTimeT(Time t) {
  return static_cast<time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace baton::security::internal
