#include "common/logging.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/log_config.h"
#include "tests/support/test_util.h"

namespace thruster::logging {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LoggingTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Back to the process default for the other tests of this binary.
    ASSERT_OK(Configure(SinkOptions{}));
    SetLevel(Level::kInfo);
  }

  SinkOptions FileOptions() const {
    SinkOptions o;
    o.target = Target::kFile;
    o.dir = dir_.path() + "/logs";
    o.default_file = "broker_default.log";
    return o;
  }
  std::string Log(const std::string& name) const {
    return ReadFile(dir_.path() + "/logs/" + name);
  }

  testing::TempDir dir_;
};

TEST_F(LoggingTest, FileTargetWritesEachModuleToItsRocketMqFile) {
  // A logger made before Configure moves to the file as well.
  TH_LOG(store, kInfo, "before configure");
  ASSERT_OK(Configure(FileOptions()));
  TH_LOG(store, kInfo, "rolled to segment {}", 42);
  TH_LOG(broker, kWarn, "broker says {}", "hello");
  TH_LOG(remoting, kInfo, "remoting line");
  Get("somemodule")->info("a module without a file of its own");

  EXPECT_THAT(Log("store.log"), HasSubstr("rolled to segment 42"));
  EXPECT_THAT(Log("store.log"), HasSubstr(" INFO "));
  EXPECT_THAT(Log("store.log"), Not(HasSubstr("before configure")));
  EXPECT_THAT(Log("broker.log"), HasSubstr("WARN"));
  EXPECT_THAT(Log("broker.log"), HasSubstr("[broker] broker says hello"));
  EXPECT_THAT(Log("remoting.log"), HasSubstr("remoting line"));
  EXPECT_THAT(Log("broker_default.log"),
              HasSubstr("a module without a file of its own"));
  EXPECT_THAT(Log("broker.log"), Not(HasSubstr("rolled to segment")));
}

TEST_F(LoggingTest, FileNamesFollowRocketMq) {
  EXPECT_EQ(FileNameOf("broker", "x.log"), "broker.log");
  EXPECT_EQ(FileNameOf("store", "x.log"), "store.log");
  EXPECT_EQ(FileNameOf("remoting", "x.log"), "remoting.log");
  EXPECT_EQ(FileNameOf("namesrv", "x.log"), "namesrv.log");
  EXPECT_EQ(FileNameOf("transaction", "x.log"), "transaction.log");
  EXPECT_EQ(FileNameOf("client", "namesrv_default.log"), "namesrv_default.log");
}

TEST_F(LoggingTest, FileRotatesBySizeAndKeepsMaxFiles) {
  SinkOptions o = FileOptions();
  o.max_file_size = 4096;
  o.max_files = 2;
  ASSERT_OK(Configure(o));
  const std::string line(100, 'x');
  for (int i = 0; i < 200; ++i) TH_LOG(stats, kInfo, "{} {}", i, line);

  namespace fs = std::filesystem;
  const std::string logs = dir_.path() + "/logs/";
  ASSERT_TRUE(fs::exists(logs + "stats.log"));
  ASSERT_TRUE(fs::exists(logs + "stats.1.log"));
  ASSERT_TRUE(fs::exists(logs + "stats.2.log"));
  EXPECT_FALSE(fs::exists(logs + "stats.3.log"));
  for (const char* f : {"stats.log", "stats.1.log", "stats.2.log"})
    EXPECT_LE(fs::file_size(logs + f), 4096u) << f;
  // The newest line is in the live file, older ones moved down.
  EXPECT_THAT(Log("stats.log"), HasSubstr("199 x"));
  EXPECT_THAT(Log("stats.2.log"), Not(HasSubstr("199 x")));
}

TEST_F(LoggingTest, SetLevelChangesRunningLoggers) {
  ASSERT_OK(Configure(FileOptions()));
  SetLevel(Level::kWarn);
  TH_LOG(broker, kInfo, "info while warn");
  TH_LOG(broker, kWarn, "warn while warn");
  SetLevel(Level::kDebug);
  EXPECT_EQ(GetLevel(), Level::kDebug);
  TH_LOG(broker, kDebug, "debug while debug");
  const std::string log = Log("broker.log");
  EXPECT_THAT(log, Not(HasSubstr("info while warn")));
  EXPECT_THAT(log, HasSubstr("warn while warn"));
  EXPECT_THAT(log, HasSubstr("DEBUG"));
  EXPECT_THAT(log, HasSubstr("debug while debug"));
}

TEST_F(LoggingTest, UnwritableDirectoryIsAnErrorAndKeepsTheOldSink) {
  ASSERT_OK(Configure(FileOptions()));
  std::ofstream(dir_.path() + "/plain-file") << "x";
  SinkOptions bad = FileOptions();
  bad.dir = dir_.path() + "/plain-file/logs";
  Status s = Configure(bad);
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  TH_LOG(broker, kInfo, "still logged");
  EXPECT_THAT(Log("broker.log"), HasSubstr("still logged"));
}

TEST(LogLevelTest, ParsesRocketMqLevelNames) {
  EXPECT_EQ(*ParseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("info"), Level::kInfo);
  EXPECT_EQ(*ParseLevel("Warn"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("WARNING"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("ERROR"), Level::kError);
  EXPECT_FALSE(ParseLevel("loud").ok());
  EXPECT_EQ(LevelName(Level::kWarn), "WARN");
}

TEST(LogConfigTest, DefaultsAreRocketMqs) {
  ASSERT_OK_AND_ASSIGN(LogConfig c,
                       LogConfig::FromProperties(Properties(), "b.log"));
  EXPECT_EQ(c.sink.target, Target::kFile);
  EXPECT_EQ(c.sink.dir, DefaultLogDir());
  EXPECT_TRUE(c.sink.dir.ends_with("/logs/rocketmqlogs"));
  EXPECT_EQ(c.sink.max_file_size, 128u << 20);
  EXPECT_EQ(c.sink.max_files, 10u);
  EXPECT_EQ(c.sink.default_file, "b.log");
  EXPECT_EQ(c.level, Level::kInfo);
}

TEST(LogConfigTest, ReadsEveryKey) {
  Properties p = Properties::Parse(
      "logTarget=stdout\nlogDir=/x/y\nlogFileMaxSize=8192\n"
      "logFileMaxIndex=3\nlogLevel=debug\n");
  ASSERT_OK_AND_ASSIGN(LogConfig c, LogConfig::FromProperties(p, "b.log"));
  EXPECT_EQ(c.sink.target, Target::kStdout);
  EXPECT_EQ(c.sink.dir, "/x/y");
  EXPECT_EQ(c.sink.max_file_size, 8192u);
  EXPECT_EQ(c.sink.max_files, 3u);
  EXPECT_EQ(c.level, Level::kDebug);
  ASSERT_OK_AND_ASSIGN(
      LogConfig home,
      LogConfig::FromProperties(Properties::Parse("logDir=~/l\n"), "b.log"));
  EXPECT_TRUE(home.sink.dir.ends_with("/l"));
  EXPECT_NE(home.sink.dir[0], '~');
}

TEST(LogConfigTest, BadValuesNameTheKey) {
  for (const char* text :
       {"logTarget=syslog", "logLevel=loud", "logFileMaxSize=10",
        "logFileMaxIndex=0", "logFileMaxIndex=abc", "logDir="}) {
    Result<LogConfig> c =
        LogConfig::FromProperties(Properties::Parse(text), "b.log");
    ASSERT_FALSE(c.ok()) << text;
    const std::string key(
        std::string_view(text).substr(0, std::string_view(text).find('=')));
    EXPECT_THAT(c.status().ToString(), HasSubstr(key)) << text;
  }
}

}  // namespace
}  // namespace thruster::logging
