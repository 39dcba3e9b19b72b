#include "broker/client_manage_processor.h"

#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;

std::string Heartbeat(const std::string& client_id, const std::string& group,
                      const std::string& topic, const std::string& sub) {
  return R"({"clientID":")" + client_id +
         R"(","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",)" +
         R"("consumeType":"CONSUME_PASSIVELY","groupName":")" + group +
         R"(","messageModel":"CLUSTERING","subscriptionDataSet":[{"subString":")" +
         sub + R"(","subVersion":1,"topic":")" + topic +
         R"("}]}],"producerDataSet":[{"groupName":"PG"}]})";
}

class ClientManageProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ =
        std::make_unique<ClientManageProcessor>(context_, clients_, *topics_);
  }
  RemotingCommand Send(RemotingCommand req) {
    return Call(*processor_, std::move(req));
  }

  std::unique_ptr<ClientManageProcessor> processor_;
};

TEST_F(ClientManageProcessorTest, HeartbeatRegistersTheGroupsAndTheRetryTopic) {
  RemotingCommand resp = Send(
      Request(req_code::kHeartBeat, {}, Heartbeat("c1", "CG", "T1", "A || B")));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(clients_.consumer_count(), 1u);
  EXPECT_EQ(clients_.producer_count(), 1u);
  std::optional<SubscriptionData> sub = clients_.FindSubscription("CG", "T1");
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->tags, (std::vector<std::string>{"A", "B"}));
  std::optional<remoting::TopicConfig> retry = topics_->Find("%RETRY%CG");
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->read_queue_nums, 1);
  EXPECT_EQ(registrations(), 1);
  std::optional<remoting::json::Value> conns =
      clients_.ConsumerConnectionJson("CG");
  ASSERT_TRUE(conns.has_value());
  EXPECT_EQ(conns->GetString("consumeType"), "CONSUME_PASSIVELY");
  // The retry topic exists now: a second heartbeat asks for no registration.
  ASSERT_EQ(Send(Request(req_code::kHeartBeat, {},
                         Heartbeat("c1", "CG", "T1", "A || B")))
                .code(),
            rc::kSuccess);
  EXPECT_EQ(registrations(), 1);
}

TEST_F(ClientManageProcessorTest, UnparsableHeartbeatIsSystemError) {
  RemotingCommand resp = Send(Request(req_code::kHeartBeat, {}, "not json"));
  EXPECT_EQ(resp.code(), rc::kSystemError);
  EXPECT_FALSE(resp.remark().empty());
  EXPECT_EQ(clients_.consumer_count(), 0u);
}

TEST_F(ClientManageProcessorTest, UnregisterRemovesTheClientFromItsGroup) {
  ASSERT_EQ(
      Send(Request(req_code::kHeartBeat, {}, Heartbeat("c1", "CG", "T1", "*")))
          .code(),
      rc::kSuccess);
  ASSERT_EQ(clients_.consumer_count(), 1u);
  RemotingCommand resp =
      Send(Request(req_code::kUnregisterClient,
                   {{"clientID", "c1"}, {"consumerGroup", "CG"}}));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(clients_.consumer_count(), 0u);
  EXPECT_FALSE(clients_.ConsumerConnectionJson("CG").has_value());
}

TEST_F(ClientManageProcessorTest, UnregisterWithoutClientIdIsSystemError) {
  RemotingCommand resp =
      Send(Request(req_code::kUnregisterClient, {{"consumerGroup", "CG"}}));
  EXPECT_EQ(resp.code(), rc::kSystemError);
  EXPECT_THAT(resp.remark(), HasSubstr("clientID"));
}

}  // namespace
}  // namespace thruster::broker
