#include "baton/common/server_target.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

TEST(ServerTargetTest, OneAddressAsIsSeveralAsIpv4List) {
  EXPECT_EQ(*ServerTarget("localhost:7070", "--server"), "localhost:7070");
  EXPECT_EQ(*ServerTarget("127.0.0.1:1, localhost:2", "--server"), "ipv4:127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(ServerTarget("127.0.0.1:1,", "--server").status().message(),
            "--server: '' in '127.0.0.1:1,' is not host:port");
  EXPECT_EQ(ServerTarget("a,b:2", "--server").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ServerTarget("127.0.0.1:1,no-such-host.invalid:2", "--server").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace baton
