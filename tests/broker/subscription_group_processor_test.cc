#include "broker/subscription_group_processor.h"

#include "broker/send_message_processor.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;
namespace json = remoting::json;

class SubscriptionGroupProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    groups_ = std::make_unique<SubscriptionGroupManager>(
        &fs_, store_config_.ConfigDir(), /*auto_create=*/true,
        /*retry_max_times=*/16, SystemClock::Default());
    ASSERT_OK(groups_->Load());
    processor_ =
        std::make_unique<SubscriptionGroupProcessor>(*groups_, *offsets_);
  }
  RemotingCommand UpdateGroup(std::string_view body) {
    return Call(*processor_,
                Request(req_code::kUpdateAndCreateSubscriptionGroup, {}, body));
  }
  json::Value AllGroups() {
    RemotingCommand resp = Call(
        *processor_, Request(req_code::kGetAllSubscriptionGroupConfig, {}));
    EXPECT_EQ(resp.code(), rc::kSuccess);
    return Json(resp);
  }

  std::unique_ptr<SubscriptionGroupManager> groups_;
  std::unique_ptr<SubscriptionGroupProcessor> processor_;
};

TEST_F(SubscriptionGroupProcessorTest, UpdateCreatesTheGroupAndPersistsIt) {
  // The body mqadmin updateSubGroup sends (SubscriptionGroupConfig, fastjson).
  RemotingCommand resp = UpdateGroup(
      R"({"brokerId":0,"consumeBroadcastEnable":false,"consumeEnable":false,)"
      R"("consumeFromMinEnable":false,"groupName":"G1",)"
      R"("notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,)"
      R"("retryQueueNums":2,"whichBrokerWhenConsumeSlowly":1})");
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();

  const json::Value all = AllGroups();
  const json::Value* table = all.Find("subscriptionGroupTable");
  ASSERT_NE(table, nullptr);
  const json::Value* g1 = table->Find("G1");
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ(g1->GetInt64("retryMaxTimes"), 3);
  EXPECT_EQ(g1->GetInt64("retryQueueNums"), 2);
  EXPECT_FALSE(g1->GetBool("consumeEnable", true));
  EXPECT_NE(table->Find("TOOLS_CONSUMER"), nullptr);  // a system group
  EXPECT_NE(all.Find("dataVersion"), nullptr);

  // config/subscriptionGroup.json, in RocketMQ's layout, read back by a new
  // manager.
  Result<std::string> text =
      fs_.ReadFile("/store/config/subscriptionGroup.json");
  ASSERT_OK(text.status());
  Result<json::Value> file = json::Parse(*text);
  ASSERT_OK(file.status());
  const json::Value* ftable = file->Find("subscriptionGroupTable");
  ASSERT_NE(ftable, nullptr);
  ASSERT_NE(ftable->Find("G1"), nullptr);
  EXPECT_EQ(ftable->Find("G1")->GetString("groupName"), "G1");
  SubscriptionGroupManager reloaded(&fs_, store_config_.ConfigDir(), true, 16,
                                    SystemClock::Default());
  ASSERT_OK(reloaded.Load());
  std::optional<SubscriptionGroupConfig> g = reloaded.Find("G1");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->retry_max_times, 3);
  EXPECT_EQ(g->retry_queue_nums, 2);
  EXPECT_FALSE(g->consume_broadcast_enable);
}

TEST_F(SubscriptionGroupProcessorTest, BadBodiesAreRefused) {
  RemotingCommand not_json = UpdateGroup("groupName=G");
  EXPECT_EQ(not_json.code(), rc::kSystemError);
  EXPECT_THAT(not_json.remark(), HasSubstr("SubscriptionGroupConfig"));
  RemotingCommand bad_name = UpdateGroup(R"({"groupName":"bad group"})");
  EXPECT_EQ(bad_name.code(), rc::kInvalidParameter);
  RemotingCommand no_name = UpdateGroup(R"({"retryMaxTimes":3})");
  EXPECT_EQ(no_name.code(), rc::kInvalidParameter);
  EXPECT_THAT(no_name.remark(), HasSubstr("empty"));
  RemotingCommand queues =
      UpdateGroup(R"({"groupName":"G","retryQueueNums":5000})");
  EXPECT_EQ(queues.code(), rc::kInvalidParameter);
  EXPECT_FALSE(groups_->Find("G").has_value());
}

TEST_F(SubscriptionGroupProcessorTest, DeleteDropsTheGroupAndOnRequestOffsets) {
  ASSERT_EQ(UpdateGroup(R"({"groupName":"GA"})").code(), rc::kSuccess);
  ASSERT_EQ(UpdateGroup(R"({"groupName":"GB"})").code(), rc::kSuccess);
  offsets_->Commit("GA", "T", 0, 5);
  offsets_->Commit("GB", "T", 0, 7);
  RemotingCommand keep = Call(
      *processor_, Request(req_code::kDeleteSubscriptionGroup,
                           {{"groupName", "GA"}, {"removeOffset", "false"}}));
  ASSERT_EQ(keep.code(), rc::kSuccess) << keep.remark();
  EXPECT_FALSE(groups_->Find("GA").has_value());
  EXPECT_EQ(offsets_->Query("GA", "T", 0), 5);
  RemotingCommand drop = Call(
      *processor_, Request(req_code::kDeleteSubscriptionGroup,
                           {{"groupName", "GB"}, {"removeOffset", "true"}}));
  ASSERT_EQ(drop.code(), rc::kSuccess) << drop.remark();
  EXPECT_FALSE(groups_->Find("GB").has_value());
  EXPECT_FALSE(offsets_->Query("GB", "T", 0).has_value());
  EXPECT_EQ(AllGroups().Find("subscriptionGroupTable")->Find("GB"), nullptr);
  // Unknown groups delete fine; a missing name is an error.
  EXPECT_EQ(Call(*processor_, Request(req_code::kDeleteSubscriptionGroup,
                                      {{"groupName", "nobody"}}))
                .code(),
            rc::kSuccess);
  EXPECT_EQ(
      Call(*processor_, Request(req_code::kDeleteSubscriptionGroup, {})).code(),
      rc::kSystemError);
}

TEST_F(SubscriptionGroupProcessorTest, SendBackUsesTheGroupsRetrySettings) {
  SendMessageProcessor send(context_, *store_, *topics_, stats_, groups_.get());
  ASSERT_EQ(UpdateGroup(R"({"groupName":"G0","retryMaxTimes":0})").code(),
            rc::kSuccess);
  ASSERT_EQ(UpdateGroup(R"({"groupName":"G3","retryQueueNums":3})").code(),
            rc::kSuccess);
  CreateTopic("TS", 1);
  const int64_t phys = Put("TS", 0, "fails");
  auto send_back = [&](const std::string& group) {
    // An old client: no maxReconsumeTimes, so the group's retryMaxTimes rules.
    return Call(send, Request(req_code::kConsumerSendMsgBack,
                              {{"offset", std::to_string(phys)},
                               {"group", group},
                               {"delayLevel", "0"}}));
  };
  ASSERT_EQ(send_back("G0").code(), rc::kSuccess);
  ASSERT_EQ(send_back("G3").code(), rc::kSuccess);
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("%DLQ%G0", 0), 1);
  EXPECT_FALSE(topics_->Find("%RETRY%G0").has_value());
  std::optional<remoting::TopicConfig> retry = topics_->Find("%RETRY%G3");
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->write_queue_nums, 3);
}

TEST_F(SubscriptionGroupProcessorTest,
       UnknownGroupsWithoutAutoCreateAreRefused) {
  SubscriptionGroupManager strict(&fs_, "/strict", /*auto_create=*/false, 16,
                                  SystemClock::Default());
  ASSERT_OK(strict.Load());
  SendMessageProcessor send(context_, *store_, *topics_, stats_, &strict);
  CreateTopic("TS", 1);
  const int64_t phys = Put("TS", 0, "fails");
  RemotingCommand resp =
      Call(send, Request(req_code::kConsumerSendMsgBack,
                         {{"offset", std::to_string(phys)}, {"group", "GX"}}));
  EXPECT_EQ(resp.code(), rc::kSubscriptionGroupNotExist);
  EXPECT_TRUE(strict.FindOrAutoCreate("TOOLS_CONSUMER").has_value());
}

}  // namespace
}  // namespace thruster::broker
