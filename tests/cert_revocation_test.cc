// Revoking certificates (docs/tls.md, "Revoking certificates") and the audit of the PKI:
// a revoked node is cut off (its open stream ends, new streams and renewals are refused)
// until it joins again with a new bootstrap token; a revoked user certificate no longer
// stands for its user; only cluster-admins revoke; joins, renewals, token creations and
// revocations are audited, refusals too.
#include "tls_fixture.h"

#include "baton/server/access.h"
#include "baton/v1/cluster.grpc.pb.h"

namespace baton {
namespace {

using namespace tls_testing;
using ::testing::HasSubstr;

class RevocationTest : public TlsTest {
 protected:
  std::unique_ptr<v1::Pki::Stub> PkiStub(const security::ClientTlsOptions& tls) {
    return v1::Pki::NewStub(security::MakeClientChannel(batond_->grpc_address(), tls));
  }

  grpc::Status Revoke(const v1::RevokeCertificatesRequest& req,
                      v1::RevokeCertificatesResponse* resp, const std::string& token) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) ctx.AddMetadata(auth::kAuthorizationHeader, auth::BearerValue(token));
    return PkiStub(Trust())->RevokeCertificates(&ctx, req, resp);
  }

  grpc::Status RevokeNode(const std::string& node, v1::RevokeCertificatesResponse* resp) {
    v1::RevokeCertificatesRequest req;
    req.set_node_name(node);
    req.set_reason("decommissioned");
    return Revoke(req, resp, admin_token_);
  }

  // The audit records of `action` (all outcomes), oldest first.
  std::vector<v1::AuditRecord> Audit(const std::string& action) {
    batond_->access().audit().Flush();
    v1::ListAuditRequest req;
    req.set_action(action);
    auto resp = batond_->access().audit().List(req);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok()) return {};
    return {resp->records().begin(), resp->records().end()};
  }
};

TEST_F(RevocationTest, ARevokedNodeIsCutOffUntilItJoinsAgain) {
  StartBatond();
  auto creds = Join("n1", Token());
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  const std::string serial = (*creds)->identity().serial;

  // Revoked while its stream is open: the stream ends at its next message.
  v1::RevokeCertificatesResponse resp;
  StreamOutcome o = Stream((*creds)->tls(), "n1", [&] {
    grpc::Status s = RevokeNode("n1", &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  });
  EXPECT_TRUE(o.registered);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(o.status.error_message(), HasSubstr("node n1's certificate (serial " + serial +
                                                  ") was revoked at"));
  EXPECT_THAT(o.status.error_message(), HasSubstr("by admin: decommissioned"));
  ASSERT_EQ(resp.revoked_size(), 1);
  EXPECT_EQ(resp.revoked(0).serial(), serial);
  EXPECT_EQ(resp.revoked(0).name(), "n1");
  EXPECT_EQ(resp.revoked(0).kind(), "node");

  // A new stream and a renewal with it are refused.
  StreamOutcome again = Stream((*creds)->tls(), "n1");
  EXPECT_FALSE(again.registered);
  EXPECT_THAT(again.status.error_message(), HasSubstr("was revoked"));
  Status renew = (*creds)->Renew();
  EXPECT_EQ(renew.code(), StatusCode::kUnauthenticated) << renew.ToString();
  EXPECT_THAT(renew.message(), HasSubstr("was revoked"));

  // Revoking again: nothing left to revoke, said so.
  grpc::Status twice = RevokeNode("n1", &resp);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(twice.error_message(), HasSubstr("revoked already"));
  grpc::Status unknown = RevokeNode("n9", &resp);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);

  // A new bootstrap token lets the machine back in, with a new certificate.
  auto rejoined = Join("n1", Token());
  ASSERT_TRUE(rejoined.ok()) << rejoined.status().ToString();
  EXPECT_NE((*rejoined)->identity().serial, serial);
  EXPECT_TRUE(Stream((*rejoined)->tls(), "n1").registered);

  // The list shows both, the old one revoked.
  auto listed = batond_->tls()->certificates().List("n1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  int revoked = 0;
  for (const auto& r : *listed) revoked += r.revoked;
  EXPECT_EQ(revoked, 1);

  // Audited: the joins, the revocation, and the refused stream.
  EXPECT_EQ(Audit("pki.join").size(), 2u);
  auto revocations = Audit("pki.revoke_certificates");
  ASSERT_FALSE(revocations.empty());
  EXPECT_EQ(revocations.front().outcome(), "ok");
  EXPECT_EQ(revocations.front().user(), "admin");
  EXPECT_EQ(revocations.front().object(), "node/n1");
  EXPECT_EQ(revocations.front().detail(), "decommissioned");
  bool stream_refused = false;
  for (const auto& r : Audit("agent.connect")) {
    stream_refused |= r.outcome() == "denied" && r.detail().find("was revoked") != std::string::npos;
  }
  EXPECT_TRUE(stream_refused);
}

TEST_F(RevocationTest, ARevokedUserCertificateNoLongerStandsForItsUser) {
  StartBatond();
  security::ClientTlsOptions admin = Trust();
  const std::string admin_crt = (dir_ / "pki/admin.crt").string();
  admin.cert_pem = *security::ReadFile(admin_crt);
  admin.key_pem = *security::ReadFile((dir_ / "pki/admin.key").string());
  auto list_nodes = [&] {
    auto stub = v1::Cluster::NewStub(security::MakeClientChannel(batond_->grpc_address(), admin));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListNodesResponse resp;
    return stub->ListNodes(&ctx, v1::ListNodesRequest(), &resp);
  };
  ASSERT_TRUE(list_nodes().ok());

  // batond never issued it (an operator's certificate): revoked by its PEM.
  v1::RevokeCertificatesRequest req;
  req.set_certificate_pem(admin.cert_pem);
  req.set_reason("laptop lost");
  v1::RevokeCertificatesResponse resp;
  grpc::Status s = Revoke(req, &resp, admin_token_);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.revoked_size(), 1);
  EXPECT_EQ(resp.revoked(0).kind(), "user");
  EXPECT_EQ(resp.revoked(0).name(), "admin");

  grpc::Status after = list_nodes();
  EXPECT_EQ(after.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(after.error_message(), HasSubstr("user admin's certificate"));
  EXPECT_THAT(after.error_message(), HasSubstr("was revoked"));
  // Nor can it revoke or list anything any more; the token still works.
  v1::ListCertificatesResponse list;
  grpc::ClientContext ctx;
  EXPECT_EQ(PkiStub(admin)->ListCertificates(&ctx, v1::ListCertificatesRequest(), &list)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // By serial, it reads "revoked already" (in any case and with colons, with and without a
  // leading zero byte).
  std::string serial = "00" + resp.revoked(0).serial();
  std::string colons;
  for (size_t i = 0; i < serial.size(); ++i) {
    colons += static_cast<char>(std::tolower(static_cast<unsigned char>(serial[i])));
    if (i % 2 == 1 && i + 1 < serial.size()) colons += ':';
  }
  req.Clear();
  req.set_serial(colons);
  s = Revoke(req, &resp, admin_token_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(RevocationTest, OnlyClusterAdminsRevokeAndBadRequestsSayWhy) {
  StartBatond();
  ASSERT_TRUE(Join("n1", Token()).ok());
  v1::RevokeCertificatesRequest req;
  req.set_node_name("n1");
  v1::RevokeCertificatesResponse resp;
  EXPECT_EQ(Revoke(req, &resp, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Revoke(req, &resp, agent_token_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // The refusals are audited.
  auto refusals = Audit("pki.revoke_certificates");
  ASSERT_EQ(refusals.size(), 2u);
  for (const auto& r : refusals) EXPECT_EQ(r.outcome(), "denied");

  v1::RevokeCertificatesRequest both = req;
  both.set_serial("AB");
  grpc::Status s = Revoke(both, &resp, admin_token_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("exactly one of"));
  v1::RevokeCertificatesRequest bad;
  bad.set_serial("xyz");
  s = Revoke(bad, &resp, admin_token_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("serial: 'xyz' is not a hex serial number"));
  bad.set_serial("ABCDEF");
  s = Revoke(bad, &resp, admin_token_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  bad.Clear();
  bad.set_certificate_pem("garbage");
  s = Revoke(bad, &resp, admin_token_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("certificate_pem"));
  // n1 is untouched by all that.
  EXPECT_EQ(batond_->tls()->certificates().List("n1")->front().revoked, false);
}

TEST_F(RevocationTest, JoinsTokensAndRenewalsAreAudited) {
  StartBatond();
  // A token from the API: audited with the token (same transaction).
  grpc::ClientContext ctx;
  ctx.AddMetadata(auth::kAuthorizationHeader, auth::BearerValue(admin_token_));
  v1::CreateBootstrapTokenRequest treq;
  treq.set_node_name("n1");
  treq.set_description("rack 4");
  v1::BootstrapToken token;
  ASSERT_TRUE(PkiStub(Trust())->CreateBootstrapToken(&ctx, treq, &token).ok());
  auto created = Audit("pki.create_bootstrap_token");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].user(), "admin");
  EXPECT_EQ(created[0].object(), "bootstrap-token/" + token.id());
  EXPECT_THAT(created[0].detail(), HasSubstr("node n1: rack 4"));

  auto creds = Join("n1", token.token());
  ASSERT_TRUE(creds.ok());
  // A replay is refused and audited as such.
  EXPECT_FALSE(Join("n1", token.token()).ok());
  auto joins = Audit("pki.join");
  ASSERT_EQ(joins.size(), 2u);
  EXPECT_EQ(joins[0].outcome(), "ok");
  EXPECT_EQ(joins[0].user(), "node:n1");
  EXPECT_EQ(joins[0].token_id(), "bootstrap:" + token.id());
  EXPECT_EQ(joins[0].object(), "node/n1");
  EXPECT_THAT(joins[0].detail(), HasSubstr((*creds)->identity().serial));
  EXPECT_EQ(joins[1].outcome(), "denied");
  EXPECT_THAT(joins[1].detail(), HasSubstr("already used"));

  const std::string old_serial = (*creds)->identity().serial;
  ASSERT_TRUE((*creds)->Renew().ok());
  auto renewals = Audit("pki.renew");
  ASSERT_EQ(renewals.size(), 1u);
  EXPECT_EQ(renewals[0].user(), "node:n1");
  EXPECT_THAT(renewals[0].detail(), HasSubstr("replaces " + old_serial));
  // Both certificates are known, so revoking the node revokes both.
  v1::RevokeCertificatesResponse resp;
  ASSERT_TRUE(RevokeNode("n1", &resp).ok());
  EXPECT_EQ(resp.revoked_size(), 2);
}

// Oversized PKI requests (issue 6's hostile input): RESOURCE_EXHAUSTED and a denial in the
// audit log, from the join (whose caller has no identity yet) and from an admin's call;
// the bootstrap token is not spent.
TEST_F(RevocationTest, OversizedPkiRequestsAreRefusedWithAnAuditRecord) {
  StartBatond();
  const std::string huge((4 << 20) + 1, 'x');
  const std::string token = Token();
  {
    grpc::ClientContext ctx;
    v1::JoinRequest req;
    req.set_node_name("n1");
    req.set_bootstrap_token(token);
    req.set_csr_pem(huge);
    v1::IssuedCertificate resp;
    grpc::Status s = PkiStub(Trust())->Join(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("at most 4194304"));
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata(auth::kAuthorizationHeader, auth::BearerValue(admin_token_));
    v1::RevokeCertificatesRequest req;
    req.set_node_name("n1");
    req.set_reason(huge);
    v1::RevokeCertificatesResponse resp;
    grpc::Status s = PkiStub(Trust())->RevokeCertificates(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  }
  auto joins = Audit("pki.join");
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].outcome(), "denied");
  EXPECT_EQ(joins[0].object(), "request");
  EXPECT_THAT(joins[0].detail(), HasSubstr("at most 4194304"));
  EXPECT_FALSE(joins[0].peer().empty());
  auto revokes = Audit("pki.revoke_certificates");
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].user(), "admin");
  EXPECT_EQ(revokes[0].outcome(), "denied");
  // The token was not spent.
  EXPECT_TRUE(Join("n1", token).ok());
}

TEST_F(RevocationTest, TheCliRevokesAndLists) {
  StartBatond();
  ASSERT_TRUE(Join("n1", Token()).ok());
  const std::string addr = batond_->grpc_address();
  setenv("BATON_CREDENTIALS", (dir_ / "no-credentials").c_str(), 1);
  setenv("BATON_TOKEN", admin_token_.c_str(), 1);
  std::string out, err;
  ASSERT_EQ(Baton({"cert", "list", "--server", addr, "--ca-file", ca_file_}, &out, &err), 0)
      << err;
  EXPECT_THAT(out, HasSubstr("node   n1"));
  ASSERT_EQ(Baton({"cert", "revoke", "--node", "n1", "--reason", "retired", "--server", addr,
                   "--ca-file", ca_file_},
                  &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("revoked node n1's certificate"));
  ASSERT_EQ(Baton({"cert", "list", "--name", "n1", "--server", addr, "--ca-file", ca_file_}, &out,
                  &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("by admin: retired"));
  // Exactly one target; a missing file is named.
  EXPECT_NE(Baton({"cert", "revoke", "--server", addr, "--ca-file", ca_file_}, &out, &err), 0);
  EXPECT_THAT(err, HasSubstr("--node, --serial or --certificate"));
  EXPECT_EQ(Baton({"cert", "revoke", "--certificate", (dir_ / "nope.crt").string(), "--server",
                   addr, "--ca-file", ca_file_},
                  &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--certificate"));
  EXPECT_NE(Baton({"cert", "revoke", "--node", "n1", "--serial", "AB", "--server", addr,
                   "--ca-file", ca_file_},
                  &out, &err),
            0);
  unsetenv("BATON_TOKEN");
  unsetenv("BATON_CREDENTIALS");
}

}  // namespace
}  // namespace baton
