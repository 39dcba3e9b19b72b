#include "broker/consumer_manage_processor.h"

#include <algorithm>

#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;

// Never called: the connections below are not started.
class IdleHandler : public remoting::ConnectionHandler {
 public:
  void OnRequest(const std::shared_ptr<remoting::Connection>&,
                 RemotingCommand&&) override {}
  void OnClose(const std::shared_ptr<remoting::Connection>&) override {}
  int32_t NextOpaque() override { return 1; }
};

class ConsumerManageProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<ConsumerManageProcessor>(context_, *store_,
                                                           clients_, *offsets_);
  }
  RemotingCommand Send(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext) {
    return Call(*processor_, Request(code, ext));
  }
  // Registers `client_id` in consumer group `group` on a connection that is
  // open but never started (no socket traffic).
  std::shared_ptr<remoting::Connection> Join(const std::string& client_id,
                                             const std::string& group) {
    auto conn = std::make_shared<remoting::Connection>(
        asio::ip::tcp::socket(asio::make_strand(io_)), &handler_,
        remoting::ConnectionOptions{});
    HeartbeatData hb;
    hb.client_id = client_id;
    ConsumerData cd;
    cd.group_name = group;
    cd.message_model = "CLUSTERING";
    hb.consumers.push_back(cd);
    ClientChannel channel;
    channel.client_id = client_id;
    channel.connection = conn;
    channel.connection_id = conn->id();
    clients_.Heartbeat(hb, channel);
    return conn;
  }

  asio::io_context io_;
  IdleHandler handler_;
  std::unique_ptr<ConsumerManageProcessor> processor_;
};

TEST_F(ConsumerManageProcessorTest, ConsumerListNamesTheLiveMembers) {
  auto c1 = Join("c1", "CG");
  auto c2 = Join("c2", "CG");
  RemotingCommand resp =
      Send(req_code::kGetConsumerListByGroup, {{"consumerGroup", "CG"}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  const remoting::json::Value body = Json(resp);
  const remoting::json::Value* ids = body.Find("consumerIdList");
  ASSERT_NE(ids, nullptr);
  ASSERT_EQ(ids->size(), 2u);
  std::vector<std::string> names{ids->at(0).text(), ids->at(1).text()};
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"c1", "c2"}));
  // A member whose connection is gone is not listed.
  c2.reset();
  RemotingCommand after =
      Send(req_code::kGetConsumerListByGroup, {{"consumerGroup", "CG"}});
  ASSERT_EQ(after.code(), rc::kSuccess);
  EXPECT_EQ(Json(after).Find("consumerIdList")->size(), 1u);
}

TEST_F(ConsumerManageProcessorTest, ConsumerListOfAnUnknownGroupFails) {
  RemotingCommand resp =
      Send(req_code::kGetConsumerListByGroup, {{"consumerGroup", "Nobody"}});
  EXPECT_EQ(resp.code(), rc::kSystemError);
  EXPECT_THAT(resp.remark(), HasSubstr("no consumer for this group, Nobody"));
  EXPECT_EQ(Send(req_code::kGetConsumerListByGroup, {}).code(),
            rc::kSystemError);
}

TEST_F(ConsumerManageProcessorTest, UpdatedOffsetIsQueriedBack) {
  RemotingCommand update =
      Send(req_code::kUpdateConsumerOffset, {{"consumerGroup", "CG"},
                                             {"topic", "T1"},
                                             {"queueId", "2"},
                                             {"commitOffset", "5"}});
  ASSERT_EQ(update.code(), rc::kSuccess) << update.remark();
  EXPECT_EQ(offsets_->Query("CG", "T1", 2), 5);
  RemotingCommand query =
      Send(req_code::kQueryConsumerOffset,
           {{"consumerGroup", "CG"}, {"topic", "T1"}, {"queueId", "2"}});
  ASSERT_EQ(query.code(), rc::kSuccess);
  EXPECT_EQ(query.ExtOr("offset", ""), "5");
}

TEST_F(ConsumerManageProcessorTest, NoOffsetOnAnEmptyQueueIsNotFound) {
  RemotingCommand resp =
      Send(req_code::kQueryConsumerOffset,
           {{"consumerGroup", "CG"}, {"topic", "T1"}, {"queueId", "0"}});
  EXPECT_EQ(resp.code(), rc::kQueryNotFound);
  EXPECT_THAT(resp.remark(), HasSubstr("Not found"));
}

TEST_F(ConsumerManageProcessorTest, YoungQueueIsReadFromZero) {
  Put("TY", 0, "first");
  RemotingCommand resp =
      Send(req_code::kQueryConsumerOffset,
           {{"consumerGroup", "CG"}, {"topic", "TY"}, {"queueId", "0"}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(resp.ExtOr("offset", ""), "0");
  RemotingCommand no_zero =
      Send(req_code::kQueryConsumerOffset, {{"consumerGroup", "CG"},
                                            {"topic", "TY"},
                                            {"queueId", "0"},
                                            {"setZeroIfNotFound", "false"}});
  EXPECT_EQ(no_zero.code(), rc::kQueryNotFound);
  config_.young_queue_offset_zero = false;
  EXPECT_EQ(Send(req_code::kQueryConsumerOffset,
                 {{"consumerGroup", "CG"}, {"topic", "TY"}, {"queueId", "0"}})
                .code(),
            rc::kQueryNotFound);
}

TEST_F(ConsumerManageProcessorTest, MissingFieldsAreSystemErrors) {
  RemotingCommand update =
      Send(req_code::kUpdateConsumerOffset,
           {{"consumerGroup", "CG"}, {"topic", "T1"}, {"queueId", "2"}});
  EXPECT_EQ(update.code(), rc::kSystemError);
  EXPECT_THAT(update.remark(), HasSubstr("commitOffset"));
  EXPECT_FALSE(offsets_->Query("CG", "T1", 2).has_value());
  RemotingCommand query = Send(req_code::kQueryConsumerOffset,
                               {{"consumerGroup", "CG"}, {"topic", "T1"}});
  EXPECT_EQ(query.code(), rc::kSystemError);
  EXPECT_THAT(query.remark(), HasSubstr("queueId"));
}

}  // namespace
}  // namespace thruster::broker
