// The config files the package installs (packaging/*.conf.in) against the code:
// every commented `#key=value` line shows the value Thruster uses when the key
// is absent, so uncommenting all of them changes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "broker/broker_config.h"
#include "common/log_config.h"
#include "common/properties.h"
#include "store/message_store_config.h"
#include "tests/support/test_util.h"

namespace thruster {
namespace {

// The file's commented settings ("#key=value", no blank after '#'), as
// properties; `count` gets how many.
Properties CommentedSettings(const std::string& name, int* count) {
  std::ifstream in(std::string(THRUSTER_SOURCE_DIR) + "/packaging/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream settings;
  std::string line;
  *count = 0;
  while (std::getline(in, line)) {
    if (line.size() > 1 && line[0] == '#' && line[1] != '#' && line[1] != ' ' &&
        line.find('=') != std::string::npos) {
      settings << line.substr(1) << "\n";
      ++*count;
    }
  }
  return Properties::Parse(settings.str());
}

TEST(PackagedConfigTest, BrokerConfCommentsShowTheDefaults) {
  int count = 0;
  Properties p = CommentedSettings("broker.conf.in", &count);
  EXPECT_GT(count, 80);
  ASSERT_OK_AND_ASSIGN(broker::BrokerConfig broker,
                       broker::BrokerConfig::FromProperties(p));
  EXPECT_TRUE(broker == broker::BrokerConfig());
  ASSERT_OK_AND_ASSIGN(store::MessageStoreConfig store,
                       store::MessageStoreConfig::FromProperties(p));
  EXPECT_TRUE(store == store::MessageStoreConfig());
  ASSERT_OK_AND_ASSIGN(logging::LogConfig log,
                       logging::LogConfig::FromProperties(p, "b.log"));
  ASSERT_OK_AND_ASSIGN(
      logging::LogConfig log_default,
      logging::LogConfig::FromProperties(Properties(), "b.log"));
  EXPECT_EQ(log.sink.dir, log_default.sink.dir);
  EXPECT_EQ(log.sink.target, log_default.sink.target);
  EXPECT_EQ(log.sink.max_file_size, log_default.sink.max_file_size);
  EXPECT_EQ(log.sink.max_files, log_default.sink.max_files);
  EXPECT_EQ(log.level, log_default.level);
}

TEST(PackagedConfigTest, BrokerConfNamesEveryKeyItCanChange) {
  // A changed value for each commented key must reach the parsed config; a
  // misspelt key would be ignored.
  int count = 0;
  Properties p = CommentedSettings("broker.conf.in", &count);
  for (const auto& [key, value] : p.values()) {
    if (key.rfind("log", 0) == 0) continue;  // the log keys: LogConfigTest
    Properties changed;
    std::string other = value == "true"    ? "false"
                        : value == "false" ? "true"
                                           : value + "1";
    if (key == "flushDiskType") other = "SYNC_FLUSH";
    if (key == "namesrvAddr") other = "10.0.0.1:9876";
    changed.Set(key, other);
    Result<broker::BrokerConfig> b =
        broker::BrokerConfig::FromProperties(changed);
    Result<store::MessageStoreConfig> s =
        store::MessageStoreConfig::FromProperties(changed);
    const bool read = !b.ok() || !s.ok() || !(*b == broker::BrokerConfig()) ||
                      !(*s == store::MessageStoreConfig());
    EXPECT_TRUE(read) << key << " is not read by the broker";
  }
}

TEST(PackagedConfigTest, NamesrvConfCommentsShowTheDefaults) {
  int count = 0;
  Properties p = CommentedSettings("namesrv.conf.in", &count);
  EXPECT_EQ(p.values().at("listenPort"), "9876");
  EXPECT_EQ(p.values().at("bindAddress"), "0.0.0.0");
  EXPECT_EQ(p.values().at("ioThreads"), "0");
  ASSERT_OK_AND_ASSIGN(logging::LogConfig log,
                       logging::LogConfig::FromProperties(p, "n.log"));
  EXPECT_EQ(log.level, logging::Level::kInfo);
}

}  // namespace
}  // namespace thruster
