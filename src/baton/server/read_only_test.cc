// A damaged store: the control plane serves reads and refuses every change with a clear
// error; batond over a damaged state.db starts read-only instead of refusing to start or
// dropping jobs.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/batond.h"
#include "baton/server/control_plane.h"
#include "baton/server/control_plane_fixture.h"
#include "baton/store/read_only_store.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::server {
namespace {

using namespace testing_fixture;

TEST(ReadOnlyControlPlaneTest, ServesReadsRefusesChangesAndNamesUnreadableJobs) {
  // Jobs 1 and 3 are readable records; job 2's record is garbage.
  store::MemoryStore source;
  ManualClock clock{Time(std::chrono::seconds(1'000'000))};
  {
    ControlPlane cp(ControlPlaneOptions{}, &source, &clock);
    ASSERT_TRUE(cp.Recover().ok());
    for (int i = 0; i < 3; ++i) {
      std::promise<Result<v1::Job>> p;
      cp.Submit(Spec(1, 1), [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
      ASSERT_TRUE(p.get_future().get().ok());
    }
    cp.Flush();
  }
  ASSERT_TRUE(source.Put(JobKey(JobId(2)), "\xff\xfe garbage").ok());
  auto records = source.List("");
  ASSERT_TRUE(records.ok());
  const std::string why = "/data/state.db is damaged (integrity check failed)";
  store::ReadOnlyStore ro(*records, source.Revision(), why);
  ControlPlaneOptions opts;
  opts.read_only = why;
  ControlPlane cp(opts, &ro, &clock);
  ASSERT_TRUE(cp.Recover().ok());  // the garbage record is skipped, not fatal

  auto page = cp.List(JobFilter{}, 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_TRUE(cp.Get(JobId(3)).ok());
  auto two = cp.Get(JobId(2));
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("not among the records that could be read"),
            std::string::npos)
      << two.status().ToString();
  EXPECT_NE(two.status().message().find(why), std::string::npos);

  auto refused = [&](const baton::Status& s) {
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
    EXPECT_NE(s.message().find("read-only"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find(why), std::string::npos) << s.ToString();
  };
  auto sync = [](auto call) {
    std::promise<Result<v1::Job>> p;
    call([&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    return p.get_future().get().status();
  };
  refused(sync([&](ControlPlane::JobDone d) { cp.Submit(Spec(1, 1), d); }));
  refused(sync([&](ControlPlane::JobDone d) { cp.Cancel(JobId(1), "", d); }));
  refused(sync([&](ControlPlane::JobDone d) { cp.ReportCheckpoint(JobId(1), 0, "/x", d); }));
  refused(cp.Drain("node-a", "").status());
  auto sink = std::make_shared<RecordingSink>();
  refused(cp.RegisterAgent(MakeRegister("node-a", 1), sink).status());
  cp.Tick();  // schedules nothing, writes nothing
  EXPECT_EQ(cp.Get(JobId(1))->state(), v1::JOB_STATE_PENDING);
}

// batond over a state.db with a damaged page: it starts, serves every job it had, and
// refuses changes over gRPC; /healthz says read-only.
TEST(ReadOnlyBatondTest, ADamagedStateDbIsServedReadOnly) {
  const std::string dir = ::testing::TempDir() + "/baton-ro-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  BatondOptions opts;
  opts.data_dir = dir;
  opts.listen = "127.0.0.1:0";
  opts.http_listen = "127.0.0.1:0";
  constexpr int kJobs = 200;
  {
    auto b = Batond::Start(opts);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    for (int i = 0; i < kJobs; ++i) {
      std::promise<Result<v1::Job>> p;
      model::JobSpec spec = Spec(1, 1);
      spec.name = std::string(250, 'n');  // several pages of records
      (*b)->control_plane().Submit(spec, [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
      ASSERT_TRUE(p.get_future().get().ok());
    }
  }  // clean shutdown
  const std::string db = dir + "/state.db";
  const uint64_t pages = std::filesystem::file_size(db) / 4096;
  ASSERT_GT(pages, 10u);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(pages / 2 * 4096 + 64));
    const std::string garbage(2000, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto b = Batond::Start(opts);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto page = (*b)->control_plane().List(JobFilter{}, 1000, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), static_cast<size_t>(kJobs)) << "a job was dropped";

  auto stub = v1::Jobs::NewStub(auth::CreateChannel(
      (*b)->grpc_address(), auth::ReadTokenFile(dir + "/admin.token").value()));
  {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_id("7");
    v1::Job job;
    EXPECT_TRUE(stub->Get(&ctx, req, &job).ok());
  }
  grpc::ClientContext ctx;
  v1::SubmitRequest req;
  req.mutable_spec()->add_command("true");
  v1::SubmitResponse resp;
  grpc::Status s = stub->Submit(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find(db), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("read-only"), std::string::npos) << s.error_message();
  httplib::Client http("127.0.0.1", (*b)->http_port());
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_NE(health->body.find("read-only"), std::string::npos) << health->body;
  b->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton::server
