#include "baton/server/batond.h"

#include <gtest/gtest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <httplib.h>

#include <sys/stat.h>

#include <filesystem>
#include <future>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/access.h"

#include "baton/v1/jobs.grpc.pb.h"

namespace baton::server {
namespace {

// Bootstrap token files of a test's batond, in a directory of its own.
std::string TokenDir() {
  std::string dir = ::testing::TempDir() + "/batond_test_" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::remove_all(dir);
  return dir;
}

std::unique_ptr<Batond> StartMemoryBatond(const std::string& dir) {
  BatondOptions opts;
  opts.store = "memory";
  opts.listen = "127.0.0.1:0";
  opts.http_listen = "";
  opts.admin_token_file = dir + "/admin.token";
  opts.agent_token_file = dir + "/agent.token";
  auto b = Batond::Start(opts);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? std::move(*b) : nullptr;
}

// Sends raw bytes as the request of `method`; returns the call's status.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  return done.get_future().get();
}

TEST(BatondTest, GarbageAndOversizedRequestsAreRefusedAndServingGoesOn) {
  const std::string dir = TokenDir();
  auto b = StartMemoryBatond(dir);
  ASSERT_NE(b, nullptr);
  auto channel =
      auth::CreateChannel(b->grpc_address(), auth::ReadTokenFile(dir + "/admin.token").value());

  // Bytes that are not a SubmitRequest.
  grpc::Status garbage = CallRaw(channel, "/baton.v1.Jobs/Submit", std::string("\xff\xff\xff\x0f", 4));
  EXPECT_FALSE(garbage.ok());
  // A message over the 4 MiB limit.
  grpc::Status huge = CallRaw(channel, "/baton.v1.Jobs/Submit", std::string(5 << 20, 'x'));
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // An unknown method.
  EXPECT_EQ(CallRaw(channel, "/baton.v1.Jobs/Nope", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  auto stub = v1::Jobs::NewStub(channel);
  {
    grpc::ClientContext ctx;
    v1::SubmitRequest req;
    req.mutable_spec()->set_gpus_per_task("1.5");
    v1::SubmitResponse resp;
    grpc::Status s = stub->Submit(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("spec.gpus_per_task"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_id("not-a-number");
    v1::Job resp;
    grpc::Status s = stub->Get(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Still serving.
  grpc::ClientContext ctx;
  v1::SubmitRequest req;
  req.mutable_spec()->add_command("true");
  v1::SubmitResponse resp;
  ASSERT_TRUE(stub->Submit(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.job().id(), "1");
  EXPECT_EQ(resp.job().state(), v1::JOB_STATE_PENDING);
}

TEST(BatondTest, ServesHealthAndPrometheusMetrics) {
  const std::string dir = TokenDir();
  BatondOptions opts;
  opts.store = "memory";
  opts.listen = "127.0.0.1:0";
  opts.http_listen = "127.0.0.1:0";
  opts.admin_token_file = dir + "/admin.token";
  opts.agent_token_file = dir + "/agent.token";
  auto b = Batond::Start(opts);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  httplib::Client http("127.0.0.1", (*b)->http_port());
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // Metrics name every tenant's queues: they need a token (docs/security.md).
  auto refused = http.Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  const std::string token = auth::ReadTokenFile(dir + "/admin.token").value();
  auto metrics = http.Get("/metrics", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE baton_jobs_active gauge"), std::string::npos);
  EXPECT_NE(metrics->body.find("baton_nodes{state=\"ready\"} 0"), std::string::npos);
}

TEST(BatondTest, FirstStartWritesBootstrapTokensOwnerOnlyAndAdoptsGivenOnes) {
  const std::string dir = ::testing::TempDir() + "/batond_bootstrap_test";
  std::filesystem::remove_all(dir);
  BatondOptions opts;
  opts.data_dir = dir + "/data";
  opts.listen = "127.0.0.1:0";
  opts.http_listen = "";
  // A token the operator (or a test fixture) chose beforehand is adopted.
  const std::string chosen = auth::GenerateToken().value().ToString();
  ASSERT_TRUE(auth::WriteSecretFile(dir + "/data/agent.token", chosen + "\n").ok());
  std::string admin;
  {
    auto b = Batond::Start(opts);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    for (const char* name : {"/data/admin.token", "/data/agent.token"}) {
      struct stat st {};
      ASSERT_EQ(stat((dir + name).c_str(), &st), 0) << name;
      EXPECT_EQ(st.st_mode & 0777, 0600) << name;
    }
    EXPECT_EQ(auth::ReadTokenFile(dir + "/data/agent.token").value(), chosen);
    admin = auth::ReadTokenFile(dir + "/data/admin.token").value();
    auto who = (*b)->access().principals().Authenticate(admin);
    ASSERT_TRUE(who.ok()) << who.status().ToString();
    EXPECT_TRUE(who->cluster_admin());
    auto agent = (*b)->access().principals().Authenticate(chosen);
    ASSERT_TRUE(agent.ok());
    EXPECT_TRUE(agent->agent());
    EXPECT_FALSE(agent->cluster_admin());
  }
  // A restart on the same store keeps the users and does not mint new tokens.
  std::filesystem::remove(dir + "/data/admin.token");
  auto again = Batond::Start(opts);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir + "/data/admin.token"));
  EXPECT_TRUE((*again)->access().principals().Authenticate(admin).ok());
}

TEST(BatondTest, SecondBatondOnOneDataDirIsRefused) {
  const std::string dir = ::testing::TempDir() + "/batond_lock_test";
  BatondOptions opts;
  opts.data_dir = dir;
  opts.listen = "127.0.0.1:0";
  opts.http_listen = "127.0.0.1:0";
  auto first = Batond::Start(opts);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Batond::Start(opts);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
}

}  // namespace
}  // namespace baton::server
