// Internal to security/: owning handles for OpenSSL objects, PEM and time conversions, and
// OpenSSL's error queue as a Status. Nothing outside security/*.cc includes this, so
// OpenSSL's headers stay out of the rest of baton.
//
// Thread-safety: free functions; OpenSSL 3 is thread-safe for distinct objects, and for
// concurrent reads of one key or certificate.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/pki.h"

namespace baton::security::internal {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

// Drains OpenSSL's error queue into "what: <first error reason>".
Status OpenSslError(StatusCode code, std::string_view what);

// PEM in, objects out; InvalidArgument naming `what` when the text holds none.
Result<PKey> ReadPrivateKey(std::string_view pem, std::string_view what);
Result<Cert> ReadCertificate(std::string_view pem, std::string_view what);
// Every certificate in `pem`, in order (at least one).
Result<std::vector<Cert>> ReadCertificates(std::string_view pem, std::string_view what);
Result<Req> ReadCsr(std::string_view pem, std::string_view what);

std::string WritePrivateKey(EVP_PKEY* key);  // PKCS#8 PEM
std::string WriteCertificate(X509* cert);
std::string WriteCsr(X509_REQ* req);

// ASN1_TIME <-> baton's timeline (whole seconds).
Time FromAsn1(const ASN1_TIME* t);
time_t ToTimeT(Time t);

// pki.cc: the fields of `cert`, and the baton identity they carry.
CertInfo InfoOf(X509* cert);
Result<CertIdentity> IdentityOfInfo(const CertInfo& info);

}  // namespace baton::security::internal
