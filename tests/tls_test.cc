// TLS end to end (docs/tls.md): an in-process batond with TLS on 127.0.0.1, agents that
// join with bootstrap tokens (the real agent code, RunAgentProcess) and hand-made agent
// streams with good, forged, expired and mismatched certificates. batond's certificate
// checks run at a clock the test sets (BatondTlsOptions::clock), so expiry needs no
// waiting; rotation runs on the real clock with 3-second certificates.
#include "tls_fixture.h"

namespace baton {
namespace {

using namespace tls_testing;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

TEST_F(TlsTest, AgentJoinsWithABootstrapTokenAndKeepsItsCertificate) {
  StartBatond();
  agents_.push_back(std::make_unique<AgentThread>(AgentOptions("n1", Token())));
  ASSERT_TRUE(Eventually([&] { return Ready("n1"); }));
  const fs::path pki = dir_ / "n1/pki";
  struct stat st;
  ASSERT_EQ(stat((pki / "node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto id = security::IdentityOf(*security::ReadFile((pki / "node.crt").string()));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, security::PeerKind::kNode);
  EXPECT_EQ(id->name, "n1");

  // A restart needs no token: the certificate in the data dir is still good.
  const std::string cert = *security::ReadFile((pki / "node.crt").string());
  agents_.clear();
  ASSERT_TRUE(Eventually([&] { return !Ready("n1"); }));
  agents_.push_back(std::make_unique<AgentThread>(AgentOptions("n1", "")));
  ASSERT_TRUE(Eventually([&] { return Ready("n1"); }));
  EXPECT_EQ(*security::ReadFile((pki / "node.crt").string()), cert);
}

TEST_F(TlsTest, AgentWithoutTokenOrCertificateSaysWhatIsMissing) {
  StartBatond();
  agents_.push_back(std::make_unique<AgentThread>(AgentOptions("n1", "")));
  std::optional<Status> r;
  ASSERT_TRUE(Eventually([&] { return (r = agents_.back()->result()).has_value(); }));
  EXPECT_EQ(r->code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r->message(), HasSubstr("--bootstrap-token: required"));
}

TEST_F(TlsTest, ReplayedExpiredBoundAndWrongTokensAreRefused) {
  StartBatond();
  const std::string token = Token();
  ASSERT_TRUE(Join("n1", token).ok());
  auto replay = Join("n2", token);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(replay.status().message(), HasSubstr("already used"));

  const std::string short_lived = Token(1, "", Seconds(60));
  clock_.Advance(Seconds(61));
  auto expired = Join("n3", short_lived);
  ASSERT_FALSE(expired.ok());
  EXPECT_THAT(expired.status().message(), HasSubstr("expired at"));

  const std::string bound = Token(1, "n4");
  auto other = Join("n5", bound);
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.status().message(), HasSubstr("only for node n4, not n5"));
  EXPECT_TRUE(Join("n4", bound).ok());  // refusing n5 did not spend it

  std::string wrong = Token();
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto bad = Join("n6", wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("wrong secret"));
  auto garbage = Join("n6", "not-a-token");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.status().message(), HasSubstr("malformed"));
}

TEST_F(TlsTest, ABadCsrDoesNotSpendTheToken) {
  StartBatond();
  const std::string token = Token();
  auto stub = v1::Pki::NewStub(security::MakeClientChannel(batond_->grpc_address(), Trust()));
  grpc::ClientContext ctx;
  v1::JoinRequest req;
  req.set_bootstrap_token(token);
  req.set_node_name("n1");
  req.set_csr_pem("garbage");
  v1::IssuedCertificate resp;
  grpc::Status s = stub->Join(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("csr"));
  EXPECT_TRUE(Join("n1", token).ok());
}

TEST_F(TlsTest, MultiUseTokenJoinsThatManyNodes) {
  StartBatond();
  const std::string token = Token(3);
  for (const char* n : {"a", "b", "c"}) EXPECT_TRUE(Join(n, token).ok()) << n;
  auto fourth = Join("d", token);
  ASSERT_FALSE(fourth.ok());
  EXPECT_THAT(fourth.status().message(), HasSubstr("already used"));
}

TEST_F(TlsTest, ForgedCertificateIsRefusedAndOthersAreStillServed) {
  StartBatond();
  auto forger = security::CertificateAuthority::Generate(batond_->tls()->pki().ca.info().subject_cn,
                                                         clock_.Now(), Seconds(86400));
  ASSERT_TRUE(forger.ok());
  security::IssueOptions io;
  io.now = clock_.Now();
  auto forged = forger->IssueClient(security::PeerKind::kNode, "n1", io);
  ASSERT_TRUE(forged.ok());
  security::ClientTlsOptions tls = Trust();
  tls.cert_pem = forged->cert_pem;
  tls.key_pem = forged->key_pem;
  StreamOutcome o = Stream(tls, "n1");
  EXPECT_FALSE(o.registered);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(o.status.error_message(), HasSubstr("not issued by this cluster's CA"));
  EXPECT_FALSE(Node("n1").has_value());

  // No certificate at all, and a user's certificate, are refused too.
  StreamOutcome none = Stream(Trust(), "n1");
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.status.error_message(), HasSubstr("no client certificate"));
  security::ClientTlsOptions admin = Trust();
  admin.cert_pem = *security::ReadFile((dir_ / "pki/admin.crt").string());
  admin.key_pem = *security::ReadFile((dir_ / "pki/admin.key").string());
  StreamOutcome user = Stream(admin, "n1");
  EXPECT_EQ(user.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(user.status.error_message(), HasSubstr("needs a node certificate"));

  // The real n1 still gets in.
  auto creds = Join("n1", Token());
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_TRUE(Stream((*creds)->tls(), "n1").registered);
}

TEST_F(TlsTest, ExpiredCertificateIsRefusedAndAnOpenStreamEndsAtExpiry) {
  StartBatond(Seconds(3600));
  auto creds = Join("n1", Token());
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  const Time not_after = (*creds)->identity().not_after;
  // Registered, then the clock passes the certificate's end: the next message ends it.
  StreamOutcome o = Stream((*creds)->tls(), "n1", [&] { clock_.Set(not_after + Seconds(1)); });
  EXPECT_TRUE(o.registered);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(o.status.error_message(), HasSubstr("node n1's certificate expired at"));
  // A new stream with it is refused at once, and so is renewing with it.
  StreamOutcome again = Stream((*creds)->tls(), "n1");
  EXPECT_FALSE(again.registered);
  EXPECT_EQ(again.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(again.status.error_message(), HasSubstr("expired at"));
  Status renew = (*creds)->Renew();
  EXPECT_EQ(renew.code(), StatusCode::kUnauthenticated) << renew.ToString();
  // Not yet valid (a clock far behind) is refused as well.
  clock_.Set((*creds)->identity().not_before - Seconds(10));
  StreamOutcome early = Stream((*creds)->tls(), "n1");
  EXPECT_THAT(early.status.error_message(), HasSubstr("is not valid before"));
}

TEST_F(TlsTest, AnAgentMayOnlyRegisterTheNodeOfItsCertificate) {
  StartBatond();
  auto creds = Join("n1", Token());
  ASSERT_TRUE(creds.ok());
  StreamOutcome o = Stream((*creds)->tls(), "n2");
  EXPECT_FALSE(o.registered);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(o.status.error_message(), HasSubstr("it may not register node 'n2'"));
  EXPECT_FALSE(Node("n2").has_value());
  EXPECT_TRUE(Stream((*creds)->tls(), "n1").registered);
}

TEST_F(TlsTest, RenewalIsDueAtTwoThirdsAndKeepsTheNode) {
  StartBatond(Seconds(300));
  auto creds = Join("n1", Token());
  ASSERT_TRUE(creds.ok());
  const security::CertIdentity before = (*creds)->identity();
  agent::CertRenewer renewer(clock_);
  int rotated = 0;
  renewer.Add(creds->get(), [&](agent::NodeCredentials&) { ++rotated; });
  EXPECT_EQ(renewer.RenewDue(), 0);  // just issued
  clock_.Set((*creds)->renew_at() - Seconds(1));
  EXPECT_EQ(renewer.RenewDue(), 0);
  clock_.Set((*creds)->renew_at());
  EXPECT_EQ(renewer.RenewDue(), 1);
  EXPECT_EQ(rotated, 1);
  const security::CertIdentity after = (*creds)->identity();
  EXPECT_EQ(after.name, "n1");
  EXPECT_NE(after.serial, before.serial);
  EXPECT_GT(after.not_after, before.not_after);
  EXPECT_TRUE(Stream((*creds)->tls(), "n1").registered);
  // Renewing is for nodes: an admin certificate gets nothing.
  security::ClientTlsOptions admin = Trust();
  admin.cert_pem = *security::ReadFile((dir_ / "pki/admin.crt").string());
  admin.key_pem = *security::ReadFile((dir_ / "pki/admin.key").string());
  auto stub = v1::Pki::NewStub(security::MakeClientChannel(batond_->grpc_address(), admin));
  grpc::ClientContext ctx;
  v1::RenewRequest req;
  req.set_csr_pem(*security::MakeCsr(*security::GenerateKey(), "n1"));
  v1::IssuedCertificate resp;
  EXPECT_EQ(stub->Renew(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// Real time: 3-second certificates, renewed at 2 s. The agent rotates its connection
// make-before-break; its task keeps running, the node never leaves READY, and logs are
// read through batond from the agent's TLS log server (which reloads the new files).
TEST_F(TlsTest, RotationKeepsTasksRunningAndLogsReadable) {
  StartBatond(Seconds(3), /*test_clock=*/false);
  agents_.push_back(std::make_unique<AgentThread>(AgentOptions("n1", Token())));
  ASSERT_TRUE(Eventually([&] { return Ready("n1"); }));
  const std::string cert_file = (dir_ / "n1/pki/node.crt").string();
  const auto first = security::IdentityOf(*security::ReadFile(cert_file));
  ASSERT_TRUE(first.ok());

  security::ClientTlsOptions client = Trust();
  auto channel = security::MakeClientChannel(batond_->grpc_address(), client, {}, admin_token_);
  auto jobs = v1::Jobs::NewStub(channel);
  v1::SubmitRequest submit;
  submit.mutable_spec()->set_name("rotate");
  submit.mutable_spec()->set_gpus_per_task("1");
  submit.mutable_spec()->add_command("sh");
  submit.mutable_spec()->add_command("-c");
  submit.mutable_spec()->add_command("echo hello-over-tls; sleep 60");
  v1::SubmitResponse submitted;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(jobs->Submit(&ctx, submit, &submitted).ok());
  }
  const std::string id = submitted.job().id();
  auto job = [&] {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_id(id);
    v1::Job j;
    EXPECT_TRUE(jobs->Get(&ctx, req, &j).ok());
    return j;
  };
  ASSERT_TRUE(Eventually([&] { return job().state() == v1::JOB_STATE_RUNNING; }));

  // Two renewals, and past the first certificate's end.
  std::string last_serial = first->serial;
  int renewals = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        auto now = security::IdentityOf(*security::ReadFile(cert_file));
        if (now.ok() && now->serial != last_serial) {
          last_serial = now->serial;
          ++renewals;
        }
        return renewals >= 2 && SystemClock().Now() > first->not_after + Seconds(1);
      },
      std::chrono::seconds(30)));
  v1::Job j = job();
  EXPECT_EQ(j.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(j.attempts_size(), 1);
  EXPECT_TRUE(Ready("n1"));
  for (const auto& e : batond_->control_plane().events().List({"", "n1", 0}, 0).events) {
    EXPECT_THAT(e.message(), ::testing::Not(HasSubstr("disconnected"))) << e.DebugString();
  }

  // The log, through batond, from the agent's TLS log server.
  std::string text;
  ASSERT_TRUE(Eventually([&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::LogsRequest req;
    req.set_job_id(id);
    auto reader = jobs->Logs(&ctx, req);
    v1::LogChunk chunk;
    text.clear();
    while (reader->Read(&chunk)) text += chunk.data();
    reader->Finish();
    return text.find("hello-over-tls") != std::string::npos;
  }));
}

TEST_F(TlsTest, LogReadsCheckTheNodesCertificate) {
  StartBatond();
  auto n2 = Join("n2", Token());
  ASSERT_TRUE(n2.ok());
  // A server showing n2's certificate (the generated service's Read: a call that gets
  // through the handshake is UNIMPLEMENTED).
  grpc::ServerBuilder builder;
  int port = 0;
  v1::AgentLogs::Service unimplemented;
  builder.AddListeningPort("127.0.0.1:0", security::ServerCredentials((*n2)->server_tls()), &port);
  builder.RegisterService(&unimplemented);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto read_as = [&](const std::string& node) {
    auto stub = v1::AgentLogs::NewStub(security::MakeClientChannel(
        "127.0.0.1:" + std::to_string(port), batond_->tls()->AgentLogsTls(node)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub->Read(&ctx, v1::LogsRequest());
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  };
  EXPECT_EQ(read_as("n2").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // Asked to read n1's logs, batond does not accept n2's log server.
  EXPECT_EQ(read_as("n1").error_code(), grpc::StatusCode::UNAVAILABLE);
  server->Shutdown();
}

TEST_F(TlsTest, CliAndHttpSpeakTls) {
  StartBatond(Seconds(3600), /*test_clock=*/true, /*http=*/true);
  const std::string addr = batond_->grpc_address();
  std::string out, err;
  setenv("BATON_CREDENTIALS", (dir_ / "no-credentials").c_str(), 1);
  setenv("BATON_TOKEN", admin_token_.c_str(), 1);
  EXPECT_EQ(Baton({"nodes", "--server", addr, "--ca-file", ca_file_}, &out, &err), 0) << err;
  EXPECT_THAT(out, HasSubstr("NAME"));
  // Plaintext to a TLS server fails, with a hint.
  EXPECT_EQ(Baton({"nodes", "--server", addr}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("give --ca-file"));
  // Another CA is not trusted.
  auto other = security::CertificateAuthority::Generate("other", clock_.Now(), Seconds(86400));
  ASSERT_TRUE(other.ok());
  const std::string other_ca = (dir_ / "other-ca.crt").string();
  ASSERT_TRUE(security::WriteFileAtomic(other_ca, other->bundle_pem(), 0644).ok());
  EXPECT_EQ(Baton({"nodes", "--server", addr, "--ca-file", other_ca}, &out, &err), 1);
  // $BATON_CA_FILE works like --ca-file.
  setenv("BATON_CA_FILE", ca_file_.c_str(), 1);
  EXPECT_EQ(Baton({"nodes", "--server", addr}, &out, &err), 0) << err;
  unsetenv("BATON_CA_FILE");

  // Bootstrap tokens need a cluster-admin: a token, or the admin certificate batond wrote.
  ASSERT_EQ(
      Baton({"bootstrap-token", "create", "--server", addr, "--ca-file", ca_file_}, &out, &err), 0)
      << err;
  EXPECT_TRUE(out.starts_with("bjt_")) << out;
  unsetenv("BATON_TOKEN");
  EXPECT_EQ(
      Baton({"bootstrap-token", "create", "--server", addr, "--ca-file", ca_file_}, &out, &err), 2);
  const std::string admin_crt = (dir_ / "pki/admin.crt").string();
  const std::string admin_key = (dir_ / "pki/admin.key").string();
  ASSERT_EQ(Baton({"bootstrap-token", "create", "--server", addr, "--ca-file", ca_file_,
                   "--cert-file", admin_crt, "--key-file", admin_key, "--node", "n7"},
                  &out, &err),
            0)
      << err;
  const std::string token = out.substr(0, out.find('\n'));
  EXPECT_TRUE(token.starts_with("bjt_")) << out;
  EXPECT_TRUE(Join("n7", token).ok());
  // A node certificate may not create tokens.
  auto node = Join("n8", Token());
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE(
      security::WriteFileAtomic((dir_ / "n8.crt").string(), (*node)->tls().cert_pem, 0600).ok());
  ASSERT_TRUE(
      security::WriteFileAtomic((dir_ / "n8.key").string(), (*node)->tls().key_pem, 0600).ok());
  EXPECT_EQ(
      Baton({"bootstrap-token", "create", "--server", addr, "--ca-file", ca_file_, "--cert-file",
             (dir_ / "n8.crt").string(), "--key-file", (dir_ / "n8.key").string()},
            &out, &err),
      1);
  EXPECT_THAT(err, HasSubstr("not a user's"));

  // An operator-issued user certificate stands for its user: "admin" (a cluster-admin)
  // may; a user batond does not know may not.
  for (const char* user : {"admin", "ci"}) {
    ASSERT_EQ(Baton({"cert", "issue", "--user", user, "--ca-cert", ca_file_, "--ca-key",
                     (dir_ / "pki/ca.key").string(), "--out", (dir_ / user).string()},
                    &out, &err),
              0)
        << err;
  }
  EXPECT_EQ(
      Baton({"bootstrap-token", "create", "--server", addr, "--ca-file", ca_file_, "--cert-file",
             (dir_ / "admin.crt").string(), "--key-file", (dir_ / "admin.key").string()},
            &out, &err),
      0)
      << err;
  EXPECT_EQ(
      Baton({"bootstrap-token", "create", "--server", addr, "--ca-file", ca_file_, "--cert-file",
             (dir_ / "ci.crt").string(), "--key-file", (dir_ / "ci.key").string()},
            &out, &err),
      1);
  EXPECT_THAT(err, HasSubstr("user 'ci', who does not exist"));
  // With a user certificate, the certificate is the credential for any call.
  EXPECT_EQ(Baton({"nodes", "--server", addr, "--ca-file", ca_file_, "--cert-file",
                   (dir_ / "admin.crt").string(), "--key-file", (dir_ / "admin.key").string()},
                  &out, &err),
            0)
      << err;
  EXPECT_EQ(Baton({"nodes", "--server", addr, "--ca-file", ca_file_}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("no credentials"));
  unsetenv("BATON_CREDENTIALS");

  // HTTP is HTTPS with the same certificate.
  httplib::SSLClient https("127.0.0.1", batond_->http_port());
  https.set_ca_cert_path(ca_file_.c_str());
  https.enable_server_certificate_verification(true);
  auto r = https.Get("/healthz");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  httplib::Client plain("127.0.0.1", batond_->http_port());
  EXPECT_FALSE(plain.Get("/healthz"));
}

TEST_F(TlsTest, LoginSavesTheCaItTrustedForLaterCommands) {
  StartBatond();
  const std::string addr = batond_->grpc_address();
  const std::string creds = (dir_ / "credentials").string();
  setenv("BATON_CREDENTIALS", creds.c_str(), 1);
  unsetenv("BATON_TOKEN");
  unsetenv("BATON_CA_FILE");
  std::string out, err;
  ASSERT_EQ(Baton({"login", "--server", addr, "--ca-file", ca_file_, "--token", admin_token_},
                  &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("trusting the CA in " + ca_file_));
  auto saved = auth::LoadCredentials(creds);
  ASSERT_TRUE(saved.ok() && saved->has_value());
  EXPECT_EQ((*saved)->ca_file, ca_file_);
  // No flags at all now: the server, the token and the CA come from the file.
  EXPECT_EQ(Baton({"nodes"}, &out, &err), 0) << err;
  unsetenv("BATON_CREDENTIALS");
}

}  // namespace
}  // namespace baton
