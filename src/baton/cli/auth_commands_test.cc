#include "baton/cli/auth_commands.h"

#include <gtest/gtest.h>

namespace baton::cli {
namespace {

TEST(AuthCommandsTest, DurationsTakeAUnitOrPlainSeconds) {
  EXPECT_EQ(ParseDurationSeconds("90", "--ttl").value(), 90);
  EXPECT_EQ(ParseDurationSeconds("90s", "--ttl").value(), 90);
  EXPECT_EQ(ParseDurationSeconds("15m", "--ttl").value(), 900);
  EXPECT_EQ(ParseDurationSeconds("12h", "--ttl").value(), 43200);
  EXPECT_EQ(ParseDurationSeconds("30d", "--ttl").value(), 2592000);
  for (const char* bad : {"", "d", "-1d", "1w", "1.5h", "99999999999999999d"}) {
    auto r = ParseDurationSeconds(bad, "--ttl");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("--ttl: ", 0), 0u) << r.status().message();
  }
}

}  // namespace
}  // namespace baton::cli
