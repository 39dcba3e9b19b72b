#include "broker/pull_message_processor.h"

#include "broker/subscription_group_manager.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

namespace psf = remoting::pull_sys_flag;

using ::testing::HasSubstr;


class PullMessageProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<PullMessageProcessor>(
        context_, *store_, *topics_, *offsets_, clients_, stats_, *hold_);
    processor_ready_.store(true);
  }
  void OnHeldPull(HeldPull p) override {
    if (processor_ready_.load()) processor_->ProcessHeld(std::move(p));
  }

  static RemotingCommand PullRequest(const std::string& topic, int32_t queue_id,
                                     int64_t offset, int32_t sys_flag,
                                     const std::string& sub = "*",
                                     int64_t suspend_ms = 1000) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", topic);
    req.SetExt("queueId", queue_id);
    req.SetExt("queueOffset", offset);
    req.SetExt("maxMsgNums", 32);
    req.SetExt("sysFlag", sys_flag);
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", suspend_ms);
    req.SetExt("subscription", sub);
    req.SetExt("subVersion", int64_t{0});
    return req;
  }
  RemotingCommand Pull(RemotingCommand req) {
    return Call(*processor_, std::move(req));
  }

  std::atomic<bool> processor_ready_{false};
  std::unique_ptr<PullMessageProcessor> processor_;
};

TEST_F(PullMessageProcessorTest, FoundRecordsComeBackWithTheNextOffset) {
  CreateTopic("T1");
  for (const char* body : {"a", "b", "c"}) Put("T1", 1, body);
  RemotingCommand resp = Pull(PullRequest("T1", 1, 0, psf::kSubscription));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::vector<Record> recs = DecodeRecords(resp.body());
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].body, "a");
  EXPECT_EQ(recs[2].body, "c");
  EXPECT_EQ(recs[2].queue_offset, 2);
  EXPECT_EQ(resp.ExtOr("nextBeginOffset", ""), "3");
  EXPECT_EQ(resp.ExtOr("minOffset", ""), "0");
  EXPECT_EQ(resp.ExtOr("maxOffset", ""), "3");
  EXPECT_EQ(resp.ExtOr("suggestWhichBrokerId", ""), "0");
  EXPECT_EQ(offsets_->QueryPullOffset("CG", "T1", 1), 3);
  EXPECT_EQ(stats_.get_total(), 3);
  // Without the commit flag nothing is committed.
  EXPECT_FALSE(offsets_->Query("CG", "T1", 1).has_value());
}

TEST_F(PullMessageProcessorTest, TagExpressionFiltersTheRecords) {
  CreateTopic("TF", 1);
  for (const char* tag : {"A", "B", "A", "C"}) Put("TF", 0, tag, tag);
  RemotingCommand b = Pull(PullRequest("TF", 0, 0, psf::kSubscription, "B || C"));
  ASSERT_EQ(b.code(), rc::kSuccess);
  std::vector<Record> recs = DecodeRecords(b.body());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].body, "B");
  EXPECT_EQ(recs[1].body, "C");
}

TEST_F(PullMessageProcessorTest,
       TheHeartbeatsSubscriptionIsUsedWithoutTheFlag) {
  CreateTopic("TS", 1);
  Put("TS", 0, "A", "A");
  Put("TS", 0, "B", "B");
  RemotingCommand none = Pull(PullRequest("TS", 0, 0, 0));
  EXPECT_EQ(none.code(), rc::kSubscriptionNotExist);
  EXPECT_EQ(none.ExtOr("nextBeginOffset", ""), "0");
  ASSERT_OK_AND_ASSIGN(
      HeartbeatData hb,
      HeartbeatData::Parse(
          R"({"clientID":"c1","consumerDataSet":[{"groupName":"CG",)"
          R"("consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",)"
          R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",)"
          R"("subscriptionDataSet":[{"topic":"TS","subString":"B","subVersion":5}]}],)"
          R"("producerDataSet":[]})"));
  clients_.Heartbeat(hb, ClientChannel{});
  RemotingCommand b = Pull(PullRequest("TS", 0, 0, 0));
  ASSERT_EQ(b.code(), rc::kSuccess) << b.remark();
  std::vector<Record> recs = DecodeRecords(b.body());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body, "B");
  RemotingCommand newer = PullRequest("TS", 0, 0, 0);
  newer.SetExt("subVersion", int64_t{6});
  EXPECT_EQ(Pull(std::move(newer)).code(), rc::kSubscriptionNotLatest);
}

TEST_F(PullMessageProcessorTest, OffsetsOutsideTheQueueAnswerNotFoundOrMoved) {
  CreateTopic("T1", 1);
  EXPECT_EQ(Pull(PullRequest("T1", 0, 0, psf::kSubscription)).code(),
            rc::kPullNotFound);
  Put("T1", 0, "x");
  RemotingCommand at_end = Pull(PullRequest("T1", 0, 1, psf::kSubscription));
  EXPECT_EQ(at_end.code(), rc::kPullNotFound);
  EXPECT_EQ(at_end.ExtOr("nextBeginOffset", ""), "1");
  EXPECT_EQ(Pull(PullRequest("T1", 0, 5, psf::kSubscription)).code(),
            rc::kPullOffsetMoved);
}

TEST_F(PullMessageProcessorTest, CommitFlagCommitsTheConsumersOffset) {
  CreateTopic("T1", 1);
  Put("T1", 0, "x");
  RemotingCommand req = PullRequest("T1", 0, 0, psf::kSubscription | psf::kCommitOffset);
  req.SetExt("commitOffset", int64_t{1});
  ASSERT_EQ(Pull(std::move(req)).code(), rc::kSuccess);
  EXPECT_EQ(offsets_->Query("CG", "T1", 0), 1);
}

TEST_F(PullMessageProcessorTest, BadRequestsGetTheirCodes) {
  CreateTopic("T1", 2);
  RemotingCommand m = Pull(Request(req_code::kPullMessage,
                                   {{"consumerGroup", "CG"}, {"topic", "T1"}}));
  EXPECT_EQ(m.code(), rc::kSystemError);
  EXPECT_THAT(m.remark(), HasSubstr("queueId"));
  EXPECT_EQ(m.ExtOr("maxOffset", ""), "0");
  RemotingCommand unknown = Pull(PullRequest("Nope", 0, 0, psf::kSubscription));
  EXPECT_EQ(unknown.code(), rc::kTopicNotExist);
  RemotingCommand queue = Pull(PullRequest("T1", 2, 0, psf::kSubscription));
  EXPECT_EQ(queue.code(), rc::kInvalidParameter);
  EXPECT_THAT(queue.remark(), HasSubstr("readQueueNums"));
  RemotingCommand zero = PullRequest("T1", 0, 0, psf::kSubscription);
  zero.SetExt("maxMsgNums", 0);
  EXPECT_EQ(Pull(std::move(zero)).code(), rc::kInvalidParameter);
  RemotingCommand sql = PullRequest("T1", 0, 0, psf::kSubscription, "a > 1");
  sql.SetExt("expressionType", "SQL92");
  EXPECT_EQ(Pull(std::move(sql)).code(), rc::kSystemError);
  CreateTopic("WriteOnly", 1, 2);
  EXPECT_EQ(Pull(PullRequest("WriteOnly", 0, 0, psf::kSubscription)).code(),
            rc::kNoPermission);
  config_.broker_permission = remoting::kPermWrite;
  EXPECT_EQ(Pull(PullRequest("T1", 0, 0, psf::kSubscription)).code(),
            rc::kNoPermission);
}

TEST_F(PullMessageProcessorTest, ParkedPullIsAnsweredWhenAMessageArrives) {
  CreateTopic("TL", 1);
  RemotingCommand req =
      PullRequest("TL", 0, 0, psf::kSubscription | psf::kSuspend, "*", 60000);
  remoting::Responder r = answers_.For(req);
  processor_->ProcessRequest(std::move(req), std::move(r));
  EXPECT_EQ(answers_.count(), 0u);
  EXPECT_EQ(hold_->held_count(), 1u);
  Put("TL", 0, "wake");
  RemotingCommand resp = answers_.Wait(1);
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::vector<Record> recs = DecodeRecords(resp.body());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body, "wake");
  EXPECT_EQ(hold_->held_count(), 0u);
}

TEST_F(PullMessageProcessorTest, ParkedPullAnswersNotFoundAtItsDeadline) {
  CreateTopic("TL", 1);
  RemotingCommand req =
      PullRequest("TL", 0, 0, psf::kSubscription | psf::kSuspend, "*", 50);
  remoting::Responder r = answers_.For(req);
  processor_->ProcessRequest(std::move(req), std::move(r));
  RemotingCommand resp = answers_.Wait(1);
  EXPECT_EQ(resp.code(), rc::kPullNotFound);
  EXPECT_EQ(resp.ExtOr("nextBeginOffset", ""), "0");
}

// A group whose consumeEnable is off, or an unknown group when groups are not
// auto-created, is refused before anything is read (as RocketMQ answers).
TEST_F(PullMessageProcessorTest, PullChecksTheSubscriptionGroup) {
  CreateTopic("TG");
  Put("TG", 0, "g");
  SubscriptionGroupManager strict(&fs_, "/strict-groups", /*auto_create=*/false,
                                  16, SystemClock::Default());
  ASSERT_OK(strict.Load());
  PullMessageProcessor checked(context_, *store_, *topics_, *offsets_,
                               clients_, stats_, *hold_, &strict);
  RemotingCommand unknown =
      Call(checked, PullRequest("TG", 0, 0, psf::kSubscription));
  EXPECT_EQ(unknown.code(), rc::kSubscriptionGroupNotExist);
  EXPECT_THAT(unknown.remark(), HasSubstr("CG"));

  SubscriptionGroupConfig cg;
  cg.group_name = "CG";
  cg.consume_enable = false;
  ASSERT_OK(strict.Update(cg));
  RemotingCommand off = Call(checked, PullRequest("TG", 0, 0, psf::kSubscription));
  EXPECT_EQ(off.code(), rc::kNoPermission);
  EXPECT_THAT(off.remark(), HasSubstr("subscription group no permission"));

  cg.consume_enable = true;
  ASSERT_OK(strict.Update(cg));
  RemotingCommand on = Call(checked, PullRequest("TG", 0, 0, psf::kSubscription));
  ASSERT_EQ(on.code(), rc::kSuccess) << on.remark();
  EXPECT_EQ(DecodeRecords(on.body()).size(), 1u);
}

}  // namespace
}  // namespace thruster::broker
