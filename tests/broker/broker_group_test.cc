// A master and its slave in one process, over real sockets (spec/ha.md §5,
// §6): consumer offsets committed on the slave reach the master, also when
// the master was away at the time; and the VIP channel (listenPort - 2)
// serves what the main port serves, except pulls.
#include <chrono>
#include <memory>
#include <string>

#include "broker/broker.h"
#include "namesrv/name_server.h"
#include "remoting/json.h"
#include "remoting/remoting_client.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

class BrokerGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(client_.Start());
    namesrv_ = std::make_unique<namesrv::NameServer>(
        testing::LoopbackNameServerOptions());
    ASSERT_OK(namesrv_->Start());
  }
  void TearDown() override {
    client_.Stop();
    if (slave_) slave_->Shutdown();
    if (master_) master_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }

  std::unique_ptr<Broker> MakeBroker(const std::string& name, bool slave,
                                     int listen_port = 0,
                                     bool vip_channel = true) {
    BrokerConfig bc = testing::LoopbackBrokerConfig(
        "127.0.0.1:" + std::to_string(namesrv_->port()));
    bc.listen_port = listen_port;
    bc.broker_name = "broker-g";
    bc.broker_id = slave ? 1 : 0;
    bc.vip_channel_enabled = vip_channel;
    store::MessageStoreConfig sc =
        testing::SmallDiskStoreConfig(dir_.path() + "/" + name);
    sc.broker_role =
        slave ? store::BrokerRole::kSlave : store::BrokerRole::kAsyncMaster;
    return std::make_unique<Broker>(bc, sc);
  }
  void StartGroup() {
    master_ = MakeBroker("master", false);
    ASSERT_OK(master_->Start());
    slave_ = MakeBroker("slave", true);
    ASSERT_OK(slave_->Start());
    // The slave learns its master from its registration answer.
    ASSERT_EQ(slave_->master_addr(), master_->broker_addr());
  }

  RemotingCommand Call(const std::string& addr, RemotingCommand req) {
    Result<RemotingCommand> resp = client_.InvokeSync(addr, std::move(req), 5s);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  int CommitOffset(const std::string& addr, int32_t queue_id, int64_t offset) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kUpdateConsumerOffset);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", "GroupTopic");
    req.SetExt("queueId", queue_id);
    req.SetExt("commitOffset", offset);
    return Call(addr, std::move(req)).code();
  }
  // The offset `addr` answers for CG on queue `queue_id`; -1 when it has none
  // or the call failed.
  int64_t QueryOffset(const std::string& addr, int32_t queue_id) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kQueryConsumerOffset);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", "GroupTopic");
    req.SetExt("queueId", queue_id);
    req.SetExtBool("setZeroIfNotFound", false);
    Result<RemotingCommand> resp = client_.InvokeSync(addr, std::move(req), 5s);
    if (!resp.ok() || resp->code() != rc::kSuccess) return -1;
    return resp->ExtInt64Or("offset", -1);
  }

  testing::TempDir dir_;
  remoting::RemotingClient client_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<Broker> master_;
  std::unique_ptr<Broker> slave_;
};

TEST_F(BrokerGroupTest, OffsetCommittedOnTheSlaveReachesTheMaster) {
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  ASSERT_EQ(CommitOffset(slave_->broker_addr(), 1, 42), rc::kSuccess);
  EXPECT_EQ(QueryOffset(slave_->broker_addr(), 1), 42);
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return QueryOffset(master_->broker_addr(), 1) == 42; }, 10s));
  // On the master the same processor stores commits as before.
  ASSERT_EQ(CommitOffset(master_->broker_addr(), 2, 7), rc::kSuccess);
  EXPECT_EQ(QueryOffset(master_->broker_addr(), 2), 7);
}

TEST_F(BrokerGroupTest, OffsetCommittedWhileTheMasterIsDownReachesItLater) {
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  const std::string master_addr = master_->broker_addr();
  const int master_port = master_->port();
  master_->Shutdown();
  master_.reset();
  // The consumers' route now has the slave only; they commit there.
  ASSERT_EQ(CommitOffset(slave_->broker_addr(), 3, 77), rc::kSuccess);
  EXPECT_EQ(QueryOffset(slave_->broker_addr(), 3), 77);

  // The master comes back at the same address, without that offset.
  master_ = MakeBroker("master", false, master_port);
  ASSERT_OK(master_->Start());
  ASSERT_EQ(master_->broker_addr(), master_addr);
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return QueryOffset(master_addr, 3) == 77; }, 10s));
}

// GET_BROKER_HA_STATUS (907) as RocketMQ 5.x's HARuntimeInfo.
TEST_F(BrokerGroupTest, HaStatusShowsTheSlaveOnBothSides) {
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  auto ha_status = [&](const std::string& addr) {
    RemotingCommand resp = Call(
        addr, RemotingCommand::CreateRequest(req_code::kGetBrokerHaStatus));
    EXPECT_EQ(resp.code(), rc::kSuccess) << resp.remark();
    Result<remoting::json::Value> v = remoting::json::Parse(resp.body_view());
    EXPECT_OK(v.status());
    return v.ok() ? std::move(v).value() : remoting::json::Value();
  };
  // The slave connects and reports its (empty) log's end.
  remoting::json::Value master;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        master = ha_status(master_->broker_addr());
        const remoting::json::Value* c = master.Find("haConnectionInfo");
        return c != nullptr && c->size() == 1 &&
               c->at(0).GetInt64("slaveAckOffset", -1) >= 0;
      },
      10s));
  EXPECT_EQ(master.GetBool("master"), true);
  EXPECT_EQ(master.GetInt64("masterCommitLogMaxOffset"),
            master_->store().GetMaxPhyOffset());
  EXPECT_EQ(master.GetInt64("inSyncSlaveNums"), 1);
  const remoting::json::Value& conn = master.Find("haConnectionInfo")->at(0);
  EXPECT_EQ(conn.GetInt64("diff"), master_->store().GetMaxPhyOffset() -
                                       conn.GetInt64("slaveAckOffset"));
  EXPECT_EQ(conn.GetBool("inSync"), true);

  remoting::json::Value slave = ha_status(slave_->broker_addr());
  EXPECT_EQ(slave.GetBool("master"), false);
  const remoting::json::Value* client = slave.Find("haClientRuntimeInfo");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->GetString("masterAddr"), master_->ha_server_addr());
  EXPECT_EQ(client->GetBool("isActivated"), true);
}

TEST_F(BrokerGroupTest, VipChannelServesRequestsButNotPulls) {
  master_ = MakeBroker("master", false);
  ASSERT_OK(master_->Start());
  ASSERT_NE(master_->vip_port(), 0);
  ASSERT_NE(master_->vip_port(), master_->port());
  const std::string vip = "127.0.0.1:" + std::to_string(master_->vip_port());

  // What a 4.9.8 slave asks its master's VIP port for (spec/ha.md §5).
  RemotingCommand topics =
      Call(vip, RemotingCommand::CreateRequest(req_code::kGetAllTopicConfig));
  ASSERT_EQ(topics.code(), rc::kSuccess) << topics.remark();
  std::string_view body(reinterpret_cast<const char*>(topics.body().data()),
                        topics.body().size());
  Result<remoting::json::Value> v = remoting::json::Parse(body);
  ASSERT_OK(v.status());
  const remoting::json::Value* table = v->Find("topicConfigTable");
  ASSERT_NE(table, nullptr);
  EXPECT_NE(table->Find("TBW102"), nullptr) << body;

  // An offset committed over the VIP port is the one the main port answers.
  ASSERT_EQ(CommitOffset(vip, 0, 5), rc::kSuccess);
  EXPECT_EQ(QueryOffset(master_->broker_addr(), 0), 5);

  RemotingCommand pull = RemotingCommand::CreateRequest(req_code::kPullMessage);
  pull.SetExt("consumerGroup", "CG");
  pull.SetExt("topic", "GroupTopic");
  pull.SetExt("queueId", 0);
  pull.SetExt("queueOffset", int64_t{0});
  pull.SetExt("maxMsgNums", 1);
  pull.SetExt("sysFlag", 0);
  pull.SetExt("commitOffset", int64_t{0});
  pull.SetExt("suspendTimeoutMillis", int64_t{0});
  EXPECT_EQ(Call(vip, std::move(pull)).code(), rc::kRequestCodeNotSupported);
}

TEST_F(BrokerGroupTest, VipChannelCanBeTurnedOff) {
  master_ = MakeBroker("master", false, 0, /*vip_channel=*/false);
  ASSERT_OK(master_->Start());
  EXPECT_EQ(master_->vip_port(), 0);
}

}  // namespace
}  // namespace thruster::broker
