#include "server/server_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/logging.h"
#include "tests/support/test_util.h"

namespace thruster::apps {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ServerConfigTest : public ::testing::Test {
 protected:
  void TearDown() override { logging::SetLevel(logging::Level::kInfo); }

  void WriteConf(const std::string& text) { std::ofstream(path_) << text; }
  // Loads the file as a server does at startup.
  Properties Start(const Properties& overrides = Properties()) {
    Result<Properties> p = LoadConfig(path_, overrides);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : Properties();
  }

  testing::TempDir dir_;
  std::string path_ = dir_.path() + "/broker.conf";
};

TEST_F(ServerConfigTest, FlagsWinOverTheFile) {
  WriteConf("brokerName=from-file\nlistenPort=1\n");
  Properties overrides;
  overrides.Set("listenPort", "2");
  Properties p = Start(overrides);
  EXPECT_EQ(p.values().at("brokerName"), "from-file");
  EXPECT_EQ(p.values().at("listenPort"), "2");
}

TEST_F(ServerConfigTest, ReloadAppliesLogLevelAndNamesOtherChangedKeys) {
  WriteConf("brokerName=a\nfileReservedTime=72\n");
  Properties running = Start();
  logging::SetLevel(logging::Level::kInfo);
  WriteConf("brokerName=a\nfileReservedTime=48\nlogLevel=DEBUG\n");

  ASSERT_OK_AND_ASSIGN(ReloadReport r,
                       ReloadHotKeys(path_, Properties(), "b.log", &running));
  EXPECT_THAT(r.applied, ElementsAre("logLevel"));
  EXPECT_THAT(r.needs_restart, ElementsAre("fileReservedTime"));
  EXPECT_EQ(logging::GetLevel(), logging::Level::kDebug);
  EXPECT_EQ(running.values().at("logLevel"), "DEBUG");
  // The running value of a restart-only key stays what the server started with.
  EXPECT_EQ(running.values().at("fileReservedTime"), "72");

  // Removing the key goes back to the default level.
  WriteConf("brokerName=a\nfileReservedTime=72\n");
  ASSERT_OK_AND_ASSIGN(r,
                       ReloadHotKeys(path_, Properties(), "b.log", &running));
  EXPECT_THAT(r.applied, ElementsAre("logLevel"));
  EXPECT_THAT(r.needs_restart, IsEmpty());
  EXPECT_EQ(logging::GetLevel(), logging::Level::kInfo);
  EXPECT_FALSE(running.Has("logLevel"));
}

TEST_F(ServerConfigTest, FlagStillWinsOnReload) {
  WriteConf("logLevel=WARN\n");
  Properties overrides;
  overrides.Set("logLevel", "ERROR");
  Properties running = Start(overrides);
  WriteConf("logLevel=DEBUG\n");
  ASSERT_OK_AND_ASSIGN(ReloadReport r,
                       ReloadHotKeys(path_, overrides, "b.log", &running));
  EXPECT_THAT(r.applied, IsEmpty());
  EXPECT_THAT(r.needs_restart, IsEmpty());
}

TEST_F(ServerConfigTest, BadReloadChangesNothing) {
  WriteConf("logLevel=WARN\n");
  Properties running = Start();
  logging::SetLevel(logging::Level::kWarn);
  WriteConf("logLevel=LOUD\n");
  Result<ReloadReport> r =
      ReloadHotKeys(path_, Properties(), "b.log", &running);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("logLevel"), std::string::npos);
  EXPECT_EQ(logging::GetLevel(), logging::Level::kWarn);
  EXPECT_EQ(running.values().at("logLevel"), "WARN");

  std::remove(path_.c_str());
  EXPECT_FALSE(ReloadHotKeys(path_, Properties(), "b.log", &running).ok());
  EXPECT_EQ(logging::GetLevel(), logging::Level::kWarn);
}

TEST(ParseKeyValuesTest, ReadsBothFormsAndRefusesTheRest) {
  Properties p;
  EXPECT_TRUE(ParseKeyValues("t", {"--a=1", "--b", "2"}, &p));
  EXPECT_EQ(p.values().at("a"), "1");
  EXPECT_EQ(p.values().at("b"), "2");
  EXPECT_FALSE(ParseKeyValues("t", {"plain"}, &p));
  EXPECT_FALSE(ParseKeyValues("t", {"--dangling"}, &p));
}

}  // namespace
}  // namespace thruster::apps
