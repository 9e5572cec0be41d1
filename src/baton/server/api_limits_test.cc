// The v1 API's size limits end to end (common/limits.h, docs/limits.md): oversized fields
// are INVALID_ARGUMENT naming the field and the limit, and the server keeps serving.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <unistd.h>

#include <filesystem>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/common/limits.h"
#include "baton/server/batond.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::server {
namespace {

class ApiLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BatondOptions opts;
    opts.store = "memory";
    opts.listen = "127.0.0.1:0";
    opts.http_listen = "";
    dir_ = ::testing::TempDir() + "/baton-limits-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    opts.admin_token_file = dir_ + "/admin.token";
    opts.agent_token_file = dir_ + "/agent.token";
    auto b = Batond::Start(opts);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    batond_ = std::move(*b);
    auto channel = auth::CreateChannel(batond_->grpc_address(),
                                       auth::ReadTokenFile(opts.admin_token_file).value());
    jobs_ = v1::Jobs::NewStub(channel);
    cluster_ = v1::Cluster::NewStub(channel);
  }

  template <typename Fn>
  grpc::Status Call(Fn fn) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return fn(&ctx);
  }

  grpc::Status Submit(const v1::JobSpec& spec, v1::SubmitResponse* resp) {
    v1::SubmitRequest req;
    *req.mutable_spec() = spec;
    return Call([&](grpc::ClientContext* c) { return jobs_->Submit(c, req, resp); });
  }

  void TearDown() override {
    batond_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<Batond> batond_;
  std::unique_ptr<v1::Jobs::Stub> jobs_;
  std::unique_ptr<v1::Cluster::Stub> cluster_;
};

TEST_F(ApiLimitsTest, OversizedFieldsAreRefusedByNameAndServingGoesOn) {
  v1::JobSpec spec;
  spec.set_name("big");
  spec.add_command("/bin/echo");
  spec.add_command(std::string(limits::kMaxArgBytes + 1, 'a'));
  v1::SubmitResponse resp;
  grpc::Status s = Submit(spec, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "spec.command: argument 1 is 131073 bytes; at most 131072");

  v1::JobSpec queue = spec;
  queue.clear_command();
  queue.set_queue(std::string(300, 'q'));
  s = Submit(queue, &resp);
  EXPECT_EQ(s.error_message(), "spec.queue: 300 bytes; at most 253");

  v1::DrainNodeRequest drain;
  drain.set_name(std::string(100000, 'n'));
  v1::Node node;
  s = Call([&](grpc::ClientContext* c) { return cluster_->DrainNode(c, drain, &node); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "name: 100000 bytes; at most 253");

  v1::ListJobsRequest list;
  list.set_page_token(std::string(1000, '9'));
  v1::ListJobsResponse page;
  s = Call([&](grpc::ClientContext* c) { return jobs_->List(c, list, &page); });
  EXPECT_EQ(s.error_message(), "page_token: 1000 bytes; at most 32");

  // Still serving.
  v1::JobSpec fine;
  fine.set_name("fine");
  fine.add_command("/bin/true");
  ASSERT_TRUE(Submit(fine, &resp).ok());
  EXPECT_FALSE(resp.job().id().empty());

  v1::CancelJobRequest cancel;
  cancel.set_id(resp.job().id());
  cancel.set_reason(std::string(2000, 'r'));
  v1::Job job;
  s = Call([&](grpc::ClientContext* c) { return jobs_->Cancel(c, cancel, &job); });
  EXPECT_EQ(s.error_message(), "reason: 2000 bytes; at most 1024");
}

}  // namespace
}  // namespace baton::server
