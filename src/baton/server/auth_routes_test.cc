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
#include <thread>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/access.h"
#include "baton/server/batond.h"

namespace baton::server {
namespace {

// One call of any method as a bidirectional stream at the wire level (unary and
// server-streaming methods read it the same way): sends one message (`payload`, empty by
// default), half-closes, reads everything. Reports the status and how many messages came
// back.
class RawCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawCall(grpc::GenericStub& stub, const std::string& method, const std::string& authorization,
          const std::string& payload = "") {
    if (!authorization.empty()) ctx_.AddMetadata("authorization", authorization);
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Slice slice(payload);
    out_ = grpc::ByteBuffer(&slice, 1);
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

// A message any v1 request parses: one unknown length-delimited field (number 4000) of
// `size` bytes, which protobuf keeps and counts in the message's size.
std::string UnknownFieldMessage(size_t size) {
  std::string out;
  auto varint = [&out](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint((4000u << 3) | 2);
  varint(size);
  out.append(size, 'x');
  return out;
}

// The audit action each handler records, by method (from the method name: "Jobs/Submit"
// -> "jobs.submit", "Cluster/DrainNode" -> "cluster.drain_node").
std::string ActionOf(const std::string& method) {
  std::string service = method.substr(method.find('.', 7) + 1);  // "Jobs/Submit"
  std::string out;
  for (size_t i = 0; i < service.size(); ++i) {
    char c = service[i];
    if (c == '/') {
      out += '.';
    } else if (std::isupper(static_cast<unsigned char>(c))) {
      if (i > 0 && service[i - 1] != '/') out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

// Issue 6's hostile input: a request over the 4 MiB limit is refused by its handler with
// RESOURCE_EXHAUSTED and an audit record naming the caller — on every method — and the
// server goes on serving. Beyond gRPC's transport cap (16 MiB) gRPC refuses it itself.
TEST_F(AuthRoutesTest, EveryGrpcMethodRefusesAnOversizedRequestWithAnAuditRecord) {
  ASSERT_EQ(ActionOf("/baton.v1.Cluster/DrainNode"), "cluster.drain_node");
  auto channel = grpc::CreateChannel(batond_->grpc_address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  const std::string bearer = "Bearer " + admin_;
  const std::string big = UnknownFieldMessage((4 << 20) + 1);
  std::vector<std::string> refused;
  for (const std::string& method : AllV1Methods()) {
    RawCall call(stub, method, bearer, big);
    const grpc::Status s = call.Wait();
    // Pki is served only with TLS (cert_revocation_test checks it there); AgentLogs only by
    // agents.
    if (method.rfind("/baton.v1.Pki/", 0) == 0 || method.rfind("/baton.v1.AgentLogs/", 0) == 0) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
      continue;
    }
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << method << ": " << s.error_message();
    EXPECT_NE(s.error_message().find("at most 4194304"), std::string::npos)
        << method << ": " << s.error_message();
    EXPECT_EQ(call.messages(), 0) << method;
    refused.push_back(method);
  }
  EXPECT_GE(refused.size(), 24u);  // Jobs, Cluster, Agent, Events, Auth and Audit today
  batond_->access().audit().Flush();
  v1::ListAuditRequest req;
  req.set_outcome("denied");
  req.set_limit(1000);
  auto records = batond_->access().audit().List(req).value();
  for (const std::string& method : refused) {
    // The agent stream's messages are audited as agent.message.
    const std::string action = method == "/baton.v1.Agent/Connect" ? "agent.message"
                               : method == "/baton.v1.Auth/WhoAmI" ? "auth.whoami"
                                                                   : ActionOf(method);
    bool found = false;
    for (const auto& r : records.records()) {
      if (r.action() == action && r.user() == "admin" && r.object() == "request" &&
          r.detail().find("at most 4194304") != std::string::npos) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << method << ": no audit record of action " << action;
  }
  // Past gRPC's own cap the handler never runs: RESOURCE_EXHAUSTED from gRPC.
  RawCall huge(stub, "/baton.v1.Jobs/Submit", bearer, UnknownFieldMessage((16 << 20) + 1));
  const grpc::Status s = huge.Wait();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("larger than max"), std::string::npos) << s.error_message();
  // Still serving, and nothing was submitted.
  RawCall list(stub, "/baton.v1.Jobs/List", bearer);
  EXPECT_TRUE(list.Wait().ok());
  EXPECT_EQ(list.messages(), 1);
  EXPECT_EQ(batond_->control_plane().Stats().submitted, 0);
}

// An HTTP request with a body over the limit gets 413 from the server, before any route,
// and an audit record all the same.
TEST_F(AuthRoutesTest, AnOversizedHttpBodyIsRefusedWithAnAuditRecord) {
  httplib::Client http("127.0.0.1", batond_->http_port());
  httplib::Headers h = {{"Authorization", "Bearer " + admin_}};
  auto res = http.Post("/api/v1/jobs/1/cancel", h, std::string(metrics::kMaxPostBody + 1, 'x'),
                       "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // httplib reports the refusal after sending it: wait for the record (10 s at most).
  v1::ListAuditRequest req;
  req.set_action("http.request");
  v1::ListAuditResponse records;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    std::this_thread::yield();
    batond_->access().audit().Flush();
    records = batond_->access().audit().List(req).value();
  } while (records.records_size() == 0 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(records.records_size(), 1);
  EXPECT_EQ(records.records(0).user(), "admin");
  EXPECT_EQ(records.records(0).outcome(), "denied");
  EXPECT_EQ(records.records(0).object(), "/api/v1/jobs/1/cancel");
  EXPECT_NE(records.records(0).detail().find("1048577 bytes"), std::string::npos)
      << records.records(0).detail();
  // The server goes on.
  auto ok = http.Get("/api/v1/whoami", h);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
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
