// Request-reply over real sockets: a requester registered by heartbeat gets
// PUSH_REPLY_MESSAGE_TO_CLIENT when a replier sends SEND_REPLY_MESSAGE(_V2)
// naming it in REPLY_TO_CLIENT; a clear error when it is gone or refuses.
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "broker/broker.h"
#include "message/properties.h"
#include "remoting/remoting_client.h"
#include "tests/broker/record_util.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
using ::testing::HasSubstr;

class ReplyNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Broker>(
        testing::LoopbackBrokerConfig("", 2),
        testing::SmallDiskStoreConfig(dir_.path() + "/store", 4 << 20));
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
    requester_.RegisterProcessor(
        req_code::kPushReplyMessageToClient,
        [this](RemotingCommand push, remoting::Responder r) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            pushes_.push_back(push);
          }
          r.Send(push.CreateResponse(push_answer_.load()));
        });
    ASSERT_OK(requester_.Start());
    ASSERT_OK(replier_.Start());
  }
  void TearDown() override {
    requester_.Stop();
    replier_.Stop();
    if (broker_) broker_->Shutdown();
  }

  void RegisterRequester(const std::string& client_id) {
    RemotingCommand hb = RemotingCommand::CreateRequest(req_code::kHeartBeat);
    hb.set_body(
        R"({"clientID":")" + client_id +
        R"(","consumerDataSet":[],"producerDataSet":[{"groupName":"RequestPG"}]})");
    Result<RemotingCommand> resp = requester_.InvokeSync(addr_, hb, 5000ms);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    ASSERT_EQ(resp->code(), rc::kSuccess);
  }

  RemotingCommand SendReply(const std::string& reply_to, std::string_view body,
                            bool v2 = true) {
    RemotingCommand req = RemotingCommand::CreateRequest(
        v2 ? req_code::kSendReplyMessageV2 : req_code::kSendReplyMessage);
    auto set = [&](const char* longname, const char* letter, auto value) {
      req.SetExt(v2 ? letter : longname, value);
    };
    set("producerGroup", "a", "ReplyPG");
    set("topic", "b", "DefaultCluster_REPLY_TOPIC");
    set("defaultTopic", "c", "TBW102");
    set("defaultTopicQueueNums", "d", 4);
    set("queueId", "e", 0);
    set("sysFlag", "f", 0);
    set("bornTimestamp", "g", int64_t{1700000000000});
    set("flag", "h", 0);
    set("properties", "i",
        Props({{"REPLY_TO_CLIENT", reply_to},
               {"CORRELATION_ID", "corr-1"},
               {"MSG_TYPE", "reply"},
               {"UNIQ_KEY", "UR1"}}));
    req.set_body(body);
    Result<RemotingCommand> resp = replier_.InvokeSync(addr_, req, 5000ms);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  std::vector<RemotingCommand> Pushes() {
    std::lock_guard<std::mutex> lock(mu_);
    return pushes_;
  }

  testing::TempDir dir_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
  remoting::RemotingClient requester_;
  remoting::RemotingClient replier_;
  std::atomic<int32_t> push_answer_{rc::kSuccess};
  std::mutex mu_;
  std::vector<RemotingCommand> pushes_;
};

TEST_F(ReplyNetTest, ReplyReachesTheRequestersConnection) {
  RegisterRequester("10.0.0.1@42#requester");
  for (bool v2 : {true, false}) {
    RemotingCommand resp =
        SendReply("10.0.0.1@42#requester", v2 ? "answer-v2" : "answer-v1", v2);
    ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
    EXPECT_FALSE(resp.ExtOr("msgId", "").empty());
  }
  std::vector<RemotingCommand> pushes = Pushes();
  ASSERT_EQ(pushes.size(), 2u);
  const RemotingCommand& push = pushes[0];
  EXPECT_EQ(push.code(), req_code::kPushReplyMessageToClient);
  EXPECT_EQ(push.body_view(), "answer-v2");
  EXPECT_EQ(pushes[1].body_view(), "answer-v1");
  EXPECT_EQ(push.ExtOr("topic", ""), "DefaultCluster_REPLY_TOPIC");
  EXPECT_EQ(push.ExtOr("producerGroup", ""), "ReplyPG");
  EXPECT_EQ(push.ExtOr("bornTimestamp", ""), "1700000000000");
  auto props = message::ParseProperties(push.ExtOr("properties", ""));
  EXPECT_EQ(props["CORRELATION_ID"], "corr-1");
  EXPECT_EQ(props["REPLY_TO_CLIENT"], "10.0.0.1@42#requester");
  EXPECT_FALSE(props["PUSH_REPLY_TIME"].empty());
  // The reply is stored in its topic too.
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  EXPECT_EQ(
      broker_->store().GetMaxOffsetInQueue("DefaultCluster_REPLY_TOPIC", 0), 2);
}

TEST_F(ReplyNetTest, UnknownOrGoneRequesterIsAClearError) {
  RemotingCommand unknown = SendReply("nobody@1#x", "lost");
  EXPECT_EQ(unknown.code(), rc::kSystemError);
  EXPECT_THAT(unknown.remark(), HasSubstr("nobody@1#x"));
  EXPECT_THAT(unknown.remark(), HasSubstr("not found"));

  RegisterRequester("10.0.0.1@42#gone");
  requester_.CloseConnection(addr_);
  // Once the broker saw the connection close, the requester is gone.
  ASSERT_TRUE(testing::WaitUntil([&] {
    return broker_->clients().FindConnectionByClientId("10.0.0.1@42#gone") ==
           nullptr;
  }));
  RemotingCommand gone = SendReply("10.0.0.1@42#gone", "late");
  EXPECT_EQ(gone.code(), rc::kSystemError);
  EXPECT_THAT(gone.remark(), HasSubstr("not found"));
  EXPECT_TRUE(Pushes().empty());
}

TEST_F(ReplyNetTest, RequesterRefusingThePushIsReported) {
  RegisterRequester("10.0.0.1@42#busy");
  push_answer_ = rc::kSystemBusy;
  RemotingCommand resp = SendReply("10.0.0.1@42#busy", "x");
  EXPECT_EQ(resp.code(), rc::kSystemError);
  EXPECT_THAT(resp.remark(), HasSubstr("answered code"));
  RemotingCommand missing = SendReply("", "x");
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("REPLY_TO_CLIENT"));
}

}  // namespace
}  // namespace thruster::broker
