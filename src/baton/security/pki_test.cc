#include "baton/security/pki.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <string>

#include "baton/security/secret.h"

namespace baton::security {
namespace {

const Time kNow = TimeFromSeconds(1'800'000'000);  // 2027-01-15

CertificateAuthority MakeCa(const std::string& cn = "test CA") {
  auto ca = CertificateAuthority::Generate(cn, kNow - Seconds(3600), Seconds(365 * 24 * 3600));
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return std::move(*ca);
}

IssueOptions Opts(Duration validity = Seconds(3600)) {
  IssueOptions o;
  o.now = kNow;
  o.validity = validity;
  return o;
}

// A node certificate for `node` signed from a CSR, as an agent gets it.
Issued NodeCert(const CertificateAuthority& ca, const std::string& node) {
  auto key = GenerateKey();
  EXPECT_TRUE(key.ok());
  auto csr = MakeCsr(*key, "whatever the agent asks for");
  EXPECT_TRUE(csr.ok());
  auto issued = ca.SignCsr(*csr, PeerKind::kNode, node, Opts());
  EXPECT_TRUE(issued.ok()) << issued.status().ToString();
  issued->key_pem = *key;
  return *issued;
}

// Re-encodes `pem` with the first occurrence of `from` in its DER replaced by `to`.
std::string TamperDer(const std::string& pem, const std::string& from, const std::string& to) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  X509_free(cert);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  auto at = bytes.find(from);
  EXPECT_NE(at, std::string::npos);
  bytes.replace(at, from.size(), to);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  X509* tampered = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
  EXPECT_NE(tampered, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, tampered);
  X509_free(tampered);
  char* data = nullptr;
  long len = BIO_get_mem_data(out, &data);
  std::string result(data, static_cast<size_t>(len));
  BIO_free(out);
  return result;
}

TEST(PkiTest, NodeCertificateFromCsrCarriesTheNodeIdentity) {
  CertificateAuthority ca = MakeCa();
  Issued cert = NodeCert(ca, "gpu-node-7");
  auto info = ParseCertificate(cert.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_cn, "gpu-node-7");  // not the CSR's subject
  EXPECT_EQ(info->uris, std::vector<std::string>{"baton-node:gpu-node-7"});
  EXPECT_EQ(info->dns_names, std::vector<std::string>{"gpu-node-7.node.baton.invalid"});
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->not_after, kNow + Seconds(3600));
  EXPECT_TRUE(CheckKeyMatches(cert.key_pem, cert.cert_pem).ok());

  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(cert.cert_pem, "", kNow + Seconds(10), Purpose::kClient);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->kind, PeerKind::kNode);
  EXPECT_EQ(id->name, "gpu-node-7");
  // Node certificates also serve (the agent's log server).
  EXPECT_TRUE(verifier->Verify(cert.cert_pem, "", kNow, Purpose::kServer).ok());
}

TEST(PkiTest, ExpiredCertificateIsRefusedWithItsExpiry) {
  CertificateAuthority ca = MakeCa();
  Issued cert = NodeCert(ca, "n1");
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(cert.cert_pem, "", kNow + Seconds(3601), Purpose::kClient);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("node n1's certificate expired at"), std::string::npos)
      << id.status().message();
  EXPECT_NE(id.status().message().find(FormatTime(kNow + Seconds(3600))), std::string::npos);
}

TEST(PkiTest, NotYetValidCertificateIsRefused) {
  CertificateAuthority ca = MakeCa();
  Issued cert = NodeCert(ca, "n1");
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(cert.cert_pem, "", kNow - Seconds(60), Purpose::kClient);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("is not valid before"), std::string::npos)
      << id.status().message();
}

TEST(PkiTest, CertificateFromAnotherCaWithTheSameNameIsRefused) {
  CertificateAuthority ca = MakeCa("baton cluster CA");
  CertificateAuthority forger = MakeCa("baton cluster CA");  // same subject, other key
  Issued forged = NodeCert(forger, "n1");
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(forged.cert_pem, "", kNow, Purpose::kClient);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  const std::string& m = id.status().message();
  EXPECT_TRUE(m.find("not issued by this cluster's CA") != std::string::npos ||
              m.find("signature does not verify") != std::string::npos)
      << m;
  // Even with the forger's CA offered as an intermediate.
  EXPECT_FALSE(verifier->Verify(forged.cert_pem, forger.bundle_pem(), kNow, Purpose::kClient).ok());
  // A self-signed certificate is no better.
  EXPECT_FALSE(verifier->Verify(forger.bundle_pem(), "", kNow, Purpose::kClient).ok());
}

TEST(PkiTest, TamperedCertificateIsRefused) {
  CertificateAuthority ca = MakeCa();
  Issued cert = NodeCert(ca, "node-aaaa");
  // Renames the holder inside the signed part (the CN comes first in the DER).
  std::string tampered = TamperDer(cert.cert_pem, "node-aaaa", "node-bbbb");
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(tampered, "", kNow, Purpose::kClient);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("signature does not verify"), std::string::npos)
      << id.status().message();
}

TEST(PkiTest, UserCertificateIsForClientsOnly) {
  CertificateAuthority ca = MakeCa();
  auto user = ca.IssueClient(PeerKind::kUser, "alice", Opts());
  ASSERT_TRUE(user.ok());
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(user->cert_pem, "", kNow, Purpose::kClient);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, PeerKind::kUser);
  EXPECT_EQ(id->name, "alice");
  auto as_server = verifier->Verify(user->cert_pem, "", kNow, Purpose::kServer);
  ASSERT_FALSE(as_server.ok());
  EXPECT_NE(as_server.status().message().find("not for server authentication"), std::string::npos)
      << as_server.status().message();
}

TEST(PkiTest, ServerCertificateNamesItsHostsAndTheControlPlane) {
  CertificateAuthority ca = MakeCa();
  auto server =
      ca.IssueServer({"localhost", "127.0.0.1", "::1", "baton.example.com"}, "batond", Opts());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto info = ParseCertificate(server->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"localhost", "baton.example.com"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  auto id = IdentityOf(server->cert_pem);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, PeerKind::kControlPlane);
  EXPECT_TRUE(CheckKeyMatches(server->key_pem, server->cert_pem).ok());
  // A host that would be read as SAN syntax is refused.
  auto bad = ca.IssueServer({"evil.com,URI:baton-node:n1"}, "batond", Opts());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("host name"), std::string::npos);
}

TEST(PkiTest, BadNamesAndCsrsAreRefusedWithTheFieldNamed) {
  CertificateAuthority ca = MakeCa();
  auto key = GenerateKey();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCsr(*key, "n1");
  ASSERT_TRUE(csr.ok());
  auto bad_name = ca.SignCsr(*csr, PeerKind::kNode, "n1/../etc", Opts());
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("node name"), std::string::npos);
  auto garbage = ca.SignCsr("not a csr", PeerKind::kNode, "n1", Opts());
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(garbage.status().message().find("csr"), std::string::npos);
  // A weak key.
  EVP_PKEY* rsa = EVP_RSA_gen(1024);
  ASSERT_NE(rsa, nullptr);
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(b, &data);
  std::string rsa_pem(data, static_cast<size_t>(len));
  BIO_free(b);
  EVP_PKEY_free(rsa);
  auto weak_csr = MakeCsr(rsa_pem, "n1");
  ASSERT_TRUE(weak_csr.ok());
  auto weak = ca.SignCsr(*weak_csr, PeerKind::kNode, "n1", Opts());
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.status().message().find("shorter than 2048"), std::string::npos);
  // Zero validity.
  auto zero = ca.SignCsr(*csr, PeerKind::kNode, "n1", Opts(Duration(0)));
  EXPECT_FALSE(zero.ok());
}

TEST(PkiTest, CertificatesNeverOutliveTheirCa) {
  auto ca = CertificateAuthority::Generate("short CA", kNow, Seconds(600));
  ASSERT_TRUE(ca.ok());
  Issued cert = NodeCert(*ca, "n1");  // asks for an hour
  auto info = ParseCertificate(cert.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->not_after, kNow + Seconds(600));
}

TEST(PkiTest, OperatorCaIsCheckedWhenLoaded) {
  CertificateAuthority ca = MakeCa();
  auto loaded = CertificateAuthority::FromPem(ca.bundle_pem(), ca.key_pem(), kNow);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->info().serial, ca.info().serial);
  // It issues what the original's verifier accepts.
  Issued cert = NodeCert(*loaded, "n1");
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(verifier->Verify(cert.cert_pem, "", kNow, Purpose::kClient).ok());

  CertificateAuthority other = MakeCa();
  auto mismatch = CertificateAuthority::FromPem(ca.bundle_pem(), other.key_pem(), kNow);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("does not belong"), std::string::npos);
  auto leaf = CertificateAuthority::FromPem(cert.cert_pem, cert.key_pem, kNow);
  ASSERT_FALSE(leaf.ok());
  EXPECT_NE(leaf.status().message().find("is not a CA"), std::string::npos);
  auto expired = CertificateAuthority::FromPem(ca.bundle_pem(), ca.key_pem(),
                                               kNow + Seconds(2 * 365 * 24 * 3600));
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("is valid only"), std::string::npos);
  EXPECT_FALSE(CertificateAuthority::FromPem("", ca.key_pem(), kNow).ok());
}

TEST(PkiTest, IdentityNeedsExactlyOneBatonUri) {
  CertificateAuthority ca = MakeCa();
  auto id = IdentityOf(ca.bundle_pem());  // a CA certificate names no holder
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("carries no baton identity"), std::string::npos);
  auto verifier = CertVerifier::Create(ca.bundle_pem());
  ASSERT_TRUE(verifier.ok());
  EXPECT_FALSE(verifier->Verify(ca.bundle_pem(), "", kNow, Purpose::kClient).ok());
}

TEST(SecretTest, RandomHexAndSha256) {
  auto a = RandomHex(16);
  auto b = RandomHex(16);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace baton::security
