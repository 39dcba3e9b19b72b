#include "message/host_address.h"

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace thruster::message {
namespace {

TEST(HostAddressTest, V4ToStringAndParseRoundTrip) {
  const HostAddress h = HostAddress::V4(192, 168, 0, 1, 10911);
  EXPECT_EQ(h.ToString(), "192.168.0.1:10911");
  EXPECT_EQ(h.size(), 8);
  ASSERT_OK_AND_ASSIGN(HostAddress parsed,
                       HostAddress::Parse("192.168.0.1:10911"));
  EXPECT_EQ(parsed, h);
}

TEST(HostAddressTest, V6ParseAndToString) {
  ASSERT_OK_AND_ASSIGN(HostAddress h, HostAddress::Parse("[::1]:10911"));
  EXPECT_TRUE(h.v6);
  EXPECT_EQ(h.size(), 20);
  EXPECT_EQ(h.port, 10911);
  EXPECT_EQ(h.ip[15], 1);
  EXPECT_EQ(h.ToString(), "[::1]:10911");
  ASSERT_OK_AND_ASSIGN(HostAddress h2, HostAddress::Parse("[fd00::2:1]:0"));
  EXPECT_EQ(h2.ip[0], 0xFD);
  EXPECT_EQ(h2.ToString(), "[fd00::2:1]:0");
}

TEST(HostAddressTest, ParseRejectsMalformedInput) {
  for (std::string_view bad :
       {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:65536", "1.2.3.4:-1",
        "1.2.3:80", "[::1:80", "::1:80", "[]:80", "[1.2.3.4]:80", ":80",
        "256.1.1.1:80"}) {
    EXPECT_FALSE(HostAddress::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace thruster::message
