// The route-table test: every method of every v1 service (walked from the generated
// descriptors, so a method or service added later is covered without touching this test)
// and every HTTP route batond registered refuse calls without valid credentials — with
// UNAUTHENTICATED / 401, no message, no change, and no help from the interceptor
// backstop (each handler refused on its own).
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/access.h"
#include "baton/server/batond.h"

namespace baton::server {
namespace {

// One call of any method as a bidirectional stream at the wire level (unary and
// server-streaming methods read it the same way): sends one empty message, half-closes,
// reads everything. Reports the status and how many messages came back.
class RawCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawCall(grpc::GenericStub& stub, const std::string& method, const std::string& authorization) {
    if (!authorization.empty()) ctx_.AddMetadata("authorization", authorization);
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty("");
    out_ = grpc::ByteBuffer(&empty, 1);
    stub.PrepareBidiStreamingCall(&ctx_, method, grpc::StubOptions(), this);
    StartWrite(&out_);
    StartRead(&in_);
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (ok) StartWritesDone();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    ++messages_;
    StartRead(&in_);
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
    done_ = true;
    cv_.notify_all();
  }
  grpc::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return status_;
  }
  int messages() const { return messages_; }

 private:
  grpc::ClientContext ctx_;
  grpc::ByteBuffer out_, in_;
  int messages_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

// Every "/baton.v1.Service/Method" compiled into this binary.
std::vector<std::string> AllV1Methods() {
  std::vector<std::string> files;
  google::protobuf::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
  std::vector<std::string> methods;
  for (const std::string& f : files) {
    if (f.rfind("baton/v1/", 0) != 0) continue;
    const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(f);
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.push_back("/" + service->full_name() + "/" + service->method(m)->name());
      }
    }
  }
  std::sort(methods.begin(), methods.end());
  return methods;
}

class AuthRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/auth_routes_test";
    std::filesystem::remove_all(dir_);
    BatondOptions o;
    o.store = "memory";
    o.listen = "127.0.0.1:0";
    o.http_listen = "127.0.0.1:0";
    o.admin_token_file = dir_ + "/admin.token";
    o.agent_token_file = dir_ + "/agent.token";
    auto b = Batond::Start(o);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    batond_ = std::move(*b);
    admin_ = auth::ReadTokenFile(o.admin_token_file).value();
  }

  // Authorization header values that must all be refused.
  std::vector<std::pair<std::string, std::string>> BadCredentials() {
    Principals& p = batond_->access().principals();
    EXPECT_TRUE(p.CreateUser("gone", {}, "admin", nullptr).ok());
    auto revoked = p.CreateToken("gone", "", 0, "admin", nullptr);
    EXPECT_TRUE(revoked.ok());
    EXPECT_TRUE(p.Revoke(revoked->token.id(), nullptr).ok());
    auth::ApiToken forged = auth::ParseToken(admin_).value();
    forged.secret[5] = forged.secret[5] == '0' ? '1' : '0';
    return {{"none", ""},
            {"empty bearer", "Bearer "},
            {"another scheme", "Basic " + admin_},
            {"malformed", "Bearer baton_nope"},
            {"unknown id", "Bearer " + auth::GenerateToken().value().ToString()},
            {"forged secret", "Bearer " + forged.ToString()},
            {"revoked", "Bearer " + revoked->secret}};
  }

  std::string dir_;
  std::string admin_;
  std::unique_ptr<Batond> batond_;
};

TEST_F(AuthRoutesTest, EveryGrpcMethodRefusesCallsWithoutValidCredentials) {
  const std::vector<std::string> methods = AllV1Methods();
  // The walk found the services (a linker that dropped one would shrink this list).
  for (const char* known :
       {"/baton.v1.Jobs/Submit", "/baton.v1.Cluster/UpdateQueue", "/baton.v1.Agent/Connect",
        "/baton.v1.Events/Watch", "/baton.v1.Auth/CreateToken", "/baton.v1.Audit/List"}) {
    EXPECT_NE(std::find(methods.begin(), methods.end(), known), methods.end()) << known;
  }
  auto channel = grpc::CreateChannel(batond_->grpc_address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  int checked = 0;
  for (const auto& [what, header] : BadCredentials()) {
    for (const std::string& method : methods) {
      RawCall call(stub, method, header);
      const grpc::Status s = call.Wait();
      // AgentLogs is served by agents, not batond (log_service_test checks its secret);
      // batond does not even say it lacks it to a caller without credentials.
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << method << " with " << what << ": " << s.error_message();
      EXPECT_EQ(call.messages(), 0) << method << " with " << what;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
  // Every refusal came from the handler itself, not from the backstop.
  EXPECT_EQ(batond_->access().backstop_refusals(), 0);
  // Nothing changed: no job, no node, no queue, no new user beyond the test's own.
  ControlPlane& cp = batond_->control_plane();
  EXPECT_EQ(cp.Stats().submitted, 0);
  EXPECT_TRUE(cp.Nodes(std::nullopt).empty());
  EXPECT_TRUE(cp.queue_tree().Specs().empty());
  EXPECT_EQ(batond_->access().principals().Users().size(), 3u);  // admin, agent, gone
  // The refusals were audited (up to the rate limit).
  batond_->access().audit().Flush();
  v1::ListAuditRequest req;
  req.set_outcome("denied");
  EXPECT_GT(batond_->access().audit().List(req).value().records_size(), 0);
}

TEST_F(AuthRoutesTest, EveryHttpRouteButHealthAndStaticFilesRefusesRequestsWithoutAToken) {
  const auto creds = BadCredentials();
  httplib::Client http("127.0.0.1", batond_->http_port());
  int checked = 0;
  for (const metrics::HttpRoute& route : batond_->http_routes()) {
    const bool public_route = route.path == "/healthz" || route.path == "/" || route.path == "/ui/";
    // Concrete paths for prefix routes: the known shapes under them and an unknown one.
    std::vector<std::string> paths = {route.path};
    if (route.prefix) {
      paths = {
          route.path + "x",          route.path + "v1/jobs/1",        route.path + "v1/jobs/1/logs",
          route.path + "v1/nodes/n", route.path + "v1/jobs/1/cancel", route.path + "app.js"};
    }
    for (const std::string& path : paths) {
      for (const auto& [what, header] : creds) {
        httplib::Headers h;
        if (!header.empty()) h.emplace("Authorization", header);
        auto res =
            route.method == "POST" ? http.Post(path, h, "", "application/json") : http.Get(path, h);
        ASSERT_TRUE(res) << route.method << " " << path;
        if (public_route) {
          EXPECT_NE(res->status, 401) << path;
          continue;
        }
        EXPECT_EQ(res->status, 401)
            << route.method << " " << path << " with " << what << ": " << res->body;
        EXPECT_NE(res->body.find("UNAUTHENTICATED"), std::string::npos) << path;
        EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer") << path;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 7 * 8);  // the API's routes and /metrics, each with every bad token
  // With the token: the same routes answer.
  httplib::Headers ok = {{"Authorization", "Bearer " + admin_}};
  for (const char* path : {"/api/v1/overview", "/api/v1/jobs", "/metrics", "/api/v1/whoami"}) {
    auto res = http.Get(path, ok);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
  }
}

}  // namespace
}  // namespace baton::server
