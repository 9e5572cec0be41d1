#include "baton/server/queue_tree.h"

#include <gtest/gtest.h>

#include "baton/common/quantity.h"

namespace baton::server {
namespace {

model::QueueSpec Q(std::string name, std::string parent = "", std::optional<int> quota = {},
                   std::optional<int> limit = {}) {
  model::QueueSpec q;
  q.name = std::move(name);
  q.parent = std::move(parent);
  if (quota) q.quota_gpus = Quantity::Whole(*quota);
  if (limit) q.limit_gpus = Quantity::Whole(*limit);
  return q;
}

TEST(QueueTreeTest, PathsAndSubtrees) {
  QueueTree t;
  ASSERT_TRUE(t.Set({Q("research", "", 32), Q("team-a", "research", 24), Q("x", "team-a")}).ok());
  EXPECT_EQ(t.Path("x"), (std::vector<std::string>{"research", "team-a", "x"}));
  EXPECT_EQ(t.Path("elsewhere"), (std::vector<std::string>{"elsewhere"}));
  EXPECT_EQ(t.Path(""), (std::vector<std::string>{"default"}));
  EXPECT_EQ(t.PathUnder("team-a", "new"), (std::vector<std::string>{"research", "team-a", "new"}));
  EXPECT_TRUE(t.Within("x", {"research"}));
  EXPECT_TRUE(t.Within("team-a", {"team-a"}));
  EXPECT_FALSE(t.Within("research", {"team-a"}));
  EXPECT_FALSE(t.Within("elsewhere", {"research"}));
  EXPECT_FALSE(t.Within("x", {}));
}

TEST(QueueTreeTest, BadTreesAreRefusedWithTheFieldNamed) {
  struct Case {
    std::vector<model::QueueSpec> specs;
    std::string message;
  };
  model::QueueSpec heavy = Q("a");
  heavy.weight = 0;
  model::QueueSpec loud = Q("a");
  loud.priority = 5000;
  for (const Case& c : std::vector<Case>{
           {{Q("a"), Q("a")}, "queues[1].name: duplicate queue name 'a'"},
           {{Q("a", "nope")}, "queues[0].parent: no queue named 'nope'"},
           {{Q("a", "b"), Q("b", "a")}, "queues: cycle a -> b -> a"},
           {{Q("org", "", 8), Q("t1", "org", 6), Q("t2", "org", 6)},
            "queues[2].quota_gpus: children of org guarantee 12 GPUs but org has 8"},
           {{Q("a", "", 8, 4)}, "queues[0].limit_gpus: must be >= quota_gpus (8), got 4"},
           {{heavy}, "queues[0].weight"},
           {{loud}, "queues[0].priority"},
           {{Q("bad name")}, "queues[0].name"}}) {
    Status s = QueueTree::Validate(c.specs);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.message().rfind(c.message, 0), 0u) << s.message();
  }
}

TEST(QueueTreeTest, UpdatesChangeOneQueueOrAddOne) {
  QueueTree t;
  ASSERT_TRUE(t.Set({Q("org", "", 16), Q("team", "org", 8, 16)}).ok());
  v1::UpdateQueueRequest req;
  req.set_name("team");
  req.set_quota_gpus("12");
  req.set_weight(3);
  auto specs = t.Updated(req);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  EXPECT_EQ((*specs)[1].quota_gpus->milli(), 12000);
  EXPECT_EQ((*specs)[1].limit_gpus->milli(), 16000);  // unset in the request: unchanged
  EXPECT_EQ((*specs)[1].weight, 3);
  // Not installed until Set.
  EXPECT_EQ(t.Find("team")->weight, 1);
  // "" clears a limit; a new queue needs a parent that exists.
  req.Clear();
  req.set_name("team");
  req.set_limit_gpus("");
  EXPECT_FALSE(t.Updated(req).value()[1].limit_gpus.has_value());
  req.Clear();
  req.set_name("newbie");
  req.set_parent("org");
  req.set_quota_gpus("4");
  auto added = t.Updated(req);
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->back().parent, "org");
  // Errors name the request's field, not an index the caller never saw.
  req.set_quota_gpus("10");
  EXPECT_EQ(t.Updated(req).status().message(),
            "quota_gpus: children of org guarantee 18 GPUs but org has 16");
  req.Clear();
  req.set_name("team");
  req.set_parent("elsewhere");
  EXPECT_NE(t.Updated(req).status().message().find("parent does not change"), std::string::npos);
  req.Clear();
  req.set_name("team");
  req.set_quota_gpus("lots");
  EXPECT_EQ(t.Updated(req).status().message().rfind("quota_gpus:", 0), 0u);
}

TEST(QueueTreeTest, StoredFormRoundTrips) {
  model::QueueSpec q = Q("team", "org", 8, 16);
  q.weight = 2;
  q.priority = -5;
  auto back = QueueFromProto(QueueToProto(q));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->name, "team");
  EXPECT_EQ(back->parent, "org");
  EXPECT_EQ(back->quota_gpus->milli(), 8000);
  EXPECT_EQ(back->limit_gpus->milli(), 16000);
  EXPECT_EQ(back->weight, 2);
  EXPECT_EQ(back->priority, -5);
}

}  // namespace
}  // namespace baton::server
