#include "baton/server/node_health.h"

#include <gtest/gtest.h>

namespace baton::server {
namespace {

using namespace std::chrono_literals;

NodeSilence N(std::string name, Duration silent, bool ready = true, bool lost = false) {
  return {std::move(name), silent, ready, lost};
}

TEST(NodeHealthTest, SilenceMakesNodesNotReadyThenLost) {
  NodeHealthOptions o;  // 3 s / 8 s
  auto v = EvaluateNodeHealth(
      {N("a", 1s), N("b", 3s), N("c", 8s), N("d", 100s, false, /*lost=*/true)}, o);
  EXPECT_EQ(v.not_ready, std::vector<std::string>{"b"});
  EXPECT_EQ(v.lost, std::vector<std::string>{"c"});
  EXPECT_FALSE(v.evictions_suspended);
}

TEST(NodeHealthTest, MassSilenceHoldsEveryEvictionBack) {
  NodeHealthOptions o;
  // 3 of 4 live nodes silent: more than half, and at least 3.
  auto v = EvaluateNodeHealth(
      {N("a", 9s), N("b", 9s), N("c", 20s), N("d", 0s), N("gone", 99s, false, true)}, o);
  EXPECT_TRUE(v.evictions_suspended);
  EXPECT_TRUE(v.lost.empty());
  EXPECT_EQ(v.held, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(v.not_ready, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_NE(v.why.find("3 of 4 nodes silent"), std::string::npos) << v.why;
}

TEST(NodeHealthTest, FewSilentNodesAreRealFailuresEvenInASmallFleet) {
  NodeHealthOptions o;
  // Both nodes of a 2-node fleet dead: fewer than mass_silence_min_nodes, so lost.
  auto v = EvaluateNodeHealth({N("a", 9s), N("b", 9s)}, o);
  EXPECT_FALSE(v.evictions_suspended);
  EXPECT_EQ(v.lost.size(), 2u);
  // Exactly half is not "more than half".
  v = EvaluateNodeHealth({N("a", 9s), N("b", 9s), N("c", 9s), N("d", 1s), N("e", 1s), N("f", 1s)},
                         o);
  EXPECT_FALSE(v.evictions_suspended);
  EXPECT_EQ(v.lost.size(), 3u);
  o.mass_silence_fraction = 1.0;  // guard off
  v = EvaluateNodeHealth({N("a", 9s), N("b", 9s), N("c", 9s)}, o);
  EXPECT_EQ(v.lost.size(), 3u);
}

TEST(NodeHealthTest, StallsAreGapsPastTheThreshold) {
  NodeHealthOptions o;
  EXPECT_EQ(DetectStall(200ms, o), Duration(0));
  EXPECT_EQ(DetectStall(-5s, o), Duration(0));  // clock stepped back: nothing to credit
  EXPECT_EQ(DetectStall(30s, o), Duration(30s));
  o.stall_after = Duration(0);
  EXPECT_EQ(DetectStall(30s, o), Duration(0));
}

TEST(NodeHealthTest, BadOptionsNameTheField) {
  NodeHealthOptions o;
  EXPECT_EQ(NodeHealthOptionsError(o), "");
  o.lost_after = 1s;
  EXPECT_NE(NodeHealthOptionsError(o).find("lost_after"), std::string::npos);
  o = {};
  o.mass_silence_fraction = 0;
  EXPECT_NE(NodeHealthOptionsError(o).find("mass_silence_fraction"), std::string::npos);
}

}  // namespace
}  // namespace baton::server
