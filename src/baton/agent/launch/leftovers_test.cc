#include "baton/agent/launch/leftovers.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace baton::agent {
namespace {

TEST(LeftoversTest, KillsWhatAKilledAgentLeftAndOnlyThat) {
  const std::string me = "leftover-test-" + std::to_string(getpid());
  const std::string pid_file = "/tmp/" + me + ".pid";
  // A task of a dead agent: its own session and process group, marked with the node name.
  ASSERT_EQ(std::system(("BATON_AGENT=" + me + " setsid sh -c 'echo $$ > " + pid_file +
                         "; exec sleep 300' >/dev/null 2>&1 &")
                            .c_str()),
            0);
  // Another node's task on the same machine must survive.
  const std::string other = me + "-other";
  const std::string other_pid_file = "/tmp/" + other + ".pid";
  ASSERT_EQ(std::system(("BATON_AGENT=" + other + " setsid sh -c 'echo $$ > " + other_pid_file +
                         "; exec sleep 300' >/dev/null 2>&1 &")
                            .c_str()),
            0);
  auto wait_pid = [](const std::string& file) {
    pid_t pid = 0;
    for (int i = 0; i < 400 && pid == 0; ++i) {  // until the child wrote its pid (<= 4 s)
      std::ifstream in(file);
      in >> pid;
      if (pid == 0) usleep(10000);
    }
    return pid;
  };
  ASSERT_GT(wait_pid(pid_file), 0);
  ASSERT_GT(wait_pid(other_pid_file), 0);
  auto killed = KillLeftoverTasks(me, Seconds(5));
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  EXPECT_EQ(*killed, 1);
  EXPECT_EQ(*KillLeftoverTasks(me, Seconds(5)), 0);
  // Clean up the other node's process (and check it was still there).
  auto others = KillLeftoverTasks(other, Seconds(5));
  ASSERT_TRUE(others.ok());
  EXPECT_EQ(*others, 1);
  std::remove(pid_file.c_str());
  std::remove(other_pid_file.c_str());
}

// Two agents of one name on one machine (tests, or two data dirs) do not kill each
// other's tasks: the marker carries the data directory too.
TEST(LeftoversTest, MarkerTellsAgentsOfOneNameApart) {
  EXPECT_NE(AgentMarker("a", "/tmp/x/agent-a"), AgentMarker("a", "/tmp/y/agent-a"));
  EXPECT_EQ(AgentMarker("a", "/tmp/x/agent-a"), AgentMarker("a", "/tmp/x/./agent-a"));
  EXPECT_EQ(AgentMarker("a", "/tmp/x/agent-a"), "a@/tmp/x/agent-a");
}

}  // namespace
}  // namespace baton::agent
