// batond on a 3-member etcd that loses its quorum (2 of 3 members stopped): writes fail
// with a clear UNAVAILABLE and nothing is acknowledged that is not durable; reads are
// served from the leader's memory while it still leads; the leader steps down once it
// cannot renew its lease; with quorum back a new leader has every acknowledged job.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/batond.h"
#include "baton/server/control_plane_fixture.h"
#include "baton/v1/jobs.grpc.pb.h"
#include "etcd_cluster.h"

namespace baton::server {
namespace {

using namespace std::chrono_literals;
using testing_fixture::Spec;

Result<v1::Job> SubmitSync(Batond& b) {
  std::promise<Result<v1::Job>> p;
  b.control_plane().Submit(Spec(1, 1), [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

TEST(EtcdQuorumTest, WithoutQuorumWritesFailReadsAreServedAndTheLeaderStepsDown) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "baton_quorum_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  std::filesystem::create_directories(dir + "/etcd");
  auto etcd = baton::testing::EtcdCluster::Start(dir + "/etcd", 3);
  ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();

  BatondOptions opts;
  opts.store = "etcd";
  opts.etcd_endpoints = (*etcd)->endpoints();
  opts.election_ttl_seconds = 2;
  opts.listen = "127.0.0.1:" + std::to_string(baton::testing::FreeLocalPort());
  opts.http_listen = "";
  opts.data_dir = dir + "/batond";
  auto b = Batond::Start(opts);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE((*b)->WaitUntilServing(30s));
  auto acked = SubmitSync(**b);
  ASSERT_TRUE(acked.ok()) << acked.status().ToString();

  // Two of three members stop: no quorum.
  (*etcd)->Kill(1);
  (*etcd)->Kill(2);
  // Reads come from memory while this replica still leads (it keeps leading for the lease
  // TTL plus a grace, 7 s here, after its last renewal), also over gRPC.
  auto stub = v1::Jobs::NewStub(auth::CreateChannel(
      (*b)->grpc_address(), auth::ReadTokenFile(dir + "/batond/admin.token").value()));
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::GetJobRequest req;
    req.set_id(acked->id());
    v1::Job job;
    grpc::Status s = stub->Get(&ctx, req, &job);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(job.id(), acked->id());
  }
  auto refused = SubmitSync(**b);
  ASSERT_FALSE(refused.ok()) << "a write was acknowledged without quorum";
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  // "job not accepted", or, when etcd's answer was lost (deadline: the write may still be
  // applied once quorum is back), "job not acknowledged ... may still appear".
  const std::string& why = refused.status().message();
  EXPECT_TRUE(why.find("job not accepted") != std::string::npos ||
              why.find("may still appear") != std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("etcd"), std::string::npos)
      << refused.status().ToString();
  auto listed = (*b)->control_plane().List(JobFilter{}, 10, "");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->jobs.size(), 1u);  // the refused job is not there
  // It cannot renew its lease: it steps down (batond_main then exits with code 3).
  ASSERT_TRUE((*b)->WaitUntilDeposed(30s));
  EXPECT_NE((*b)->deposed_reason().find("could not renew"), std::string::npos)
      << (*b)->deposed_reason();
  b->reset();

  // Quorum back: a new replica leads and has the acknowledged job (and possibly the one
  // whose outcome was unknown, never anything else).
  ASSERT_TRUE((*etcd)->Restart(1).ok());
  ASSERT_TRUE((*etcd)->Restart(2).ok());
  ASSERT_TRUE((*etcd)->WaitHealthy(std::chrono::milliseconds(30000)).ok());
  opts.data_dir = dir + "/batond2";
  auto again = Batond::Start(opts);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE((*again)->WaitUntilServing(30s));
  auto after = (*again)->control_plane().List(JobFilter{}, 10, "");
  ASSERT_TRUE(after.ok());
  ASSERT_GE(after->jobs.size(), 1u);
  ASSERT_LE(after->jobs.size(), 2u);
  EXPECT_EQ(after->jobs.back().id(), acked->id());  // newest first: the acked one is last
  if (after->jobs.size() == 2) {
    EXPECT_NE(why.find("may still appear"), std::string::npos)
        << "a job refused as not accepted was applied: " << why;
  }
  again->reset();
  etcd->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton::server
