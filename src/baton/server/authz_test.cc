// The authorization rules as a table: identity x permission x resource -> allowed.
#include "baton/server/authz.h"

#include <gtest/gtest.h>

namespace baton::server {
namespace {

v1::RoleBinding B(v1::Role role, std::string queue = "") {
  v1::RoleBinding b;
  b.set_role(role);
  b.set_queue(std::move(queue));
  return b;
}

Identity Who(std::string user, std::vector<v1::RoleBinding> bindings) {
  Identity id;
  id.user = std::move(user);
  id.bindings = std::move(bindings);
  return id;
}

// The tree: research -> {team-a, team-b}; other (top level, a second tenant).
Resource Job(std::vector<std::string> path, std::string owner) {
  Resource r;
  r.queue_path = std::move(path);
  r.owner = std::move(owner);
  r.describe = "a job";
  return r;
}
Resource Queue(std::vector<std::string> path) { return Job(std::move(path), ""); }
Resource Cluster() { return Resource{{}, "", "the cluster"}; }

const std::vector<std::string> kTeamA = {"research", "team-a"};
const std::vector<std::string> kTeamB = {"research", "team-b"};
const std::vector<std::string> kResearch = {"research"};
const std::vector<std::string> kOther = {"other"};

TEST(AuthzTest, TenantByActionByResourceMatrix) {
  const Identity admin = Who("admin", {B(v1::ROLE_CLUSTER_ADMIN)});
  const Identity agent = Who("agent", {B(v1::ROLE_AGENT)});
  const Identity alice = Who("alice", {B(v1::ROLE_SUBMITTER, "team-a")});
  const Identity amy = Who("amy", {B(v1::ROLE_SUBMITTER, "team-a")});
  const Identity vic = Who("vic", {B(v1::ROLE_VIEWER, "research")});
  const Identity quinn = Who("quinn", {B(v1::ROLE_QUEUE_ADMIN, "research")});
  const Identity tara = Who("tara", {B(v1::ROLE_QUEUE_ADMIN, "team-a")});
  const Identity wanda = Who("wanda", {B(v1::ROLE_VIEWER, "*")});
  const Identity nobody = Who("nobody", {});

  struct Case {
    const Identity* who;
    Permission p;
    Resource r;
    bool allowed;
  };
  const Resource alices_job = Job(kTeamA, "alice");
  const Resource team_b_job = Job(kTeamB, "bob");
  const Resource other_job = Job(kOther, "olga");
  const std::vector<Case> cases = {
      // cluster-admin: everything.
      {&admin, Permission::kViewJobs, other_job, true},
      {&admin, Permission::kSubmit, Queue(kOther), true},
      {&admin, Permission::kCancelJob, alices_job, true},
      {&admin, Permission::kUpdateQueue, Queue(kResearch), true},
      {&admin, Permission::kManageNodes, Cluster(), true},
      {&admin, Permission::kManageAuth, Cluster(), true},
      {&admin, Permission::kReadAudit, Cluster(), true},
      {&admin, Permission::kViewMetrics, Cluster(), true},
      // submitter on team-a: its own queue only; cancels only its own jobs.
      {&alice, Permission::kSubmit, Queue(kTeamA), true},
      {&alice, Permission::kSubmit, Queue(kTeamB), false},
      {&alice, Permission::kSubmit, Queue(kResearch), false},
      {&alice, Permission::kSubmit, Queue(kOther), false},
      {&alice, Permission::kViewJobs, alices_job, true},
      {&alice, Permission::kViewJobs, Job(kTeamA, "amy"), true},
      {&alice, Permission::kViewJobs, team_b_job, false},
      {&alice, Permission::kViewJobs, other_job, false},
      {&alice, Permission::kCancelJob, alices_job, true},
      {&amy, Permission::kCancelJob, alices_job, false},
      {&alice, Permission::kCancelJob, team_b_job, false},
      {&alice, Permission::kReportCheckpoint, alices_job, true},
      {&amy, Permission::kReportCheckpoint, alices_job, false},
      {&alice, Permission::kUpdateQueue, Queue(kTeamA), false},
      {&alice, Permission::kManageNodes, Cluster(), false},
      {&alice, Permission::kManageAuth, Cluster(), false},
      {&alice, Permission::kReadAudit, Cluster(), false},
      {&alice, Permission::kViewMetrics, Cluster(), false},
      {&alice, Permission::kConnectAgent, Cluster(), false},
      {&alice, Permission::kViewCluster, Cluster(), true},
      // viewer on research: sees the org's subtree, changes nothing.
      {&vic, Permission::kViewJobs, alices_job, true},
      {&vic, Permission::kViewJobs, team_b_job, true},
      {&vic, Permission::kViewJobs, other_job, false},
      {&vic, Permission::kSubmit, Queue(kTeamA), false},
      {&vic, Permission::kCancelJob, alices_job, false},
      // queue-admin on research: the subtree's jobs, and its children's quotas; not its own.
      {&quinn, Permission::kCancelJob, alices_job, true},
      {&quinn, Permission::kCancelJob, team_b_job, true},
      {&quinn, Permission::kCancelJob, other_job, false},
      {&quinn, Permission::kSubmit, Queue(kTeamB), true},
      {&quinn, Permission::kUpdateQueue, Queue(kTeamA), true},
      {&quinn, Permission::kUpdateQueue, Queue({"research", "team-a", "sub"}), true},
      {&quinn, Permission::kUpdateQueue, Queue(kResearch), false},
      {&quinn, Permission::kUpdateQueue, Queue(kOther), false},
      {&quinn, Permission::kManageNodes, Cluster(), false},
      // queue-admin on team-a: team-a's jobs, not team-a's own quota (its parent decides).
      {&tara, Permission::kCancelJob, alices_job, true},
      {&tara, Permission::kCancelJob, team_b_job, false},
      {&tara, Permission::kUpdateQueue, Queue(kTeamA), false},
      {&tara, Permission::kUpdateQueue, Queue({"research", "team-a", "sub"}), true},
      // viewer on "*": every queue, and the metrics; no changes.
      {&wanda, Permission::kViewJobs, other_job, true},
      {&wanda, Permission::kViewMetrics, Cluster(), true},
      {&wanda, Permission::kSubmit, Queue(kOther), false},
      // agents: connect and report checkpoints; nothing else.
      {&agent, Permission::kConnectAgent, Cluster(), true},
      {&agent, Permission::kReportCheckpoint, alices_job, true},
      {&agent, Permission::kViewJobs, alices_job, false},
      {&agent, Permission::kSubmit, Queue(kTeamA), false},
      {&agent, Permission::kCancelJob, alices_job, false},
      {&admin, Permission::kConnectAgent, Cluster(), true},
      // a user without roles: only the cluster's shape.
      {&nobody, Permission::kViewCluster, Cluster(), true},
      {&nobody, Permission::kViewJobs, alices_job, false},
      {&nobody, Permission::kSubmit, Queue(kTeamA), false},
  };
  for (const Case& c : cases) {
    Status s = Decide(*c.who, c.p, c.r);
    EXPECT_EQ(s.ok(), c.allowed) << c.who->user << " " << PermissionVerb(c.p) << " "
                                 << (c.r.queue_path.empty() ? "-" : c.r.queue_path.back()) << ": "
                                 << s.ToString();
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
      EXPECT_NE(s.message().find(c.who->user + " may not"), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("needs"), std::string::npos) << s.message();
    }
  }
}

TEST(AuthzTest, ViewableSubtreesAreTheBoundQueuesOrAll) {
  EXPECT_FALSE(ViewableSubtrees(Who("a", {B(v1::ROLE_CLUSTER_ADMIN)})).has_value());
  EXPECT_FALSE(ViewableSubtrees(Who("w", {B(v1::ROLE_VIEWER, "*")})).has_value());
  EXPECT_EQ(
      *ViewableSubtrees(Who("x", {B(v1::ROLE_SUBMITTER, "team-b"), B(v1::ROLE_VIEWER, "research"),
                                  B(v1::ROLE_VIEWER, "team-b")})),
      (std::vector<std::string>{"research", "team-b"}));
  EXPECT_TRUE(ViewableSubtrees(Who("agent", {B(v1::ROLE_AGENT)}))->empty());
}

TEST(AuthzTest, BindingsAreValidatedWithTheFieldNamed) {
  EXPECT_TRUE(ValidateBinding(B(v1::ROLE_VIEWER, "team-a"), "b").ok());
  EXPECT_TRUE(ValidateBinding(B(v1::ROLE_SUBMITTER, "*"), "b").ok());
  EXPECT_TRUE(ValidateBinding(B(v1::ROLE_CLUSTER_ADMIN), "b").ok());
  for (const auto& [bad, field] : std::vector<std::pair<v1::RoleBinding, std::string>>{
           {B(v1::ROLE_VIEWER), "b.queue"},
           {B(v1::ROLE_CLUSTER_ADMIN, "team-a"), "b.queue"},
           {B(v1::ROLE_UNSPECIFIED, "team-a"), "b.role"},
           {B(static_cast<v1::Role>(99), "team-a"), "b.role"},
           {B(v1::ROLE_VIEWER, "team a"), "b.queue"}}) {
    Status s = ValidateBinding(bad, "b");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.ShortDebugString();
    EXPECT_EQ(s.message().rfind(field, 0), 0u) << s.message();
  }
  EXPECT_EQ(ParseRole("queue-admin"), v1::ROLE_QUEUE_ADMIN);
  EXPECT_FALSE(ParseRole("root").has_value());
  EXPECT_EQ(BindingName(B(v1::ROLE_SUBMITTER, "team-a")), "submitter@team-a");
}

}  // namespace
}  // namespace baton::server
