// RocketMQ 5.3's recall (spec/schedule-and-timer.md §7): the recall handle's
// bytes, the handle in a timer message's send answer, and RECALL_MESSAGE over
// the protocol against a broker on real files with a ManualClock: a recalled
// message is never delivered while one sent beside it is, and every refusal
// comes with RocketMQ's code.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/recall_handle.h"
#include "remoting/remoting_client.h"
#include "tests/broker/record_util.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace recall_test {

using remoting::DecodeRecallHandle;
using remoting::EncodeRecallHandle;
using remoting::RecallHandle;
using remoting::RemotingCommand;
using ::testing::HasSubstr;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

constexpr int64_t kRecallT0 = 1700000000000;

TEST(RecallHandleTest, BytesAreRocketMQs) {
  // Base64url of "v1 TopicTest broker-a 1700000005001 7F00000100002A9F0000000A"
  // (Java's Base64.getUrlEncoder(), as RecallMessageHandle.HandleV1 builds it).
  RecallHandle h{"TopicTest", "broker-a", 1700000005001,
                 "7F00000100002A9F0000000A"};
  EXPECT_EQ(EncodeRecallHandle(h),
            "djEgVG9waWNUZXN0IGJyb2tlci1hIDE3MDAwMDAwMDUwMDEgN0YwMDAwMDEwMDAw"
            "MkE5RjAwMDAwMDBB");
  // The URL-safe alphabet ('-' for '+'), with padding.
  h.uniq_key = "XY~?";
  const std::string url =
      "djEgVG9waWNUZXN0IGJyb2tlci1hIDE3MDAwMDAwMDUwMDEgWFl-Pw==";
  EXPECT_EQ(EncodeRecallHandle(h), url);
  for (const std::string& text : {url, url.substr(0, url.size() - 2)}) {
    Result<RecallHandle> d = DecodeRecallHandle(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status().ToString();
    EXPECT_EQ(d->topic, "TopicTest");
    EXPECT_EQ(d->broker_name, "broker-a");
    EXPECT_EQ(d->timestamp_ms, 1700000005001);
    EXPECT_EQ(d->uniq_key, "XY~?");
  }
}

TEST(RecallHandleTest, RefusesWhatIsNotAVersion1Handle) {
  // Base64url of "v1 T b 12 K".
  ASSERT_TRUE(DecodeRecallHandle("djEgVCBiIDEyIEs=").ok());
  for (const std::string& bad : {
           std::string(), std::string("not base64!"), std::string("A"),
           std::string("QUJD+A=="),          // the standard alphabet's '+'
           std::string("QUJDRA==="),         // three '='
           std::string("djIgVCBiIDEyIEs="),  // "v2 T b 12 K"
           std::string("djEgVCBiIDEy"),      // "v1 T b 12"
           std::string("djEgVCBiIDEyIEsgZXh0cmE="),  // "v1 T b 12 K extra"
           std::string("djEgVCBiIHNvb24gSw=="),      // "v1 T b soon K"
           std::string("djEgVCAgMTIgSw=="),          // "v1 T  12 K"
       }) {
    Result<RecallHandle> d = DecodeRecallHandle(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument) << bad;
      EXPECT_THAT(d.status().message(), HasSubstr("recall handle")) << bad;
    }
  }
}

struct RecallStored {
  std::string body;
  std::string properties;
  std::optional<std::string_view> Prop(std::string_view name) const {
    return message::FindProperty(properties, name);
  }
};

// A broker on real files whose clock the test moves, driven over the
// protocol.
class RecallMessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(client_.Start());
    store_dir_ = dir_.path() + "/store";
    broker_config_.bind_address = "127.0.0.1";
    broker_config_.listen_port = 0;
    broker_config_.io_threads = 1;
    broker_config_.recall_message_enable = true;
    store_config_.store_path_root_dir = store_dir_;
    store_config_.mapped_file_size_commit_log = 4 << 20;
    store_config_.mapped_file_size_consume_queue = 3000 * 20;
    store_config_.max_hash_slot_num = 1000;
    store_config_.max_index_num = 4000;
    store_config_.mapped_file_size_timer_log = 52 * 20 + 16;
  }
  void TearDown() override {
    client_.Stop();
    if (broker_) broker_->Shutdown();
  }
  void StartBroker() {
    if (broker_) {
      client_.CloseConnection(addr_);
      broker_->Shutdown();
    }
    broker_ = std::make_unique<Broker>(broker_config_, store_config_,
                                       store::io::DefaultFileSystem(), &clock_);
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
  }
  RemotingCommand Call(RemotingCommand req) {
    Result<RemotingCommand> resp =
        client_.InvokeSync(addr_, std::move(req), std::chrono::seconds(5));
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  void CreateTopic(const std::string& topic) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kUpdateAndCreateTopic);
    req.SetExt("topic", topic);
    req.SetExt("defaultTopic", "TBW102");
    req.SetExt("readQueueNums", "1");
    req.SetExt("writeQueueNums", "1");
    req.SetExt("perm", "6");
    req.SetExt("topicFilterType", "SINGLE_TAG");
    req.SetExt("order", "false");
    ASSERT_EQ(Call(std::move(req)).code(), rc::kSuccess);
  }
  RemotingCommand Send(const std::string& topic, std::string_view body,
                       const std::string& props) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", 0);
    req.SetExt("f", 0);
    req.SetExt("g", kRecallT0);
    req.SetExt("h", 0);
    req.SetExt("i", props);
    req.set_body(body);
    return Call(std::move(req));
  }
  RemotingCommand Recall(const std::string& topic, const std::string& handle) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kRecallMessage);
    req.SetExt("producerGroup", topic);
    req.SetExt("topic", topic);
    req.SetExt("recallHandle", handle);
    return Call(std::move(req));
  }
  std::string Handle(std::string topic, int64_t at_ms,
                     std::string broker = "broker-a") {
    return EncodeRecallHandle(RecallHandle{std::move(topic), std::move(broker),
                                           at_ms, "7F0000010001"});
  }
  std::vector<RecallStored> Pull(const std::string& topic) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", topic);
    req.SetExt("queueId", 0);
    req.SetExt("queueOffset", int64_t{0});
    req.SetExt("maxMsgNums", 32);
    req.SetExt("sysFlag", 0x4);
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", int64_t{0});
    req.SetExt("subscription", "*");
    req.SetExt("subVersion", int64_t{0});
    RemotingCommand resp = Call(std::move(req));
    std::vector<RecallStored> out;
    if (resp.code() != rc::kSuccess) return out;
    std::span<const std::byte> body = resp.body();
    while (!body.empty()) {
      message::RecordCheck c = message::CheckRecord(body, true);
      EXPECT_EQ(c.status, message::RecordStatus::kOk) << c.error;
      if (c.status != message::RecordStatus::kOk) break;
      out.push_back(RecallStored{std::string(AsStringView(c.record.body)),
                                 std::string(c.record.properties)});
      body = body.subspan(static_cast<size_t>(c.size));
    }
    return out;
  }
  std::vector<std::string> Bodies(const std::string& topic) {
    std::vector<std::string> out;
    for (const RecallStored& s : Pull(topic)) out.push_back(s.body);
    return out;
  }
  // Moves the clock to kRecallT0 + `ms` once every parked record is indexed,
  // and lets the timer store release what is due then.
  void At(int64_t ms) {
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
    ASSERT_TRUE(broker_->timer()->RunPassForTesting(60000));
    clock_.Set(kRecallT0 + ms);
    ASSERT_TRUE(broker_->timer()->RunPassForTesting(60000));
  }

  testing::TempDir dir_;
  std::string store_dir_;
  ManualClock clock_{kRecallT0};
  BrokerConfig broker_config_;
  store::MessageStoreConfig store_config_;
  remoting::RemotingClient client_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
};

TEST_F(RecallMessageTest, ARecalledTimerMessageIsNeverDeliveredItsNeighbourIs) {
  StartBroker();
  CreateTopic("TRC");
  RemotingCommand a =
      Send("TRC", "recalled", Props({{"TIMER_DELAY_SEC", "5"}}));
  RemotingCommand b = Send("TRC", "kept", Props({{"TIMER_DELAY_SEC", "5"}}));
  ASSERT_EQ(a.code(), rc::kSuccess) << a.remark();
  ASSERT_EQ(b.code(), rc::kSuccess) << b.remark();
  // The handle names the real topic, this broker, TIMER_OUT_MS + 1 (kT0 +
  // 5000 is an exact slot, so TIMER_OUT_MS is one slot lower) and the
  // message's UNIQ_KEY.
  ASSERT_TRUE(a.FindExt("recallHandle").has_value());
  Result<RecallHandle> h = DecodeRecallHandle(*a.FindExt("recallHandle"));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->topic, "TRC");
  EXPECT_EQ(h->broker_name, "broker-a");
  EXPECT_EQ(h->timestamp_ms, kRecallT0 + 4001);
  EXPECT_EQ(h->uniq_key, a.ExtOr("transactionId", ""));
  // Ordinary messages get none.
  RemotingCommand now = Send("TRC", "now", Props({{"TAGS", "TagA"}}));
  ASSERT_EQ(now.code(), rc::kSuccess);
  EXPECT_FALSE(now.FindExt("recallHandle").has_value());

  At(1000);
  RemotingCommand recalled =
      Recall("TRC", std::string(*a.FindExt("recallHandle")));
  ASSERT_EQ(recalled.code(), rc::kSuccess) << recalled.remark();
  EXPECT_EQ(recalled.ExtOr("msgId", ""), h->uniq_key);
  // The cancel record is parked in the target's slot.
  std::vector<RecallStored> parked = Pull("rmq_sys_wheel_timer");
  ASSERT_EQ(parked.size(), 3u);
  EXPECT_EQ(parked[2].body, "0");
  EXPECT_EQ(parked[2].Prop("TAGS"), "_RECALL_TAG_");
  EXPECT_EQ(parked[2].Prop("TIMER_DEL_UNIQKEY"), "TRC+" + h->uniq_key);
  EXPECT_EQ(parked[2].Prop("UNIQ_KEY"), h->uniq_key);
  EXPECT_EQ(parked[2].Prop("TIMER_OUT_MS"), parked[0].Prop("TIMER_OUT_MS"));
  EXPECT_EQ(parked[2].Prop("REAL_TOPIC"), "TRC");

  At(4999);
  EXPECT_EQ(Bodies("TRC"), std::vector<std::string>{"now"});
  At(5000);
  EXPECT_EQ(Bodies("TRC"), (std::vector<std::string>{"now", "kept"}));
  At(20000);
  EXPECT_EQ(Bodies("TRC"), (std::vector<std::string>{"now", "kept"}));
  EXPECT_EQ(broker_->timer()->delivered_count(), 1);
  // Once its slot has passed a message cannot be recalled.
  RemotingCommand late = Recall("TRC", std::string(*b.FindExt("recallHandle")));
  EXPECT_EQ(late.code(), rc::kIllegalOperation);
}

TEST_F(RecallMessageTest, RefusalsComeWithRocketMQsCodes) {
  broker_config_.recall_message_enable = false;
  StartBroker();
  CreateTopic("TRR");
  CreateTopic("TRO");
  const std::string good = Handle("TRR", kRecallT0 + 5001);
  RemotingCommand off = Recall("TRR", good);
  EXPECT_EQ(off.code(), rc::kNoPermission);
  EXPECT_THAT(off.remark(), HasSubstr("recallMessageEnable"));

  broker_config_.recall_message_enable = true;
  StartBroker();
  EXPECT_EQ(Recall("TRX", Handle("TRX", kRecallT0 + 5001)).code(),
            rc::kTopicNotExist);
  RemotingCommand bad = Recall("TRR", "not a handle");
  EXPECT_EQ(bad.code(), rc::kIllegalOperation);
  EXPECT_THAT(bad.remark(), HasSubstr("recall handle is invalid"));
  RemotingCommand other_topic = Recall("TRR", Handle("TRO", kRecallT0 + 5001));
  EXPECT_EQ(other_topic.code(), rc::kIllegalOperation);
  EXPECT_THAT(other_topic.remark(), HasSubstr("topic TRO"));
  RemotingCommand other_broker =
      Recall("TRR", Handle("TRR", kRecallT0 + 5001, "broker-b"));
  EXPECT_EQ(other_broker.code(), rc::kIllegalOperation);
  EXPECT_THAT(other_broker.remark(), HasSubstr("broker broker-b"));
  // Due now, and beyond timerMaxDelaySec (3 days).
  EXPECT_EQ(Recall("TRR", Handle("TRR", kRecallT0)).code(),
            rc::kIllegalOperation);
  EXPECT_EQ(Recall("TRR", Handle("TRR", kRecallT0 + 259200001)).code(),
            rc::kIllegalOperation);
  EXPECT_EQ(Recall("TRR", Handle("TRR", kRecallT0 + 259200000)).code(),
            rc::kSuccess);
  RemotingCommand no_handle =
      RemotingCommand::CreateRequest(req_code::kRecallMessage);
  no_handle.SetExt("producerGroup", "TRR");
  no_handle.SetExt("topic", "TRR");
  RemotingCommand missing = Call(std::move(no_handle));
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("recallHandle"));

  // Without write permission: taken while allowRecallWhenBrokerNotWriteable
  // (the default), refused otherwise.
  broker_config_.broker_permission = 4;
  StartBroker();
  EXPECT_EQ(Recall("TRR", good).code(), rc::kSuccess);
  broker_config_.allow_recall_when_broker_not_writeable = false;
  StartBroker();
  EXPECT_EQ(Recall("TRR", good).code(), rc::kServiceNotAvailable);

  // A slave never takes a recall.
  broker_config_.broker_permission = 6;
  broker_config_.broker_id = 1;
  store_config_.broker_role = store::BrokerRole::kSlave;
  StartBroker();
  EXPECT_EQ(Recall("TRR", good).code(), rc::kSlaveNotAvailable);
}

}  // namespace recall_test
}  // namespace thruster::broker
