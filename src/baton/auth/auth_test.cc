// Tokens, secrets, token files and the credentials file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "baton/auth/credentials.h"
#include "baton/auth/secret.h"
#include "baton/auth/token.h"

namespace baton::auth {
namespace {

namespace fs = std::filesystem;

std::string TempDir() {
  std::string dir = (fs::temp_directory_path() /
                     ("baton-auth-test-" +
                      std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())))
                        .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

int Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

TEST(SecretTest, Sha256MatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SecretTest, RandomHexHasTheLengthAskedAndDoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto r = RandomHex(16);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->size(), 32u);
    EXPECT_TRUE(seen.insert(*r).second);
  }
  EXPECT_EQ(RandomHex(0).value(), "");
}

TEST(SecretTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(TokenTest, GeneratedTokensParseBackAndDiffer) {
  auto a = GenerateToken();
  auto b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string text = a->ToString();
  EXPECT_EQ(text.size(), 6u + 16 + 1 + 64);
  EXPECT_EQ(text.rfind("baton_", 0), 0u);
  auto parsed = ParseToken(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->id, a->id);
  EXPECT_EQ(parsed->secret, a->secret);
  EXPECT_NE(a->id, b->id);
  EXPECT_NE(a->secret, b->secret);
}

TEST(TokenTest, MalformedTokensAreUnauthenticatedWithoutEchoingThem) {
  const std::string good = GenerateToken().value().ToString();
  std::string upper = good;
  upper.back() = 'F';
  std::string wrong_sep = good;
  wrong_sep[6 + 16] = '.';
  for (const std::string& bad : {std::string(), std::string("Bearer x"), good.substr(1), good + "0",
                                 upper, wrong_sep, "token_" + good.substr(6)}) {
    auto r = ParseToken(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << bad;
    EXPECT_NE(r.status().message().find("malformed token"), std::string::npos);
    if (bad.size() > 20) {
      EXPECT_EQ(r.status().message().find(bad.substr(20)), std::string::npos);
    }
  }
}

TEST(TokenTest, SecretFilesAreOwnerOnlyAndReadBackTrimmed) {
  const std::string dir = TempDir();
  const std::string token = GenerateToken().value().ToString();
  const std::string path = dir + "/sub/dir/admin.token";
  ASSERT_TRUE(WriteSecretFile(path, token + "\n").ok());
  EXPECT_EQ(Mode(path), 0600);
  EXPECT_EQ(Mode(dir + "/sub/dir"), 0700);
  EXPECT_EQ(ReadTokenFile(path).value(), token);
  // Overwriting keeps the mode (a temporary file renamed over it).
  ASSERT_TRUE(WriteSecretFile(path, "  " + token + "  \n\n").ok());
  EXPECT_EQ(ReadTokenFile(path).value(), token);
  EXPECT_EQ(ReadTokenFile(dir + "/missing").status().code(), StatusCode::kNotFound);
  std::ofstream(dir + "/empty") << "\n";
  EXPECT_EQ(ReadTokenFile(dir + "/empty").status().code(), StatusCode::kInvalidArgument);
  std::ofstream(dir + "/junk") << "hello";
  auto junk = ReadTokenFile(dir + "/junk");
  EXPECT_EQ(junk.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(junk.status().message().find("not a baton token"), std::string::npos);
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    path_ = dir_ + "/config/baton/credentials";
    setenv("BATON_CREDENTIALS", path_.c_str(), 1);
    unsetenv("BATON_TOKEN");
  }
  void TearDown() override {
    unsetenv("BATON_CREDENTIALS");
    unsetenv("BATON_TOKEN");
  }
  std::string dir_, path_;
};

TEST_F(CredentialsTest, SavedCredentialsLoadBackOwnerOnly) {
  EXPECT_EQ(CredentialsPath(), path_);
  EXPECT_FALSE(LoadCredentials(path_).value().has_value());
  ASSERT_TRUE(SaveCredentials(path_, {"10.0.0.1:7070", "baton_tok"}).ok());
  EXPECT_EQ(Mode(path_), 0600);
  auto c = LoadCredentials(path_).value();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->server, "10.0.0.1:7070");
  EXPECT_EQ(c->token, "baton_tok");
  EXPECT_EQ(CredentialsServer(), "10.0.0.1:7070");
}

TEST_F(CredentialsTest, TokenComesFromTheFlagThenTheEnvironmentThenTheFile) {
  ASSERT_TRUE(SaveCredentials(path_, {"s", "from-file"}).ok());
  EXPECT_EQ(ResolveToken(""), "from-file");
  setenv("BATON_TOKEN", "from-env", 1);
  EXPECT_EQ(ResolveToken(""), "from-env");
  EXPECT_EQ(ResolveToken("from-flag"), "from-flag");
}

TEST_F(CredentialsTest, ABrokenFileIsReportedAndIgnoredForTokens) {
  fs::create_directories(fs::path(path_).parent_path());
  std::ofstream(path_) << "{not json";
  auto c = LoadCredentials(path_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("baton login"), std::string::npos);
  EXPECT_EQ(ResolveToken(""), "");
  std::ofstream(path_) << R"({"server": 7, "token": "x"})";
  EXPECT_NE(LoadCredentials(path_).status().message().find("server: must be a string"),
            std::string::npos);
}

}  // namespace
}  // namespace baton::auth
