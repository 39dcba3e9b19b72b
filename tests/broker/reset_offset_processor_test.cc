#include "broker/reset_offset_processor.h"

#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;
namespace json = remoting::json;

class ResetOffsetProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<ResetOffsetProcessor>(
        context_, *store_, *topics_, *offsets_, clients_);
    CreateTopic("TR", 2);
    // Queue 0: three messages; queue 1: one.
    for (const char* body : {"a", "b", "c"}) Put("TR", 0, body);
    Put("TR", 1, "d");
  }
  RemotingCommand Reset(
      int64_t timestamp, bool force,
      std::initializer_list<std::pair<std::string, std::string>> more = {}) {
    RemotingCommand req = Request(req_code::kInvokeBrokerToResetOffset,
                                  {{"topic", "TR"},
                                   {"group", "RG"},
                                   {"timestamp", std::to_string(timestamp)},
                                   {"isForce", force ? "true" : "false"}});
    for (const auto& [k, v] : more) req.SetExt(k, v);
    return Call(*processor_, std::move(req));
  }
  // The answer's {mq: offset} map by queue id.
  static std::map<int64_t, int64_t> Table(const RemotingCommand& resp) {
    std::map<int64_t, int64_t> out;
    const json::Value body = Json(resp);
    const json::Value* table = body.Find("offsetTable");
    EXPECT_NE(table, nullptr);
    if (table == nullptr) return out;
    for (size_t i = 0; i < table->size(); ++i) {
      EXPECT_EQ(table->key(i).GetString("topic"), "TR");
      EXPECT_EQ(table->key(i).GetString("brokerName"), "broker-t");
      out[table->key(i).GetInt64("queueId")] = *table->value(i).AsInt64();
    }
    return out;
  }

  std::unique_ptr<ResetOffsetProcessor> processor_;
};

TEST_F(ResetOffsetProcessorTest, RewindsToTheFirstMessageAtOrAfterTheTime) {
  offsets_->Commit("RG", "TR", 0, 3);
  offsets_->Commit("RG", "TR", 1, 1);
  // Before every message: back to each queue's first offset.
  RemotingCommand resp = Reset(1, false);
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(Table(resp), (std::map<int64_t, int64_t>{{0, 0}, {1, 0}}));
  EXPECT_EQ(offsets_->Query("RG", "TR", 0), 0);
  EXPECT_EQ(offsets_->Query("RG", "TR", 1), 0);
  // The second message's store time: queue 0 restarts there.
  const int64_t t1 = store_->GetMessageStoreTimestamp("TR", 0, 1);
  offsets_->Commit("RG", "TR", 0, 3);
  resp = Reset(t1, true);
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(Table(resp)[0], store_->GetOffsetInQueueByTime("TR", 0, t1));
  EXPECT_EQ(offsets_->Query("RG", "TR", 0),
            store_->GetOffsetInQueueByTime("TR", 0, t1));
}

TEST_F(ResetOffsetProcessorTest, WithoutForceOnlyRollsBack) {
  offsets_->Commit("RG", "TR", 0, 1);
  offsets_->Commit("RG", "TR", 1, 0);
  // -1: the end of each queue, ahead of both committed offsets.
  RemotingCommand resp = Reset(-1, false);
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(Table(resp), (std::map<int64_t, int64_t>{{0, 1}, {1, 0}}));
  resp = Reset(-1, true);
  EXPECT_EQ(Table(resp), (std::map<int64_t, int64_t>{{0, 3}, {1, 1}}));
  EXPECT_EQ(offsets_->Query("RG", "TR", 0), 3);
}

TEST_F(ResetOffsetProcessorTest, OneQueueToAFixedOffset) {
  offsets_->Commit("RG", "TR", 0, 3);
  offsets_->Commit("RG", "TR", 1, 1);
  RemotingCommand resp = Reset(0, true, {{"queueId", "0"}, {"offset", "2"}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(Table(resp), (std::map<int64_t, int64_t>{{0, 2}}));
  EXPECT_EQ(offsets_->Query("RG", "TR", 0), 2);
  EXPECT_EQ(offsets_->Query("RG", "TR", 1), 1);
  // Clamped into the queue.
  resp = Reset(0, true, {{"queueId", "0"}, {"offset", "99"}});
  EXPECT_EQ(Table(resp)[0], 3);
}

TEST_F(ResetOffsetProcessorTest, CppCallersGetTheListForm) {
  RemotingCommand req =
      Request(req_code::kInvokeBrokerToResetOffset, {{"topic", "TR"},
                                                     {"group", "RG"},
                                                     {"timestamp", "-1"},
                                                     {"isForce", "true"}});
  req.set_language(remoting::LanguageCode::kCpp);
  RemotingCommand resp = Call(*processor_, std::move(req));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  const json::Value body = Json(resp);
  const json::Value* list = body.Find("offsetTable");
  ASSERT_NE(list, nullptr);
  ASSERT_TRUE(list->is_array());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->at(0).GetInt64("offset"), 3);
  EXPECT_EQ(list->at(0).GetString("brokerName"), "broker-t");
}

TEST_F(ResetOffsetProcessorTest, BadRequestsAreRefused) {
  RemotingCommand unknown = Call(
      *processor_,
      Request(req_code::kInvokeBrokerToResetOffset, {{"topic", "NOPE"},
                                                     {"group", "RG"},
                                                     {"timestamp", "0"},
                                                     {"isForce", "true"}}));
  EXPECT_EQ(unknown.code(), rc::kSystemError);
  EXPECT_THAT(unknown.remark(), HasSubstr("no topic in this broker"));
  RemotingCommand no_time =
      Call(*processor_, Request(req_code::kInvokeBrokerToResetOffset,
                                {{"topic", "TR"}, {"group", "RG"}}));
  EXPECT_EQ(no_time.code(), rc::kSystemError);
  EXPECT_THAT(no_time.remark(), HasSubstr("timestamp"));
  RemotingCommand bad_offset = Reset(0, true, {{"offset", "x"}});
  EXPECT_EQ(bad_offset.code(), rc::kSystemError);
  EXPECT_FALSE(offsets_->Query("RG", "TR", 0).has_value());
}

}  // namespace
}  // namespace thruster::broker
