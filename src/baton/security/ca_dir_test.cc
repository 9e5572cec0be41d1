#include "baton/security/ca_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "baton/security/files.h"
#include "baton/security/tls.h"

namespace baton::security {
namespace {

const Time kNow = TimeFromSeconds(1'800'000'000);

class CaDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("baton-ca-dir-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static mode_t Mode(const std::filesystem::path& p) {
    struct stat st;
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }
  std::filesystem::path dir_;
};

TEST_F(CaDirTest, GeneratesOnceAndReloadsAfterARestart) {
  CaDirOptions o;
  o.dir = (dir_ / "pki").string();
  o.hosts = {"baton.example.com", "10.1.2.3"};
  auto first = OpenCaDir(o, kNow);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(Mode(dir_ / "pki"), 0700u);
  EXPECT_EQ(Mode(dir_ / "pki/ca.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "pki/server.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "pki/admin.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "pki/ca.crt"), 0644u);
  auto info = ParseCertificate(first->server.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"localhost", "baton.example.com"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1", "10.1.2.3"}));

  auto admin_cert = ReadFile(first->admin_cert_file);
  ASSERT_TRUE(admin_cert.ok());
  auto second = OpenCaDir(o, kNow + Seconds(60));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->ca.bundle_pem(), first->ca.bundle_pem());
  EXPECT_EQ(*ReadFile(second->admin_cert_file), *admin_cert);  // still good: kept
  // The server certificate verifies against the CA on disk, as a client would check it.
  auto verifier = CertVerifier::Create(*ReadFile(second->ca_file));
  ASSERT_TRUE(verifier.ok());
  auto id = verifier->Verify(second->server.cert_pem, "", kNow + Seconds(61), Purpose::kServer);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->kind, PeerKind::kControlPlane);
  // And the admin certificate loads as a client's.
  auto client =
      ClientTlsOptions::FromFiles(second->ca_file, second->admin_cert_file, second->admin_key_file);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
}

TEST_F(CaDirTest, OperatorCaIsUsedAndItsKeyNotCopied) {
  auto op = CertificateAuthority::Generate("operator CA", kNow, Seconds(86400 * 30));
  ASSERT_TRUE(op.ok());
  ASSERT_TRUE(WriteFileAtomic((dir_ / "op/ca.pem").string(), op->bundle_pem(), 0644).ok());
  ASSERT_TRUE(WriteFileAtomic((dir_ / "op/ca-key.pem").string(), op->key_pem(), 0600).ok());
  CaDirOptions o;
  o.dir = (dir_ / "pki").string();
  o.ca_cert_file = (dir_ / "op/ca.pem").string();
  o.ca_key_file = (dir_ / "op/ca-key.pem").string();
  o.may_generate = false;
  auto pki = OpenCaDir(o, kNow);
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  EXPECT_FALSE(pki->generated);
  EXPECT_EQ(pki->ca.info().subject_cn, "operator CA");
  EXPECT_FALSE(FileExists((dir_ / "pki/ca.key").string()));
  EXPECT_EQ(*ReadFile(pki->ca_file), op->bundle_pem());
}

TEST_F(CaDirTest, ReplicasDoNotInventACaAndBadFilesAreNamed) {
  CaDirOptions o;
  o.dir = (dir_ / "pki").string();
  o.may_generate = false;
  auto none = OpenCaDir(o, kNow);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("--tls-ca-cert"), std::string::npos);

  o.ca_cert_file = (dir_ / "missing.pem").string();
  o.ca_key_file = (dir_ / "missing-key.pem").string();
  auto missing = OpenCaDir(o, kNow);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--tls-ca-cert"), std::string::npos);
  EXPECT_NE(missing.status().message().find("no such file"), std::string::npos);

  o.ca_key_file = "";
  auto half = OpenCaDir(o, kNow);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("--tls-ca-key"), std::string::npos);
}

TEST(TlsTest, TargetHostForEveryTargetForm) {
  EXPECT_EQ(TargetHost("127.0.0.1:7070"), "127.0.0.1");
  EXPECT_EQ(TargetHost("ipv4:10.0.0.1:7070,10.0.0.2:7070"), "10.0.0.1");
  EXPECT_EQ(TargetHost("[::1]:7070"), "::1");
  EXPECT_EQ(TargetHost("ipv6:[::1]:7070,[::2]:7070"), "::1");
  EXPECT_EQ(TargetHost("dns:///baton.example.com:7070"), "baton.example.com");
  EXPECT_EQ(TargetHost("baton.example.com:7070"), "baton.example.com");
}

TEST(TlsTest, ClientFilesAreCheckedAndNamed) {
  auto none = ClientTlsOptions::FromFiles("", "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->enabled());
  auto missing = ClientTlsOptions::FromFiles("/nonexistent/ca.crt", "", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--ca-file"), std::string::npos);
  auto half = ClientTlsOptions::FromFiles("/x", "/y", "");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("--key-file"), std::string::npos);
}

}  // namespace
}  // namespace baton::security
