#include "broker/admin_broker_processor.h"

#include "broker/schedule_message_service.h"
#include "store/delay_level_table.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;
namespace json = remoting::json;

class AdminBrokerProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<AdminBrokerProcessor>(
        context_, *store_, *topics_, *offsets_, clients_, locks_, stats_,
        *hold_);
  }
  RemotingCommand Send(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext,
      std::string_view body = {}) {
    return Call(*processor_, Request(code, ext, body));
  }
  RemotingCommand UpdateTopic(const std::string& topic, int queues = 4,
                              int perm = 6) {
    return Send(req_code::kUpdateAndCreateTopic,
                {{"topic", topic},
                 {"readQueueNums", std::to_string(queues)},
                 {"writeQueueNums", std::to_string(queues)},
                 {"perm", std::to_string(perm)},
                 {"order", "true"}});
  }

  std::unique_ptr<AdminBrokerProcessor> processor_;
};

TEST_F(AdminBrokerProcessorTest, UpdateAndCreateTopicStoresTheConfig) {
  RemotingCommand resp = UpdateTopic("TA", 3, 4);
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::optional<remoting::TopicConfig> tc = topics_->Find("TA");
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->read_queue_nums, 3);
  EXPECT_EQ(tc->write_queue_nums, 3);
  EXPECT_EQ(tc->perm, 4);
  EXPECT_TRUE(tc->order);
  EXPECT_EQ(registrations(), 1);
}

TEST_F(AdminBrokerProcessorTest, UpdateAndCreateTopicRefusesBadValues) {
  EXPECT_EQ(UpdateTopic("bad topic!").code(), rc::kInvalidParameter);
  EXPECT_EQ(UpdateTopic("TZ", 0).code(), rc::kInvalidParameter);
  EXPECT_EQ(UpdateTopic("TZ", 1025).code(), rc::kInvalidParameter);
  RemotingCommand perm = UpdateTopic("TZ", 1, 16);
  EXPECT_EQ(perm.code(), rc::kInvalidParameter);
  EXPECT_THAT(perm.remark(), HasSubstr("perm"));
  RemotingCommand reserved = UpdateTopic("TBW102");
  EXPECT_EQ(reserved.code(), rc::kInvalidParameter);
  EXPECT_THAT(reserved.remark(), HasSubstr("reserved"));
  RemotingCommand missing = Send(req_code::kUpdateAndCreateTopic, {});
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("topic"));
  EXPECT_FALSE(topics_->Find("TZ").has_value());
  EXPECT_EQ(registrations(), 0);
}

TEST_F(AdminBrokerProcessorTest, DeleteTopicDropsConfigQueuesAndOffsets) {
  ASSERT_EQ(UpdateTopic("TD", 1).code(), rc::kSuccess);
  Put("TD", 0, "x");
  offsets_->Commit("G", "TD", 0, 1);
  RemotingCommand resp =
      Send(req_code::kDeleteTopicInBroker, {{"topic", "TD"}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_FALSE(topics_->Find("TD").has_value());
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TD", 0), 0);
  EXPECT_FALSE(offsets_->Query("G", "TD", 0).has_value());
  EXPECT_EQ(registrations(), 2);
  // Deleting it again (or any unknown topic) succeeds, as in RocketMQ.
  EXPECT_EQ(Send(req_code::kDeleteTopicInBroker, {{"topic", "TD"}}).code(),
            rc::kSuccess);
}

TEST_F(AdminBrokerProcessorTest, SystemTopicsCannotBeDeleted) {
  for (const char* t :
       {"TBW102", "SELF_TEST_TOPIC", "TestCluster", "broker-t"}) {
    RemotingCommand resp = Send(req_code::kDeleteTopicInBroker, {{"topic", t}});
    EXPECT_EQ(resp.code(), rc::kInvalidParameter) << t;
    EXPECT_THAT(resp.remark(), HasSubstr("system topic"));
  }
  EXPECT_TRUE(topics_->Find("TBW102").has_value());
}

TEST_F(AdminBrokerProcessorTest, TopicConfigCalls) {
  ASSERT_EQ(UpdateTopic("TA", 3).code(), rc::kSuccess);
  RemotingCommand one = Send(req_code::kGetTopicConfig, {{"topic", "TA"}});
  ASSERT_EQ(one.code(), rc::kSuccess);
  EXPECT_EQ(Json(one).GetInt64("readQueueNums"), 3);
  EXPECT_EQ(Send(req_code::kGetTopicConfig, {{"topic", "Nope"}}).code(),
            rc::kTopicNotExist);
  EXPECT_EQ(Send(req_code::kGetTopicConfig, {}).code(), rc::kSystemError);
  RemotingCommand all = Send(req_code::kGetAllTopicConfig, {});
  ASSERT_EQ(all.code(), rc::kSuccess);
  const json::Value all_json = Json(all);
  const json::Value* table = all_json.Find("topicConfigTable");
  ASSERT_NE(table, nullptr);
  EXPECT_NE(table->Find("TA"), nullptr);
  EXPECT_NE(table->Find("TBW102"), nullptr);
  EXPECT_NE(all_json.Find("dataVersion"), nullptr);
}

TEST_F(AdminBrokerProcessorTest, QueueOffsetQueries) {
  Put("TO", 0, "m0");
  Put("TO", 0, "m1");
  auto offset = [&](int32_t code, const std::string& q) {
    return std::string(
        Send(code, {{"topic", "TO"}, {"queueId", q}}).ExtOr("offset", ""));
  };
  EXPECT_EQ(offset(req_code::kGetMaxOffset, "0"), "2");
  EXPECT_EQ(offset(req_code::kGetMinOffset, "0"), "0");
  EXPECT_EQ(offset(req_code::kGetMaxOffset, "1"), "0");
  const int64_t t0 = store_->GetMessageStoreTimestamp("TO", 0, 0);
  const int64_t t1 = store_->GetMessageStoreTimestamp("TO", 0, 1);
  auto by_time = [&](int64_t ts, const char* boundary) {
    RemotingCommand resp = Send(req_code::kSearchOffsetByTimestamp,
                                {{"topic", "TO"},
                                 {"queueId", "0"},
                                 {"timestamp", std::to_string(ts)},
                                 {"boundaryType", boundary}});
    return std::string(resp.ExtOr("offset", ""));
  };
  EXPECT_EQ(by_time(t1 + 100000, "LOWER"), "2");
  EXPECT_EQ(by_time(t0 - 100000, "lower"), "0");
  EXPECT_EQ(by_time(t1 + 100000, "upper"), "1");
  EXPECT_EQ(Send(req_code::kGetEarliestMsgStoretime,
                 {{"topic", "TO"}, {"queueId", "0"}})
                .ExtOr("timestamp", ""),
            std::to_string(t0));
  EXPECT_EQ(Send(req_code::kGetEarliestMsgStoretime,
                 {{"topic", "TO"}, {"queueId", "1"}})
                .ExtOr("timestamp", ""),
            "-1");
  for (int32_t code : {req_code::kGetMaxOffset, req_code::kGetMinOffset,
                       req_code::kGetEarliestMsgStoretime}) {
    RemotingCommand missing = Send(code, {{"topic", "TO"}});
    EXPECT_EQ(missing.code(), rc::kSystemError) << code;
    EXPECT_THAT(missing.remark(), HasSubstr("queueId"));
  }
  EXPECT_EQ(Send(req_code::kSearchOffsetByTimestamp,
                 {{"topic", "TO"}, {"queueId", "0"}})
                .code(),
            rc::kSystemError);
}

TEST_F(AdminBrokerProcessorTest, LockAndUnlockBatchMq) {
  const std::string body1 =
      R"({"clientId":"c1","consumerGroup":"OG","mqSet":[{"brokerName":"broker-t","queueId":0,"topic":"T"},)"
      R"({"brokerName":"broker-t","queueId":1,"topic":"T"}]})";
  const std::string body2 =
      R"({"clientId":"c2","consumerGroup":"OG","mqSet":[{"brokerName":"broker-t","queueId":1,"topic":"T"}]})";
  RemotingCommand l1 = Send(req_code::kLockBatchMq, {}, body1);
  ASSERT_EQ(l1.code(), rc::kSuccess);
  EXPECT_EQ(Json(l1).Find("lockOKMQSet")->size(), 2u);
  EXPECT_EQ(
      Json(Send(req_code::kLockBatchMq, {}, body2)).Find("lockOKMQSet")->size(),
      0u);
  EXPECT_EQ(Send(req_code::kUnlockBatchMq, {}, body1).code(), rc::kSuccess);
  RemotingCommand l2 = Send(req_code::kLockBatchMq, {}, body2);
  const json::Value l2_json = Json(l2);
  ASSERT_EQ(l2_json.Find("lockOKMQSet")->size(), 1u);
  EXPECT_EQ(l2_json.Find("lockOKMQSet")->at(0).GetInt64("queueId"), 1);
  EXPECT_EQ(l2_json.Find("lockOKMQSet")->at(0).GetString("topic"), "T");
  EXPECT_EQ(Send(req_code::kLockBatchMq, {}, "garbage").code(),
            rc::kSystemError);
  RemotingCommand no_client =
      Send(req_code::kUnlockBatchMq, {}, R"({"consumerGroup":"OG"})");
  EXPECT_EQ(no_client.code(), rc::kSystemError);
  EXPECT_THAT(no_client.remark(), HasSubstr("clientId"));
}

TEST_F(AdminBrokerProcessorTest, RuntimeInfoReportsTheCounters) {
  stats_.AddPut(3);
  RemotingCommand info = Send(req_code::kGetBrokerRuntimeInfo, {});
  ASSERT_EQ(info.code(), rc::kSuccess);
  const json::Value info_json = Json(info);
  const json::Value* kv = info_json.Find("table");
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->GetString("brokerVersionDesc"), "V4_9_8");
  EXPECT_EQ(kv->GetString("msgPutTotalTodayNow"), "3");
  EXPECT_EQ(kv->GetString("bootTimestamp"), "1700000000000");
  EXPECT_EQ(kv->GetString("pullHoldCount"), "0");
  EXPECT_FALSE(kv->GetString("putTps").empty());
  EXPECT_FALSE(kv->GetString("commitLogMaxOffset").empty());
}

TEST_F(AdminBrokerProcessorTest, TopicAndConsumeStats) {
  ASSERT_EQ(UpdateTopic("TS", 2).code(), rc::kSuccess);
  for (int i = 0; i < 3; ++i) Put("TS", 1, "s");
  RemotingCommand ts = Send(req_code::kGetTopicStatsInfo, {{"topic", "TS"}});
  ASSERT_EQ(ts.code(), rc::kSuccess);
  json::Value v = Json(ts);
  const json::Value* table = v.Find("offsetTable");
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->size(), 2u);
  EXPECT_TRUE(table->key(1).is_object());  // MessageQueue object keys (§4.1)
  EXPECT_EQ(table->key(1).GetString("brokerName"), "broker-t");
  EXPECT_EQ(table->key(1).GetInt64("queueId"), 1);
  EXPECT_EQ(table->value(1).GetInt64("maxOffset"), 3);
  EXPECT_GT(table->value(1).GetInt64("lastUpdateTimestamp"), 0);
  EXPECT_GT(v.Find("topicPutTps")->AsDouble().value_or(0), 0.0);
  EXPECT_EQ(Send(req_code::kGetTopicStatsInfo, {{"topic", "Nope"}}).code(),
            rc::kTopicNotExist);

  offsets_->Commit("SG", "TS", 1, 2);
  offsets_->SetPullOffset("SG", "TS", 1, 3);
  RemotingCommand cs =
      Send(req_code::kGetConsumeStats, {{"consumerGroup", "SG"}});
  ASSERT_EQ(cs.code(), rc::kSuccess);
  json::Value c = Json(cs);
  const json::Value* offsets = c.Find("offsetTable");
  ASSERT_NE(offsets, nullptr);
  ASSERT_EQ(offsets->size(), 2u);
  EXPECT_EQ(offsets->value(1).GetInt64("brokerOffset"), 3);
  EXPECT_EQ(offsets->value(1).GetInt64("consumerOffset"), 2);
  EXPECT_EQ(offsets->value(1).GetInt64("pullOffset"), 3);
  EXPECT_NE(c.Find("consumeTps"), nullptr);
  EXPECT_EQ(Send(req_code::kGetConsumeStats, {}).code(), rc::kSystemError);
}

TEST_F(AdminBrokerProcessorTest, ConsumerConnectionsAndWhoConsumesATopic) {
  RemotingCommand offline =
      Send(req_code::kGetConsumerConnectionList, {{"consumerGroup", "CG"}});
  EXPECT_EQ(offline.code(), rc::kConsumerNotOnline);
  EXPECT_THAT(offline.remark(), HasSubstr("not online"));
  ASSERT_OK_AND_ASSIGN(
      HeartbeatData hb,
      HeartbeatData::Parse(
          R"({"clientID":"c1","consumerDataSet":[{"groupName":"CG",)"
          R"("consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",)"
          R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",)"
          R"("subscriptionDataSet":[{"topic":"T1","subString":"*"}]}]})"));
  ClientChannel channel;
  channel.client_id = "c1";
  channel.language = "JAVA";
  clients_.Heartbeat(hb, channel);
  RemotingCommand online =
      Send(req_code::kGetConsumerConnectionList, {{"consumerGroup", "CG"}});
  ASSERT_EQ(online.code(), rc::kSuccess) << online.remark();
  const json::Value conns = Json(online);
  EXPECT_EQ(conns.GetString("messageModel"), "CLUSTERING");
  ASSERT_EQ(conns.Find("connectionSet")->size(), 1u);
  EXPECT_EQ(conns.Find("connectionSet")->at(0).GetString("clientId"), "c1");

  offsets_->Commit("OffsetOnly", "T1", 0, 1);
  offsets_->Commit("CG", "T1", 0, 1);
  RemotingCommand who =
      Send(req_code::kQueryTopicConsumeByWho, {{"topic", "T1"}});
  ASSERT_EQ(who.code(), rc::kSuccess);
  const json::Value who_json = Json(who);
  const json::Value* groups = who_json.Find("groupList");
  ASSERT_NE(groups, nullptr);
  std::vector<std::string> names;
  for (size_t i = 0; i < groups->size(); ++i)
    names.push_back(groups->at(i).text());
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("CG", "OffsetOnly"));
  EXPECT_EQ(Send(req_code::kQueryTopicConsumeByWho, {}).code(),
            rc::kSystemError);
}

}  // namespace
}  // namespace thruster::broker

namespace thruster::broker {
namespace {

// The keys RocketMQ 4.9.8's mqadmin clusterList and brokerStatus read from the
// runtime-info table, each parsed the way the Java tool parses it.
TEST_F(AdminBrokerProcessorTest, RuntimeInfoAnswersEveryKeyMqadminReads) {
  CreateTopic("TE", 1);
  Put("TE", 0, "first");
  Put("TE", 0, "second");
  RemotingCommand info = Send(req_code::kGetBrokerRuntimeInfo, {});
  ASSERT_EQ(info.code(), rc::kSuccess);
  const json::Value info_json = Json(info);
  const json::Value* kv = info_json.Find("table");
  ASSERT_NE(kv, nullptr);
  for (const char* key : {"putTps",
                          "getTransferedTps",
                          "sendThreadPoolQueueSize",
                          "pullThreadPoolQueueSize",
                          "sendThreadPoolQueueHeadWaitTimeMills",
                          "pullThreadPoolQueueHeadWaitTimeMills",
                          "pageCacheLockTimeMills",
                          "earliestMessageTimeStamp",
                          "msgPutTotalYesterdayMorning",
                          "msgPutTotalTodayMorning",
                          "msgPutTotalTodayNow",
                          "msgGetTotalYesterdayMorning",
                          "msgGetTotalTodayMorning",
                          "msgGetTotalTodayNow",
                          "dispatchBehindBytes",
                          "startAcceptSendRequestTimeStamp",
                          "brokerActive",
                          "bootTimestamp",
                          "runtime",
                          "remainHowManyDataToFlush",
                          "commitLogMinOffset",
                          "commitLogMaxOffset"}) {
    EXPECT_NE(kv->Find(key), nullptr) << key;
  }
  // Doubles before the first space (clusterList: split(" ")[0]).
  for (const char* key : {"putTps", "getTransferedTps"}) {
    const std::string v = kv->GetString(key);
    EXPECT_NO_THROW((void)std::stod(v.substr(0, v.find(' ')))) << key;
    EXPECT_EQ(std::count(v.begin(), v.end(), ' '), 2) << key << ": " << v;
  }
  for (const char* key :
       {"msgPutTotalYesterdayMorning", "msgPutTotalTodayMorning",
        "msgGetTotalYesterdayMorning", "msgGetTotalTodayMorning",
        "sendThreadPoolQueueSize", "pullThreadPoolQueueSize",
        "pageCacheLockTimeMills", "dispatchBehindBytes"}) {
    EXPECT_NO_THROW((void)std::stoll(kv->GetString(key))) << key;
  }
  // The CommitLog's first message, not a queue of the self-test topic.
  EXPECT_EQ(kv->GetString("earliestMessageTimeStamp"),
            std::to_string(store_->GetMessageStoreTimestamp("TE", 0, 0)));
  EXPECT_NE(kv->GetString("earliestMessageTimeStamp"), "-1");
  EXPECT_EQ(kv->GetString("pageCacheLockTimeMills"), "0");
  EXPECT_EQ(kv->GetString("runtime").front(), '[');
}

TEST_F(AdminBrokerProcessorTest, RuntimeInfoSaysMinusOneWithoutMessages) {
  RemotingCommand info = Send(req_code::kGetBrokerRuntimeInfo, {});
  const json::Value info_json = Json(info);
  const json::Value* kv = info_json.Find("table");
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->GetString("earliestMessageTimeStamp"), "-1");
}

TEST(RuntimeInfoFormatTest, RuntimeAndByteCountsAsRocketMQWritesThem) {
  EXPECT_EQ(FormatRuntime(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000 + 999),
            "[ 2 days, 3 hours, 4 minutes, 5 seconds ]");
  EXPECT_EQ(HumanReadableByteCount(0), "0 B");
  EXPECT_EQ(HumanReadableByteCount(1023), "1023 B");
  EXPECT_EQ(HumanReadableByteCount(1536), "1.5 KiB");
  EXPECT_EQ(HumanReadableByteCount(int64_t{3} << 30), "3.0 GiB");
}

// Local midnight of the day `ms` falls in, plus `hours`.
int64_t LocalMidnightPlus(int64_t ms, int hours) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm local {};
  localtime_r(&t, &local);
  local.tm_hour = hours;
  local.tm_min = local.tm_sec = 0;
  local.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&local)) * 1000;
}

TEST(BrokerStatsDayMarksTest, MidnightMovesTodaysMorningToYesterday) {
  BrokerStats stats;
  const int64_t day1 = LocalMidnightPlus(1700000000000, 10);
  stats.AddPut(5);
  stats.Sample(day1);
  EXPECT_EQ(stats.day_marks().put_today_morning, 5);
  stats.AddPut(7);
  stats.AddGet(2);
  stats.Sample(day1 + 3600 * 1000);  // same day: marks unchanged
  EXPECT_EQ(stats.day_marks().put_today_morning, 5);
  const int64_t day2 = LocalMidnightPlus(day1 + 24 * 3600 * 1000, 0) + 1000;
  stats.Sample(day2);
  BrokerStats::DayMarks m = stats.day_marks();
  EXPECT_EQ(m.put_yesterday_morning, 5);
  EXPECT_EQ(m.put_today_morning, 12);
  EXPECT_EQ(m.get_yesterday_morning, 0);
  EXPECT_EQ(m.get_today_morning, 2);
}

// mqadmin producerConnection: the producers a heartbeat registered, by group.
TEST_F(AdminBrokerProcessorTest, ProducerConnectionsByGroup) {
  RemotingCommand unknown =
      Send(req_code::kGetProducerConnectionList, {{"producerGroup", "PG"}});
  EXPECT_EQ(unknown.code(), rc::kSystemError);
  EXPECT_THAT(unknown.remark(), HasSubstr("not exist"));
  ASSERT_OK_AND_ASSIGN(
      HeartbeatData hb,
      HeartbeatData::Parse(R"({"clientID":"p1","consumerDataSet":[],)"
                           R"("producerDataSet":[{"groupName":"PG"}]})"));
  ClientChannel channel;
  channel.client_id = "p1";
  channel.connection_id = 7;
  channel.remote_address = "10.0.0.5:40000";
  channel.language = "CPP";
  channel.version = 399;
  clients_.Heartbeat(hb, channel);
  RemotingCommand resp =
      Send(req_code::kGetProducerConnectionList, {{"producerGroup", "PG"}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  const json::Value body = Json(resp);
  const json::Value* set = body.Find("connectionSet");
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ(set->at(0).GetString("clientId"), "p1");
  EXPECT_EQ(set->at(0).GetString("clientAddr"), "10.0.0.5:40000");
  EXPECT_EQ(set->at(0).GetString("language"), "CPP");
  EXPECT_EQ(set->at(0).GetInt64("version"), 399);
  EXPECT_EQ(Send(req_code::kGetProducerConnectionList, {}).code(),
            rc::kSystemError);
  clients_.OnConnectionClosed(7);
  EXPECT_EQ(
      Send(req_code::kGetProducerConnectionList, {{"producerGroup", "PG"}})
          .code(),
      rc::kSystemError);
}

TEST_F(AdminBrokerProcessorTest,
       CleanExpiredConsumeQueueRemovesQueuesWhoseMessagesAreGone) {
  CreateTopic("TOld", 2);
  CreateTopic("TNew", 1);
  for (int i = 0; i < 3; ++i) Put("TOld", 0, "old");
  Put("TOld", 1, "old");
  // Nothing has expired yet: every queue stays.
  RemotingCommand none = Send(req_code::kCleanExpiredConsumequeue, {});
  ASSERT_EQ(none.code(), rc::kSuccess) << none.remark();
  ASSERT_NE(Json(none).Find("removed"), nullptr);
  EXPECT_EQ(Json(none).Find("removed")->size(), 0u);
  EXPECT_EQ(store_->ListQueues().size(), 2u);

  // Fill the first 1 MiB CommitLog segment with TNew, then let a full disk
  // make the cleaner delete it: TOld's messages are gone, its queues remain.
  const std::string big(60 * 1024, 'b');
  while (store_->GetMaxPhyOffset() < (1 << 20) + 4096) Put("TNew", 0, big);
  fs_.SetDiskUsage({100, 5, 5});
  store_->CleanNowForTesting();
  fs_.SetDiskUsage({100, 50, 50});
  store_->CleanNowForTesting();  // writable again
  ASSERT_EQ(store_->GetMinPhyOffset(), 1 << 20);
  ASSERT_EQ(store_->ListQueues().size(), 3u);

  RemotingCommand resp = Send(req_code::kCleanExpiredConsumequeue, {});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  json::Value body = Json(resp);
  EXPECT_EQ(body.GetInt64("minCommitLogOffset"), 1 << 20);
  const json::Value* removed = body.Find("removed");
  ASSERT_NE(removed, nullptr);
  ASSERT_EQ(removed->size(), 2u);
  for (size_t i = 0; i < removed->size(); ++i) {
    EXPECT_EQ(removed->at(i).GetString("topic"), "TOld");
    EXPECT_EQ(removed->at(i).GetInt64("queueId"), static_cast<int64_t>(i));
    EXPECT_LE(removed->at(i).GetInt64("maxPhysicOffset"), 1 << 20);
  }
  // TNew still has messages past the min offset and keeps its queue.
  ASSERT_EQ(store_->ListQueues().size(), 1u);
  EXPECT_EQ(store_->ListQueues()[0].first, "TNew");
  EXPECT_GT(store_->GetMaxOffsetInQueue("TNew", 0), 0);
  // TOld's queue 0 starts over at queue offset 0.
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TOld", 0), 0);
  Put("TOld", 0, "again");
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TOld", 0), 1);
}

TEST_F(AdminBrokerProcessorTest, RuntimeInfoHasRocketMqsWholeTable) {
  // Level 3's saved offset; Load() clamps it into queue 2 of the schedule
  // topic, which holds one parked message.
  Put(std::string(store::kScheduleTopic), 2, "parked");
  ASSERT_OK(fs_.CreateDirs(store_config_.ConfigDir()));
  ASSERT_OK(fs_.WriteFile(store_config_.ConfigDir() + "/delayOffset.json",
                          R"({"offsetTable":{3:1}})"));
  ScheduleMessageService schedule(*store_, &fs_, store_config_.ConfigDir(),
                                  SystemClock::Default());
  ASSERT_OK(schedule.Load());
  processor_->set_schedule(&schedule);
  RemotingCommand info = Send(req_code::kGetBrokerRuntimeInfo, {});
  ASSERT_EQ(info.code(), rc::kSuccess);
  const json::Value info_json = Json(info);
  const json::Value* kv = info_json.Find("table");
  ASSERT_NE(kv, nullptr);
  for (const char* key :
       {"putMessageEntireTimeMax", "putMessageTimesTotal",
        "putMessageSizeTotal", "putMessageDistributeTime",
        "putMessageAverageSize", "dispatchMaxBuffer", "getMessageEntireTimeMax",
        "getFoundTps", "getMissTps", "getTotalTps", "sendThreadPoolQueueCapacity",
        "pullThreadPoolQueueCapacity", "queryThreadPoolQueueSize",
        "queryThreadPoolQueueCapacity", "queryThreadPoolQueueHeadWaitTimeMills",
        "EndTransactionQueueSize", "EndTransactionThreadPoolQueueCapacity",
        "remainTransientStoreBufferNumbs", "commitLogDirCapacity",
        "consumeQueueDiskRatio", "commitLogDiskRatio", "brokerVersion"}) {
    EXPECT_NE(kv->Find(key), nullptr) << key;
  }
  for (const char* key : {"getFoundTps", "getMissTps", "getTotalTps"}) {
    const std::string v = kv->GetString(key);
    EXPECT_EQ(std::count(v.begin(), v.end(), ' '), 2) << key << ": " << v;
  }
  EXPECT_THAT(kv->GetString("putMessageDistributeTime"),
              ::testing::StartsWith("[<=0ms]:0 [0~10ms]:0 "));
  EXPECT_THAT(kv->GetString("commitLogDirCapacity"),
              ::testing::MatchesRegex("Total : .*, Free : .*\\."));
  EXPECT_EQ(kv->GetString("remainTransientStoreBufferNumbs"), "2147483647");
  EXPECT_EQ(kv->GetString("sendThreadPoolQueueCapacity"), "10000");
  // "delivered offset,max offset" of the level's queue.
  EXPECT_EQ(kv->GetString("scheduleMessageOffset_3"), "1,1");
  processor_->set_schedule(nullptr);
}

}  // namespace
}  // namespace thruster::broker
