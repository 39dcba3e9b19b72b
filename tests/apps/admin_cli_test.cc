// `thruster admin` against a real thruster-broker process (with its embedded
// name server) started by the test: the subscription-group, broker-config,
// write-permission and runtime-info commands, each with --json.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/test_util.h"

namespace thruster {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout only; stderr goes to the test log
};

CliRun Thruster(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(THRUSTER_BIN) + " " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One broker serves every test of the suite (starting one under the
// sanitizers takes seconds); each test uses its own group and keys.
class AdminCliProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir();
    StartBroker();
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    delete tmp_;
    tmp_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(broker_.empty()) << "the broker did not start";
  }
  static void StartBroker() {
    const std::string log = (fs::path(tmp_->path()) / "broker.log").string();
    store_ = (fs::path(tmp_->path()) / "store").string();
    std::fflush(stdout);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stdout);
      if (f == nullptr || ::dup2(::fileno(stdout), 2) < 0) ::_exit(127);
      const std::string store_flag = "--storePathRootDir=" + store_;
      ::execl(THRUSTER_BROKER_BIN, THRUSTER_BROKER_BIN, "--listenPort=0",
              "--namesrvListenPort=0", "--bindAddress=127.0.0.1",
              "--brokerName=broker-cli", "--logTarget=stderr",
              "--mappedFileSizeCommitLog=4194304",
              "--maxHashSlotNum=1000", "--maxIndexNum=4000", store_flag.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait (with a deadline) for the line saying where it listens.
    const std::regex listening(
        R"(listening on 127\.0\.0\.1:(\d+).*name server on port (\d+))");
    std::smatch m;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string text;
    while (std::chrono::steady_clock::now() < deadline) {
      text = ReadAll(log);
      if (std::regex_search(text, m, listening)) break;
      int status = 0;
      ASSERT_EQ(::waitpid(pid_, &status, WNOHANG), 0) << "broker exited:\n"
                                                      << text;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling
    }
    ASSERT_FALSE(m.empty()) << "no listening line:\n" << text;
    broker_ = "127.0.0.1:" + m[1].str();
    namesrv_ = "127.0.0.1:" + m[2].str();
  }
  CliRun Admin(const std::string& args) {
    return Thruster("admin " + args + " -n " + namesrv_ + " --json");
  }
  static json Parse(const CliRun& r) {
    return json::parse(r.out, nullptr, false);
  }
  json GroupsFile() {
    return json::parse(ReadAll(store_ + "/config/subscriptionGroup.json"),
                       nullptr, false);
  }

  static inline testing::TempDir* tmp_ = nullptr;
  static inline std::string store_;
  static inline pid_t pid_ = -1;
  static inline std::string broker_;
  static inline std::string namesrv_;
};

TEST_F(AdminCliProcessTest, UpdateAndDeleteSubGroupPersistInRocketMQsFile) {
  CliRun up = Admin("updateSubGroup -b " + broker_ + " -g CliGroup -r 3 -q 2");
  ASSERT_EQ(up.exit_code, 0) << up.out;
  json j = Parse(up);
  EXPECT_EQ(j["brokers"], json::array({broker_}));
  EXPECT_EQ(j["config"]["retryMaxTimes"], 3);
  json file = GroupsFile();
  ASSERT_TRUE(file.contains("subscriptionGroupTable")) << file.dump();
  EXPECT_EQ(file["subscriptionGroupTable"]["CliGroup"]["retryMaxTimes"], 3);
  EXPECT_EQ(file["subscriptionGroupTable"]["CliGroup"]["retryQueueNums"], 2);
  EXPECT_EQ(file["subscriptionGroupTable"]["CliGroup"]["consumeMessageOrderly"],
            false);
  // -o: an orderly group (its gRPC clients get fifo settings and pop orderly).
  CliRun orderly =
      Admin("updateSubGroup -b " + broker_ + " -g CliGroup -o true");
  ASSERT_EQ(orderly.exit_code, 0) << orderly.out;
  EXPECT_EQ(GroupsFile()["subscriptionGroupTable"]["CliGroup"]
                        ["consumeMessageOrderly"],
            true);

  CliRun del = Admin("deleteSubGroup -b " + broker_ + " -g CliGroup -r true");
  ASSERT_EQ(del.exit_code, 0) << del.out;
  EXPECT_EQ(Parse(del)["removeOffset"], true);
  EXPECT_FALSE(GroupsFile()["subscriptionGroupTable"].contains("CliGroup"));
  // Neither -b nor -c: refused before anything is sent.
  EXPECT_EQ(Admin("updateSubGroup -g X").exit_code, 1);
}

TEST_F(AdminCliProcessTest, BrokerConfigReadsAndChangesHotKeys) {
  CliRun get = Admin("getBrokerConfig -b " + broker_);
  ASSERT_EQ(get.exit_code, 0) << get.out;
  json config = Parse(get);
  EXPECT_EQ(config["brokerName"], "broker-cli");
  EXPECT_EQ(config["storePathRootDir"], store_);
  CliRun hot = Admin("updateBrokerConfig -b " + broker_ +
                     " -k flushConsumerOffsetInterval -v 1234");
  ASSERT_EQ(hot.exit_code, 0) << hot.out;
  EXPECT_EQ(Parse(Admin("getBrokerConfig -b " +
                        broker_))["flushConsumerOffsetInterval"],
            "1234");
  CliRun cold =
      Admin("updateBrokerConfig -b " + broker_ + " -k fileReservedTime -v 1");
  EXPECT_EQ(cold.exit_code, 1);
  EXPECT_EQ(Parse(Admin("getBrokerConfig -b " + broker_))["fileReservedTime"],
            "72");
}

TEST_F(AdminCliProcessTest, WipeAndAddWritePermChangeTheRoute) {
  auto perm = [&] {
    json route = Parse(Admin("topicRoute -t TBW102"));
    return route["queueDatas"][0]["perm"].get<int>();
  };
  const int before = perm();
  ASSERT_NE(before & 2, 0);
  CliRun wipe = Admin("wipeWritePerm -b broker-cli");
  ASSERT_EQ(wipe.exit_code, 0) << wipe.out;
  EXPECT_GT(Parse(wipe)["wipeTopicCount"].get<int>(), 0);
  EXPECT_EQ(perm() & 2, 0);
  CliRun add = Admin("addWritePerm -b broker-cli");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(Parse(add)["addTopicCount"], Parse(wipe)["wipeTopicCount"]);
  EXPECT_EQ(perm(), before);  // TBW102 keeps PERM_INHERIT
}

TEST_F(AdminCliProcessTest, BrokerStatusShowsTheKeysMqadminReads) {
  CliRun status = Admin("brokerStatus -b " + broker_);
  ASSERT_EQ(status.exit_code, 0) << status.out;
  json table = Parse(status);
  for (const char* key :
       {"getTransferedTps", "sendThreadPoolQueueSize",
        "pullThreadPoolQueueHeadWaitTimeMills", "pageCacheLockTimeMills",
        "earliestMessageTimeStamp", "msgPutTotalTodayMorning"}) {
    EXPECT_TRUE(table.contains(key)) << key;
  }
}

// A short benchmark warms up with as much as one run sends, says so, and
// skips it when asked.
TEST_F(AdminCliProcessTest, BenchProduceWarmUpScalesWithTheRun) {
  const std::string common = "bench produce --namesrv " + namesrv_ +
                             " --topic BenchWarm --size 64 --producers 1 "
                             "--inflight 4 --messages 50 --runs 1";
  CliRun r = Thruster(common);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("warm-up: 50 messages"), std::string::npos) << r.out;
  r = Thruster(common + " --warmup-bytes 0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("warm-up"), std::string::npos) << r.out;
  // Two probe sends, one warm-up of 50 (the first call only), two runs of 50.
  json status = Parse(Admin("topicStatus -t BenchWarm"));
  int64_t stored = 0;
  for (const auto& q : status["queues"])
    stored += q["maxOffset"].get<int64_t>();
  EXPECT_EQ(stored, 2 + 50 + 100);
}

// mqadmin sendMessage / consumeMessage: one test message in, and read back.
TEST_F(AdminCliProcessTest, SendMessageThenConsumeMessageReadsItBack) {
  ASSERT_EQ(
      Admin("updateTopic -b " + broker_ + " -t CliSend -r 1 -w 1").exit_code,
      0);
  CliRun sent =
      Admin("sendMessage -t CliSend -p hello-cli -k order-7 -c TagCli");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  json s = Parse(sent);
  EXPECT_EQ(s["sendStatus"], "SEND_OK");
  EXPECT_EQ(s["brokerName"], "broker-cli");
  EXPECT_EQ(s["queueOffset"], 0);
  CliRun read = Admin("consumeMessage -t CliSend -c 5");
  ASSERT_EQ(read.exit_code, 0) << read.out;
  json msgs = Parse(read)["messages"];
  ASSERT_EQ(msgs.size(), 1u) << read.out;
  EXPECT_EQ(msgs[0]["msgId"], s["msgId"]);
  EXPECT_EQ(msgs[0]["keys"], "order-7");
  EXPECT_EQ(msgs[0]["tags"], "TagCli");
  // The CommitLog holds a message now, so it has an earliest store time.
  json table = Parse(Admin("brokerStatus -b " + broker_));
  EXPECT_NE(table["earliestMessageTimeStamp"], "-1");
  EXPECT_NE(Admin("sendMessage -t CliSend").exit_code, 0);  // no -p
}

// mqadmin statsAll: per topic and group, the lag and the messages in and out
// during the last 24 hours; NO_CONSUMER when no group has offsets.
TEST_F(AdminCliProcessTest, StatsAllShowsLagAndDayCountsPerGroup) {
  ASSERT_EQ(
      Admin("updateTopic -b " + broker_ + " -t CliStats -r 1 -w 1").exit_code,
      0);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(Admin("sendMessage -t CliStats -p s" + std::to_string(i)).exit_code,
              0);
  CliRun none = Admin("statsAll -t CliStats");
  ASSERT_EQ(none.exit_code, 0) << none.out;
  json rows = Parse(none)["stats"];
  ASSERT_EQ(rows.size(), 1u) << none.out;
  EXPECT_EQ(rows[0]["topic"], "CliStats");
  EXPECT_EQ(rows[0]["consumerGroup"], "");
  EXPECT_EQ(rows[0]["inMsg24Hour"], 2);
  EXPECT_EQ(rows[0]["outMsg24Hour"], "NO_CONSUMER");
  // The group commits everything stored so far (a reset to a minute from
  // now), then one more message arrives.
  const int64_t later =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      60000;
  ASSERT_EQ(Admin("resetOffsetByTime -g CliStatsGroup -t CliStats -s " +
                  std::to_string(later))
                .exit_code,
            0);
  ASSERT_EQ(Admin("sendMessage -t CliStats -p t0").exit_code, 0);
  CliRun stats = Admin("statsAll -t CliStats");
  ASSERT_EQ(stats.exit_code, 0) << stats.out;
  rows = Parse(stats)["stats"];
  ASSERT_EQ(rows.size(), 1u) << stats.out;
  EXPECT_EQ(rows[0]["consumerGroup"], "CliStatsGroup");
  EXPECT_EQ(rows[0]["accumulation"], 1);
  EXPECT_EQ(rows[0]["inMsg24Hour"], 3);
  EXPECT_EQ(rows[0]["outMsg24Hour"], 2);
  // The table has mqadmin's columns; -a keeps active topics only.
  CliRun table = Thruster("admin statsAll -a -n " + namesrv_);
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("#Accumulation"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("#OutMsg24Hour"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("CliStatsGroup"), std::string::npos) << table.out;
  EXPECT_NE(Admin("statsAll -t NoSuchTopic").exit_code, 0);
}

// mqadmin queryMsgByUniqueKey: the message sendMessage reported, by its id.
TEST_F(AdminCliProcessTest, QueryMsgByUniqueKeyFindsTheSentMessage) {
  ASSERT_EQ(
      Admin("updateTopic -b " + broker_ + " -t CliUniq -r 1 -w 1").exit_code,
      0);
  CliRun sent = Admin("sendMessage -t CliUniq -p uniq-body -k uk-1");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  const std::string id = Parse(sent)["msgId"].get<std::string>();
  CliRun found = Admin("queryMsgByUniqueKey -t CliUniq -i " + id);
  ASSERT_EQ(found.exit_code, 0) << found.out;
  json msgs = Parse(found)["messages"];
  ASSERT_EQ(msgs.size(), 1u) << found.out;
  EXPECT_EQ(msgs[0]["msgId"], id);
  EXPECT_EQ(msgs[0]["body"], "uniq-body");
  EXPECT_EQ(msgs[0]["keys"], "uk-1");
  EXPECT_NE(
      Admin("queryMsgByUniqueKey -t CliUniq -i 0A0000000000000000000000")
          .exit_code,
      0);
}

// mqadmin cleanExpiredCQ: on a broker whose CommitLog still holds every
// message nothing is removed (the processor test covers the removal). The test
// stores its own message so that it does not depend on the tests run before it.
TEST_F(AdminCliProcessTest, CleanExpiredCqReportsWhatEachBrokerRemoved) {
  ASSERT_EQ(
      Admin("updateTopic -b " + broker_ + " -t CliClean -r 1 -w 1").exit_code,
      0);
  CliRun sent = Admin("sendMessage -t CliClean -p clean-body");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  CliRun one = Admin("cleanExpiredCQ -b " + broker_);
  ASSERT_EQ(one.exit_code, 0) << one.out;
  json brokers = Parse(one)["brokers"];
  ASSERT_EQ(brokers.size(), 1u) << one.out;
  EXPECT_EQ(brokers[0]["brokerAddr"], broker_);
  EXPECT_EQ(brokers[0]["minCommitLogOffset"], 0);
  EXPECT_TRUE(brokers[0]["removed"].empty());
  // No -b/-c: every master the name server knows.
  CliRun all = Thruster("admin cleanExpiredCQ -n " + namesrv_);
  ASSERT_EQ(all.exit_code, 0) << all.out;
  EXPECT_NE(all.out.find(broker_ + ": removed 0 consume queue(s)"),
            std::string::npos)
      << all.out;
  EXPECT_NE(all.out.find("success"), std::string::npos) << all.out;
}

}  // namespace
}  // namespace thruster
