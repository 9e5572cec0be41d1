// The queue tree in the control plane: --queues seeds an empty store, limits bind the
// scheduler, UpdateQueue changes them durably (with its audit record), guarantees larger
// than the fleet degrade to limits only.
#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using namespace testing_fixture;

model::QueueSpec Q(std::string name, std::string parent, std::optional<int> quota,
                   std::optional<int> limit) {
  model::QueueSpec q;
  q.name = std::move(name);
  q.parent = std::move(parent);
  if (quota) q.quota_gpus = Quantity::Whole(*quota);
  if (limit) q.limit_gpus = Quantity::Whole(*limit);
  return q;
}

class ControlPlaneQueuesTest : public ControlPlaneTest {
 protected:
  void SetUp() override {
    options_.queues = {Q("org", "", 4, std::nullopt), Q("team-a", "org", 2, 2)};
    Open();
  }
  model::JobSpec InQueue(const std::string& queue) {
    model::JobSpec s = Spec(1, 1);
    s.queue = queue;
    return s;
  }
  int Running(const std::vector<v1::Job>& jobs) {
    int n = 0;
    for (const auto& j : jobs) {
      const auto st = StateOf(j);
      n += st == model::JobState::kStarting || st == model::JobState::kRunning;
    }
    return n;
  }
};

TEST_F(ControlPlaneQueuesTest, LimitsBindAndUpdatesAreDurable) {
  auto sink = std::make_shared<RecordingSink>();
  Connect("n1", 8, sink);
  std::vector<v1::Job> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(SubmitSync(InQueue("team-a")).value());
  Tick();
  EXPECT_EQ(Running(jobs), 2);  // team-a's limit
  const auto queues = cp_->Queues();
  auto team = std::find_if(queues.begin(), queues.end(),
                           [](const v1::Queue& q) { return q.name() == "team-a"; });
  ASSERT_NE(team, queues.end());
  EXPECT_EQ(team->limit_gpus(), "2");
  EXPECT_EQ(team->parent(), "org");
  EXPECT_EQ(team->pending_jobs(), 2);

  // Raise the limit: the next round starts a third job. The change carries its record.
  v1::UpdateQueueRequest req;
  req.set_name("team-a");
  req.set_limit_gpus("3");
  ChangeOrigin origin;
  origin.user = "quinn";
  origin.audit = [](const std::string& object) {
    return store::Op{store::Op::kPut, "audit/test-" + object, "record"};
  };
  auto updated = cp_->UpdateQueue(req, origin);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->limit_gpus(), "3");
  EXPECT_TRUE(store_.Get("audit/test-queue/team-a").value().has_value());
  Tick();
  EXPECT_EQ(Running(jobs), 3);

  // A bad change is refused with the field named, and changes nothing.
  req.set_limit_gpus("1");
  req.set_quota_gpus("2");
  auto bad = cp_->UpdateQueue(req);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "limit_gpus: must be >= quota_gpus (2), got 1");
  EXPECT_EQ(cp_->queue_tree().Find("team-a")->limit_gpus->milli(), 3000);

  // A restart (with a different --queues) keeps the stored tree.
  cp_->Flush();
  options_.queues = {Q("something-else", "", std::nullopt, std::nullopt)};
  Open();
  EXPECT_EQ(cp_->queue_tree().Find("team-a")->limit_gpus->milli(), 3000);
  EXPECT_FALSE(cp_->queue_tree().Find("something-else").has_value());
}

TEST_F(ControlPlaneQueuesTest, GuaranteesBeyondTheFleetKeepLimits) {
  // org guarantees 4 GPUs; the fleet has 2: guarantees are dropped, limits still bind.
  auto sink = std::make_shared<RecordingSink>();
  Connect("small", 2, sink);
  std::vector<v1::Job> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(SubmitSync(InQueue("team-a")).value());
  Tick();
  EXPECT_EQ(Running(jobs), 2);
  // A queue outside the tree is a tenant of its own, without limits.
  EXPECT_TRUE(SubmitSync(InQueue("elsewhere")).ok());
  EXPECT_EQ(cp_->queue_tree().Path("elsewhere"), (std::vector<std::string>{"elsewhere"}));
}

TEST_F(ControlPlaneQueuesTest, ABadQueueFileIsRefusedAtStart) {
  options_.queues = {Q("a", "missing", std::nullopt, std::nullopt)};
  store::MemoryStore fresh;
  ControlPlane cp(options_, &fresh, &clock_);
  baton::Status s = cp.Recover();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--queues: queues[0].parent: no queue named 'missing'");
}

}  // namespace
}  // namespace baton::server
