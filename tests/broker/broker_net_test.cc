// The broker over real sockets: every command, long polling, bad input and the
// wire-capture replay.
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "broker/broker.h"
#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "namesrv/name_server.h"
#include "remoting/frame_codec.h"
#include "remoting/json.h"
#include "remoting/remoting_client.h"
#include "remoting/route_data.h"
#include "tests/broker/record_util.h"
#include "tests/remoting/raw_socket.h"
#include "tests/remoting/wire_fixture.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
namespace json = remoting::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int32_t kMaxMessageSize = 64 * 1024;

class BrokerNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(client_.Start());
    // The name server the broker registers with, as thruster-broker composes
    // them.
    namesrv_ = std::make_unique<namesrv::NameServer>(
        testing::LoopbackNameServerOptions());
    ASSERT_OK(namesrv_->Start());
    StartBroker();
  }
  void TearDown() override {
    client_.Stop();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }

  void StartBroker(store::FlushDiskType flush = store::FlushDiskType::kAsync) {
    BrokerConfig bc = testing::LoopbackBrokerConfig(
        "127.0.0.1:" + std::to_string(namesrv_->port()), 2);
    store::MessageStoreConfig sc =
        testing::SmallDiskStoreConfig(dir_.path() + "/store", 4 << 20);
    sc.max_message_size = kMaxMessageSize;
    sc.flush_disk_type = flush;
    broker_ = std::make_unique<Broker>(bc, sc);
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
  }
  void RestartBroker(
      store::FlushDiskType flush = store::FlushDiskType::kAsync) {
    client_.CloseConnection(addr_);
    broker_->Shutdown();
    broker_.reset();
    StartBroker(flush);
  }

  RemotingCommand Call(RemotingCommand req,
                       std::chrono::milliseconds timeout = 5000ms) {
    Result<RemotingCommand> resp =
        client_.InvokeSync(addr_, std::move(req), timeout);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }

  RemotingCommand CreateTopic(const std::string& topic, int queues = 4,
                              int perm = 6) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kUpdateAndCreateTopic);
    req.SetExt("topic", topic);
    req.SetExt("defaultTopic", "TBW102");
    req.SetExt("readQueueNums", queues);
    req.SetExt("writeQueueNums", queues);
    req.SetExt("perm", perm);
    req.SetExt("topicFilterType", "SINGLE_TAG");
    req.SetExtBool("order", false);
    return Call(std::move(req));
  }

  RemotingCommand SendV2(const std::string& topic, std::string_view body,
                         const std::string& props, int32_t queue_id = 0) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", queue_id);
    req.SetExt("f", 0);
    req.SetExt("g", int64_t{1700000000000});
    req.SetExt("h", 7);
    req.SetExt("i", props);
    req.set_body(body);
    return Call(std::move(req));
  }

  RemotingCommand Pull(const std::string& topic, int32_t queue_id,
                       int64_t offset, int32_t sys_flag,
                       const std::string& sub = "*", int64_t suspend_ms = 1000,
                       const std::string& group = "CG", int32_t max_nums = 32) {
    // Sends answer once the record is appended; pulls see it once `dispatch`
    // has indexed it.
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", group);
    req.SetExt("topic", topic);
    req.SetExt("queueId", queue_id);
    req.SetExt("queueOffset", offset);
    req.SetExt("maxMsgNums", max_nums);
    req.SetExt("sysFlag", sys_flag);
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", suspend_ms);
    req.SetExt("subscription", sub);
    req.SetExt("subVersion", int64_t{0});
    return Call(std::move(req), std::chrono::milliseconds(suspend_ms + 5000));
  }

  RemotingCommand Simple(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext,
      std::string_view body = {}) {
    RemotingCommand req = RemotingCommand::CreateRequest(code);
    for (const auto& [k, v] : ext) req.SetExt(k, v);
    if (!body.empty()) req.set_body(body);
    return Call(std::move(req));
  }

  json::Value Json(const RemotingCommand& resp) {
    Result<json::Value> v = json::Parse(resp.body_view());
    EXPECT_TRUE(v.ok()) << resp.body_view();
    return v.ok() ? *v : json::Value();
  }

  std::string Heartbeat(const std::string& client_id, const std::string& group,
                        const std::string& topic, const std::string& sub) {
    return R"({"clientID":")" + client_id +
           R"(","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",)" +
           R"("consumeType":"CONSUME_PASSIVELY","groupName":")" + group +
           R"(","messageModel":"CLUSTERING","subscriptionDataSet":[{"subString":")" +
           sub + R"(","subVersion":1,"topic":")" + topic +
           R"("}]}],"producerDataSet":[{"groupName":"PG"}]})";
  }

  testing::TempDir dir_;
  remoting::RemotingClient client_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
};

TEST_F(BrokerNetTest, SendV2ThenPullReturnsTheStoredRecord) {
  ASSERT_EQ(CreateTopic("T1").code(), rc::kSuccess);
  RemotingCommand sent =
      SendV2("T1", "hello", Props({{"TAGS", "A"}, {"KEYS", "k1"}}), 2);
  ASSERT_EQ(sent.code(), rc::kSuccess) << sent.remark();
  EXPECT_EQ(sent.ExtOr("queueId", ""), "2");
  EXPECT_EQ(sent.ExtOr("queueOffset", ""), "0");
  EXPECT_EQ(sent.ExtOr("MSG_REGION", ""), "DefaultRegion");
  EXPECT_EQ(sent.ExtOr("TRACE_ON", ""), "true");
  EXPECT_EQ(sent.ExtOr("transactionId", "").size(), 32u);
  ASSERT_OK_AND_ASSIGN(message::MessageIdParts id,
                       message::DecodeMessageId(sent.ExtOr("msgId", "")));
  EXPECT_EQ(id.store_host.ToString(), addr_);

  RemotingCommand pulled = Pull("T1", 2, 0, 0x4);
  ASSERT_EQ(pulled.code(), rc::kSuccess) << pulled.remark();
  EXPECT_EQ(pulled.remark(), "FOUND");
  EXPECT_EQ(pulled.ExtOr("nextBeginOffset", ""), "1");
  EXPECT_EQ(pulled.ExtOr("maxOffset", ""), "1");
  EXPECT_EQ(pulled.ExtOr("minOffset", ""), "0");
  EXPECT_EQ(pulled.ExtOr("suggestWhichBrokerId", ""), "0");
  std::vector<Record> recs = DecodeRecords(pulled.body());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body, "hello");
  EXPECT_EQ(recs[0].topic, "T1");
  EXPECT_EQ(recs[0].queue_id, 2);
  EXPECT_EQ(recs[0].phys_offset, id.phys_offset);
  EXPECT_EQ(message::FindProperty(recs[0].properties, "CLUSTER"),
            "DefaultCluster");
  EXPECT_EQ(message::FindProperty(recs[0].properties, "UNIQ_KEY"),
            sent.ExtOr("transactionId", ""));
  EXPECT_EQ(message::FindProperty(recs[0].properties, "KEYS"), "k1");

  RemotingCommand empty = Pull("T1", 2, 1, 0x4);
  EXPECT_EQ(empty.code(), rc::kPullNotFound);
  EXPECT_EQ(empty.ExtOr("nextBeginOffset", ""), "1");
  EXPECT_EQ(Pull("T1", 2, 5, 0x4).code(), rc::kPullOffsetMoved);
}

TEST_F(BrokerNetTest, SendAutoCreatesTheTopicAndRegistersIt) {
  RemotingCommand sent = SendV2("AutoT", "x", Props({{"TAGS", "A"}}), 1);
  ASSERT_EQ(sent.code(), rc::kSuccess) << sent.remark();
  RemotingCommand cfg = Simple(req_code::kGetTopicConfig, {{"topic", "AutoT"}});
  ASSERT_EQ(cfg.code(), rc::kSuccess);
  EXPECT_EQ(Json(cfg).GetInt64("writeQueueNums"), 4);
  EXPECT_EQ(Json(cfg).GetInt64("perm"), 6);
  // The name server learns the new topic right away.
  const std::string ns = "127.0.0.1:" + std::to_string(namesrv_->port());
  bool routed = false;
  for (int i = 0; i < 100 && !routed; ++i) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kGetRouteinfoByTopic);
    req.SetExt("topic", "AutoT");
    Result<RemotingCommand> route =
        client_.InvokeSync(ns, std::move(req), 3000ms);
    ASSERT_TRUE(route.ok());
    routed = route->code() == rc::kSuccess;
    if (!routed) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(routed);
}

TEST_F(BrokerNetTest, SendMessageWithLongHeaderNamesAndBatches) {
  ASSERT_EQ(CreateTopic("TB", 1).code(), rc::kSuccess);
  RemotingCommand v1 = RemotingCommand::CreateRequest(req_code::kSendMessage);
  v1.SetExt("producerGroup", "PG");
  v1.SetExt("topic", "TB");
  v1.SetExt("defaultTopic", "TBW102");
  v1.SetExt("defaultTopicQueueNums", 4);
  v1.SetExt("queueId", 0);
  v1.SetExt("sysFlag", 0);
  v1.SetExt("bornTimestamp", int64_t{1});
  v1.SetExt("flag", 0);
  v1.set_body(std::string_view("single"));
  RemotingCommand r1 = Call(std::move(v1));
  ASSERT_EQ(r1.code(), rc::kSuccess) << r1.remark();

  // Batch body (§5.6): three entries, each with its own UNIQ_KEY.
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    const std::string body = "b" + std::to_string(i);
    const std::string props = Props({{"UNIQ_KEY", "U" + std::to_string(i)},
                                     {"KEYS", "bk" + std::to_string(i)}});
    std::string e(20, '\0');
    StoreI32(e.data(),
             static_cast<int32_t>(20 + body.size() + 2 + props.size()));
    StoreI32(e.data() + 12, 9);
    StoreI32(e.data() + 16, static_cast<int32_t>(body.size()));
    e += body;
    e.push_back(static_cast<char>(props.size() >> 8));
    e.push_back(static_cast<char>(props.size() & 0xFF));
    e += props;
    batch += e;
  }
  for (int32_t code : {req_code::kSendBatchMessage, req_code::kSendMessageV2}) {
    RemotingCommand req = RemotingCommand::CreateRequest(code);
    req.SetExt("a", "PG");
    req.SetExt("b", "TB");
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", 0);
    req.SetExt("f", 0);
    req.SetExt("g", int64_t{1});
    req.SetExt("h", 0);
    req.SetExtBool("m", true);
    req.set_body(std::string_view(batch));
    RemotingCommand resp = Call(std::move(req));
    ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
    EXPECT_EQ(std::count(resp.ExtOr("msgId", "").begin(),
                         resp.ExtOr("msgId", "").end(), ','),
              2);
  }
  RemotingCommand pulled = Pull("TB", 0, 0, 0x4);
  ASSERT_EQ(pulled.code(), rc::kSuccess);
  std::vector<Record> recs = DecodeRecords(pulled.body());
  ASSERT_EQ(recs.size(), 7u);
  EXPECT_EQ(recs[0].body, "single");
  EXPECT_EQ(recs[3].body, "b2");
  EXPECT_EQ(recs[6].queue_offset, 6);

  // A truncated batch is refused as a whole.
  RemotingCommand bad =
      RemotingCommand::CreateRequest(req_code::kSendBatchMessage);
  bad.SetExt("a", "PG");
  bad.SetExt("b", "TB");
  bad.SetExt("e", 0);
  bad.SetExt("g", int64_t{1});
  bad.SetExtBool("m", true);
  bad.set_body(std::string_view(batch).substr(0, batch.size() - 3));
  EXPECT_EQ(Call(std::move(bad)).code(), rc::kMessageIllegal);
}

TEST_F(BrokerNetTest, PullFiltersByTagCode) {
  ASSERT_EQ(CreateTopic("TF", 1).code(), rc::kSuccess);
  for (const char* tag : {"A", "B", "A", "C"})
    ASSERT_EQ(SendV2("TF", tag, Props({{"TAGS", tag}})).code(), 0);
  RemotingCommand a = Pull("TF", 0, 0, 0x4, "A");
  ASSERT_EQ(a.code(), rc::kSuccess);
  std::vector<Record> recs = DecodeRecords(a.body());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].body, "A");
  EXPECT_EQ(recs[1].queue_offset, 2);
  RemotingCommand bc = Pull("TF", 0, 0, 0x4, "B || C");
  EXPECT_EQ(DecodeRecords(bc.body()).size(), 2u);
  EXPECT_EQ(Pull("TF", 0, 0, 0x4, "Z").code(), rc::kPullRetryImmediately);
}

// Queue 0's records alternate with queue 1's in the CommitLog, queue 2's lie
// back to back (sent in a row): both come back whole, in order, with their
// properties, at most maxTransferCountOnMessageInMemory (32) per pull.
TEST_F(BrokerNetTest, PullReturnsABatchOfWholeRecordsUpToTheTransferCap) {
  ASSERT_EQ(CreateTopic("TBATCH", 3).code(), rc::kSuccess);
  auto props = [](int q, int i) {
    return Props(
        {{"TAGS", "T" + std::to_string(i % 3)},
         {"KEYS", "k" + std::to_string(q) + "-" + std::to_string(i)},
         {"UNIQ_KEY", "U" + std::to_string(q) + "-" + std::to_string(i)}});
  };
  auto body = [](int q, int i) {
    return "q" + std::to_string(q) + "-" + std::to_string(i) +
           std::string(static_cast<size_t>(i * 7 % 50), 'x');
  };
  for (int i = 0; i < 40; ++i) {
    for (int q : {0, 1})
      ASSERT_EQ(SendV2("TBATCH", body(q, i), props(q, i), q).code(), 0);
  }
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(SendV2("TBATCH", body(2, i), props(2, i), 2).code(), 0);

  for (int q : {0, 2}) {
    SCOPED_TRACE(q);
    RemotingCommand first = Pull("TBATCH", q, 0, 0x4, "*", 1000, "CG", 64);
    ASSERT_EQ(first.code(), rc::kSuccess) << first.remark();
    EXPECT_EQ(first.ExtOr("nextBeginOffset", ""), "32");
    RemotingCommand rest = Pull("TBATCH", q, 32, 0x4, "*", 1000, "CG", 64);
    ASSERT_EQ(rest.code(), rc::kSuccess) << rest.remark();
    EXPECT_EQ(rest.ExtOr("nextBeginOffset", ""), "40");
    std::vector<Record> recs = DecodeRecords(first.body());
    std::vector<Record> more = DecodeRecords(rest.body());
    ASSERT_EQ(recs.size(), 32u);
    ASSERT_EQ(more.size(), 8u);
    recs.insert(recs.end(), more.begin(), more.end());
    for (int i = 0; i < 40; ++i) {
      const Record& r = recs[static_cast<size_t>(i)];
      EXPECT_EQ(r.queue_offset, i);
      EXPECT_EQ(r.queue_id, q);
      EXPECT_EQ(r.body, body(q, i));
      EXPECT_EQ(message::FindProperty(r.properties, "KEYS"),
                "k" + std::to_string(q) + "-" + std::to_string(i));
      EXPECT_EQ(message::FindProperty(r.properties, "UNIQ_KEY"),
                "U" + std::to_string(q) + "-" + std::to_string(i));
      EXPECT_EQ(message::FindProperty(r.properties, "TAGS"),
                "T" + std::to_string(i % 3));
    }
  }
}

// One pull whose records straddle a CommitLog segment roll (4 MiB segments
// here): every record arrives intact, from both files.
TEST_F(BrokerNetTest, PullAcrossACommitLogRollReturnsEveryRecordIntact) {
  ASSERT_EQ(CreateTopic("TROLL", 1).code(), rc::kSuccess);
  constexpr int kCount = 80;
  auto body = [](int i) {
    return std::string(60000, static_cast<char>('a' + i % 26)) +
           std::to_string(i);
  };
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(
        SendV2("TROLL", body(i), Props({{"KEYS", "roll-" + std::to_string(i)}}))
            .code(),
        0);
  }
  // Every record, a few per pull (the 256 KiB byte cap).
  std::vector<Record> all;
  for (int64_t offset = 0; offset < kCount;) {
    RemotingCommand r = Pull("TROLL", 0, offset, 0x4);
    ASSERT_EQ(r.code(), rc::kSuccess) << r.remark();
    std::vector<Record> recs = DecodeRecords(r.body());
    ASSERT_FALSE(recs.empty());
    all.insert(all.end(), recs.begin(), recs.end());
    offset += static_cast<int64_t>(recs.size());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kCount));
  constexpr int64_t kSegment = 4 << 20;
  int roll = -1;  // the first record in the second segment
  for (int i = 0; i < kCount; ++i) {
    const Record& r = all[static_cast<size_t>(i)];
    EXPECT_EQ(r.queue_offset, i);
    EXPECT_EQ(r.body, body(i));
    EXPECT_EQ(message::FindProperty(r.properties, "KEYS"),
              "roll-" + std::to_string(i));
    if (roll < 0 && r.phys_offset >= kSegment) roll = i;
  }
  ASSERT_GT(roll, 1);
  RemotingCommand across = Pull("TROLL", 0, roll - 2, 0x4);
  ASSERT_EQ(across.code(), rc::kSuccess);
  std::vector<Record> recs = DecodeRecords(across.body());
  ASSERT_GE(recs.size(), 3u);
  EXPECT_LT(recs[0].phys_offset, kSegment);
  EXPECT_GE(recs[2].phys_offset, kSegment);
  for (size_t i = 0; i < recs.size(); ++i)
    EXPECT_EQ(recs[i].body, body(roll - 2 + static_cast<int>(i)));
}

TEST_F(BrokerNetTest, LongPollIsWokenByAnArrivingMessage) {
  ASSERT_EQ(CreateTopic("TL", 1).code(), rc::kSuccess);
  auto start = std::chrono::steady_clock::now();
  std::future<RemotingCommand> pull = std::async(
      std::launch::async, [&] { return Pull("TL", 0, 0, 0x6, "*", 10000); });
  for (int i = 0; i < 200 && broker_->HeldPullsForTesting() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(broker_->HeldPullsForTesting(), 1u);
  ASSERT_EQ(SendV2("TL", "wake", Props({{"TAGS", "A"}})).code(), rc::kSuccess);
  RemotingCommand resp = pull.get();
  EXPECT_EQ(resp.code(), rc::kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_EQ(DecodeRecords(resp.body()).size(), 1u);
}

TEST_F(BrokerNetTest, LongPollAnswersNotFoundAtItsSuspendTimeout) {
  ASSERT_EQ(CreateTopic("TL2", 1).code(), rc::kSuccess);
  auto start = std::chrono::steady_clock::now();
  RemotingCommand resp = Pull("TL2", 0, 0, 0x6, "*", 400);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resp.code(), rc::kPullNotFound);
  EXPECT_GE(waited, 380ms);
  EXPECT_LT(waited, 3s);
  // A message of another tag does not wake a filtered pull early.
  start = std::chrono::steady_clock::now();
  std::future<RemotingCommand> pull = std::async(
      std::launch::async, [&] { return Pull("TL2", 0, 0, 0x6, "A", 600); });
  for (int i = 0; i < 200 && broker_->HeldPullsForTesting() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(SendV2("TL2", "b", Props({{"TAGS", "B"}})).code(), rc::kSuccess);
  EXPECT_EQ(pull.get().code(), rc::kPullRetryImmediately);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 550ms);
}

TEST_F(BrokerNetTest, HeartbeatRegistersConsumersAndNotifiesTheGroup) {
  std::atomic<int> notified{0};
  remoting::RemotingClient other;
  other.RegisterProcessor(req_code::kNotifyConsumerIdsChanged,
                          [&](RemotingCommand req, remoting::Responder) {
                            if (req.ExtOr("consumerGroup", "") == "CGH")
                              notified.fetch_add(1);
                          });
  ASSERT_OK(other.Start());
  RemotingCommand hb1 = RemotingCommand::CreateRequest(req_code::kHeartBeat);
  hb1.set_body(std::string_view(Heartbeat("c1", "CGH", "TH", "A || B")));
  ASSERT_OK_AND_ASSIGN(RemotingCommand r1,
                       other.InvokeSync(addr_, std::move(hb1), 3000ms));
  EXPECT_EQ(r1.code(), rc::kSuccess);
  EXPECT_EQ(Simple(req_code::kGetTopicConfig, {{"topic", "%RETRY%CGH"}}).code(),
            rc::kSuccess);

  RemotingCommand hb2 = RemotingCommand::CreateRequest(req_code::kHeartBeat);
  hb2.set_body(std::string_view(Heartbeat("c2", "CGH", "TH", "A || B")));
  EXPECT_EQ(Call(std::move(hb2)).code(), rc::kSuccess);
  for (int i = 0; i < 200 && notified.load() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_GE(notified.load(), 1);

  RemotingCommand list =
      Simple(req_code::kGetConsumerListByGroup, {{"consumerGroup", "CGH"}});
  ASSERT_EQ(list.code(), rc::kSuccess);
  const json::Value list_json = Json(list);
  const json::Value* ids = list_json.Find("consumerIdList");
  ASSERT_NE(ids, nullptr);
  std::vector<std::string> got;
  for (size_t i = 0; i < ids->size(); ++i) got.push_back(ids->at(i).text());
  std::sort(got.begin(), got.end());
  EXPECT_THAT(got, ElementsAre("c1", "c2"));

  RemotingCommand conns =
      Simple(req_code::kGetConsumerConnectionList, {{"consumerGroup", "CGH"}});
  ASSERT_EQ(conns.code(), rc::kSuccess);
  const json::Value conns_json = Json(conns);
  EXPECT_EQ(conns_json.Find("connectionSet")->size(), 2u);
  EXPECT_EQ(conns_json.GetString("messageModel"), "CLUSTERING");
  const json::Value* sub = conns_json.Find("subscriptionTable")->Find("TH");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->Find("tagsSet")->size(), 2u);
  EXPECT_EQ(Simple(req_code::kGetConsumerConnectionList,
                   {{"consumerGroup", "Nobody"}})
                .code(),
            rc::kConsumerNotOnline);
  RemotingCommand who =
      Simple(req_code::kQueryTopicConsumeByWho, {{"topic", "TH"}});
  ASSERT_EQ(who.code(), rc::kSuccess);
  const json::Value who_json = Json(who);
  ASSERT_EQ(who_json.Find("groupList")->size(), 1u);
  EXPECT_EQ(who_json.Find("groupList")->at(0).text(), "CGH");

  // The registered subscription filters pulls that do not carry their own
  // (sysFlag without 0x4).
  ASSERT_EQ(CreateTopic("TH", 1).code(), rc::kSuccess);
  for (const char* tag : {"A", "C", "B"})
    ASSERT_EQ(SendV2("TH", tag, Props({{"TAGS", tag}})).code(), 0);
  RemotingCommand pulled = Pull("TH", 0, 0, 0x0, "", 1000, "CGH");
  ASSERT_EQ(pulled.code(), rc::kSuccess);
  EXPECT_EQ(DecodeRecords(pulled.body()).size(), 2u);
  EXPECT_EQ(Pull("TH", 0, 0, 0x0, "", 1000, "NoSuchGroup").code(),
            rc::kSubscriptionNotExist);

  EXPECT_EQ(Simple(req_code::kUnregisterClient,
                   {{"clientID", "c2"}, {"consumerGroup", "CGH"}})
                .code(),
            rc::kSuccess);
  RemotingCommand after =
      Simple(req_code::kGetConsumerListByGroup, {{"consumerGroup", "CGH"}});
  EXPECT_EQ(Json(after).Find("consumerIdList")->size(), 1u);
  other.Stop();  // its connection closes: the group is now empty
  RemotingCommand none;
  for (int i = 0; i < 200; ++i) {
    none =
        Simple(req_code::kGetConsumerListByGroup, {{"consumerGroup", "CGH"}});
    if (none.code() != rc::kSuccess) break;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(none.code(), rc::kSystemError);
  EXPECT_THAT(none.remark(), HasSubstr("no consumer for this group"));
}

TEST_F(BrokerNetTest, ConsumerOffsetsAndQueueOffsetQueries) {
  ASSERT_EQ(CreateTopic("TO", 2).code(), rc::kSuccess);
  auto query = [&](int q) {
    return Simple(req_code::kQueryConsumerOffset,
                  {{"consumerGroup", "G"},
                   {"topic", "TO"},
                   {"queueId", std::to_string(q)}});
  };
  EXPECT_EQ(query(0).code(),
            rc::kQueryNotFound);  // empty queue: nothing to start from
  ASSERT_EQ(SendV2("TO", "m0", Props({{"TAGS", "A"}}), 0).code(), 0);
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(SendV2("TO", "m1", Props({{"TAGS", "A"}}), 0).code(), 0);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  // Young-queue rule: a new group on a queue whose message 0 is in memory
  // starts at 0.
  RemotingCommand young = query(0);
  ASSERT_EQ(young.code(), rc::kSuccess);
  EXPECT_EQ(young.ExtOr("offset", ""), "0");

  EXPECT_EQ(Simple(req_code::kUpdateConsumerOffset, {{"consumerGroup", "G"},
                                                     {"topic", "TO"},
                                                     {"queueId", "0"},
                                                     {"commitOffset", "1"}})
                .code(),
            rc::kSuccess);
  EXPECT_EQ(query(0).ExtOr("offset", ""), "1");
  EXPECT_EQ(Simple(req_code::kGetMaxOffset, {{"topic", "TO"}, {"queueId", "0"}})
                .ExtOr("offset", ""),
            "2");
  EXPECT_EQ(Simple(req_code::kGetMinOffset, {{"topic", "TO"}, {"queueId", "0"}})
                .ExtOr("offset", ""),
            "0");
  EXPECT_EQ(Simple(req_code::kGetMaxOffset, {{"topic", "TO"}, {"queueId", "1"}})
                .ExtOr("offset", ""),
            "0");

  RemotingCommand pulled = Pull("TO", 0, 0, 0x4);
  std::vector<Record> recs = DecodeRecords(pulled.body());
  ASSERT_EQ(recs.size(), 2u);
  std::optional<store::SelectResult> second =
      broker_->store().LookMessageByOffset(recs[1].phys_offset);
  ASSERT_TRUE(second.has_value());
  const int64_t t1 = broker_->store().GetMessageStoreTimestamp("TO", 0, 1);
  EXPECT_EQ(Simple(req_code::kSearchOffsetByTimestamp,
                   {{"topic", "TO"},
                    {"queueId", "0"},
                    {"timestamp", std::to_string(t1)}})
                .ExtOr("offset", ""),
            "1");
  EXPECT_EQ(Simple(req_code::kSearchOffsetByTimestamp,
                   {{"topic", "TO"},
                    {"queueId", "0"},
                    {"timestamp", std::to_string(t1 + 100000)}})
                .ExtOr("offset", ""),
            "2");
  const int64_t t0 = broker_->store().GetMessageStoreTimestamp("TO", 0, 0);
  EXPECT_EQ(Simple(req_code::kGetEarliestMsgStoretime,
                   {{"topic", "TO"}, {"queueId", "0"}})
                .ExtOr("timestamp", ""),
            std::to_string(t0));
  EXPECT_EQ(Simple(req_code::kGetEarliestMsgStoretime,
                   {{"topic", "TO"}, {"queueId", "1"}})
                .ExtOr("timestamp", ""),
            "-1");

  // A pull with the commit bit stores the consumer's offset too.
  RemotingCommand commit =
      RemotingCommand::CreateRequest(req_code::kPullMessage);
  for (auto [k, v] : std::initializer_list<std::pair<const char*, const char*>>{
           {"consumerGroup", "G"},
           {"topic", "TO"},
           {"queueId", "0"},
           {"queueOffset", "2"},
           {"maxMsgNums", "32"},
           {"sysFlag", "5"},
           {"commitOffset", "2"},
           {"suspendTimeoutMillis", "0"},
           {"subscription", "*"},
           {"subVersion", "0"}}) {
    commit.SetExt(k, v);
  }
  EXPECT_EQ(Call(std::move(commit)).code(), rc::kPullNotFound);
  EXPECT_EQ(query(0).ExtOr("offset", ""), "2");
}

TEST_F(BrokerNetTest, QueryByKeyAndViewById) {
  ASSERT_EQ(CreateTopic("TQ", 1).code(), rc::kSuccess);
  RemotingCommand sent = SendV2(
      "TQ", "findme", Props({{"TAGS", "A"}, {"KEYS", "order-1 order-2"}}));
  ASSERT_EQ(sent.code(), 0);
  ASSERT_EQ(
      SendV2("TQ", "other", Props({{"TAGS", "A"}, {"KEYS", "order-3"}})).code(),
      0);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  RemotingCommand q = Simple(req_code::kQueryMessage,
                             {{"topic", "TQ"},
                              {"key", "order-2"},
                              {"maxNum", "32"},
                              {"beginTimestamp", "0"},
                              {"endTimestamp", "9223372036854775807"}});
  ASSERT_EQ(q.code(), rc::kSuccess) << q.remark();
  EXPECT_FALSE(q.ExtOr("indexLastUpdateTimestamp", "").empty());
  EXPECT_FALSE(q.ExtOr("indexLastUpdatePhyoffset", "").empty());
  std::vector<Record> recs = DecodeRecords(q.body());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body, "findme");

  RemotingCommand uq =
      Simple(req_code::kQueryMessage,
             {{"topic", "TQ"},
              {"key", std::string(sent.ExtOr("transactionId", ""))},
              {"maxNum", "1"},
              {"beginTimestamp", "0"},
              {"endTimestamp", "9223372036854775807"},
              {"_UNIQUE_KEY_QUERY", "true"}});
  ASSERT_EQ(uq.code(), rc::kSuccess);
  EXPECT_EQ(DecodeRecords(uq.body())[0].body, "findme");
  EXPECT_EQ(
      Simple(req_code::kQueryMessage, {{"topic", "TQ"},
                                       {"key", "nope"},
                                       {"maxNum", "32"},
                                       {"beginTimestamp", "0"},
                                       {"endTimestamp", "9223372036854775807"}})
          .code(),
      rc::kQueryNotFound);

  ASSERT_OK_AND_ASSIGN(message::MessageIdParts id,
                       message::DecodeMessageId(sent.ExtOr("msgId", "")));
  RemotingCommand view = Simple(req_code::kViewMessageById,
                                {{"offset", std::to_string(id.phys_offset)}});
  ASSERT_EQ(view.code(), rc::kSuccess);
  EXPECT_EQ(DecodeRecords(view.body())[0].body, "findme");
  RemotingCommand missing =
      Simple(req_code::kViewMessageById, {{"offset", "999999999"}});
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(),
              HasSubstr("can not find message by the offset"));
}

TEST_F(BrokerNetTest, LockAndUnlockBatchMq) {
  const std::string body1 =
      R"({"clientId":"c1","consumerGroup":"OG","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"T"},)"
      R"({"brokerName":"broker-a","queueId":1,"topic":"T"}],"onlyThisBroker":false})";
  const std::string body2 =
      R"({"clientId":"c2","consumerGroup":"OG","mqSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]})";
  RemotingCommand l1 = Simple(req_code::kLockBatchMq, {}, body1);
  ASSERT_EQ(l1.code(), rc::kSuccess);
  EXPECT_EQ(Json(l1).Find("lockOKMQSet")->size(), 2u);
  EXPECT_EQ(Json(Simple(req_code::kLockBatchMq, {}, body2))
                .Find("lockOKMQSet")
                ->size(),
            0u);
  EXPECT_EQ(Simple(req_code::kUnlockBatchMq, {}, body1).code(), rc::kSuccess);
  RemotingCommand l2 = Simple(req_code::kLockBatchMq, {}, body2);
  ASSERT_EQ(Json(l2).Find("lockOKMQSet")->size(), 1u);
  EXPECT_EQ(Json(l2).Find("lockOKMQSet")->at(0).GetInt64("queueId"), 1);
  EXPECT_EQ(Simple(req_code::kLockBatchMq, {}, "garbage").code(),
            rc::kSystemError);
}

TEST_F(BrokerNetTest, TopicAdminCalls) {
  ASSERT_EQ(CreateTopic("TA", 3, 6).code(), rc::kSuccess);
  RemotingCommand one = Simple(req_code::kGetTopicConfig, {{"topic", "TA"}});
  ASSERT_EQ(one.code(), rc::kSuccess);
  EXPECT_EQ(Json(one).GetInt64("readQueueNums"), 3);
  EXPECT_EQ(Simple(req_code::kGetTopicConfig, {{"topic", "Nope"}}).code(),
            rc::kTopicNotExist);
  RemotingCommand all = Simple(req_code::kGetAllTopicConfig, {});
  ASSERT_EQ(all.code(), rc::kSuccess);
  const json::Value all_json = Json(all);
  const json::Value* table = all_json.Find("topicConfigTable");
  ASSERT_NE(table, nullptr);
  EXPECT_NE(table->Find("TA"), nullptr);
  EXPECT_NE(table->Find("TBW102"), nullptr);
  EXPECT_NE(Json(all).Find("dataVersion"), nullptr);
  EXPECT_EQ(CreateTopic("bad topic!").code(), rc::kInvalidParameter);
  EXPECT_EQ(CreateTopic("TZ", 0).code(), rc::kInvalidParameter);
}

TEST_F(BrokerNetTest, StatsCalls) {
  ASSERT_EQ(CreateTopic("TS", 2).code(), rc::kSuccess);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(SendV2("TS", "s", Props({{"TAGS", "A"}}), 1).code(), 0);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  RemotingCommand ts = Simple(req_code::kGetTopicStatsInfo, {{"topic", "TS"}});
  ASSERT_EQ(ts.code(), rc::kSuccess);
  json::Value v = Json(ts);
  const json::Value* table = v.Find("offsetTable");
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->size(), 2u);
  EXPECT_TRUE(table->key(1).is_object());  // MessageQueue object keys (§4.1)
  EXPECT_EQ(table->key(1).GetInt64("queueId"), 1);
  EXPECT_EQ(table->value(1).GetInt64("maxOffset"), 3);
  EXPECT_GT(table->value(1).GetInt64("lastUpdateTimestamp"), 0);
  EXPECT_GT(v.Find("topicPutTps")->AsDouble().value_or(0), 0.0);
  EXPECT_EQ(Simple(req_code::kGetTopicStatsInfo, {{"topic", "Nope"}}).code(),
            rc::kTopicNotExist);

  ASSERT_EQ(Simple(req_code::kUpdateConsumerOffset, {{"consumerGroup", "SG"},
                                                     {"topic", "TS"},
                                                     {"queueId", "1"},
                                                     {"commitOffset", "2"}})
                .code(),
            rc::kSuccess);
  RemotingCommand cs =
      Simple(req_code::kGetConsumeStats, {{"consumerGroup", "SG"}});
  ASSERT_EQ(cs.code(), rc::kSuccess);
  json::Value c = Json(cs);
  const json::Value* offsets = c.Find("offsetTable");
  ASSERT_EQ(offsets->size(), 2u);
  EXPECT_EQ(offsets->value(1).GetInt64("brokerOffset"), 3);
  EXPECT_EQ(offsets->value(1).GetInt64("consumerOffset"), 2);
  EXPECT_NE(c.Find("consumeTps"), nullptr);

  RemotingCommand info = Simple(req_code::kGetBrokerRuntimeInfo, {});
  ASSERT_EQ(info.code(), rc::kSuccess);
  const json::Value info_json = Json(info);
  const json::Value* kv = info_json.Find("table");
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->GetString("brokerVersionDesc"), "V4_9_8");
  EXPECT_EQ(kv->GetString("msgPutTotalTodayNow"), "3");
  EXPECT_FALSE(kv->GetString("putTps").empty());
  EXPECT_FALSE(kv->GetString("commitLogMaxOffset").empty());
}

TEST_F(BrokerNetTest, BadRequestsGetClearErrors) {
  ASSERT_EQ(CreateTopic("TE", 2).code(), rc::kSuccess);
  RemotingCommand invalid = SendV2("bad topic", "x", "");
  EXPECT_EQ(invalid.code(), rc::kInvalidParameter);
  EXPECT_THAT(invalid.remark(), HasSubstr("topic"));
  EXPECT_EQ(SendV2("SCHEDULE_TOPIC_XXXX", "x", "").code(), rc::kNoPermission);
  RemotingCommand big = SendV2("TE", std::string(kMaxMessageSize + 1, 'x'), "");
  EXPECT_EQ(big.code(), rc::kMessageIllegal);
  EXPECT_THAT(big.remark(), HasSubstr("maxMessageSize"));
  EXPECT_EQ(SendV2("TE", "x", "", 9).code(), rc::kInvalidParameter);
  RemotingCommand no_topic =
      RemotingCommand::CreateRequest(req_code::kSendMessageV2);
  no_topic.SetExt("a", "PG");
  RemotingCommand missing = Call(std::move(no_topic));
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("b"));
  RemotingCommand bad_number =
      Simple(req_code::kGetMaxOffset, {{"topic", "TE"}, {"queueId", "zero"}});
  EXPECT_EQ(bad_number.code(), rc::kSystemError);
  EXPECT_THAT(bad_number.remark(), HasSubstr("queueId"));

  RemotingCommand missing_queue = Pull("TE", 7, 0, 0x4);
  EXPECT_EQ(missing_queue.code(), rc::kInvalidParameter);
  EXPECT_THAT(missing_queue.remark(), HasSubstr("queueId"));
  EXPECT_EQ(Pull("NoTopic", 0, 0, 0x4).code(), rc::kTopicNotExist);
  {
    RemotingCommand sql =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    for (auto [k, v] :
         std::initializer_list<std::pair<const char*, const char*>>{
             {"consumerGroup", "G"},
             {"topic", "TE"},
             {"queueId", "0"},
             {"queueOffset", "0"},
             {"maxMsgNums", "32"},
             {"sysFlag", "4"},
             {"suspendTimeoutMillis", "0"},
             {"subscription", "a > 1"},
             {"expressionType", "SQL92"},
             {"subVersion", "0"}}) {
      sql.SetExt(k, v);
    }
    RemotingCommand resp = Call(std::move(sql));
    EXPECT_EQ(resp.code(), rc::kSystemError);
    EXPECT_THAT(resp.remark(), HasSubstr("SQL92"));
  }
  EXPECT_EQ(Simple(req_code::kHeartBeat, {}, "{not json").code(),
            rc::kSystemError);
  RemotingCommand unknown = Simple(999, {});
  EXPECT_EQ(unknown.code(), rc::kRequestCodeNotSupported);
  EXPECT_THAT(unknown.remark(), HasSubstr("999"));
  // An absurd suspend time is held (bounded), not overflowed; a message wakes
  // it.
  {
    std::future<RemotingCommand> held = std::async(
        std::launch::async, [&] { return Pull("TE", 1, 0, 0x6, "*", 5000); });
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    for (auto [k, v] :
         std::initializer_list<std::pair<const char*, const char*>>{
             {"consumerGroup", "G"},
             {"topic", "TE"},
             {"queueId", "1"},
             {"queueOffset", "0"},
             {"maxMsgNums", "32"},
             {"sysFlag", "6"},
             {"suspendTimeoutMillis", "9223372036854775807"},
             {"subscription", "*"},
             {"subVersion", "0"}}) {
      req.SetExt(k, v);
    }
    std::future<Result<RemotingCommand>> absurd = std::async(
        std::launch::async,
        [&] { return client_.InvokeSync(addr_, std::move(req), 10000ms); });
    for (int i = 0; i < 400 && broker_->HeldPullsForTesting() < 2; ++i)
      std::this_thread::sleep_for(5ms);
    EXPECT_EQ(broker_->HeldPullsForTesting(), 2u);
    ASSERT_EQ(SendV2("TE", "wake", Props({{"TAGS", "A"}}), 1).code(), 0);
    EXPECT_EQ(held.get().code(), rc::kSuccess);
    Result<RemotingCommand> woken = absurd.get();
    ASSERT_TRUE(woken.ok());
    EXPECT_EQ(woken->code(), rc::kSuccess);
  }
  // The broker still serves.
  EXPECT_EQ(SendV2("TE", "fine", Props({{"TAGS", "A"}})).code(), rc::kSuccess);
}

TEST_F(BrokerNetTest, BrokenFramesCloseOnlyTheirConnection) {
  const uint16_t port = broker_->port();
  auto still_serving = [&] {
    return Simple(req_code::kGetMaxOffset,
                  {{"topic", "TBW102"}, {"queueId", "0"}})
               .code() == rc::kSuccess;
  };
  {
    // Header length beyond the frame.
    testing::RawSocket s(port);
    std::string frame(8, '\0');
    StoreI32(frame.data(), 4 + 10);
    StoreI32(frame.data() + 4, 500);
    frame += std::string(10, '{');
    ASSERT_TRUE(s.SendAll(frame));
    EXPECT_TRUE(s.WaitForClose());
  }
  EXPECT_TRUE(still_serving());
  {
    // Unknown serialize type (7).
    testing::RawSocket s(port);
    const std::string header =
        R"({"code":30,"flag":0,"language":"JAVA","opaque":1,"version":409})";
    std::string frame(8, '\0');
    StoreI32(frame.data(), static_cast<int32_t>(4 + header.size()));
    StoreI32(frame.data() + 4,
             static_cast<int32_t>((7u << 24) | header.size()));
    ASSERT_TRUE(s.SendAll(frame + header));
    EXPECT_TRUE(s.WaitForClose());
  }
  EXPECT_TRUE(still_serving());
  {
    // A truncated frame: the peer sends half of a frame and goes away; nothing
    // is answered.
    testing::RawSocket s(port, 500);
    const std::string header =
        R"({"code":30,"flag":0,"language":"JAVA","opaque":1,"version":409})";
    std::string frame(8, '\0');
    StoreI32(frame.data(), static_cast<int32_t>(4 + header.size() + 100));
    StoreI32(frame.data() + 4, static_cast<int32_t>(header.size()));
    ASSERT_TRUE(s.SendAll(frame + header));
    EXPECT_FALSE(s.ReadFrame().has_value());
  }
  EXPECT_TRUE(still_serving());
  {
    // An oversized frame (beyond 16 MiB) is refused by closing.
    testing::RawSocket s(port);
    std::string frame(8, '\0');
    StoreI32(frame.data(), 64 << 20);
    StoreI32(frame.data() + 4, 10);
    ASSERT_TRUE(s.SendAll(frame));
    EXPECT_TRUE(s.WaitForClose());
  }
  EXPECT_TRUE(still_serving());
}

TEST_F(BrokerNetTest, TopicsAndOffsetsSurviveARestart) {
  ASSERT_EQ(CreateTopic("TR", 2).code(), rc::kSuccess);
  ASSERT_EQ(SendV2("TR", "persisted", Props({{"TAGS", "A"}})).code(), 0);
  ASSERT_EQ(Simple(req_code::kUpdateConsumerOffset, {{"consumerGroup", "RG"},
                                                     {"topic", "TR"},
                                                     {"queueId", "0"},
                                                     {"commitOffset", "1"}})
                .code(),
            rc::kSuccess);
  RestartBroker();
  EXPECT_EQ(Json(Simple(req_code::kGetTopicConfig, {{"topic", "TR"}}))
                .GetInt64("readQueueNums"),
            2);
  EXPECT_EQ(Simple(req_code::kQueryConsumerOffset,
                   {{"consumerGroup", "RG"}, {"topic", "TR"}, {"queueId", "0"}})
                .ExtOr("offset", ""),
            "1");
  RemotingCommand pulled = Pull("TR", 0, 0, 0x4);
  ASSERT_EQ(pulled.code(), rc::kSuccess);
  EXPECT_EQ(DecodeRecords(pulled.body())[0].body, "persisted");
}

TEST_F(BrokerNetTest, SyncFlushAnswersOnceDurable) {
  RestartBroker(store::FlushDiskType::kSync);
  ASSERT_EQ(CreateTopic("TSF", 1).code(), rc::kSuccess);
  for (int i = 0; i < 20; ++i) {
    RemotingCommand r =
        SendV2("TSF", "durable-" + std::to_string(i), Props({{"TAGS", "A"}}));
    ASSERT_EQ(r.code(), rc::kSuccess) << r.remark();
    ASSERT_OK_AND_ASSIGN(message::MessageIdParts id,
                         message::DecodeMessageId(r.ExtOr("msgId", "")));
    EXPECT_GT(broker_->store().commit_log().flushed_where(), id.phys_offset);
  }
}

TEST_F(BrokerNetTest, SecondBrokerOnTheSameStoreIsRefused) {
  BrokerConfig bc;
  bc.bind_address = "127.0.0.1";
  bc.listen_port = 0;
  bc.namesrv_listen_port = 0;
  store::MessageStoreConfig sc;
  sc.store_path_root_dir = dir_.path() + "/store";
  sc.mapped_file_size_commit_log = 4 << 20;
  sc.max_hash_slot_num = 1000;
  sc.max_index_num = 4000;
  Broker second(bc, sc);
  Status s = second.Start();
  EXPECT_EQ(s.code(), Status::Code::kBusy) << s.ToString();
  EXPECT_TRUE(SendV2("TBW102", "x", "").code() == rc::kSuccess);
}

TEST_F(BrokerNetTest, SendBackCopiesTheRecordToTheRetryThenTheDeadLetterTopic) {
  ASSERT_EQ(CreateTopic("TBK", 1).code(), rc::kSuccess);
  RemotingCommand sent = SendV2("TBK", "fails", Props({{"TAGS", "A"}}));
  ASSERT_EQ(sent.code(), rc::kSuccess);
  ASSERT_OK_AND_ASSIGN(message::MessageIdParts id,
                       message::DecodeMessageId(sent.ExtOr("msgId", "")));
  auto send_back = [&](int64_t offset, int delay_level) {
    return Simple(req_code::kConsumerSendMsgBack,
                  {{"offset", std::to_string(offset)},
                   {"group", "BG"},
                   {"delayLevel", std::to_string(delay_level)},
                   {"maxReconsumeTimes", "1"}});
  };
  ASSERT_EQ(send_back(id.phys_offset, 0).code(), rc::kSuccess);
  // Parked for its back-off (level 3 + 0) until it is due in the retry topic
  // (schedule_message_service_test.cc follows it there).
  RemotingCommand retry = Pull("SCHEDULE_TOPIC_XXXX", 2, 0, 0x4);
  ASSERT_EQ(retry.code(), rc::kSuccess) << retry.remark();
  std::vector<Record> recs = DecodeRecords(retry.body());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(message::FindProperty(recs[0].properties, "REAL_TOPIC"),
            "%RETRY%BG");
  EXPECT_EQ(recs[0].body, "fails");
  EXPECT_EQ(recs[0].reconsume_times, 1);
  EXPECT_EQ(message::FindProperty(recs[0].properties, "RETRY_TOPIC"), "TBK");
  EXPECT_EQ(message::FindProperty(recs[0].properties, "ORIGIN_MESSAGE_ID"),
            sent.ExtOr("msgId", ""));
  // Reconsumed once with a limit of one: the next failure goes to the DLQ.
  ASSERT_EQ(send_back(recs[0].phys_offset, 0).code(), rc::kSuccess);
  RemotingCommand dlq = Pull("%DLQ%BG", 0, 0, 0x4);
  ASSERT_EQ(dlq.code(), rc::kSuccess) << dlq.remark();
  std::vector<Record> dead = DecodeRecords(dlq.body());
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reconsume_times, 2);
  EXPECT_EQ(message::FindProperty(dead[0].properties, "RETRY_TOPIC"), "TBK");
  RemotingCommand missing = send_back(987654321, 0);
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("look message by offset failed"));
}

TEST(BrokerNameServerTest,
     RegistersWithAnExternalNameServerAndUnregistersAtStop) {
  namesrv::NameServer ns(testing::LoopbackNameServerOptions());
  ASSERT_OK(ns.Start());
  testing::TempDir dir;
  BrokerConfig bc;
  bc.bind_address = "127.0.0.1";
  bc.listen_port = 0;
  bc.namesrv_addr = "127.0.0.1:" + std::to_string(ns.port());
  bc.broker_name = "broker-x";
  store::MessageStoreConfig sc;
  sc.store_path_root_dir = dir.path() + "/store";
  sc.mapped_file_size_commit_log = 4 << 20;
  sc.max_hash_slot_num = 1000;
  sc.max_index_num = 4000;
  Broker broker(bc, sc);
  ASSERT_OK(broker.Start());
  std::optional<remoting::TopicRouteData> route =
      ns.route_info().GetTopicRoute("TBW102");
  ASSERT_TRUE(route.has_value());
  ASSERT_EQ(route->broker_datas.size(), 1u);
  EXPECT_EQ(route->broker_datas[0].broker_name, "broker-x");
  EXPECT_EQ(route->broker_datas[0].broker_addrs.at(0), broker.broker_addr());
  broker.Shutdown();
  EXPECT_FALSE(ns.route_info().GetTopicRoute("TBW102").has_value());
  ns.Stop();
}

// Replays the broker requests of the RocketMQ wire capture (ali-ons and the C++
// client) and checks that the answers have the captured code and at least the
// captured header fields.
TEST_F(BrokerNetTest, ReplaysCapturedClientRequests) {
  struct Step {
    const char* name;
    bool code_must_match;
  };
  const Step steps[] = {
      {"broker-17-alions", true},  {"broker-310-alions", true},
      {"broker-310-cpp", true},    {"broker-34-alions", true},
      {"broker-34-cpp", true},     {"broker-38-alions", false},
      {"broker-38-cpp", false},    {"broker-15-alions", true},
      {"broker-15-cpp", true},     {"broker-14-alions", false},
      {"broker-14-cpp", false},    {"broker-11-alions", false},
      {"broker-11-cpp", false},    {"broker-12-alions", false},
      {"broker-33-alions", false}, {"broker-41-cpp", true},
      {"broker-42-cpp", true},     {"broker-35-alions", true},
      {"broker-35-cpp", true},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.name);
    const std::string req_bytes = testing::ReadFileBytes(
        testing::WireFixturePath(std::string(step.name) + ".req.bin"));
    const std::string resp_bytes = testing::ReadFileBytes(
        testing::WireFixturePath(std::string(step.name) + ".resp.bin"));
    ASSERT_FALSE(req_bytes.empty());
    ASSERT_OK_AND_ASSIGN(RemotingCommand req,
                         remoting::DecodeFrame(testing::Bytes(req_bytes)));
    ASSERT_OK_AND_ASSIGN(RemotingCommand captured,
                         remoting::DecodeFrame(testing::Bytes(resp_bytes)));
    const int32_t request_code = req.code();
    if (request_code == req_code::kPullMessage)
      req.SetExt("suspendTimeoutMillis", "200");
    RemotingCommand resp = Call(std::move(req), 10000ms);
    EXPECT_TRUE(resp.IsResponse());
    if (step.code_must_match) {
      EXPECT_EQ(resp.code(), captured.code()) << resp.remark();
    }
    if (resp.code() == captured.code()) {
      for (const auto& [k, v] : captured.ext_fields())
        EXPECT_TRUE(resp.FindExt(k).has_value()) << k;
      if (captured.TotalBodySize() > 0 && captured.body_view().front() == '{') {
        EXPECT_TRUE(json::Parse(resp.body_view()).ok()) << resp.body_view();
      }
    }
    if (request_code == req_code::kPullMessage) {
      if (captured.code() == rc::kPullNotFound ||
          captured.code() == rc::kSuccess) {
        for (const char* f : {"nextBeginOffset", "minOffset", "maxOffset",
                              "suggestWhichBrokerId"}) {
          EXPECT_TRUE(resp.FindExt(f).has_value()) << f;
        }
      }
    }
  }
}

}  // namespace
}  // namespace thruster::broker
