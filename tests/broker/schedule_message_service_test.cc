// Delay levels and consumer retries over the protocol
// (spec/schedule-and-timer.md §2-§4): a broker on real files and a ManualClock,
// driven by a RemotingClient. Moving the clock and running one delivery pass
// replaces waiting for the delays; one test checks the real-time wake-up on the
// system clock.
#include "broker/schedule_message_service.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "message/commit_log_format.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/json.h"
#include "remoting/remoting_client.h"
#include "store/delay_level_table.h"
#include "tests/broker/record_util.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
namespace prop = message::prop;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000000;

// A stored record with what these tests look at.
struct Stored {
  std::string topic;
  int32_t queue_id = 0;
  std::string body;
  std::string properties;
  int32_t reconsume_times = 0;
  int64_t store_timestamp = 0;
  int64_t phys_offset = 0;
  std::optional<std::string_view> Prop(std::string_view name) const {
    return message::FindProperty(properties, name);
  }
};

class ScheduleMessageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(client_.Start());
    store_dir_ = dir_.path() + "/store";
    StartBroker();
  }
  void TearDown() override {
    client_.Stop();
    if (broker_) broker_->Shutdown();
  }

  void StartBroker(const Clock* clock = nullptr) {
    BrokerConfig bc = testing::LoopbackBrokerConfig();
    store::MessageStoreConfig sc = testing::SmallDiskStoreConfig(store_dir_);
    sc.flush_delay_offset_interval = flush_delay_offset_interval_;
    broker_ = std::make_unique<Broker>(bc, sc, store::io::DefaultFileSystem(),
                                       clock != nullptr ? clock : &clock_);
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
  }
  void StopBroker() {
    client_.CloseConnection(addr_);
    broker_->Shutdown();
    broker_.reset();
  }

  RemotingCommand Call(RemotingCommand req) {
    Result<RemotingCommand> resp =
        client_.InvokeSync(addr_, std::move(req), 5s);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  RemotingCommand Simple(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext) {
    RemotingCommand req = RemotingCommand::CreateRequest(code);
    for (const auto& [k, v] : ext) req.SetExt(k, v);
    return Call(std::move(req));
  }
  void CreateTopic(const std::string& topic, int queues = 1) {
    ASSERT_EQ(Simple(req_code::kUpdateAndCreateTopic,
                     {{"topic", topic},
                      {"defaultTopic", "TBW102"},
                      {"readQueueNums", std::to_string(queues)},
                      {"writeQueueNums", std::to_string(queues)},
                      {"perm", "6"},
                      {"topicFilterType", "SINGLE_TAG"},
                      {"order", "false"}})
                  .code(),
              rc::kSuccess);
  }
  RemotingCommand Send(const std::string& topic, std::string_view body,
                       const std::string& props, int32_t queue_id = 0) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", queue_id);
    req.SetExt("f", 0);
    req.SetExt("g", kT0);
    req.SetExt("h", 0);
    req.SetExt("i", props);
    req.set_body(body);
    return Call(std::move(req));
  }
  // Sends `body` with DELAY=level and returns the phys offset of the parked
  // record.
  int64_t SendDelayed(const std::string& topic, const std::string& body,
                      int level, int32_t queue_id = 0) {
    RemotingCommand r = Send(
        topic, body,
        Props({{"TAGS", "TagA"}, {"DELAY", std::to_string(level)}}), queue_id);
    EXPECT_EQ(r.code(), rc::kSuccess) << r.remark();
    Result<message::MessageIdParts> id =
        message::DecodeMessageId(r.ExtOr("msgId", ""));
    EXPECT_TRUE(id.ok());
    return id.ok() ? id->phys_offset : -1;
  }
  // Every record of topic/queue from `offset`, read over the protocol (a pull
  // that does not suspend).
  std::vector<Stored> Pull(const std::string& topic, int32_t queue_id,
                           int64_t offset = 0) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", topic);
    req.SetExt("queueId", queue_id);
    req.SetExt("queueOffset", offset);
    req.SetExt("maxMsgNums", 32);
    req.SetExt("sysFlag", 0x4);  // the subscription comes with the pull
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", int64_t{0});
    req.SetExt("subscription", "*");
    req.SetExt("subVersion", int64_t{0});
    RemotingCommand resp = Call(std::move(req));
    std::vector<Stored> out;
    if (resp.code() != rc::kSuccess) return out;
    std::span<const std::byte> body = resp.body();
    while (!body.empty()) {
      message::RecordCheck c = message::CheckRecord(body, true);
      EXPECT_EQ(c.status, message::RecordStatus::kOk) << c.error;
      if (c.status != message::RecordStatus::kOk) break;
      const message::DecodedRecord& r = c.record;
      out.push_back(Stored{std::string(r.topic), r.queue_id,
                           std::string(AsStringView(r.body)),
                           std::string(r.properties), r.reconsume_times,
                           r.store_timestamp, r.phys_offset});
      body = body.subspan(static_cast<size_t>(c.size));
    }
    return out;
  }
  std::vector<std::string> Bodies(const std::string& topic,
                                  int32_t queue_id = 0) {
    std::vector<std::string> out;
    for (const Stored& s : Pull(topic, queue_id)) out.push_back(s.body);
    return out;
  }
  // Moves the clock and lets the schedule service act on the new time (with
  // every parked message already in its queue).
  void Advance(int64_t ms) {
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
    clock_.Advance(ms);
    ASSERT_TRUE(broker_->schedule().RunPassForTesting());
  }
  RemotingCommand SendBack(int64_t phys, const std::string& group,
                           int delay_level, int max_reconsume_times) {
    return Simple(req_code::kConsumerSendMsgBack,
                  {{"offset", std::to_string(phys)},
                   {"group", group},
                   {"delayLevel", std::to_string(delay_level)},
                   {"originMsgId", ""},
                   {"maxReconsumeTimes", std::to_string(max_reconsume_times)}});
  }
  std::string DelayOffsetFile() {
    RemotingCommand r = Simple(req_code::kGetAllDelayOffset, {});
    EXPECT_EQ(r.code(), rc::kSuccess) << r.remark();
    return std::string(r.body_view());
  }

  testing::TempDir dir_;
  std::string store_dir_;
  ManualClock clock_{kT0};
  int64_t flush_delay_offset_interval_ = 10000;
  remoting::RemotingClient client_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
};

TEST(DelayLevelTableTest, ParsesRocketMQsUnitsAndRefusesBadItems) {
  store::DelayLevelTable def;
  EXPECT_EQ(def.max_level(), 18);
  EXPECT_EQ(def.DelayMs(1), 1000);
  EXPECT_EQ(def.DelayMs(5), 60000);
  EXPECT_EQ(def.DelayMs(18), 7200000);
  EXPECT_EQ(def.DelayMs(40), 7200000);  // clamped to the last level
  ASSERT_OK_AND_ASSIGN(store::DelayLevelTable t,
                       store::DelayLevelTable::Parse("2s 3m 1h 1d"));
  EXPECT_EQ(t.max_level(), 4);
  EXPECT_EQ(t.DelayMs(2), 180000);
  EXPECT_EQ(t.DelayMs(4), 86400000);
  for (const char* bad : {"", "1s  2s", "1x", "s", "1s 2", "-1s", "1.5s"}) {
    EXPECT_FALSE(store::DelayLevelTable::Parse(bad).ok()) << bad;
  }
  Properties p;
  p.Set("messageDelayLevel", "1s 2q");
  Result<store::MessageStoreConfig> c =
      store::MessageStoreConfig::FromProperties(p);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("messageDelayLevel"));
}

TEST(ParkIfDelayedTest, RewritesTopicQueueAndPropertiesAsRocketMQ) {
  store::DelayLevelTable levels;
  std::string props = Props({{"DELAY", "3"}, {"TAGS", "TagA"}});
  message::MessageToStore msg;
  msg.topic = "TopicTest";
  msg.queue_id = 3;
  msg.properties = props;
  ASSERT_OK(ParkIfDelayed(levels, &msg, &props));
  EXPECT_EQ(msg.topic, "SCHEDULE_TOPIC_XXXX");
  EXPECT_EQ(msg.queue_id, 2);
  EXPECT_EQ(msg.properties, props);
  EXPECT_EQ(message::FindProperty(props, "REAL_TOPIC"), "TopicTest");
  EXPECT_EQ(message::FindProperty(props, "REAL_QID"), "3");
  EXPECT_EQ(message::FindProperty(props, "DELAY"), "3");
  EXPECT_EQ(message::FindProperty(props, "TAGS"), "TagA");

  std::string high = Props({{"DELAY", "99"}});
  msg.topic = "T";
  msg.properties = high;
  ASSERT_OK(ParkIfDelayed(levels, &msg, &high));
  EXPECT_EQ(msg.queue_id, 17);
  EXPECT_EQ(message::FindProperty(high, "DELAY"), "18");

  for (std::string none : {Props({{"DELAY", "0"}}), Props({{"DELAY", "-2"}}),
                           Props({{"TAGS", "x"}})}) {
    message::MessageToStore m;
    m.topic = "T";
    m.properties = none;
    ASSERT_OK(ParkIfDelayed(levels, &m, &none));
    EXPECT_EQ(m.topic, "T");
  }
  std::string half = Props({{"DELAY", "2"}});
  message::MessageToStore prepared;
  prepared.topic = "T";
  prepared.sys_flag = message::sysflag::kTransactionPreparedType;
  prepared.properties = half;
  ASSERT_OK(ParkIfDelayed(levels, &prepared, &half));
  EXPECT_EQ(prepared.topic, "T");
  std::string bad = Props({{"DELAY", "soon"}});
  msg.properties = bad;
  EXPECT_FALSE(ParkIfDelayed(levels, &msg, &bad).ok());
}

// The overload for a DELAY found beforehand (in one scan with other
// properties) parks, clamps and refuses as the one that looks it up.
TEST(ParkIfDelayedTest, TakesTheDelayFoundBeforehand) {
  store::DelayLevelTable levels;
  std::string props = Props({{"TAGS", "TagA"}, {"DELAY", "99"}});
  message::MessageToStore msg;
  msg.topic = "TopicTest";
  msg.queue_id = 1;
  msg.properties = props;
  ASSERT_OK(ParkIfDelayed(levels, &msg, &props,
                          message::FindProperty(props, "DELAY")));
  EXPECT_EQ(msg.topic, "SCHEDULE_TOPIC_XXXX");
  EXPECT_EQ(msg.queue_id, 17);
  EXPECT_EQ(msg.properties, props);
  EXPECT_EQ(message::FindProperty(props, "DELAY"), "18");
  EXPECT_EQ(message::FindProperty(props, "REAL_TOPIC"), "TopicTest");
  EXPECT_EQ(message::FindProperty(props, "REAL_QID"), "1");

  std::string none = Props({{"TAGS", "TagA"}});
  message::MessageToStore plain;
  plain.topic = "T";
  plain.properties = none;
  ASSERT_OK(ParkIfDelayed(levels, &plain, &none, std::nullopt));
  EXPECT_EQ(plain.topic, "T");
  EXPECT_EQ(none, Props({{"TAGS", "TagA"}}));

  std::string half = Props({{"DELAY", "2"}});
  message::MessageToStore prepared;
  prepared.topic = "T";
  prepared.sys_flag = message::sysflag::kTransactionPreparedType;
  prepared.properties = half;
  ASSERT_OK(ParkIfDelayed(levels, &prepared, &half, "2"));
  EXPECT_EQ(prepared.topic, "T");

  std::string bad = Props({{"DELAY", "soon"}});
  plain.properties = bad;
  Status s = ParkIfDelayed(levels, &plain, &bad, "soon");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("'soon' is not a delay level"));
}

TEST_F(ScheduleMessageServiceTest, DelayLevelsFireAtTheirDueTimeInOrder) {
  CreateTopic("TD", 2);
  const int64_t p1 = SendDelayed("TD", "one", 1, 1);
  SendDelayed("TD", "five", 2, 1);
  SendDelayed("TD", "ten", 3, 1);
  SendDelayed("TD", "one-b", 1, 1);
  ASSERT_EQ(Send("TD", "now", "", 1).code(), rc::kSuccess);

  // Parked as RocketMQ parks them: queue level-1, the delivery time as
  // tagsCode, the real destination in properties.
  std::vector<Stored> parked = Pull("SCHEDULE_TOPIC_XXXX", 0);
  ASSERT_EQ(parked.size(), 2u);
  EXPECT_EQ(parked[0].phys_offset, p1);
  EXPECT_EQ(parked[0].Prop("REAL_TOPIC"), "TD");
  EXPECT_EQ(parked[0].Prop("REAL_QID"), "1");
  std::optional<store::cq_format::Entry> unit =
      broker_->store().GetQueueEntry("SCHEDULE_TOPIC_XXXX", 0, 0);
  ASSERT_TRUE(unit.has_value());
  EXPECT_EQ(unit->tags_code, parked[0].store_timestamp + 1000);
  unit = broker_->store().GetQueueEntry("SCHEDULE_TOPIC_XXXX", 2, 0);
  ASSERT_TRUE(unit.has_value());
  EXPECT_EQ(unit->tags_code, kT0 + 10000);
  EXPECT_EQ(Bodies("TD", 1), std::vector<std::string>{"now"});

  Advance(999);
  EXPECT_EQ(Bodies("TD", 1), std::vector<std::string>{"now"});
  Advance(1);
  EXPECT_EQ(Bodies("TD", 1), (std::vector<std::string>{"now", "one", "one-b"}));
  Advance(3999);
  EXPECT_EQ(Pull("TD", 1).size(), 3u);
  Advance(1);
  Advance(4999);
  EXPECT_EQ(Bodies("TD", 1),
            (std::vector<std::string>{"now", "one", "one-b", "five"}));
  Advance(1);
  std::vector<Stored> delivered = Pull("TD", 1);
  ASSERT_EQ(delivered.size(), 5u);
  EXPECT_EQ(delivered[4].body, "ten");
  // The delivered record keeps the parked properties (§3.2).
  EXPECT_EQ(delivered[4].Prop("DELAY"), "3");
  EXPECT_EQ(delivered[4].Prop("REAL_TOPIC"), "TD");
  EXPECT_EQ(delivered[4].Prop("TAGS"), "TagA");
  EXPECT_EQ(delivered[4].store_timestamp, kT0 + 10000);
  EXPECT_EQ(broker_->schedule().delivered_count(), 4);
  EXPECT_TRUE(Pull("TD", 0).empty());
}

TEST_F(ScheduleMessageServiceTest, BadDelaysAndDelayedBatchesAreRefused) {
  CreateTopic("TB");
  RemotingCommand bad = Send("TB", "x", Props({{"DELAY", "later"}}));
  EXPECT_EQ(bad.code(), rc::kMessageIllegal);
  EXPECT_THAT(bad.remark(), HasSubstr("DELAY"));
  RemotingCommand batch =
      RemotingCommand::CreateRequest(req_code::kSendBatchMessage);
  batch.SetExt("a", "PG");
  batch.SetExt("b", "TB");
  batch.SetExt("e", 0);
  batch.SetExt("g", kT0);
  batch.SetExt("i", Props({{"DELAY", "1"}}));
  batch.SetExtBool("m", true);
  std::string entry(20, '\0');
  StoreI32(entry.data(), 20 + 1 + 2);
  StoreI32(entry.data() + 16, 1);
  entry += "b";
  entry.append(2, '\0');
  batch.set_body(std::string_view(entry));
  RemotingCommand refused = Call(std::move(batch));
  EXPECT_EQ(refused.code(), rc::kMessageIllegal);
  EXPECT_THAT(refused.remark(), HasSubstr("delayed"));
  // Level 0 or below is not a delay.
  ASSERT_EQ(Send("TB", "zero", Props({{"DELAY", "0"}})).code(), rc::kSuccess);
  EXPECT_EQ(Bodies("TB"), std::vector<std::string>{"zero"});
  EXPECT_EQ(broker_->store().GetMaxPhyOffset(),
            broker_->store().GetCommitLogOffsetInQueue("TB", 0, 0) +
                static_cast<int64_t>(
                    broker_->store().GetQueueEntry("TB", 0, 0)->size));
}

TEST_F(ScheduleMessageServiceTest, ProgressSurvivesACleanRestart) {
  CreateTopic("TR");
  SendDelayed("TR", "early", 1);
  SendDelayed("TR", "late", 2);
  Advance(1000);
  EXPECT_EQ(Bodies("TR"), std::vector<std::string>{"early"});
  StopBroker();
  StartBroker();
  // The file names the next unit of each level; the answer is its text.
  const std::string file = DelayOffsetFile();
  Result<remoting::json::Value> v = remoting::json::Parse(file);
  ASSERT_TRUE(v.ok()) << file;
  const remoting::json::Value* table = v->Find("offsetTable");
  ASSERT_NE(table, nullptr) << file;
  EXPECT_THAT(file, HasSubstr("1:1"));
  EXPECT_EQ(broker_->schedule().OffsetTable()[1], 1);
  Advance(3999);
  EXPECT_EQ(Bodies("TR"), std::vector<std::string>{"early"});
  Advance(1);
  EXPECT_EQ(Bodies("TR"), (std::vector<std::string>{"early", "late"}));
  Advance(60000);
  EXPECT_EQ(Pull("TR", 0).size(), 2u);  // nothing delivered twice
}

// A kill -9 leaves the store as the page cache holds it: `abort` present and
// delayOffset.json as last saved. A copy of the live directory is that state.
TEST_F(ScheduleMessageServiceTest, UncleanStopDeliversWhatWasPendingOnce) {
  StopBroker();
  flush_delay_offset_interval_ = 1000;
  StartBroker();
  CreateTopic("TK");
  SendDelayed("TK", "delivered-and-saved", 1);
  Advance(1000);  // delivers, and the offset is saved (interval passed)
  EXPECT_EQ(Bodies("TK"), std::vector<std::string>{"delivered-and-saved"});
  EXPECT_THAT(DelayOffsetFile(), HasSubstr("1:1"));
  SendDelayed("TK", "pending", 1);
  SendDelayed("TK", "pending-5s", 2);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  const std::string crashed = dir_.path() + "/crashed";
  std::filesystem::copy(store_dir_, crashed,
                        std::filesystem::copy_options::recursive);
  ASSERT_TRUE(std::filesystem::exists(crashed + "/abort"));
  StopBroker();
  store_dir_ = crashed;
  StartBroker();
  EXPECT_FALSE(broker_->store().recovery_report().last_exit_ok);
  EXPECT_EQ(Bodies("TK"), std::vector<std::string>{"delivered-and-saved"});
  Advance(1000);
  EXPECT_EQ(Bodies("TK"),
            (std::vector<std::string>{"delivered-and-saved", "pending"}));
  Advance(4000);
  EXPECT_EQ(Bodies("TK"), (std::vector<std::string>{"delivered-and-saved",
                                                    "pending", "pending-5s"}));
}

TEST_F(ScheduleMessageServiceTest, ParkedMessagesInAStoreWithoutProgressFire) {
  CreateTopic("TF");
  SendDelayed("TF", "a", 3);
  StopBroker();
  // No delayOffset.json at all (as a store copied without its config
  // directory, or written before the first save): every level starts at its
  // queue's first unit.
  std::filesystem::remove(store_dir_ + "/config/delayOffset.json");
  std::filesystem::remove(store_dir_ + "/config/delayOffset.json.bak");
  StartBroker();
  Advance(9999);
  EXPECT_TRUE(Pull("TF", 0).empty());
  Advance(1);
  EXPECT_EQ(Bodies("TF"), std::vector<std::string>{"a"});
}

TEST_F(ScheduleMessageServiceTest, FailedConsumeComesBackAfterBackOffThenDlq) {
  CreateTopic("TC");
  RemotingCommand sent = Send("TC", "fails", Props({{"TAGS", "A"}}));
  ASSERT_EQ(sent.code(), rc::kSuccess);
  const int64_t phys = Pull("TC", 0).at(0).phys_offset;
  // First failure: level 3 + 0 (10 s), into %RETRY%G.
  ASSERT_EQ(SendBack(phys, "G", 0, 2).code(), rc::kSuccess);
  std::vector<Stored> parked = Pull("SCHEDULE_TOPIC_XXXX", 2);
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].Prop("REAL_TOPIC"), "%RETRY%G");
  EXPECT_EQ(parked[0].Prop("RETRY_TOPIC"), "TC");
  EXPECT_EQ(parked[0].Prop("WAIT"), "false");
  Advance(9999);
  EXPECT_TRUE(Pull("%RETRY%G", 0).empty());
  Advance(1);
  std::vector<Stored> retry = Pull("%RETRY%G", 0);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].body, "fails");
  EXPECT_EQ(retry[0].reconsume_times, 1);
  EXPECT_EQ(retry[0].Prop("ORIGIN_MESSAGE_ID"), sent.ExtOr("msgId", ""));
  // Second failure: level 3 + 1 (30 s).
  ASSERT_EQ(SendBack(retry[0].phys_offset, "G", 0, 2).code(), rc::kSuccess);
  Advance(29999);
  EXPECT_EQ(Pull("%RETRY%G", 0).size(), 1u);
  Advance(1);
  retry = Pull("%RETRY%G", 0);
  ASSERT_EQ(retry.size(), 2u);
  EXPECT_EQ(retry[1].reconsume_times, 2);
  EXPECT_EQ(retry[1].Prop("RETRY_TOPIC"), "TC");
  // Retried twice with a limit of two: the next failure is dead.
  ASSERT_EQ(SendBack(retry[1].phys_offset, "G", 0, 2).code(), rc::kSuccess);
  std::vector<Stored> dead = Pull("%DLQ%G", 0);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reconsume_times, 3);
  EXPECT_EQ(dead[0].Prop("DELAY"), "0");
  EXPECT_EQ(dead[0].Prop("RETRY_TOPIC"), "TC");
  EXPECT_EQ(dead[0].Prop("ORIGIN_MESSAGE_ID"),
            retry[0].Prop("ORIGIN_MESSAGE_ID"));
}

TEST_F(ScheduleMessageServiceTest, ClientDelayLevelAndNegativeLevelAreObeyed) {
  CreateTopic("TL");
  ASSERT_EQ(Send("TL", "m", "").code(), rc::kSuccess);
  const int64_t phys = Pull("TL", 0).at(0).phys_offset;
  ASSERT_EQ(SendBack(phys, "G2", 1, 16).code(), rc::kSuccess);
  Advance(1000);
  ASSERT_EQ(Pull("%RETRY%G2", 0).size(), 1u);
  ASSERT_EQ(SendBack(phys, "G2", -1, 16).code(), rc::kSuccess);
  EXPECT_EQ(Pull("%DLQ%G2", 0).size(), 1u);
}

// The real clock: the service sleeps until the due time instead of polling,
// so an idle broker delivers within 100 ms of it.
TEST_F(ScheduleMessageServiceTest, IdleBrokerDeliversWithin100MsOfDueTime) {
  StopBroker();
  StartBroker(SystemClock::Default());
  CreateTopic("TW");
  SendDelayed("TW", "punctual", 1);
  const Stored parked = Pull("SCHEDULE_TOPIC_XXXX", 0).at(0);
  const int64_t due = parked.store_timestamp + 1000;
  // A long poll that the delivery wakes.
  RemotingCommand req = RemotingCommand::CreateRequest(req_code::kPullMessage);
  req.SetExt("consumerGroup", "CG");
  req.SetExt("topic", "TW");
  req.SetExt("queueId", 0);
  req.SetExt("queueOffset", int64_t{0});
  req.SetExt("maxMsgNums", 1);
  req.SetExt("sysFlag", 0x2 | 0x4);  // suspend; the subscription is given
  req.SetExt("commitOffset", int64_t{0});
  req.SetExt("suspendTimeoutMillis", int64_t{5000});
  req.SetExt("subscription", "*");
  req.SetExt("subVersion", int64_t{0});
  RemotingCommand resp = Call(std::move(req));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  message::RecordCheck c = message::CheckRecord(resp.body(), true);
  ASSERT_EQ(c.status, message::RecordStatus::kOk);
  EXPECT_GE(c.record.store_timestamp, due);
  EXPECT_LT(c.record.store_timestamp, due + 100);
}

// CPU time (ms) the broker's `schedule` thread has used so far, from
// /proc/self/task/<tid>/stat; -1 when there is no such thread.
int64_t ScheduleThreadCpuMsForTest() {
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (!std::getline(comm, name) || name != "schedule") continue;
    std::ifstream stat(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    // Fields after the parenthesised name: state is field 3; utime and
    // stime are fields 14 and 15.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    int64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoll(field);
      if (i == 15) stime = std::stoll(field);
    }
    return (utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK);
  }
  return -1;
}

// Once a persist interval has passed with nothing to save, the thread still
// waits between passes (it used to spin at 100% of a core from then on).
TEST_F(ScheduleMessageServiceTest, IdleServiceWaitsAfterAPersistInterval) {
  Advance(flush_delay_offset_interval_ + 1);
  Advance(1);
  const int64_t start = ScheduleThreadCpuMsForTest();
  ASSERT_GE(start, 0);
  // A spinning thread passes 100 ms of CPU well within the second, even on a
  // loaded machine; a waiting one stays near zero.
  const bool spun = testing::WaitUntil(
      [&] { return ScheduleThreadCpuMsForTest() - start >= 100; }, 1000ms);
  EXPECT_FALSE(spun) << "the schedule thread used "
                     << ScheduleThreadCpuMsForTest() - start
                     << " ms of CPU in 1 s while idle";
}

// A batch is all or none over the wire: one bad entry refuses the whole batch;
// a good batch takes consecutive queue offsets.
TEST_F(ScheduleMessageServiceTest, BatchWithOneInvalidEntryStoresNothing) {
  CreateTopic("TBA");
  auto entry = [](const std::string& body) {
    std::string e(20, '\0');
    StoreI32(e.data(), static_cast<int32_t>(20 + body.size() + 2));
    StoreI32(e.data() + 16, static_cast<int32_t>(body.size()));
    e += body;
    e.append(2, '\0');
    return e;
  };
  auto send_batch = [&](const std::string& body) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendBatchMessage);
    req.SetExt("a", "PG");
    req.SetExt("b", "TBA");
    req.SetExt("e", 0);
    req.SetExt("g", kT0);
    req.SetExtBool("m", true);
    req.set_body(std::string_view(body));
    return Call(std::move(req));
  };
  const std::string head = entry("first") + entry("second");
  std::string bad = head + entry("third");
  // The third entry's properties length (after its 20-byte header and body)
  // now overruns the entry.
  bad[head.size() + 20 + 5] = 0x7F;
  const int64_t before = broker_->store().GetMaxPhyOffset();
  RemotingCommand refused = send_batch(bad);
  EXPECT_EQ(refused.code(), rc::kMessageIllegal);
  EXPECT_THAT(refused.remark(), HasSubstr("batch entry 2"));
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  EXPECT_EQ(broker_->store().GetMaxPhyOffset(), before);
  EXPECT_TRUE(Pull("TBA", 0).empty());
  RemotingCommand ok = send_batch(entry("a") + entry("b") + entry("c"));
  ASSERT_EQ(ok.code(), rc::kSuccess) << ok.remark();
  EXPECT_EQ(Bodies("TBA"), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace thruster::broker
