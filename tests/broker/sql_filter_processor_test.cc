// SQL92 property filtering over the protocol: PULL_MESSAGE with an SQL92
// subscription (in the request, or registered by HEART_BEAT) returns exactly
// the matching messages; bad expressions and a disabled filter get RocketMQ's
// answers, also from CHECK_CLIENT_CONFIG.
#include "broker/check_client_config_processor.h"
#include "broker/pull_message_processor.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

namespace psf = remoting::pull_sys_flag;

using ::testing::HasSubstr;


class SqlFilterProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    config_.enable_property_filter = true;
    ProcessorTest::SetUp();
    pull_ = std::make_unique<PullMessageProcessor>(
        context_, *store_, *topics_, *offsets_, clients_, stats_, *hold_);
    check_ = std::make_unique<CheckClientConfigProcessor>(context_);
    CreateTopic("TS", 1);
    // body i has a = i, color red for even i, and b only for i >= 5.
    for (int i = 0; i < 10; ++i) {
      std::map<std::string, std::string, std::less<>> props{
          {"TAGS", "TagA"},
          {"a", std::to_string(i)},
          {"color", i % 2 == 0 ? "red" : "blue"}};
      if (i >= 5) props["b"] = "x";
      PutWith("TS", std::to_string(i), props);
    }
  }

  void PutWith(const std::string& topic, const std::string& body,
               const std::map<std::string, std::string, std::less<>>& props) {
    const std::string p = message::EncodeProperties(props);
    message::MessageToStore m;
    m.topic = topic;
    m.body = AsBytes(body);
    m.properties = p;
    m.born_timestamp = 1700000000000;
    m.store_host = store_host_;
    ASSERT_TRUE(store_->PutMessage(m).ok());
    ASSERT_TRUE(store_->WaitForDispatch(5000));
  }

  RemotingCommand PullRequest(const std::string& sql, int32_t sys_flag,
                              int64_t offset = 0,
                              const std::string& type = "SQL92") {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", "TS");
    req.SetExt("queueId", 0);
    req.SetExt("queueOffset", offset);
    req.SetExt("maxMsgNums", 32);
    req.SetExt("sysFlag", sys_flag);
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", int64_t{0});
    req.SetExt("subscription", sql);
    req.SetExt("expressionType", type);
    req.SetExt("subVersion", int64_t{0});
    return req;
  }
  // The bodies a pull with `sql` in the request returns.
  std::vector<std::string> Bodies(const std::string& sql) {
    RemotingCommand resp = Call(*pull_, PullRequest(sql, psf::kSubscription));
    EXPECT_EQ(resp.code(), rc::kSuccess) << sql << ": " << resp.remark();
    std::vector<std::string> out;
    for (const Record& r : DecodeRecords(resp.body())) out.push_back(r.body);
    return out;
  }
  RemotingCommand CheckClientConfig(const std::string& type,
                                    const std::string& sql) {
    const std::string body =
        R"({"clientId":"c1","group":"CG","subscriptionData":{"topic":"TS","subString":")" +
        sql + R"(","expressionType":")" + type + R"(","subVersion":1}})";
    return Call(*check_, Request(req_code::kCheckClientConfig, {}, body));
  }

  std::unique_ptr<PullMessageProcessor> pull_;
  std::unique_ptr<CheckClientConfigProcessor> check_;
};

using Strings = std::vector<std::string>;

TEST_F(SqlFilterProcessorTest, PullReturnsExactlyTheMatchingMessages) {
  EXPECT_EQ(Bodies("a > 6"), (Strings{"7", "8", "9"}));
  EXPECT_EQ(Bodies("a BETWEEN 2 AND 4 AND color = 'red'"), (Strings{"2", "4"}));
  EXPECT_EQ(Bodies("color IN ('blue') OR a = 0"),
            (Strings{"0", "1", "3", "5", "7", "9"}));
  EXPECT_EQ(Bodies("b IS NULL AND NOT (a < 3)"), (Strings{"3", "4"}));
  EXPECT_EQ(Bodies("b IS NOT NULL"), (Strings{"5", "6", "7", "8", "9"}));
  EXPECT_EQ(Bodies("b = 'x' AND a <> 5"), (Strings{"6", "7", "8", "9"}));
  EXPECT_EQ(Bodies("TRUE").size(), 10u);
}

TEST_F(SqlFilterProcessorTest, NothingMatchingMovesTheOffsetOn) {
  RemotingCommand resp = Call(*pull_, PullRequest("a > 100", psf::kSubscription));
  EXPECT_EQ(resp.code(), rc::kPullRetryImmediately);
  EXPECT_EQ(resp.ExtOr("nextBeginOffset", ""), "10");
  // From the middle: only what follows and matches.
  RemotingCommand mid =
      Call(*pull_, PullRequest("color = 'red'", psf::kSubscription, 5));
  ASSERT_EQ(mid.code(), rc::kSuccess);
  std::vector<Record> recs = DecodeRecords(mid.body());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].body, "6");
  EXPECT_EQ(recs[1].queue_offset, 8);
}

TEST_F(SqlFilterProcessorTest, BadExpressionIsSubscriptionParseFailed) {
  RemotingCommand resp = Call(*pull_, PullRequest("a > ", psf::kSubscription));
  EXPECT_EQ(resp.code(), rc::kSubscriptionParseFailed);
  EXPECT_THAT(resp.remark(), HasSubstr("\"a >\""));
  RemotingCommand str = Call(*pull_, PullRequest("a > 'x'", psf::kSubscription));
  EXPECT_EQ(str.code(), rc::kSubscriptionParseFailed);
  EXPECT_THAT(str.remark(), HasSubstr("cannot be compared"));
}

TEST_F(SqlFilterProcessorTest, HeartbeatRegisteredSubscriptionFiltersPulls) {
  Result<HeartbeatData> hb = HeartbeatData::Parse(
      R"({"clientID":"c1","consumerDataSet":[{"groupName":"CG","consumeType":"CONSUME_PASSIVELY",)"
      R"("messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",)"
      R"("subscriptionDataSet":[{"topic":"TS","subString":"a >= 8","expressionType":"SQL92","subVersion":1}]}],)"
      R"("producerDataSet":[]})");
  ASSERT_OK(hb.status());
  clients_.Heartbeat(*hb,
                     ClientChannel{"c1", {}, 1, "127.0.0.1:1", "JAVA", 0, 0});
  RemotingCommand resp = Call(*pull_, PullRequest("", 0));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::vector<Record> recs = DecodeRecords(resp.body());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].body, "8");
  EXPECT_EQ(recs[1].body, "9");
}

TEST_F(SqlFilterProcessorTest, DisabledPropertyFilterIsASystemError) {
  config_.enable_property_filter = false;
  RemotingCommand resp = Call(*pull_, PullRequest("a > 1", psf::kSubscription));
  EXPECT_EQ(resp.code(), rc::kSystemError);
  EXPECT_THAT(
      resp.remark(),
      HasSubstr("does not support consumer to filter message by SQL92"));
  RemotingCommand check = CheckClientConfig("SQL92", "a > 1");
  EXPECT_EQ(check.code(), rc::kSystemError);
  EXPECT_THAT(check.remark(), HasSubstr("SQL92"));
  EXPECT_EQ(CheckClientConfig("TAG", "*").code(), rc::kSuccess);
}

TEST_F(SqlFilterProcessorTest, CheckClientConfigCompilesTheExpression) {
  EXPECT_EQ(CheckClientConfig("SQL92", "a > 1 AND color = 'red'").code(),
            rc::kSuccess);
  RemotingCommand bad = CheckClientConfig("SQL92", "a >");
  EXPECT_EQ(bad.code(), rc::kSubscriptionParseFailed);
  EXPECT_THAT(bad.remark(), HasSubstr("expected a property or a value"));
  EXPECT_EQ(CheckClientConfig("TAG", "TagA").code(), rc::kSuccess);
  EXPECT_EQ(
      Call(*check_, Request(req_code::kCheckClientConfig, {}, "nope")).code(),
      rc::kSystemError);
}

}  // namespace
}  // namespace thruster::broker
