#include "namesrv/name_server.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/crc32.h"
#include "remoting/codes.h"
#include "remoting/remoting_client.h"
#include "tests/support/test_util.h"

namespace thruster::namesrv {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace request_code = remoting::request_code;
namespace response_code = remoting::response_code;

class NameServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NameServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    options.clock = &clock_;
    options.scan_interval_ms = 20;
    server_ = std::make_unique<NameServer>(options);
    ASSERT_OK(server_->Start());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
    ASSERT_OK(client_.Start());
  }

  RemotingCommand RegisterRequest() {
    remoting::RegisterBrokerBody body;
    body.data_version = remoting::DataVersion{1, 0, clock_.NowMs()};
    for (const char* name : {"TopicTest", "TBW102"}) {
      remoting::TopicConfig t;
      t.topic_name = name;
      t.read_queue_nums = 4;
      t.write_queue_nums = 4;
      body.topic_configs.push_back(t);
    }
    std::string json = body.EncodeJson();
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kRegisterBroker);
    req.SetExt("brokerName", "broker-a");
    req.SetExt("brokerAddr", "127.0.0.1:10911");
    req.SetExt("clusterName", "DefaultCluster");
    req.SetExt("haServerAddr", "127.0.0.1:10912");
    req.SetExt("brokerId", int64_t{0});
    req.SetExtBool("compressed", false);
    req.SetExt("bodyCrc32", Crc32R(json));
    req.set_body(std::string_view(json));
    return req;
  }

  int32_t RouteCode(remoting::RemotingClient& client) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kGetRouteinfoByTopic);
    req.SetExt("topic", "TopicTest");
    Result<RemotingCommand> r = client.InvokeSync(addr_, req, 3000ms);
    return r.ok() ? r->code() : -1;
  }

  template <typename Pred>
  static bool Eventually(Pred pred) {
    for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(10ms);
    return pred();
  }

  ManualClock clock_;
  std::unique_ptr<NameServer> server_;
  remoting::RemotingClient client_;
  std::string addr_;
};

TEST_F(NameServerTest, RegisterOverTcpThenGetRoute) {
  ASSERT_OK_AND_ASSIGN(RemotingCommand resp,
                       client_.InvokeSync(addr_, RegisterRequest(), 3000ms));
  EXPECT_EQ(resp.code(), response_code::kSuccess);
  EXPECT_EQ(RouteCode(client_), response_code::kSuccess);
  RemotingCommand cluster =
      RemotingCommand::CreateRequest(request_code::kGetBrokerClusterInfo);
  ASSERT_OK_AND_ASSIGN(RemotingCommand info,
                       client_.InvokeSync(addr_, cluster, 3000ms));
  EXPECT_EQ(
      info.body_view(),
      R"({"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a",)"
      R"("cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}})");
}

TEST_F(NameServerTest, OnewayRegistrationIsApplied) {
  RemotingCommand req = RegisterRequest();
  ASSERT_OK(client_.InvokeOneway(addr_, req));
  EXPECT_TRUE(Eventually(
      [&] { return RouteCode(client_) == response_code::kSuccess; }));
}

TEST_F(NameServerTest, ClosingTheBrokerConnectionDropsItsRoutes) {
  remoting::RemotingClient broker;
  ASSERT_OK(broker.Start());
  ASSERT_OK_AND_ASSIGN(RemotingCommand resp,
                       broker.InvokeSync(addr_, RegisterRequest(), 3000ms));
  ASSERT_EQ(resp.code(), response_code::kSuccess);
  EXPECT_EQ(RouteCode(client_), response_code::kSuccess);
  broker.Stop();
  EXPECT_TRUE(Eventually(
      [&] { return RouteCode(client_) == response_code::kTopicNotExist; }));
}

TEST_F(NameServerTest, ExpiryThreadDropsSilentBrokers) {
  ASSERT_OK_AND_ASSIGN(RemotingCommand resp,
                       client_.InvokeSync(addr_, RegisterRequest(), 3000ms));
  ASSERT_EQ(resp.code(), response_code::kSuccess);
  clock_.Advance(60000);
  // Two full scans after the advance (the first may have begun before it).
  const int64_t scans = server_->ScansForTesting();
  ASSERT_TRUE(
      Eventually([&] { return server_->ScansForTesting() >= scans + 2; }));
  EXPECT_EQ(RouteCode(client_), response_code::kSuccess);
  clock_.Advance(61000);
  EXPECT_TRUE(Eventually(
      [&] { return RouteCode(client_) == response_code::kTopicNotExist; }));
}

}  // namespace
}  // namespace thruster::namesrv
