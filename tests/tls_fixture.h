// TlsTest: the fixture of the TLS tests (tls_test.cc, cert_revocation_test.cc).
//
// TLS end to end (docs/tls.md): an in-process batond with TLS on 127.0.0.1, agents that
// join with bootstrap tokens (the real agent code, RunAgentProcess) and hand-made agent
// streams with good, forged, expired and mismatched certificates. batond's certificate
// checks run at a clock the test sets (BatondTlsOptions::clock), so expiry needs no
// waiting; rotation runs on the real clock with 3-second certificates.
#pragma once

#include "baton/security/tls.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>

#include "baton/agent/grpc_agent.h"
#include "baton/agent/node_credentials.h"
#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/cli/main.h"
#include "baton/security/files.h"
#include "baton/security/pki.h"
#include "baton/server/batond.h"
#include "baton/v1/agent.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"
#include "baton/v1/pki.grpc.pb.h"

namespace baton::tls_testing {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A clock the test moves; thread-safe, unlike ManualClock (batond reads it on its threads).
class TestClock final : public Clock {
 public:
  Time Now() const override { return Time(Duration(us_.load())); }
  void Set(Time t) { us_.store(t.time_since_epoch().count()); }
  void Advance(Duration d) { us_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> us_{0};
};

// Waits until `pred` holds or `limit` passes, checking every 20 ms.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Runs the `baton` CLI in-process.
inline int Baton(std::vector<std::string> args, std::string* out, std::string* err) {
  std::ostringstream o, e;
  args.insert(args.begin(), "baton");
  int code = cli::Main(args, o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

class AgentThread {
 public:
  explicit AgentThread(agent::AgentProcessOptions o)
      : thread_([o = std::move(o), this](std::stop_token) {
          Status s = agent::RunAgentProcess(o, stop_.get_token());
          std::lock_guard lock(mu_);
          result_ = s;
          done_ = true;
        }) {}
  ~AgentThread() {
    stop_.request_stop();
    thread_.join();
  }
  std::optional<Status> result() {
    std::lock_guard lock(mu_);
    if (!done_) return std::nullopt;
    return result_;
  }

 private:
  std::stop_source stop_;
  std::mutex mu_;
  Status result_;
  bool done_ = false;
  std::jthread thread_;
};

// The outcome of a hand-made agent stream: whether batond answered `registered`, and how
// the stream ended.
struct StreamOutcome {
  bool registered = false;
  grpc::Status status;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("baton-tls-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    clock_.Set(SystemClock().Now());
  }
  void TearDown() override {
    agents_.clear();
    if (batond_) batond_->Shutdown();
    fs::remove_all(dir_);
  }

  // batond with TLS; `test_clock`: its certificate checks follow clock_.
  void StartBatond(Duration node_validity = Seconds(3600), bool test_clock = true,
                   bool http = false) {
    server::BatondOptions bo;
    bo.store = "memory";
    bo.listen = "127.0.0.1:0";
    bo.http_listen = http ? "127.0.0.1:0" : "";
    bo.tick = std::chrono::milliseconds(50);
    bo.control_plane.heartbeat_interval = std::chrono::milliseconds(100);
    bo.control_plane.stop_grace = std::chrono::seconds(1);
    bo.admin_token_file = (dir_ / "admin.token").string();
    bo.agent_token_file = (dir_ / "agent.token").string();
    bo.tls.enabled = true;
    bo.tls.dir = (dir_ / "pki").string();
    bo.tls.node_cert_validity = node_validity;
    if (test_clock) bo.tls.clock = &clock_;
    auto b = server::Batond::Start(bo);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    batond_ = std::move(*b);
    ca_file_ = (dir_ / "pki/ca.crt").string();
    ca_pem_ = *security::ReadFile(ca_file_);
    // TLS and tokens together: agents carry the agent token, clients the admin's.
    admin_token_ = *auth::ReadTokenFile(bo.admin_token_file);
    agent_token_ = *auth::ReadTokenFile(bo.agent_token_file);
  }

  std::string Token(int uses = 1, std::string node = "", Duration ttl = Seconds(600)) {
    server::BootstrapTokenSpec spec;
    spec.uses = uses;
    spec.node_name = std::move(node);
    spec.ttl = ttl;
    auto t = batond_->tls()->tokens().Create(spec);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->token : "";
  }

  Result<std::unique_ptr<agent::NodeCredentials>> Join(const std::string& node,
                                                       const std::string& token,
                                                       const std::string& dir = "") {
    agent::NodeCredentialsOptions o;
    o.server = batond_->grpc_address();
    o.node = node;
    o.ca_pem = ca_pem_;
    o.bootstrap_token = token;
    o.dir = dir;
    o.rpc_timeout = std::chrono::milliseconds(3000);
    return agent::NodeCredentials::Obtain(o, clock_);
  }

  security::ClientTlsOptions Trust() const {
    security::ClientTlsOptions t;
    t.ca_pem = ca_pem_;
    return t;
  }

  // Opens Agent.Connect with `tls`, registers `node`, and, once registered, sends a
  // heartbeat after `between` has run (to see what batond says then).
  StreamOutcome Stream(const security::ClientTlsOptions& tls, const std::string& node,
                       std::function<void()> between = {}) {
    auto stub = v1::Agent::NewStub(security::MakeClientChannel(batond_->grpc_address(), tls));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata(auth::kAuthorizationHeader, auth::BearerValue(agent_token_));
    auto stream = stub->Connect(&ctx);
    v1::AgentMessage reg;
    reg.mutable_register_()->set_node_name(node);
    reg.mutable_register_()->mutable_inventory()->set_cpus(4);
    reg.mutable_register_()->mutable_inventory()->set_memory_mib(1024);
    StreamOutcome out;
    if (stream->Write(reg)) {
      v1::Directive d;
      if (stream->Read(&d) && d.has_registered()) {
        out.registered = true;
        if (!between) {
          ctx.TryCancel();
          out.status = stream->Finish();
          return out;
        }
        between();
        v1::AgentMessage hb;
        hb.mutable_heartbeat();
        stream->Write(hb);
        while (stream->Read(&d)) {
        }
      }
    }
    out.status = stream->Finish();
    return out;
  }

  std::optional<v1::Node> Node(const std::string& name) {
    for (const v1::Node& n : batond_->control_plane().Nodes(std::nullopt)) {
      if (n.name() == name) return n;
    }
    return std::nullopt;
  }
  bool Ready(const std::string& name) {
    auto n = Node(name);
    return n && n->state() == v1::NODE_STATE_READY;
  }

  agent::AgentProcessOptions AgentOptions(const std::string& name, const std::string& token) {
    agent::AgentProcessOptions o;
    o.server = batond_->grpc_address();
    o.name = name;
    o.fake_gpus = "2xH100";
    o.data_dir = (dir_ / name).string();
    o.log_listen = "127.0.0.1:0";
    o.address = "127.0.0.1";
    o.shutdown_grace = std::chrono::seconds(1);
    o.ca_file = ca_file_;
    o.bootstrap_token = token;
    o.token = agent_token_;
    return o;
  }

  fs::path dir_;
  TestClock clock_;
  std::unique_ptr<server::Batond> batond_;
  std::string ca_file_;
  std::string ca_pem_;
  std::string admin_token_;
  std::string agent_token_;
  std::vector<std::unique_ptr<AgentThread>> agents_;
};

}  // namespace baton::tls_testing
