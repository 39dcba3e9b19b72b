// Transactional messages over the protocol, without a socket: SEND_MESSAGE_V2
// with TRAN_MSG, END_TRANSACTION, the check pass and CHECK_TRANSACTION_STATE
// (spec/transactions.md). Time is a ManualClock that starts at the wall clock
// (the store stamps records with the wall clock) and is moved past
// transactionTimeOut by the tests.
#include <algorithm>

#include "broker/end_transaction_processor.h"
#include "broker/pull_message_processor.h"
#include "broker/send_message_processor.h"
#include "broker/transactional_message_check_service.h"
#include "broker/transactional_message_service.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

namespace psf = remoting::pull_sys_flag;

using ::testing::HasSubstr;

constexpr int32_t kCommit = 8;
constexpr int32_t kRollback = 12;

struct SentCheck {
  std::string group;
  RemotingCommand request;
};

class TransactionProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    CreateTopic("TopicTx", 4);
    MakeProcessors();
  }
  void TearDown() override {
    if (check_thread_) check_thread_->Stop();
    ProcessorTest::TearDown();
  }

  void MakeProcessors() {
    service_ = std::make_unique<TransactionalMessageService>(
        ctx_, *store_, *topics_, *offsets_,
        [this](std::string_view group, RemotingCommand req) {
          if (!producer_online_) return Status::NotFound("no producer");
          std::lock_guard<std::mutex> lock(checks_mu_);
          checks_.push_back(SentCheck{std::string(group), std::move(req)});
          return Status::OK();
        },
        TransactionCheckOptions{6000, 3});
    send_ =
        std::make_unique<SendMessageProcessor>(ctx_, *store_, *topics_, stats_);
    end_ = std::make_unique<EndTransactionProcessor>(ctx_, *store_, *service_,
                                                     6000);
    pull_ = std::make_unique<PullMessageProcessor>(
        ctx_, *store_, *topics_, *offsets_, clients_, stats_, *hold_);
  }

  // Closes the store and opens it again (topics and offsets from their files
  // as they were last persisted), then builds new processors.
  void Restart() {
    store_->Shutdown();
    store_ = std::make_unique<store::MessageStore>(&fs_, store_config_,
                                                   SystemClock::Default());
    ASSERT_OK(store_->Load());
    ASSERT_OK(store_->Start());
    topics_ = std::make_unique<TopicConfigManager>(
        &fs_, store_config_.ConfigDir(),
        TopicConfigManagerOptions{config_.broker_cluster_name,
                                  config_.broker_name, true, 4},
        SystemClock::Default());
    ASSERT_OK(topics_->Load());
    offsets_ = std::make_unique<ConsumerOffsetManager>(
        &fs_, store_config_.ConfigDir());
    ASSERT_OK(offsets_->Load());
    MakeProcessors();
  }

  // A prepared message as the Java producer sends it (spec §2).
  RemotingCommand SendHalf(const std::string& body, const std::string& uniq,
                           int32_t queue_id = 1,
                           const std::string& extra_key = "",
                           const std::string& extra_value = "") {
    std::map<std::string, std::string, std::less<>> props{{"TRAN_MSG", "true"},
                                                          {"PGROUP", "PG"},
                                                          {"UNIQ_KEY", uniq},
                                                          {"TAGS", "TagT"}};
    if (!extra_key.empty()) props[extra_key] = extra_value;
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", "TopicTx");
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", queue_id);
    req.SetExt("f", 4);  // PREPARED
    req.SetExt("g", clock_.NowMs());
    req.SetExt("h", 0);
    req.SetExt("i", message::EncodeProperties(props));
    req.set_body(body);
    RemotingCommand resp = Call(*send_, std::move(req));
    EXPECT_EQ(resp.code(), rc::kSuccess) << resp.remark();
    EXPECT_TRUE(store_->WaitForDispatch(5000));
    return resp;
  }
  static int64_t PhysOf(const RemotingCommand& send_resp) {
    Result<message::MessageIdParts> id =
        message::DecodeMessageId(send_resp.ExtOr("msgId", ""));
    EXPECT_TRUE(id.ok());
    return id.ok() ? id->phys_offset : -1;
  }
  static RemotingCommand EndRequest(int64_t table_offset, int64_t phys,
                                    int32_t type, bool from_check = false,
                                    const std::string& group = "PG") {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kEndTransaction);
    req.SetExt("producerGroup", group);
    req.SetExt("tranStateTableOffset", table_offset);
    req.SetExt("commitLogOffset", phys);
    req.SetExt("commitOrRollback", type);
    req.SetExtBool("fromTransactionCheck", from_check);
    req.SetExt("msgId", "U");
    return req;
  }
  RemotingCommand End(const RemotingCommand& send_resp, int32_t type) {
    return End(send_resp.ExtInt64Or("queueOffset", -1), PhysOf(send_resp),
               type);
  }
  RemotingCommand End(int64_t table_offset, int64_t phys, int32_t type,
                      bool from_check = false) {
    RemotingCommand resp =
        Call(*end_, EndRequest(table_offset, phys, type, from_check));
    EXPECT_OK(service_->WriteOps());
    EXPECT_TRUE(store_->WaitForDispatch(5000));
    return resp;
  }

  // Every record a consumer of TopicTx queue `queue_id` can pull.
  std::vector<Record> PullAll(int32_t queue_id = 1) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", "TopicTx");
    req.SetExt("queueId", queue_id);
    req.SetExt("queueOffset", int64_t{0});
    req.SetExt("maxMsgNums", 32);
    req.SetExt("sysFlag", psf::kSubscription);
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", int64_t{0});
    req.SetExt("subscription", "*");
    req.SetExt("subVersion", int64_t{0});
    RemotingCommand resp = Call(*pull_, std::move(req));
    if (resp.code() != rc::kSuccess) return {};
    return DecodeRecords(resp.body());
  }

  std::vector<SentCheck> TakeChecks() {
    std::lock_guard<std::mutex> lock(checks_mu_);
    return std::exchange(checks_, {});
  }
  // Runs a check pass with the clock moved on by `advance_ms`.
  std::vector<SentCheck> CheckAfter(int64_t advance_ms) {
    clock_.Advance(advance_ms);
    service_->CheckOnce();
    EXPECT_TRUE(store_->WaitForDispatch(5000));
    return TakeChecks();
  }
  // Answers a recorded check the way a producer does (spec §6.3).
  RemotingCommand Answer(const SentCheck& check, int32_t type) {
    return End(check.request.ExtInt64Or("tranStateTableOffset", -1),
               check.request.ExtInt64Or("commitLogOffset", -1), type, true);
  }

  ManualClock clock_{SystemClock::Default()->NowMs()};
  BrokerContext ctx_{config_, clock_, store_host_, [] {}, 0};
  std::atomic<bool> producer_online_{true};
  std::mutex checks_mu_;
  std::vector<SentCheck> checks_;
  std::unique_ptr<TransactionalMessageService> service_;
  std::unique_ptr<SendMessageProcessor> send_;
  std::unique_ptr<EndTransactionProcessor> end_;
  std::unique_ptr<PullMessageProcessor> pull_;
  std::unique_ptr<TransactionalMessageCheckService> check_thread_;
};

// From the properties' text or from TRAN_MSG and DELAY found beforehand, the
// same answer: TRAN_MSG true (any case) is prepared, unless it is a resend
// (reconsume times > 0) with a DELAY level > 0.
TEST(IsPreparedMessageTest, FoundValuesAgreeWithTheText) {
  struct Case {
    std::string props;
    int32_t reconsume_times;
    bool prepared;
  };
  const Case cases[] = {
      {Props({{"TRAN_MSG", "true"}}), 0, true},
      {Props({{"TRAN_MSG", "TRUE"}}), 0, true},
      {Props({{"TRAN_MSG", "false"}}), 0, false},
      {Props({{"TAGS", "a"}}), 0, false},
      {Props({{"TRAN_MSG", "true"}, {"DELAY", "3"}}), 0, true},
      {Props({{"TRAN_MSG", "true"}, {"DELAY", "3"}}), 1, false},
      {Props({{"TRAN_MSG", "true"}, {"DELAY", "0"}}), 1, true},
      {Props({{"TRAN_MSG", "true"}}), 2, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.props);
    EXPECT_EQ(IsPreparedMessage(c.props, c.reconsume_times), c.prepared);
    EXPECT_EQ(IsPreparedMessage(message::FindProperty(c.props, "TRAN_MSG"),
                                message::FindProperty(c.props, "DELAY"),
                                c.reconsume_times),
              c.prepared);
  }
}

TEST_F(TransactionProcessorTest, HalfMessageIsStoredAsRocketMQStoresIt) {
  RemotingCommand resp = SendHalf("order-42", "U1");
  // The answer names the requested queue and the half queue offset.
  EXPECT_EQ(resp.ExtOr("queueId", ""), "1");
  EXPECT_EQ(resp.ExtOr("queueOffset", ""), "0");
  EXPECT_EQ(resp.ExtOr("transactionId", ""), "U1");
  std::optional<store::SelectResult> sr =
      store_->LookMessageByOffset(PhysOf(resp));
  ASSERT_TRUE(sr.has_value());
  message::RecordCheck c = message::CheckRecord(sr->bytes, true);
  ASSERT_EQ(c.status, message::RecordStatus::kOk);
  EXPECT_EQ(c.record.topic, kTransHalfTopic);
  EXPECT_EQ(c.record.queue_id, 0);
  EXPECT_EQ(c.record.sys_flag & message::sysflag::kTransactionMask, 0);
  auto props = message::ParseProperties(c.record.properties);
  EXPECT_EQ(props["REAL_TOPIC"], "TopicTx");
  EXPECT_EQ(props["REAL_QID"], "1");
  EXPECT_EQ(props["TRAN_MSG"], "true");
  EXPECT_EQ(props["PGROUP"], "PG");
  EXPECT_EQ(props["__transactionId__"], "U1");
  // Invisible to consumers of the real topic; the half topic exists.
  EXPECT_TRUE(PullAll().empty());
  EXPECT_EQ(store_->GetMaxOffsetInQueue(kTransHalfTopic, 0), 1);
  EXPECT_TRUE(topics_->Find(kTransHalfTopic).has_value());
}

TEST_F(TransactionProcessorTest, RejectTransactionMessageRefusesHalfMessages) {
  config_.reject_transaction_message = true;
  std::map<std::string, std::string, std::less<>> props{{"TRAN_MSG", "true"},
                                                        {"PGROUP", "PG"}};
  RemotingCommand req =
      RemotingCommand::CreateRequest(req_code::kSendMessageV2);
  req.SetExt("a", "PG");
  req.SetExt("b", "TopicTx");
  req.SetExt("e", 0);
  req.SetExt("g", clock_.NowMs());
  req.SetExt("i", message::EncodeProperties(props));
  req.set_body(std::string_view("x"));
  RemotingCommand resp = Call(*send_, std::move(req));
  EXPECT_EQ(resp.code(), rc::kNoPermission);
  EXPECT_THAT(resp.remark(), HasSubstr("sending transaction message"));
}

TEST_F(TransactionProcessorTest, CommitDeliversTheMessageOnce) {
  RemotingCommand half = SendHalf("order-42", "U1");
  RemotingCommand end = End(half, kCommit);
  ASSERT_EQ(end.code(), rc::kSuccess) << end.remark();
  std::vector<Record> got = PullAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "order-42");
  EXPECT_EQ(got[0].topic, "TopicTx");
  EXPECT_EQ(got[0].queue_id, 1);
  // Properties as RocketMQ leaves them: REAL_TOPIC, REAL_QID, TRAN_MSG stay.
  auto props = message::ParseProperties(got[0].properties);
  EXPECT_EQ(props["TRAN_MSG"], "true");
  EXPECT_EQ(props["REAL_TOPIC"], "TopicTx");
  EXPECT_EQ(props["UNIQ_KEY"], "U1");
  // The committed record carries the COMMIT sysflag and the prepared offset.
  std::optional<store::SelectResult> sr =
      store_->LookMessageByOffset(got[0].phys_offset);
  ASSERT_TRUE(sr.has_value());
  message::RecordCheck c = message::CheckRecord(sr->bytes, true);
  EXPECT_EQ(c.record.sys_flag & message::sysflag::kTransactionMask,
            message::sysflag::kTransactionCommitType);
  EXPECT_EQ(c.record.prepared_transaction_offset, PhysOf(half));
  // The op record names half offset 0, so no later pass asks about it.
  EXPECT_EQ(store_->GetMaxOffsetInQueue(kTransOpHalfTopic, 0), 1);
  EXPECT_TRUE(CheckAfter(7000).empty());
  EXPECT_TRUE(CheckAfter(70000).empty());
  EXPECT_EQ(PullAll().size(), 1u);
  EXPECT_EQ(offsets_->Query(kTransSysGroup, kTransHalfTopic, 0), 1);
  EXPECT_EQ(offsets_->Query(kTransSysGroup, kTransOpHalfTopic, 0), 1);
}

TEST_F(TransactionProcessorTest, OpRecordHasRocketMQsLayout) {
  RemotingCommand half = SendHalf("a", "U1");
  ASSERT_EQ(End(half, kRollback).code(), rc::kSuccess);
  store::GetMessageResult r =
      store_->GetMessage("G", kTransOpHalfTopic, 0, 0, 1, 1 << 20);
  ASSERT_EQ(r.status, store::GetMessageStatus::kFound);
  message::RecordCheck c = message::CheckRecord(r.messages[0].bytes, true);
  ASSERT_EQ(c.status, message::RecordStatus::kOk);
  EXPECT_EQ(AsStringView(c.record.body), "0,");
  EXPECT_EQ(c.record.properties, std::string("TAGS\x01"
                                             "d\x02"));
  EXPECT_EQ(c.record.sys_flag, 0);
}

TEST_F(TransactionProcessorTest, RollbackNeverDelivers) {
  RemotingCommand half = SendHalf("nope", "U1");
  ASSERT_EQ(End(half, kRollback).code(), rc::kSuccess);
  EXPECT_TRUE(PullAll().empty());
  EXPECT_TRUE(CheckAfter(7000).empty());
  EXPECT_TRUE(PullAll().empty());
}

TEST_F(TransactionProcessorTest, WrongHeaderFieldsAreRefused) {
  RemotingCommand half = SendHalf("x", "U1");
  const int64_t qo = half.ExtInt64Or("queueOffset", -1);
  const int64_t phys = PhysOf(half);
  RemotingCommand wrong_group =
      Call(*end_, EndRequest(qo, phys, kCommit, false, "OTHER"));
  EXPECT_EQ(wrong_group.code(), rc::kSystemError);
  EXPECT_EQ(wrong_group.remark(), "The producer group wrong");
  RemotingCommand wrong_offset = Call(*end_, EndRequest(qo + 5, phys, kCommit));
  EXPECT_EQ(wrong_offset.code(), rc::kSystemError);
  EXPECT_EQ(wrong_offset.remark(), "The transaction state table offset wrong");
  RemotingCommand no_record = Call(*end_, EndRequest(qo, phys + 3, kCommit));
  EXPECT_EQ(no_record.code(), rc::kSystemError);
  EXPECT_EQ(no_record.remark(), "Find prepared transaction message failed");
  // A record that is not a half message cannot be "committed".
  const int64_t plain = Put("TopicTx", 2, "plain");
  RemotingCommand not_half = Call(*end_, EndRequest(0, plain, kCommit));
  EXPECT_EQ(not_half.code(), rc::kSystemError);
  RemotingCommand missing = Call(
      *end_, Request(req_code::kEndTransaction, {{"producerGroup", "PG"}}));
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("tranStateTableOffset"));
  EXPECT_TRUE(PullAll().empty());
}

TEST_F(TransactionProcessorTest, UnknownStateIsIgnoredWithoutAnAnswer) {
  RemotingCommand half = SendHalf("x", "U1");
  const size_t before = answers_.count();
  RemotingCommand req =
      EndRequest(half.ExtInt64Or("queueOffset", -1), PhysOf(half), 0);
  end_->ProcessRequest(req, answers_.For(req));
  EXPECT_EQ(answers_.count(), before);
  EXPECT_FALSE(service_->HasQueuedOps());
  EXPECT_TRUE(PullAll().empty());
}

TEST_F(TransactionProcessorTest, UnknownIsCheckedBackThenResolvedByTheAnswer) {
  RemotingCommand half = SendHalf("pay", "U7");
  // Younger than transactionTimeOut: not asked yet.
  EXPECT_TRUE(CheckAfter(1000).empty());
  std::vector<SentCheck> checks = CheckAfter(6000);
  ASSERT_EQ(checks.size(), 1u);
  const RemotingCommand& check = checks[0].request;
  EXPECT_EQ(checks[0].group, "PG");
  EXPECT_EQ(check.code(), req_code::kCheckTransactionState);
  EXPECT_EQ(check.ExtOr("msgId", ""), "U7");
  EXPECT_EQ(check.ExtOr("transactionId", ""), "U7");
  EXPECT_EQ(check.ExtOr("topic", ""), "TopicTx");
  EXPECT_EQ(check.ExtOr("bname", ""), "broker-t");
  // The check names the re-appended copy (half offset 1), whose record
  // carries the check count; the body is that record with the real topic.
  EXPECT_EQ(check.ExtOr("tranStateTableOffset", ""), "1");
  std::vector<Record> body = DecodeRecords(check.body());
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0].topic, "TopicTx");
  EXPECT_EQ(body[0].queue_id, 1);
  EXPECT_EQ(body[0].body, "pay");
  EXPECT_EQ(body[0].queue_offset, 1);
  EXPECT_EQ(body[0].phys_offset, check.ExtInt64Or("commitLogOffset", -1));
  EXPECT_EQ(
      message::ParseProperties(body[0].properties)["TRANSACTION_CHECK_TIMES"],
      "1");
  EXPECT_EQ(check.ExtOr("offsetMsgId", ""),
            message::CreateMessageId(store_host_, body[0].phys_offset));
  EXPECT_TRUE(PullAll().empty());

  // The producer still does not know: asked again next pass, about the newer
  // copy.
  std::vector<SentCheck> again = CheckAfter(60000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].request.ExtOr("tranStateTableOffset", ""), "2");
  // Now it commits.
  ASSERT_EQ(Answer(again[0], kCommit).code(), rc::kSuccess);
  std::vector<Record> got = PullAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "pay");
  EXPECT_TRUE(CheckAfter(60000).empty());
  EXPECT_EQ(PullAll().size(), 1u);
}

TEST_F(TransactionProcessorTest, ACommitAnsweredTwiceIsDeliveredOnce) {
  RemotingCommand half = SendHalf("once", "U5");
  std::vector<SentCheck> checks = CheckAfter(7000);
  ASSERT_EQ(checks.size(), 1u);
  // A late producer-initiated commit names the original, the check's answer
  // the copy: both are accepted, one message is delivered.
  ASSERT_EQ(End(half, kCommit).code(), rc::kSuccess);
  ASSERT_EQ(Answer(checks[0], kCommit).code(), rc::kSuccess);
  std::vector<Record> got = PullAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "once");
  EXPECT_TRUE(CheckAfter(60000).empty());
}

TEST_F(TransactionProcessorTest, NoLiveProducerMeansNoCheckButTheCountRises) {
  producer_online_ = false;
  SendHalf("x", "U1");
  EXPECT_TRUE(CheckAfter(7000).empty());
  producer_online_ = true;
  std::vector<SentCheck> checks = CheckAfter(60000);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(
      message::ParseProperties(DecodeRecords(checks[0].request.body())[0]
                                   .properties)["TRANSACTION_CHECK_TIMES"],
      "2");
}

TEST_F(TransactionProcessorTest, CheckedTooOftenIsMovedAside) {
  // transactionCheckMax is 3 in this fixture.
  SendHalf("lost", "U9");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(CheckAfter(60000).size(), 1u) << i;
  EXPECT_TRUE(CheckAfter(60000).empty());
  store::GetMessageResult r =
      store_->GetMessage("G", kTransCheckMaxTimeTopic, 0, 0, 32, 1 << 20);
  ASSERT_EQ(r.status, store::GetMessageStatus::kFound);
  ASSERT_EQ(r.messages.size(), 1u);
  message::RecordCheck c = message::CheckRecord(r.messages[0].bytes, true);
  EXPECT_EQ(AsStringView(c.record.body), "lost");
  auto props = message::ParseProperties(c.record.properties);
  EXPECT_EQ(props["TRANSACTION_CHECK_TIMES"], "3");
  EXPECT_EQ(props["REAL_TOPIC"], "TopicTx");
  EXPECT_TRUE(topics_->Find(kTransCheckMaxTimeTopic).has_value());
  EXPECT_TRUE(CheckAfter(60000).empty());
  EXPECT_TRUE(PullAll().empty());
}

TEST_F(TransactionProcessorTest, ImmunityDelaysTheFirstCheck) {
  RemotingCommand half =
      SendHalf("slow", "U3", 1, "CHECK_IMMUNITY_TIME_IN_SECONDS", "20");
  EXPECT_TRUE(CheckAfter(7000).empty());
  EXPECT_TRUE(CheckAfter(7000).empty());
  std::vector<SentCheck> checks = CheckAfter(7000);
  ASSERT_EQ(checks.size(), 1u);
  auto props = message::ParseProperties(
      DecodeRecords(checks[0].request.body())[0].properties);
  EXPECT_EQ(props["TRAN_PREPARED_QUEUE_OFFSET"], "0");
  // A producer-initiated commit after the immunity window is refused.
  RemotingCommand late = Call(*end_, EndRequest(0, PhysOf(half), kCommit));
  EXPECT_EQ(late.code(), rc::kIllegalOperation);
}

TEST_F(TransactionProcessorTest, CommitSurvivesARestartWithoutDoubleDelivery) {
  RemotingCommand a = SendHalf("committed", "UA");
  RemotingCommand b = SendHalf("rolled-back", "UB");
  RemotingCommand c = SendHalf("open", "UC");
  ASSERT_EQ(End(a, kCommit).code(), rc::kSuccess);
  ASSERT_EQ(End(b, kRollback).code(), rc::kSuccess);
  // The progress offsets were never persisted (a crash before the periodic
  // flush): the op records alone must tell what is resolved.
  Restart();
  std::vector<SentCheck> checks = CheckAfter(7000);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(DecodeRecords(checks[0].request.body())[0].body, "open");
  ASSERT_EQ(Answer(checks[0], kCommit).code(), rc::kSuccess);
  std::vector<Record> got = PullAll();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, "committed");
  EXPECT_EQ(got[1].body, "open");

  // Persisted progress this time, then a second restart: nothing is asked or
  // delivered again.
  ASSERT_OK(offsets_->Persist(true));
  Restart();
  EXPECT_TRUE(CheckAfter(70000).empty());
  EXPECT_EQ(PullAll().size(), 2u);
  EXPECT_EQ(offsets_->Query(kTransSysGroup, kTransHalfTopic, 0),
            store_->GetMaxOffsetInQueue(kTransHalfTopic, 0));
}

TEST_F(TransactionProcessorTest, CheckThreadWritesOpsAndRunsPassesOnTheClock) {
  check_thread_ = std::make_unique<TransactionalMessageCheckService>(
      *service_, clock_, 60000);
  service_->set_on_queued([this] { check_thread_->Wakeup(); });
  check_thread_->Start();
  RemotingCommand half = SendHalf("t", "U1");
  RemotingCommand open = SendHalf("u", "U2");
  ASSERT_EQ(Call(*end_, EndRequest(half.ExtInt64Or("queueOffset", -1),
                                   PhysOf(half), kRollback))
                .code(),
            rc::kSuccess);
  // The op record is written by the thread once woken.
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return store_->GetMaxOffsetInQueue(kTransOpHalfTopic, 0) == 1; }));
  EXPECT_EQ(check_thread_->passes(), 0);
  clock_.Advance(60000);
  ASSERT_TRUE(testing::WaitUntil([&] { return check_thread_->passes() >= 1; }));
  std::vector<SentCheck> checks = TakeChecks();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(DecodeRecords(checks[0].request.body())[0].body, "u");
}

}  // namespace
}  // namespace thruster::broker
