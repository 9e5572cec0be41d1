// Tenant x action x resource, end to end: a real batond (gRPC, a queue tree research ->
// {team-a, team-b} and a second tenant "other"), users with different roles, and every
// action each may or may not take on each tenant's objects. "denied" is
// PERMISSION_DENIED; "allowed" is any other answer (the request reached its handler's
// business: OK, NOT_FOUND for a node that does not exist, FAILED_PRECONDITION for logs of a
// job that has not started, ...).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/common/quantity.h"
#include "baton/server/access.h"
#include "baton/server/batond.h"
#include "baton/v1/auth.grpc.pb.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/events.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::server {
namespace {

model::QueueSpec Q(std::string name, std::string parent, int quota) {
  model::QueueSpec q;
  q.name = std::move(name);
  q.parent = std::move(parent);
  q.quota_gpus = Quantity::Whole(quota);
  return q;
}

v1::RoleBinding B(v1::Role role, std::string queue) {
  v1::RoleBinding b;
  b.set_role(role);
  b.set_queue(std::move(queue));
  return b;
}

// A user's view of the API: stubs on a channel that carries their token.
struct Client {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Jobs::Stub> jobs;
  std::unique_ptr<v1::Cluster::Stub> cluster;
  std::unique_ptr<v1::Events::Stub> events;
  std::unique_ptr<v1::Auth::Stub> auth;
  std::unique_ptr<v1::Audit::Stub> audit;
};

class AuthMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/auth_matrix_test";
    std::filesystem::remove_all(dir_);
    BatondOptions o;
    o.store = "memory";
    o.listen = "127.0.0.1:0";
    o.http_listen = "";
    o.admin_token_file = dir_ + "/admin.token";
    o.agent_token_file = dir_ + "/agent.token";
    o.control_plane.queues = {Q("research", "", 0), Q("team-a", "research", 0),
                              Q("team-b", "research", 0), Q("other", "", 0)};
    auto b = Batond::Start(o);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    batond_ = std::move(*b);
    tokens_["admin"] = auth::ReadTokenFile(o.admin_token_file).value();
    tokens_["agent"] = auth::ReadTokenFile(o.agent_token_file).value();
    Principals& p = batond_->access().principals();
    for (const auto& [user, binding] : std::vector<std::pair<std::string, v1::RoleBinding>>{
             {"alice", B(v1::ROLE_SUBMITTER, "team-a")},
             {"amy", B(v1::ROLE_SUBMITTER, "team-a")},
             {"bob", B(v1::ROLE_SUBMITTER, "team-b")},
             {"vic", B(v1::ROLE_VIEWER, "research")},
             {"quinn", B(v1::ROLE_QUEUE_ADMIN, "research")},
             {"olga", B(v1::ROLE_SUBMITTER, "other")}}) {
      ASSERT_TRUE(p.CreateUser(user, {binding}, "admin", nullptr).ok());
      tokens_[user] = p.CreateToken(user, "", 0, "admin", nullptr).value().secret;
    }
  }

  Client& As(const std::string& user) {
    auto it = clients_.find(user);
    if (it != clients_.end()) return it->second;
    Client c;
    c.channel = auth::CreateChannel(batond_->grpc_address(), tokens_.at(user));
    c.jobs = v1::Jobs::NewStub(c.channel);
    c.cluster = v1::Cluster::NewStub(c.channel);
    c.events = v1::Events::NewStub(c.channel);
    c.auth = v1::Auth::NewStub(c.channel);
    c.audit = v1::Audit::NewStub(c.channel);
    return clients_.emplace(user, std::move(c)).first->second;
  }

  static void Deadline(grpc::ClientContext& ctx, int ms = 10000) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  }

  grpc::Status Submit(const std::string& user, const std::string& queue, std::string* id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::SubmitRequest req;
    req.mutable_spec()->add_command("true");
    req.mutable_spec()->set_queue(queue);
    v1::SubmitResponse resp;
    grpc::Status s = As(user).jobs->Submit(&ctx, req, &resp);
    if (id) *id = resp.job().id();
    return s;
  }

  std::set<std::string> ListedJobs(const std::string& user) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListJobsResponse resp;
    EXPECT_TRUE(As(user).jobs->List(&ctx, v1::ListJobsRequest(), &resp).ok()) << user;
    std::set<std::string> ids;
    for (const auto& j : resp.jobs()) ids.insert(j.id());
    return ids;
  }

  std::set<std::string> EventJobs(const std::string& user) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListEventsResponse resp;
    EXPECT_TRUE(As(user).events->List(&ctx, v1::ListEventsRequest(), &resp).ok()) << user;
    std::set<std::string> ids;
    for (const auto& e : resp.events()) {
      if (!e.job_id().empty()) ids.insert(e.job_id());
    }
    return ids;
  }

  std::set<std::string> Queues(const std::string& user) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListQueuesResponse resp;
    EXPECT_TRUE(As(user).cluster->ListQueues(&ctx, v1::ListQueuesRequest(), &resp).ok());
    std::set<std::string> names;
    for (const auto& q : resp.queues()) names.insert(q.name());
    return names;
  }

  std::string dir_;
  std::unique_ptr<Batond> batond_;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, Client> clients_;
};

std::string Outcome(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) return "unauthenticated";
  return s.error_code() == grpc::StatusCode::PERMISSION_DENIED ? "denied" : "allowed";
}

TEST_F(AuthMatrixTest, EachTenantSeesAndActsOnlyWhereItsRolesReach) {
  // Submissions: who may submit where.
  const std::map<std::pair<std::string, std::string>, std::string> submit = {
      {{"alice", "team-a"}, "allowed"},  {{"alice", "team-b"}, "denied"},
      {{"alice", "research"}, "denied"}, {{"alice", "other"}, "denied"},
      {{"bob", "team-b"}, "allowed"},    {{"bob", "team-a"}, "denied"},
      {{"vic", "team-a"}, "denied"},     {{"quinn", "team-b"}, "allowed"},
      {{"quinn", "other"}, "denied"},    {{"olga", "other"}, "allowed"},
      {{"olga", "team-a"}, "denied"},    {{"agent", "team-a"}, "denied"},
      {{"admin", "other"}, "allowed"}};
  std::map<std::pair<std::string, std::string>, std::string> ids;
  for (const auto& [key, want] : submit) {
    std::string id;
    grpc::Status s = Submit(key.first, key.second, &id);
    EXPECT_EQ(Outcome(s), want) << key.first << " submit to " << key.second << ": "
                                << s.error_message();
    if (s.ok()) ids[key] = id;
  }
  const std::string a = ids.at({"alice", "team-a"});
  const std::string b = ids.at({"bob", "team-b"});
  const std::string o = ids.at({"olga", "other"});
  // The job remembers who submitted it.
  EXPECT_EQ(batond_->control_plane().Get(JobId(std::stoull(a))).value().user(), "alice");

  // Reads of one job: Get, Logs, Watch.
  struct Read {
    std::string user, job, want;
  };
  for (const Read& r : std::vector<Read>{{"alice", a, "allowed"},
                                         {"alice", b, "denied"},
                                         {"alice", o, "denied"},
                                         {"amy", a, "allowed"},
                                         {"bob", a, "denied"},
                                         {"vic", a, "allowed"},
                                         {"vic", b, "allowed"},
                                         {"vic", o, "denied"},
                                         {"quinn", b, "allowed"},
                                         {"olga", a, "denied"},
                                         {"agent", a, "denied"},
                                         {"admin", o, "allowed"}}) {
    {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::GetJobRequest req;
      req.set_id(r.job);
      v1::Job job;
      EXPECT_EQ(Outcome(As(r.user).jobs->Get(&ctx, req, &job)), r.want)
          << r.user << " get " << r.job;
    }
    {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::LogsRequest req;
      req.set_job_id(r.job);
      auto reader = As(r.user).jobs->Logs(&ctx, req);
      v1::LogChunk chunk;
      while (reader->Read(&chunk)) {
      }
      EXPECT_EQ(Outcome(reader->Finish()), r.want) << r.user << " logs " << r.job;
    }
    {
      // An allowed watch stays open: its short deadline ends it (DEADLINE_EXCEEDED).
      grpc::ClientContext ctx;
      Deadline(ctx, 300);
      v1::WatchJobsRequest req;
      req.set_job_id(r.job);
      auto reader = As(r.user).jobs->Watch(&ctx, req);
      v1::JobEvent ev;
      while (reader->Read(&ev)) {
      }
      EXPECT_EQ(Outcome(reader->Finish()), r.want) << r.user << " watch " << r.job;
    }
  }

  // Lists, events and queues are filtered to the caller's subtrees.
  const std::set<std::string> team_a_jobs = {a};
  EXPECT_EQ(ListedJobs("alice"), team_a_jobs);
  EXPECT_EQ(ListedJobs("amy"), team_a_jobs);
  const std::set<std::string> research = {a, b, ids.at({"quinn", "team-b"})};
  EXPECT_EQ(ListedJobs("vic"), research);
  EXPECT_EQ(ListedJobs("quinn"), research);
  EXPECT_EQ(ListedJobs("olga"), (std::set<std::string>{o, ids.at({"admin", "other"})}));
  EXPECT_TRUE(ListedJobs("agent").empty());
  EXPECT_EQ(ListedJobs("admin").size(), 5u);
  EXPECT_EQ(EventJobs("alice"), team_a_jobs);
  EXPECT_EQ(EventJobs("vic"), research);
  EXPECT_EQ(EventJobs("admin").size(), 5u);
  EXPECT_EQ(Queues("alice"), (std::set<std::string>{"team-a"}));
  EXPECT_EQ(Queues("vic"), (std::set<std::string>{"research", "team-a", "team-b"}));
  EXPECT_EQ(Queues("olga"), (std::set<std::string>{"other"}));
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListJobsRequest req;
    req.set_queue("team-b");
    v1::ListJobsResponse resp;
    EXPECT_EQ(Outcome(As("alice").jobs->List(&ctx, req, &resp)), "denied");
  }

  // Cancel: one's own job as a submitter, anyone's in the subtree as a queue-admin.
  std::string a2, a3, a4;
  ASSERT_TRUE(Submit("alice", "team-a", &a2).ok());
  ASSERT_TRUE(Submit("amy", "team-a", &a3).ok());
  ASSERT_TRUE(Submit("amy", "team-a", &a4).ok());
  struct Cancel {
    std::string user, job, want;
  };
  for (const Cancel& c : std::vector<Cancel>{{"alice", a3, "denied"},
                                             {"bob", a3, "denied"},
                                             {"vic", a3, "denied"},
                                             {"olga", a3, "denied"},
                                             {"agent", a3, "denied"},
                                             {"alice", a2, "allowed"},
                                             {"amy", a3, "allowed"},
                                             {"quinn", a4, "allowed"},
                                             {"admin", o, "allowed"}}) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::CancelJobRequest req;
    req.set_id(c.job);
    v1::Job job;
    grpc::Status s = As(c.user).jobs->Cancel(&ctx, req, &job);
    EXPECT_EQ(Outcome(s), c.want) << c.user << " cancel " << c.job << ": " << s.error_message();
    if (c.want == "allowed") {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
  }

  // Checkpoints: the job's submitter, its queue-admins, and agents.
  for (const Read& r : std::vector<Read>{{"alice", a, "allowed"},
                                         {"amy", a, "denied"},
                                         {"agent", a, "allowed"},
                                         {"bob", a, "denied"},
                                         {"quinn", a, "allowed"}}) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ReportCheckpointRequest req;
    req.set_job_id(r.job);
    req.set_path("/ckpt/1");
    v1::Job job;
    EXPECT_EQ(Outcome(As(r.user).jobs->ReportCheckpoint(&ctx, req, &job)), r.want)
        << r.user << " checkpoint " << r.job;
  }

  // Quotas: queue-admins of the parent; top-level queues only by cluster-admins.
  struct QueueChange {
    std::string user, queue, want;
  };
  for (const QueueChange& q : std::vector<QueueChange>{{"alice", "team-a", "denied"},
                                                       {"vic", "team-a", "denied"},
                                                       {"quinn", "team-a", "allowed"},
                                                       {"quinn", "research", "denied"},
                                                       {"quinn", "other", "denied"},
                                                       {"olga", "other", "denied"},
                                                       {"admin", "research", "allowed"}}) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::UpdateQueueRequest req;
    req.set_name(q.queue);
    req.set_weight(2);
    v1::Queue resp;
    grpc::Status s = As(q.user).cluster->UpdateQueue(&ctx, req, &resp);
    EXPECT_EQ(Outcome(s), q.want) << q.user << " update " << q.queue << ": " << s.error_message();
    if (q.want == "allowed") {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
  }

  // Cluster-admin only: nodes, users, tokens of others, the audit log; agents connect.
  for (const std::string user : {"alice", "quinn", "vic", "agent", "admin"}) {
    const std::string want = user == "admin" ? "allowed" : "denied";
    {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::DrainNodeRequest req;
      req.set_name("no-such-node");
      v1::Node node;
      EXPECT_EQ(Outcome(As(user).cluster->DrainNode(&ctx, req, &node)), want) << user;
    }
    {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::ListAuditResponse resp;
      EXPECT_EQ(Outcome(As(user).audit->List(&ctx, v1::ListAuditRequest(), &resp)), want) << user;
    }
    {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::CreateTokenRequest req;
      req.set_user("bob");
      v1::CreateTokenResponse resp;
      EXPECT_EQ(Outcome(As(user).auth->CreateToken(&ctx, req, &resp)), want) << user;
    }
    {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::ListUsersResponse resp;
      EXPECT_EQ(Outcome(As(user).auth->ListUsers(&ctx, v1::ListUsersRequest(), &resp)), want);
    }
  }
  // Anyone may ask who they are, and list or revoke their own tokens only.
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::WhoAmIResponse me;
    ASSERT_TRUE(As("bob").auth->WhoAmI(&ctx, v1::WhoAmIRequest(), &me).ok());
    EXPECT_EQ(me.user(), "bob");
  }
  const std::string bob_token_id = auth::ParseToken(tokens_["bob"]).value().id;
  const std::string alice_token_id = auth::ParseToken(tokens_["alice"]).value().id;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::RevokeTokenRequest req;
    req.set_id(alice_token_id);
    v1::Token t;
    EXPECT_EQ(Outcome(As("bob").auth->RevokeToken(&ctx, req, &t)), "denied");
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListTokensRequest req;
    req.set_user("alice");
    v1::ListTokensResponse resp;
    EXPECT_EQ(Outcome(As("bob").auth->ListTokens(&ctx, req, &resp)), "denied");
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::RevokeTokenRequest req;
    req.set_id(bob_token_id);
    v1::Token t;
    ASSERT_TRUE(As("bob").auth->RevokeToken(&ctx, req, &t).ok());
  }
  {
    // Revoked: the very next call is refused.
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::WhoAmIResponse me;
    EXPECT_EQ(As("bob").auth->WhoAmI(&ctx, v1::WhoAmIRequest(), &me).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }

  // Every denial above left an audit record (the test's rate is under the limit's burst).
  batond_->access().audit().Flush();
  v1::ListAuditRequest denied;
  denied.set_outcome("denied");
  denied.set_user("alice");
  auto records = batond_->access().audit().List(denied).value();
  EXPECT_GE(records.records_size(), 5);
  for (const auto& r : records.records()) {
    EXPECT_FALSE(r.peer().empty());
    EXPECT_FALSE(r.action().empty());
  }
}

}  // namespace
}  // namespace baton::server
