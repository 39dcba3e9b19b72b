#include "common/properties.h"

#include <gtest/gtest.h>

namespace thruster {
namespace {

TEST(PropertiesTest, ParsesBrokerConf) {
  Properties p = Properties::Parse(
      "# broker.conf\nbrokerName = broker-a\n! old "
      "comment\nflushDiskType=SYNC_FLUSH\r\n"
      "listenPort: 10911\nlong = a\\\n  b\nempty=\n");
  EXPECT_EQ(*p.GetString("brokerName", ""), "broker-a");
  EXPECT_EQ(*p.GetString("flushDiskType", ""), "SYNC_FLUSH");
  EXPECT_EQ(*p.GetInt("listenPort", 0), 10911);
  EXPECT_EQ(*p.GetString("long", ""), "ab");
  EXPECT_EQ(*p.GetString("empty", "x"), "");
  EXPECT_EQ(*p.GetInt("missing", 42), 42);
}

TEST(PropertiesTest, MalformedValueNamesTheKey) {
  Properties p = Properties::Parse("listenPort=abc\nflag=maybe\n");
  auto r = p.GetInt("listenPort", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("listenPort"), std::string::npos);
  EXPECT_FALSE(p.GetBool("flag", false).ok());
}

}  // namespace
}  // namespace thruster
