// The message journey (TRACE_MESSAGE) over the protocol: a broker on real files
// and a ManualClock, driven by a RemotingClient the way a push consumer drives
// it. One message is followed through send → fetch → failed consume (sent
// back) → parked retry → re-delivery → DLQ → re-send → consume, and each step
// is checked in the journey the broker answers.
#include "broker/message_journey.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/fetch_journal.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/json.h"
#include "remoting/remoting_client.h"
#include "tests/broker/record_util.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

namespace jrc = remoting::response_code;
namespace jreq = remoting::request_code;
using remoting::RemotingCommand;
using JsonValue = remoting::json::Value;

constexpr int64_t kJourneyT0 = 1700000000000;
constexpr char kJourneyUniq[] = "7F0000010001000000000000000000AB";
constexpr char kJourneyResentUniq[] = "7F0000010001000000000000000000CD";

class MessageJourneyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(client_.Start());
    broker_ = std::make_unique<Broker>(
        testing::LoopbackBrokerConfig(),
        testing::SmallDiskStoreConfig(dir_.path() + "/store"),
        store::io::DefaultFileSystem(), &clock_);
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
  }
  void TearDown() override {
    client_.Stop();
    if (broker_) broker_->Shutdown();
  }

  RemotingCommand Call(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext,
      std::string_view body = {}) {
    RemotingCommand req = RemotingCommand::CreateRequest(code);
    for (const auto& [k, v] : ext) req.SetExt(k, v);
    if (!body.empty()) req.set_body(body);
    Result<RemotingCommand> resp =
        client_.InvokeSync(addr_, std::move(req), std::chrono::seconds(5));
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  RemotingCommand Send(const std::string& topic, const std::string& props) {
    RemotingCommand req = RemotingCommand::CreateRequest(jreq::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", 0);
    req.SetExt("f", 0);
    req.SetExt("g", kJourneyT0);
    req.SetExt("h", 0);
    req.SetExt("i", props);
    req.set_body(std::string_view("journey"));
    Result<RemotingCommand> resp =
        client_.InvokeSync(addr_, std::move(req), std::chrono::seconds(5));
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  // A pull by the consumer's connection from `offset`, as a push consumer
  // sends it; the records handed out.
  std::vector<Record> Pull(const std::string& topic, int64_t offset) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    RemotingCommand resp =
        Call(jreq::kPullMessage, {{"consumerGroup", "JG"},
                                  {"topic", topic},
                                  {"queueId", "0"},
                                  {"queueOffset", std::to_string(offset)},
                                  {"maxMsgNums", "32"},
                                  {"sysFlag", "4"},
                                  {"commitOffset", "0"},
                                  {"suspendTimeoutMillis", "0"},
                                  {"subscription", "*"},
                                  {"subVersion", "0"}});
    if (resp.code() != jrc::kSuccess) return {};
    return DecodeRecords(resp.body());
  }
  void Commit(const std::string& topic, int64_t offset) {
    ASSERT_EQ(Call(jreq::kUpdateConsumerOffset,
                   {{"consumerGroup", "JG"},
                    {"topic", topic},
                    {"queueId", "0"},
                    {"commitOffset", std::to_string(offset)}})
                  .code(),
              jrc::kSuccess);
  }
  void SendBack(int64_t phys) {
    ASSERT_EQ(
        Call(jreq::kConsumerSendMsgBack, {{"offset", std::to_string(phys)},
                                          {"group", "JG"},
                                          {"delayLevel", "0"},
                                          {"originMsgId", ""},
                                          {"maxReconsumeTimes", "1"}})
            .code(),
        jrc::kSuccess);
  }
  // The journey the broker answers (waiting for dispatch first).
  JsonValue Trace(
      std::initializer_list<std::pair<std::string, std::string>> ext) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    RemotingCommand resp = Call(jreq::kTraceMessage, ext);
    EXPECT_EQ(resp.code(), jrc::kSuccess) << resp.remark();
    Result<JsonValue> v = remoting::json::Parse(resp.body_view());
    EXPECT_TRUE(v.ok()) << resp.body_view();
    return v.ok() ? *v : JsonValue();
  }
  // The journey of the one message, group JG's part.
  JsonValue GroupJourney() {
    return GroupOf(Trace({{"msgId", kJourneyUniq}, {"topic", "JT"}}), "JG");
  }
  static JsonValue GroupOf(const JsonValue& doc, const std::string& group) {
    const JsonValue* messages = doc.Find("messages");
    EXPECT_TRUE(messages != nullptr && messages->size() == 1) << Write(doc);
    if (messages == nullptr || messages->size() != 1) return JsonValue();
    const JsonValue* groups = messages->at(0).Find("groups");
    for (size_t i = 0; groups != nullptr && i < groups->size(); ++i) {
      if (groups->at(i).GetString("group") == group) return groups->at(i);
    }
    ADD_FAILURE() << "no group " << group << " in " << Write(doc);
    return JsonValue();
  }
  static std::string Write(const JsonValue& v) {
    return remoting::json::Write(v);
  }
  // The stages of a group's timeline, in order.
  static std::vector<std::string> Stages(const JsonValue& g) {
    std::vector<std::string> out;
    const JsonValue* t = g.Find("timeline");
    for (size_t i = 0; t != nullptr && i < t->size(); ++i)
      out.push_back(t->at(i).GetString("stage"));
    return out;
  }
  static const JsonValue& Last(const JsonValue& g, std::string_view stage) {
    static const JsonValue kNone;
    const JsonValue* t = g.Find("timeline");
    const JsonValue* found = &kNone;
    for (size_t i = 0; t != nullptr && i < t->size(); ++i) {
      if (t->at(i).GetString("stage") == stage) found = &t->at(i);
    }
    return *found;
  }

  testing::TempDir dir_;
  ManualClock clock_{kJourneyT0};
  remoting::RemotingClient client_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
};

TEST_F(MessageJourneyTest, FollowsOneMessageFromSendThroughDlqAndResend) {
  ASSERT_EQ(
      Call(jreq::kUpdateAndCreateTopic, {{"topic", "JT"},
                                         {"defaultTopic", "TBW102"},
                                         {"readQueueNums", "1"},
                                         {"writeQueueNums", "1"},
                                         {"perm", "6"},
                                         {"topicFilterType", "SINGLE_TAG"},
                                         {"order", "false"}})
          .code(),
      jrc::kSuccess);
  // The consumer registers on the connection it pulls on.
  ASSERT_EQ(
      Call(jreq::kHeartBeat, {},
           R"({"clientID":"10.0.0.7@journey","producerDataSet":[],)"
           R"("consumerDataSet":[{"groupName":"JG",)"
           R"("consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",)"
           R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",)"
           R"("subscriptionDataSet":[{"topic":"JT","subString":"*"},)"
           R"({"topic":"%RETRY%JG","subString":"*"}]}]})")
          .code(),
      jrc::kSuccess);

  // Sent: stored and dispatched, JG subscribes but has not consumed it, and a
  // group asked for by name has not either.
  RemotingCommand sent = Send(
      "JT",
      Props({{"UNIQ_KEY", kJourneyUniq}, {"KEYS", "order-1"}, {"TAGS", "A"}}));
  ASSERT_EQ(sent.code(), jrc::kSuccess) << sent.remark();
  const std::string offset_id(sent.ExtOr("msgId", ""));
  JsonValue g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "notConsumed") << Write(g);
  EXPECT_EQ(Stages(g), (std::vector<std::string>{"stored", "dispatched"}));
  const JsonValue& stored = Last(g, "stored");
  EXPECT_EQ(stored.GetString("offsetMsgId"), offset_id);
  EXPECT_EQ(stored.Find("storeTimestamp")->AsInt64(), kJourneyT0);
  EXPECT_EQ(stored.Find("queueOffset")->AsInt64(), 0);
  EXPECT_GT(stored.Find("storeSize")->AsInt64(), 0);
  EXPECT_TRUE(stored.Find("inConsumeQueue")->bool_value());
  EXPECT_TRUE(stored.Find("inIndex")->bool_value());
  JsonValue other = Trace(
      {{"msgId", kJourneyUniq}, {"topic", "JT"}, {"group", "OtherGroup"}});
  EXPECT_EQ(GroupOf(other, "OtherGroup").GetString("status"), "notConsumed");

  // Fetched by the registered client, at the broker's time.
  clock_.Advance(1000);
  std::vector<Record> pulled = Pull("JT", 0);
  ASSERT_EQ(pulled.size(), 1u);
  g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "fetched") << Write(g);
  const JsonValue& fetched = Last(g, "fetched");
  EXPECT_EQ(fetched.GetString("clientId"), "10.0.0.7@journey");
  EXPECT_EQ(fetched.GetString("how"), "pull");
  EXPECT_EQ(fetched.Find("timestamp")->AsInt64(), kJourneyT0 + 1000);
  EXPECT_EQ(fetched.Find("fromOffset")->AsInt64(), 0);
  EXPECT_EQ(fetched.Find("toOffset")->AsInt64(), 1);

  // The consume fails: the consumer sends it back and commits past it. The
  // copy is parked at delay level 3 (10 s).
  SendBack(pulled[0].phys_offset);
  Commit("JT", 1);
  g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "retryScheduled") << Write(g);
  EXPECT_EQ(Last(g, "acknowledged").Find("committedOffset")->AsInt64(), 1);
  const JsonValue& parked = Last(g, "retryScheduled");
  EXPECT_EQ(parked.GetString("delayLevel"), "3");
  EXPECT_EQ(parked.GetString("realTopic"), "%RETRY%JG");
  EXPECT_EQ(parked.Find("dueTimestamp")->AsInt64(), kJourneyT0 + 1000 + 10000);
  EXPECT_EQ(parked.Find("reconsumeTimes")->AsInt64(), 1);

  // Due: re-delivered into %RETRY%JG, fetched again, fails again: dead.
  clock_.Advance(10000);
  ASSERT_TRUE(broker_->schedule().RunPassForTesting());
  g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "notConsumed") << Write(g);
  EXPECT_EQ(Last(g, "retried").GetString("topic"), "%RETRY%JG");
  std::vector<Record> retry = Pull("%RETRY%JG", 0);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(GroupJourney().GetString("status"), "fetched");
  SendBack(retry[0].phys_offset);
  Commit("%RETRY%JG", 1);
  g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "dlq") << Write(g);
  EXPECT_EQ(Last(g, "dlq").GetString("topic"), "%DLQ%JG");
  EXPECT_EQ(Last(g, "dlq").Find("reconsumeTimes")->AsInt64(), 2);

  // Re-sent from the DLQ as the dashboard and `admin resendDlq` do
  // (client::ResendMessage): a new message with the same KEYS and TAGS, naming
  // the original in ORIGIN_MESSAGE_ID. Then consumed.
  clock_.Advance(1000);
  ASSERT_EQ(Send("JT", Props({{"UNIQ_KEY", kJourneyResentUniq},
                              {"KEYS", "order-1"},
                              {"TAGS", "A"},
                              {"ORIGIN_MESSAGE_ID", offset_id}}))
                .code(),
            jrc::kSuccess);
  g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "notConsumed") << Write(g);
  EXPECT_EQ(Last(g, "resent").Find("queueOffset")->AsInt64(), 1);
  ASSERT_EQ(Pull("JT", 1).size(), 1u);
  Commit("JT", 2);
  g = GroupJourney();
  EXPECT_EQ(g.GetString("status"), "consumed") << Write(g);
  EXPECT_EQ(Stages(g), (std::vector<std::string>{
                           "stored", "dispatched", "fetched", "acknowledged",
                           "retryScheduled", "retried", "dispatched", "fetched",
                           "acknowledged", "dlq", "resent", "dispatched",
                           "fetched", "acknowledged"}))
      << Write(g);

  // The same journey by the original's offset msgId and by its key.
  JsonValue by_offset = Trace({{"msgId", offset_id}});
  ASSERT_EQ(by_offset.Find("messages")->size(), 1u) << Write(by_offset);
  EXPECT_EQ(by_offset.Find("messages")->at(0).GetString("uniqKey"),
            kJourneyUniq);
  EXPECT_EQ(by_offset.Find("messages")->at(0).Find("records")->size(), 5u)
      << Write(by_offset);
  JsonValue by_key = Trace({{"key", "order-1"}});
  ASSERT_EQ(by_key.Find("messages")->size(), 1u) << Write(by_key);
  EXPECT_EQ(by_key.Find("messages")->at(0).GetString("offsetMsgId"), offset_id);
  // And from the re-sent copy's own id: the same journey, the original first.
  JsonValue by_copy = Trace({{"msgId", kJourneyResentUniq}, {"topic", "JT"}});
  EXPECT_EQ(Stages(GroupOf(by_copy, "JG")), Stages(g)) << Write(by_copy);
}

TEST_F(MessageJourneyTest, UnknownMessageAndEmptyQueryAreRefused) {
  RemotingCommand none = Call(jreq::kTraceMessage,
                              {{"msgId", "0123456789ABCDEF0123456789ABCDEF"}});
  EXPECT_EQ(none.code(), jrc::kQueryNotFound);
  EXPECT_NE(none.remark().find("no message"), std::string::npos)
      << none.remark();
  EXPECT_EQ(
      Call(jreq::kTraceMessage, {{"key", "nothing"}, {"topic", "JT"}}).code(),
      jrc::kQueryNotFound);
  RemotingCommand empty = Call(jreq::kTraceMessage, {});
  EXPECT_EQ(empty.code(), jrc::kInvalidParameter);
}

TEST(FetchJournalTest, KeepsTheLastRangesPerQueueAndNamesClients) {
  int asked = 0;
  FetchJournal j([&](uint64_t id) {
    ++asked;
    return id == 7 ? std::string("client-7") : std::string();
  });
  for (int64_t i = 0; i < 20; ++i)
    j.Record("G", "T", 0, i, i + 1, 1000 + i, 7, "1.2.3.4:5",
             FetchJournal::Kind::kPull);
  EXPECT_EQ(asked, 1);  // named once
  // Only the last kRangesPerQueue (16) fetches are kept: 4..19.
  EXPECT_TRUE(j.FindFetches("G", "T", 0, 3).empty());
  std::vector<FetchJournal::Fetch> f = j.FindFetches("G", "T", 0, 4);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].time_ms, 1004);
  EXPECT_EQ(f[0].client_id, "client-7");
  EXPECT_EQ(f[0].client_addr, "1.2.3.4:5");
  EXPECT_TRUE(j.FindFetches("G", "T", 1, 4).empty());
  EXPECT_TRUE(j.FindFetches("H", "T", 0, 4).empty());
  // An unnamed connection is asked again, but not on every fetch.
  j.Record("G", "T", 1, 0, 5, 5000, 8, "x", FetchJournal::Kind::kPop);
  j.Record("G", "T", 1, 5, 6, 5001, 8, "x", FetchJournal::Kind::kPop);
  EXPECT_EQ(asked, 2);
  j.Record("G", "T", 1, 6, 7, 6001, 8, "x", FetchJournal::Kind::kPop);
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(j.FindFetches("G", "T", 1, 2).at(0).kind, FetchJournal::Kind::kPop);
  // Empty ranges are not fetches.
  j.Record("G", "U", 0, 3, 3, 7000, 7, "x", FetchJournal::Kind::kPull);
  EXPECT_EQ(j.GroupsOfTopic("U").size(), 0u);
  EXPECT_EQ(j.GroupsOfTopic("T"), std::vector<std::string>{"G"});
  // At most kMaxQueues slots: the least recently fetched go first.
  for (int32_t q = 0; q < static_cast<int32_t>(FetchJournal::kMaxQueues) * 2;
       ++q) {
    j.Record("Many", "T", q, 0, 1, 10000 + q, 7, "x",
             FetchJournal::Kind::kPull);
  }
  EXPECT_LE(j.queue_count(), FetchJournal::kMaxQueues);
  EXPECT_FALSE(
      j.FindFetches("Many", "T",
                    static_cast<int32_t>(FetchJournal::kMaxQueues) * 2 - 1, 0)
          .empty());
}

TEST(FetchJournalTest, ReplacesTheSlotFetchedLeastRecently) {
  FetchJournal j(nullptr);
  const auto n = static_cast<int32_t>(FetchJournal::kMaxQueues);
  // "AHot" is fetched between every new queue's first fetch, all at the same
  // time of day, so only the order of the fetches can tell it apart.
  for (int32_t q = 0; q < n * 4; ++q) {
    j.Record("G", "AHot", 0, q, q + 1, 1000, 0, "x", FetchJournal::Kind::kPull);
    j.Record("G", "BCold", q, 0, 1, 1000, 0, "x", FetchJournal::Kind::kPull);
  }
  EXPECT_LE(j.queue_count(), FetchJournal::kMaxQueues);
  // The hot slot was never replaced: it still holds its last 16 ranges.
  const auto ranges = static_cast<int32_t>(FetchJournal::kRangesPerQueue);
  EXPECT_EQ(j.FindFetches("G", "AHot", 0, n * 4 - ranges).size(), 1u);
  EXPECT_EQ(j.FindFetches("G", "AHot", 0, n * 4 - 1).size(), 1u);
  EXPECT_EQ(j.FindFetches("G", "BCold", n * 4 - 1, 0).size(), 1u);
  // The first cold queues went first.
  EXPECT_TRUE(j.FindFetches("G", "BCold", 0, 0).empty());
  EXPECT_TRUE(j.FindFetches("G", "BCold", 1, 0).empty());
}

}  // namespace
}  // namespace thruster::broker
