// Pure tests of the broker's building blocks: config, topics, offsets, clients,
// locks, long polling.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "broker/broker_config.h"
#include "broker/client_manager.h"
#include "broker/config_file.h"
#include "broker/consumer_offset_manager.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/pull_request_hold_service.h"
#include "broker/rebalance_lock_manager.h"
#include "broker/topic_config_manager.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "message/uniq_key.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using ::testing::ElementsAre;
using testing::FaultFileSystem;
using testing::MemFileSystem;
using ::testing::UnorderedElementsAre;

TEST(BrokerConfigTest, ReadsRocketMqKeysAndDefaults) {
  Properties p = Properties::Parse(
      "brokerName=broker-b\nbrokerClusterName=C1\nlistenPort="
      "20911\nnamesrvAddr=1.2.3.4:9876; 5.6.7.8:9876\n"
      "autoCreateTopicEnable=false\n");
  ASSERT_OK_AND_ASSIGN(BrokerConfig c, BrokerConfig::FromProperties(p));
  EXPECT_EQ(c.broker_name, "broker-b");
  EXPECT_EQ(c.broker_cluster_name, "C1");
  EXPECT_EQ(c.listen_port, 20911);
  EXPECT_FALSE(c.auto_create_topic_enable);
  EXPECT_EQ(c.default_topic_queue_nums, 4);
  EXPECT_EQ(c.namesrv_listen_port, 9876);
  EXPECT_THAT(c.NameServerAddresses(),
              ElementsAre("1.2.3.4:9876", "5.6.7.8:9876"));
}

TEST(BrokerConfigTest, MalformedValueNamesTheKey) {
  Result<BrokerConfig> c =
      BrokerConfig::FromProperties(Properties::Parse("listenPort=abc\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().ToString().find("listenPort"), std::string::npos);
  EXPECT_FALSE(
      BrokerConfig::FromProperties(Properties::Parse("listenPort=70000\n"))
          .ok());
}

TEST(BrokerConfigTest, NetBusyPollUsDefaultsTo50AndIsBounded) {
  ASSERT_OK_AND_ASSIGN(BrokerConfig d, BrokerConfig::FromProperties({}));
  EXPECT_EQ(d.net_busy_poll_us, 50);
  ASSERT_OK_AND_ASSIGN(
      BrokerConfig off,
      BrokerConfig::FromProperties(Properties::Parse("netBusyPollUs=0\n")));
  EXPECT_EQ(off.net_busy_poll_us, 0);
  EXPECT_FALSE(
      BrokerConfig::FromProperties(Properties::Parse("netBusyPollUs=-1\n"))
          .ok());
}

TEST(TopicNameTest, ValidatesCharactersAndLength) {
  EXPECT_OK(ValidateTopicName("Topic_A-1%|x"));
  EXPECT_FALSE(ValidateTopicName("").ok());
  EXPECT_FALSE(ValidateTopicName("bad topic").ok());
  EXPECT_FALSE(ValidateTopicName("bad/topic").ok());
  EXPECT_FALSE(ValidateTopicName(std::string(128, 'a')).ok());
  EXPECT_OK(ValidateTopicName(std::string(127, 'a')));
  EXPECT_OK(ValidateTopicName("%RETRY%" + std::string(200, 'g')));
  EXPECT_TRUE(IsNotAllowedToSend("SCHEDULE_TOPIC_XXXX"));
  EXPECT_FALSE(IsNotAllowedToSend("TopicTest"));
}

class TopicConfigManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<TopicConfigManager> Open(bool auto_create = true) {
    return std::make_unique<TopicConfigManager>(
        &fs_, "/store/config",
        TopicConfigManagerOptions{"DefaultCluster", "broker-a", auto_create, 4},
        &clock_);
  }
  ManualClock clock_{1700000000000};
  MemFileSystem fs_;
};

TEST_F(TopicConfigManagerTest, LoadCreatesSystemTopicsAndPersists) {
  auto m = Open();
  ASSERT_OK(m->Load());
  auto tbw = m->Find("TBW102");
  ASSERT_TRUE(tbw.has_value());
  EXPECT_EQ(tbw->perm, 7);
  EXPECT_EQ(tbw->write_queue_nums, 4);
  EXPECT_TRUE(m->Find("DefaultCluster").has_value());
  EXPECT_TRUE(m->Find("broker-a").has_value());
  EXPECT_TRUE(fs_.Exists("/store/config/topics.json"));
}

TEST_F(TopicConfigManagerTest,
       AutoCreationInheritsFromTbw102AndSurvivesReload) {
  auto m = Open();
  ASSERT_OK(m->Load());
  const auto before = m->data_version();
  ASSERT_OK_AND_ASSIGN(auto created,
                       m->CreateTopicInSendMessage("NewTopic", "TBW102", 8));
  EXPECT_TRUE(created.second);
  EXPECT_EQ(created.first.write_queue_nums, 4);  // min(8, TBW102's 4)
  EXPECT_EQ(created.first.perm, 6);              // inherit bit dropped
  EXPECT_GT(m->data_version().counter, before.counter);
  ASSERT_OK_AND_ASSIGN(auto again,
                       m->CreateTopicInSendMessage("NewTopic", "TBW102", 8));
  EXPECT_FALSE(again.second);

  auto reopened = Open();
  ASSERT_OK(reopened->Load());
  auto tc = reopened->Find("NewTopic");
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->read_queue_nums, 4);
  EXPECT_EQ(reopened->data_version(), m->data_version());
}

TEST_F(TopicConfigManagerTest, NoAutoCreationWithoutInheritTemplate) {
  auto m = Open(false);
  ASSERT_OK(m->Load());
  EXPECT_FALSE(m->Find("TBW102").has_value());
  EXPECT_TRUE(m->CreateTopicInSendMessage("NewTopic", "TBW102", 4)
                  .status()
                  .IsNotFound());
  EXPECT_FALSE(m->CreateTopicInSendMessage("bad name", "TBW102", 4).ok());
}

TEST_F(TopicConfigManagerTest, CorruptMainFileFallsBackToBackup) {
  auto m = Open();
  ASSERT_OK(m->Load());
  remoting::TopicConfig tc;
  tc.topic_name = "T1";
  tc.read_queue_nums = tc.write_queue_nums = 2;
  ASSERT_OK(m->Update(
      tc));  // topics.json.bak now holds the table without T1... then:
  tc.topic_name = "T2";
  ASSERT_OK(m->Update(tc));  // .bak holds T1, main holds T1 and T2
  ASSERT_OK(
      fs_.WriteFile("/store/config/topics.json", "{\"topicConfigTable\":{tor"));
  auto reopened = Open();
  ASSERT_OK(reopened->Load());
  EXPECT_TRUE(reopened->Find("T1").has_value());
  EXPECT_FALSE(reopened->Find("T2").has_value());
}

TEST(ConfigFileTest, FailedRenameKeepsTheOldContent) {
  FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ConfigFile f(&fs, "/c/x.json");
  ASSERT_OK(f.Write("{\"v\":1}"));
  fs.FailNth(FaultFileSystem::Op::kRename, 1);
  EXPECT_FALSE(f.Write("{\"v\":2}").ok());
  ASSERT_OK_AND_ASSIGN(std::string text,
                       f.Read([](const std::string&) { return true; }));
  EXPECT_EQ(text, "{\"v\":1}");
}

TEST(ConfigFileTest, PowerLossAfterRenameReadsTheBackup) {
  FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ConfigFile f(&fs, "/c/x.json");
  ASSERT_OK(f.Write("{\"v\":1}"));
  fs.FailNth(FaultFileSystem::Op::kWriteFile,
             1);  // crash between rename and the new content
  EXPECT_FALSE(f.Write("{\"v\":2}").ok());
  fs.SimulatePowerLoss();
  ASSERT_OK_AND_ASSIGN(std::string text,
                       f.Read([](const std::string& s) { return !s.empty(); }));
  EXPECT_EQ(text, "{\"v\":1}");
}

TEST(ConsumerOffsetManagerTest, PersistsInRocketMqFormat) {
  MemFileSystem fs;
  ConsumerOffsetManager m(&fs, "/s/config");
  ASSERT_OK(m.Load());
  EXPECT_FALSE(m.Query("G", "T", 0).has_value());
  m.Commit("G", "T", 0, 12);
  m.Commit("G", "T", 1, 5);
  m.Commit("G2", "%RETRY%G2", 0, 1);
  EXPECT_EQ(m.EncodeJson(),
            "{\"offsetTable\":{\"%RETRY%G2@G2\":{0:1},\"T@G\":{0:12,1:5}}}");
  ASSERT_OK(m.Persist());
  ConsumerOffsetManager reopened(&fs, "/s/config");
  ASSERT_OK(reopened.Load());
  EXPECT_EQ(reopened.Query("G", "T", 1), 5);
  EXPECT_THAT(reopened.TopicsOfGroup("G"), ElementsAre("T"));
  EXPECT_THAT(reopened.GroupsOfTopic("T"), ElementsAre("G"));
  m.Commit("G", "T", 0, 3);  // offsets may move backwards (admin reset)
  EXPECT_EQ(m.Query("G", "T", 0), 3);
}

TEST(SubscriptionDataTest, SplitsTagsAndHashesThem) {
  ASSERT_OK_AND_ASSIGN(
      SubscriptionData sd,
      SubscriptionData::Build("T", " TagA || TagB ||  ", "TAG"));
  EXPECT_THAT(sd.tags, ElementsAre("TagA", "TagB"));
  EXPECT_THAT(sd.codes,
              ElementsAre(message::JHash("TagA"), message::JHash("TagB")));
  ASSERT_OK_AND_ASSIGN(SubscriptionData all,
                       SubscriptionData::Build("T", "*", ""));
  EXPECT_TRUE(all.MatchesAll());
  EXPECT_FALSE(SubscriptionData::Build("T", "a > 1", "SQL92").ok());
}

TEST(HeartbeatDataTest, ParsesJavaAndCppForms) {
  ASSERT_OK_AND_ASSIGN(
      HeartbeatData java,
      HeartbeatData::Parse(
          R"({"clientID":"c1","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET",)"
          R"("consumeType":"CONSUME_PASSIVELY","groupName":"CG","messageModel":"CLUSTERING",)"
          R"("subscriptionDataSet":[{"codeSet":[65],"subString":"A","subVersion":17,"tagsSet":["A"],)"
          R"("topic":"T"}]}],"producerDataSet":[{"groupName":"PG"}]})"));
  EXPECT_EQ(java.client_id, "c1");
  EXPECT_THAT(java.producer_groups, ElementsAre("PG"));
  ASSERT_EQ(java.consumers.size(), 1u);
  EXPECT_EQ(java.consumers[0].subscriptions[0].sub_version, 17);
  EXPECT_THAT(java.consumers[0].subscriptions[0].codes, ElementsAre(65));

  ASSERT_OK_AND_ASSIGN(
      HeartbeatData cpp,
      HeartbeatData::Parse(
          "{\"clientID\":\"c2\",\"consumerDataSet\":[{\"consumeFromWhere\":0,"
          "\"consumeType\":1,"
          "\"groupName\":\"CG\",\"messageModel\":1,\"subscriptionDataSet\":[{"
          "\"subString\":\"*\","
          "\"subVersion\":\"1700000000000\",\"topic\":\"T\"}]}]}\n"));
  EXPECT_EQ(cpp.consumers[0].consume_type, "CONSUME_PASSIVELY");
  EXPECT_EQ(cpp.consumers[0].message_model, "CLUSTERING");
  EXPECT_EQ(cpp.consumers[0].consume_from_where, "CONSUME_FROM_LAST_OFFSET");
  EXPECT_EQ(cpp.consumers[0].subscriptions[0].sub_version, 1700000000000);

  EXPECT_FALSE(HeartbeatData::Parse("not json").ok());
  EXPECT_FALSE(HeartbeatData::Parse("{\"producerDataSet\":[]}").ok());
}

TEST(ClientManagerTest, MembershipChangesAreReported) {
  ClientManager m;
  HeartbeatData hb;
  hb.client_id = "c1";
  ConsumerData cd;
  cd.group_name = "CG";
  cd.message_model = "CLUSTERING";
  cd.subscriptions.push_back(*SubscriptionData::Build("T", "*", "TAG"));
  hb.consumers.push_back(cd);
  ClientChannel ch;
  ch.connection_id = 1;
  ch.last_update_ms = 1000;
  EXPECT_THAT(m.Heartbeat(hb, ch), ElementsAre("CG"));
  EXPECT_TRUE(m.Heartbeat(hb, ch).empty());  // a refresh changes nothing
  hb.client_id = "c2";
  ch.connection_id = 2;
  EXPECT_THAT(m.Heartbeat(hb, ch), ElementsAre("CG"));
  EXPECT_TRUE(m.FindSubscription("CG", "T").has_value());
  EXPECT_FALSE(m.FindSubscription("CG", "Other").has_value());
  EXPECT_THAT(m.OnConnectionClosed(1), ElementsAre("CG"));
  EXPECT_THAT(m.Unregister(2, "", "CG"), ElementsAre("CG"));
  EXPECT_FALSE(m.FindSubscription("CG", "T").has_value());
}

TEST(ClientManagerTest, SilentClientsExpire) {
  ClientManager m;
  HeartbeatData hb;
  hb.client_id = "c1";
  hb.producer_groups.push_back("PG");
  ConsumerData cd;
  cd.group_name = "CG";
  hb.consumers.push_back(cd);
  ClientChannel ch;
  ch.connection_id = 7;
  ch.last_update_ms = 1000;
  m.Heartbeat(hb, ch);
  EXPECT_TRUE(m.ScanExpired(100000, 120000).empty());
  EXPECT_THAT(m.ScanExpired(121001, 120000), ElementsAre("CG"));
  EXPECT_EQ(m.producer_count(), 0u);
  EXPECT_EQ(m.consumer_count(), 0u);
}

TEST(RebalanceLockManagerTest, OneHolderUntilExpiry) {
  RebalanceLockManager locks(60000);
  std::vector<MessageQueue> mqs = {{"T", "b", 0}, {"T", "b", 1}};
  EXPECT_EQ(locks.TryLockBatch("G", mqs, "c1", 1000).size(), 2u);
  EXPECT_TRUE(locks.TryLockBatch("G", mqs, "c2", 2000).empty());
  EXPECT_EQ(locks.TryLockBatch("G", {mqs[0]}, "c1", 3000).size(),
            1u);  // renewal
  locks.UnlockBatch("G", {mqs[0]}, "c1");
  EXPECT_THAT(locks.TryLockBatch("G", mqs, "c2", 4000), ElementsAre(mqs[0]));
  EXPECT_THAT(locks.TryLockBatch("G", mqs, "c2", 62000),
              UnorderedElementsAre(mqs[0], mqs[1]));  // c1's expired
  EXPECT_TRUE(locks.HasLocks("G", 62000));
  EXPECT_FALSE(locks.HasLocks("G", 200000));
}

class PullRequestHoldServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<PullRequestHoldService>(
        [this](HeldPull) { woken_.fetch_add(1); },
        [this](std::string_view, int32_t) { return max_offset_.load(); },
        SystemClock::Default());
    service_->Start();
  }
  void TearDown() override { service_->Stop(); }

  HeldPull Pull(int64_t offset, std::vector<int64_t> tags, int64_t timeout_ms) {
    HeldPull p;
    p.topic = "T";
    p.queue_id = 0;
    p.offset = offset;
    p.tag_codes = std::move(tags);
    p.deadline_ns =
        SystemClock::Default()->MonotonicNs() + timeout_ms * 1000000;
    return p;
  }
  bool WaitWoken(int n, int ms) {
    for (int i = 0; i < ms / 5 && woken_.load() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return woken_.load() >= n;
  }

  std::atomic<int64_t> max_offset_{0};
  std::atomic<int> woken_{0};
  std::unique_ptr<PullRequestHoldService> service_;
};

// A parked pull whose connection is gone is dropped on the next pass, without
// being re-run (the net tests cover waking and deadlines of live pulls).
TEST_F(PullRequestHoldServiceTest, PullOfAClosedConnectionIsDroppedUnanswered) {
  service_->Suspend(Pull(5, {message::JHash("A")}, 60000));
  service_->NotifyMessageArriving("T", 0, 6, message::JHash("A"));
  for (int i = 0; i < 200 && service_->held_count() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(service_->held_count(), 0u);
  EXPECT_EQ(woken_.load(), 0);
}

TEST(UniqKeyGeneratorTest, KeysAreDistinctHexWithTheHostAndMonthOffset) {
  message::UniqKeyGenerator gen(message::HostAddress::V4(127, 0, 0, 1, 10911));
  const int64_t now = 1795515038605;  // 2026-11-24
  std::set<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.insert(gen.Next(now));
  EXPECT_EQ(keys.size(), 1000u);
  const std::string k = gen.Next(now);
  ASSERT_EQ(k.size(), 32u);
  EXPECT_EQ(k.substr(0, 8), "7F000001");
  // Bytes 10..13: ms since the start of the month, < 31 days.
  const uint32_t since =
      static_cast<uint32_t>(std::stoul(k.substr(20, 8), nullptr, 16));
  EXPECT_LT(since, 31u * 24 * 3600 * 1000);
  EXPECT_GT(since, 22u * 24 * 3600 * 1000);  // the 24th, minus a time-zone day
}

// The is_system label: the topics a broker makes under its own cluster and broker names count as system topics;
// a user topic that happens to be called like some other cluster does not.
TEST(BrokerMetricsLabelTest, SystemTopicsFollowTheConfiguredClusterAndBrokerNames) {
  EXPECT_TRUE(metrics::IsSystemTopic("ProdCluster", "ProdCluster", "broker-a"));
  EXPECT_TRUE(metrics::IsSystemTopic("broker-a", "ProdCluster", "broker-a"));
  EXPECT_FALSE(metrics::IsSystemTopic("DefaultCluster", "ProdCluster", "broker-a"));
  EXPECT_TRUE(metrics::IsSystemTopic("TBW102", "ProdCluster", "broker-a"));
  EXPECT_TRUE(metrics::IsSystemTopic("RMQ_SYS_TRANS_HALF_TOPIC", "ProdCluster", "broker-a"));
  EXPECT_FALSE(metrics::IsSystemTopic("Orders", "ProdCluster", "broker-a"));
}

}  // namespace
}  // namespace thruster::broker
