#include "broker/send_message_processor.h"

#include <algorithm>

#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;

class SendMessageProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<SendMessageProcessor>(context_, *store_,
                                                        *topics_, stats_);
  }

  static RemotingCommand SendV2(const std::string& topic, std::string_view body,
                                const std::string& props,
                                int32_t queue_id = 0) {
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
    return req;
  }
  // A batch body (§5.6) of `n` entries "b0", "b1", ...
  static std::string Batch(int n) {
    std::string batch;
    for (int i = 0; i < n; ++i) {
      const std::string body = "b" + std::to_string(i);
      const std::string props = Props({{"UNIQ_KEY", "U" + std::to_string(i)}});
      std::string e(20, '\0');
      StoreI32(e.data(),
               static_cast<int32_t>(20 + body.size() + 2 + props.size()));
      StoreI32(e.data() + 16, static_cast<int32_t>(body.size()));
      e += body;
      e.push_back(static_cast<char>(props.size() >> 8));
      e.push_back(static_cast<char>(props.size() & 0xFF));
      e += props;
      batch += e;
    }
    return batch;
  }
  static RemotingCommand SendBatch(const std::string& topic,
                                   std::string_view body) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendBatchMessage);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("e", 0);
    req.SetExt("g", int64_t{1});
    req.SetExtBool("m", true);
    req.set_body(body);
    return req;
  }
  RemotingCommand Send(RemotingCommand req) {
    return Call(*processor_, std::move(req));
  }
  // The record the answer's msgId names.
  Record Stored(const RemotingCommand& answer) {
    Result<message::MessageIdParts> id =
        message::DecodeMessageId(answer.ExtOr("msgId", ""));
    EXPECT_TRUE(id.ok()) << answer.ExtOr("msgId", "");
    if (!id.ok()) return {};
    std::optional<store::SelectResult> m =
        store_->LookMessageByOffset(id->phys_offset);
    EXPECT_TRUE(m.has_value());
    if (!m) return {};
    std::vector<Record> recs = DecodeRecords(m->bytes);
    return recs.empty() ? Record{} : recs[0];
  }

  std::unique_ptr<SendMessageProcessor> processor_;
};

TEST_F(SendMessageProcessorTest, SendV2StoresTheRecordAndAnswersWhereItWent) {
  CreateTopic("T1");
  RemotingCommand resp = Send(SendV2("T1", "hello", Props({{"TAGS", "A"}}), 2));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_TRUE(resp.IsResponse());
  EXPECT_EQ(resp.ExtOr("queueId", ""), "2");
  EXPECT_EQ(resp.ExtOr("queueOffset", ""), "0");
  EXPECT_EQ(resp.ExtOr("MSG_REGION", ""), "DefaultRegion");
  EXPECT_EQ(resp.ExtOr("TRACE_ON", ""), "true");
  Record rec = Stored(resp);
  EXPECT_EQ(rec.topic, "T1");
  EXPECT_EQ(rec.body, "hello");
  EXPECT_EQ(rec.queue_id, 2);
  // The broker gave the message a UNIQ_KEY (answered as transactionId) and
  // its cluster.
  const std::string uniq = std::string(resp.ExtOr("transactionId", ""));
  EXPECT_EQ(uniq.size(), 32u);
  EXPECT_EQ(message::FindProperty(rec.properties, "UNIQ_KEY"), uniq);
  EXPECT_EQ(message::FindProperty(rec.properties, "CLUSTER"), "TestCluster");
  EXPECT_EQ(stats_.put_total(), 1);
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("T1", 2), 1);
}

TEST_F(SendMessageProcessorTest, KeepsTheProducersUniqKey) {
  CreateTopic("T1");
  RemotingCommand resp =
      Send(SendV2("T1", "x", Props({{"UNIQ_KEY", "MINE"}, {"TAGS", "A"}})));
  ASSERT_EQ(resp.code(), rc::kSuccess);
  EXPECT_EQ(resp.ExtOr("transactionId", ""), "MINE");
}

TEST_F(SendMessageProcessorTest, LongHeaderNamesAutoCreateTheTopic) {
  RemotingCommand req = RemotingCommand::CreateRequest(req_code::kSendMessage);
  req.SetExt("producerGroup", "PG");
  req.SetExt("topic", "AutoT");
  req.SetExt("defaultTopic", "TBW102");
  req.SetExt("defaultTopicQueueNums", 4);
  req.SetExt("queueId", 1);
  req.SetExt("bornTimestamp", int64_t{1});
  req.set_body(std::string_view("single"));
  RemotingCommand resp = Send(std::move(req));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::optional<remoting::TopicConfig> tc = topics_->Find("AutoT");
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->write_queue_nums, 4);
  EXPECT_GE(registrations(), 1);
  EXPECT_EQ(Stored(resp).body, "single");
}

TEST_F(SendMessageProcessorTest, NegativeQueueIdPicksAWritableQueue) {
  CreateTopic("T1", 2);
  RemotingCommand resp = Send(SendV2("T1", "x", "", -1));
  ASSERT_EQ(resp.code(), rc::kSuccess);
  const std::string q(resp.ExtOr("queueId", ""));
  EXPECT_TRUE(q == "0" || q == "1") << q;
}

TEST_F(SendMessageProcessorTest, BadHeadersAndTargetsGetTheirCodes) {
  CreateTopic("T1", 2);
  RemotingCommand missing =
      RemotingCommand::CreateRequest(req_code::kSendMessageV2);
  missing.SetExt("a", "PG");
  RemotingCommand answer = Send(std::move(missing));
  EXPECT_EQ(answer.code(), rc::kSystemError);
  EXPECT_THAT(answer.remark(), HasSubstr("b"));
  EXPECT_EQ(answer.ExtOr("MSG_REGION", ""), "DefaultRegion");
  EXPECT_EQ(Send(SendV2("bad topic!", "x", "")).code(), rc::kInvalidParameter);
  RemotingCommand range = Send(SendV2("T1", "x", "", 2));
  EXPECT_EQ(range.code(), rc::kInvalidParameter);
  EXPECT_THAT(range.remark(), HasSubstr("out of range"));
  EXPECT_EQ(Send(SendV2("TBW102", "x", "")).code(), rc::kSuccess);
  EXPECT_EQ(Send(SendV2("SCHEDULE_TOPIC_XXXX", "x", "")).code(),
            rc::kNoPermission);
  CreateTopic("ReadOnly", 1, 4);
  EXPECT_EQ(Send(SendV2("ReadOnly", "x", "")).code(), rc::kNoPermission);
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("ReadOnly", 0), 0);
}

TEST_F(SendMessageProcessorTest, UnknownTopicWithoutAutoCreationIsRefused) {
  config_.auto_create_topic_enable = false;
  topics_ = std::make_unique<TopicConfigManager>(
      &fs_, "/other-config",
      TopicConfigManagerOptions{config_.broker_cluster_name,
                                config_.broker_name, false, 4},
      SystemClock::Default());
  ASSERT_OK(topics_->Load());
  processor_ = std::make_unique<SendMessageProcessor>(context_, *store_,
                                                      *topics_, stats_);
  RemotingCommand resp = Send(SendV2("Nope", "x", ""));
  EXPECT_EQ(resp.code(), rc::kTopicNotExist);
  EXPECT_THAT(resp.remark(), HasSubstr("Nope"));
}

TEST_F(SendMessageProcessorTest, BrokerWithoutWritePermissionRefusesSends) {
  CreateTopic("T1");
  config_.broker_permission = remoting::kPermRead;
  RemotingCommand resp = Send(SendV2("T1", "x", ""));
  EXPECT_EQ(resp.code(), rc::kNoPermission);
  EXPECT_THAT(resp.remark(), HasSubstr("broker-t"));
  EXPECT_EQ(store_->GetMaxPhyOffset(), 0);
}

TEST_F(SendMessageProcessorTest, BodyOverMaxMessageSizeIsIllegal) {
  CreateTopic("T1");
  const std::string big(static_cast<size_t>(store_config_.max_message_size) + 1,
                        'x');
  RemotingCommand resp = Send(SendV2("T1", big, ""));
  EXPECT_EQ(resp.code(), rc::kMessageIllegal);
  EXPECT_THAT(resp.remark(), HasSubstr("maxMessageSize"));
}

TEST_F(SendMessageProcessorTest, BatchIsStoredAsOneRecordPerEntry) {
  CreateTopic("TB", 1);
  RemotingCommand resp = Send(SendBatch("TB", Batch(3)));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  const std::string ids(resp.ExtOr("msgId", ""));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ','), 2);
  EXPECT_FALSE(resp.FindExt("transactionId").has_value());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TB", 0), 3);
  EXPECT_EQ(stats_.put_total(), 3);
}

TEST_F(SendMessageProcessorTest, BatchWithABadEntryStoresNothing) {
  CreateTopic("TB", 1);
  const std::string batch = Batch(3);
  RemotingCommand resp = Send(
      SendBatch("TB", std::string_view(batch).substr(0, batch.size() - 3)));
  EXPECT_EQ(resp.code(), rc::kMessageIllegal);
  EXPECT_THAT(resp.remark(), HasSubstr("batch entry 2"));
  std::string bad_props = Batch(1);
  bad_props[20 + 2] = 0x7F;  // properties length beyond the entry
  EXPECT_EQ(Send(SendBatch("TB", bad_props)).code(), rc::kMessageIllegal);
  EXPECT_EQ(store_->GetMaxPhyOffset(), 0);
  EXPECT_EQ(Send(SendBatch("%RETRY%G", Batch(1))).code(), rc::kMessageIllegal);
}

TEST_F(SendMessageProcessorTest, RetriedTooOftenGoesToTheDeadLetterQueue) {
  RemotingCommand retry = SendV2("%RETRY%G", "again", "");
  retry.SetExt("j", 3);
  RemotingCommand first = Send(std::move(retry));
  ASSERT_EQ(first.code(), rc::kSuccess) << first.remark();
  EXPECT_EQ(Stored(first).topic, "%RETRY%G");
  RemotingCommand dead = SendV2("%RETRY%G", "dead", "");
  dead.SetExt("j", 17);
  RemotingCommand second = Send(std::move(dead));
  ASSERT_EQ(second.code(), rc::kSuccess) << second.remark();
  EXPECT_EQ(Stored(second).topic, "%DLQ%G");
  EXPECT_TRUE(topics_->Find("%DLQ%G").has_value());
}

TEST_F(SendMessageProcessorTest,
       SendBackCopiesTheRecordToTheRetryThenTheDeadLetterTopic) {
  CreateTopic("TBK", 1);
  const int64_t phys = Put("TBK", 0, "fails");
  auto send_back = [&](int64_t offset) {
    return Send(Request(req_code::kConsumerSendMsgBack,
                        {{"offset", std::to_string(offset)},
                         {"group", "BG"},
                         {"delayLevel", "0"},
                         {"maxReconsumeTimes", "1"}}));
  };
  ASSERT_EQ(send_back(phys).code(), rc::kSuccess);
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  // The retry copy waits out its back-off (level 3 + 0) parked for the retry
  // topic; schedule_message_service_test.cc follows it there.
  store::GetMessageResult retry =
      store_->GetMessage("g", "SCHEDULE_TOPIC_XXXX", 2, 0, 32, 1 << 20);
  ASSERT_EQ(retry.messages.size(), 1u);
  std::vector<Record> recs = DecodeRecords(retry.messages[0].bytes);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(message::FindProperty(recs[0].properties, "REAL_TOPIC"),
            "%RETRY%BG");
  EXPECT_EQ(recs[0].body, "fails");
  EXPECT_EQ(recs[0].reconsume_times, 1);
  EXPECT_EQ(message::FindProperty(recs[0].properties, "RETRY_TOPIC"), "TBK");
  EXPECT_EQ(message::FindProperty(recs[0].properties, "ORIGIN_MESSAGE_ID"),
            message::CreateMessageId(store_host_, phys));
  // Reconsumed once with a limit of one: the next failure goes to the DLQ.
  ASSERT_EQ(send_back(recs[0].phys_offset).code(), rc::kSuccess);
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("%DLQ%BG", 0), 1);
  EXPECT_GE(registrations(), 2);
  EXPECT_EQ(stats_.put_total(), 2);
}

TEST_F(SendMessageProcessorTest, SendBackOfAMissingRecordOrFieldFails) {
  RemotingCommand missing =
      Send(Request(req_code::kConsumerSendMsgBack,
                   {{"offset", "987654321"}, {"group", "BG"}}));
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("look message by offset failed"));
  RemotingCommand no_group =
      Send(Request(req_code::kConsumerSendMsgBack, {{"offset", "0"}}));
  EXPECT_EQ(no_group.code(), rc::kSystemError);
  EXPECT_THAT(no_group.remark(), HasSubstr("group"));
}

TEST_F(SendMessageProcessorTest, OnewaySendStoresWithoutAnAnswer) {
  CreateTopic("T1");
  RemotingCommand req = SendV2("T1", "quiet", "");
  req.MarkOneway();
  remoting::Responder r = answers_.For(req);
  processor_->ProcessRequest(std::move(req), std::move(r));
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("T1", 0), 1);
  EXPECT_EQ(answers_.count(), 0u);
}

}  // namespace
}  // namespace thruster::broker
