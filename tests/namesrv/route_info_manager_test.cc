#include "namesrv/route_info_manager.h"

#include <gtest/gtest.h>

#include "common/crc32.h"
#include "namesrv/name_server.h"
#include "remoting/codes.h"
#include "remoting/frame_codec.h"
#include "tests/remoting/wire_fixture.h"
#include "tests/support/test_util.h"

namespace thruster::namesrv {
namespace {

using remoting::RemotingCommand;
namespace request_code = remoting::request_code;
namespace response_code = remoting::response_code;

RemotingCommand DecodeBytes(const std::string& bytes) {
  Result<RemotingCommand> r = remoting::DecodeFrame(testing::Bytes(bytes));
  TH_CHECK(r.ok(), "decode: {}", r.status().ToString());
  return std::move(r).value();
}

remoting::RegisterBrokerBody Body(
    int64_t counter, std::vector<std::pair<std::string, int32_t>> topics) {
  remoting::RegisterBrokerBody body;
  body.data_version =
      remoting::DataVersion{counter, 0, 1700000000000 + counter};
  for (auto& [name, queues] : topics) {
    remoting::TopicConfig t;
    t.topic_name = name;
    t.read_queue_nums = queues;
    t.write_queue_nums = queues;
    body.topic_configs.push_back(t);
  }
  return body;
}

class NameServerLogicTest : public ::testing::Test {
 protected:
  RemotingCommand RegisterRequest(const std::string& body, bool compressed,
                                  int64_t broker_id = 0,
                                  const std::string& addr = "127.0.0.1:10911") {
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kRegisterBroker);
    req.SetExt("brokerName", "broker-a");
    req.SetExt("brokerAddr", addr);
    req.SetExt("clusterName", "DefaultCluster");
    req.SetExt("haServerAddr", "127.0.0.1:10912");
    req.SetExt("brokerId", broker_id);
    req.SetExtBool("compressed", compressed);
    req.SetExt("bodyCrc32", Crc32R(body));
    req.set_body(std::string_view(body));
    return req;
  }
  RemotingCommand Register(const remoting::RegisterBrokerBody& body,
                           int64_t broker_id = 0,
                           const std::string& addr = "127.0.0.1:10911") {
    return Process(RegisterRequest(body.EncodeJson(), false, broker_id, addr));
  }
  RemotingCommand Route(const std::string& topic, int32_t version = 409) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kGetRouteinfoByTopic);
    req.set_version(version);
    req.SetExt("topic", topic);
    return Process(req);
  }
  RemotingCommand Process(const RemotingCommand& req, uint64_t conn = 0) {
    return ProcessNameServerRequest(routes_, req, conn);
  }

  ManualClock clock_;
  RouteInfoManager routes_{&clock_};
};

TEST_F(NameServerLogicTest, ReplayedRegistrationServesTheCapturedRoutes) {
  // The real broker's first full registration, then its single-topic
  // registration of the test topic.
  RemotingCommand reg = DecodeBytes(testing::WireFrameBytes(0));
  EXPECT_EQ(Process(reg).code(), response_code::kSuccess);
  EXPECT_EQ(Process(DecodeBytes(testing::WireFrameBytes(5))).code(),
            response_code::kSuccess);

  // ali-ons (version 121) asks for the route: RocketMQ's answer, byte for byte.
  RemotingCommand alions_req = DecodeBytes(testing::ReadFileBytes(
      testing::WireFixturePath("namesrv-105-alions.req.bin")));
  RemotingCommand alions_expected = DecodeBytes(testing::ReadFileBytes(
      testing::WireFixturePath("namesrv-105-alions.resp.bin")));
  RemotingCommand alions_resp = Process(alions_req);
  EXPECT_EQ(alions_resp.code(), alions_expected.code());
  EXPECT_EQ(alions_resp.opaque(), alions_req.opaque());
  EXPECT_EQ(alions_resp.flag(), alions_expected.flag());
  EXPECT_EQ(alions_resp.body_view(), alions_expected.body_view());

  // The cluster listing, byte for byte too.
  RemotingCommand cluster_req = DecodeBytes(testing::ReadFileBytes(
      testing::WireFixturePath("namesrv-106-alions.req.bin")));
  RemotingCommand cluster_expected = DecodeBytes(testing::ReadFileBytes(
      testing::WireFixturePath("namesrv-106-alions.resp.bin")));
  RemotingCommand cluster_resp = Process(cluster_req);
  EXPECT_EQ(cluster_resp.code(), response_code::kSuccess);
  EXPECT_EQ(cluster_resp.body_view(), cluster_expected.body_view());

  // The C++ client's topic came in a later single-topic registration.
  RemotingCommand cpp_req = DecodeBytes(testing::ReadFileBytes(
      testing::WireFixturePath("namesrv-105-cpp.req.bin")));
  EXPECT_EQ(Process(cpp_req).code(), response_code::kTopicNotExist);
  EXPECT_EQ(Process(DecodeBytes(testing::WireFrameBytes(1075))).code(),
            response_code::kSuccess);
  RemotingCommand cpp_expected = DecodeBytes(testing::ReadFileBytes(
      testing::WireFixturePath("namesrv-105-cpp.resp.bin")));
  RemotingCommand cpp_resp = Process(cpp_req);
  EXPECT_EQ(cpp_resp.code(), response_code::kSuccess);
  EXPECT_EQ(cpp_resp.body_view(), cpp_expected.body_view());

  // And a %RETRY% topic nobody registered yet: TOPIC_NOT_EXIST, like frame 117.
  RemotingCommand missing = Route("%RETRY%ACC_ALIONS_mwugh31x_G1", 121);
  EXPECT_EQ(missing.code(), response_code::kTopicNotExist);
  EXPECT_NE(missing.remark().find("No topic route info in name server for the "
                                  "topic: %RETRY%ACC_ALIONS_mwugh31x_G1"),
            std::string::npos);
}

TEST_F(NameServerLogicTest, RegisterThenGetRouteInfo) {
  RemotingCommand resp = Register(Body(1, {{"TopicTest", 4}, {"TBW102", 8}}));
  EXPECT_EQ(resp.code(), response_code::kSuccess);
  EXPECT_TRUE(resp.IsResponse());

  RemotingCommand route = Route("TopicTest");
  ASSERT_EQ(route.code(), response_code::kSuccess);
  ASSERT_OK_AND_ASSIGN(remoting::TopicRouteData data,
                       remoting::TopicRouteData::Parse(route.body_view()));
  ASSERT_EQ(data.queue_datas.size(), 1u);
  EXPECT_EQ(data.queue_datas[0].broker_name, "broker-a");
  EXPECT_EQ(data.queue_datas[0].read_queue_nums, 4);
  EXPECT_EQ(data.queue_datas[0].perm, 6);
  ASSERT_EQ(data.broker_datas.size(), 1u);
  EXPECT_EQ(data.broker_datas[0].broker_addrs.at(0), "127.0.0.1:10911");
  EXPECT_EQ(data.broker_datas[0].cluster, "DefaultCluster");
  // Old clients get bare numeric keys, 4.9.4+ clients and
  // acceptStandardJsonOnly get standard JSON (§3.5.3).
  EXPECT_NE(
      Route("TopicTest", 333).body_view().find(R"({0:"127.0.0.1:10911"})"),
      std::string_view::npos);
  EXPECT_NE(route.body_view().find(R"({"0":"127.0.0.1:10911"})"),
            std::string_view::npos);  // version 409
  EXPECT_NE(
      Route("TopicTest", 401).body_view().find(R"({"0":"127.0.0.1:10911"})"),
      std::string_view::npos);
  RemotingCommand std_req =
      RemotingCommand::CreateRequest(request_code::kGetRouteinfoByTopic);
  std_req.set_version(333);
  std_req.SetExt("topic", "TopicTest");
  std_req.SetExtBool("acceptStandardJsonOnly", true);
  EXPECT_NE(Process(std_req).body_view().find(R"("0":)"),
            std::string_view::npos);

  EXPECT_EQ(Route("Nope").code(), response_code::kTopicNotExist);

  RemotingCommand list = Process(RemotingCommand::CreateRequest(
      request_code::kGetAllTopicListFromNameserver));
  ASSERT_EQ(list.code(), response_code::kSuccess);
  ASSERT_OK_AND_ASSIGN(remoting::TopicList topics,
                       remoting::TopicList::Parse(list.body_view()));
  EXPECT_THAT(topics.topic_list,
              ::testing::UnorderedElementsAre("TopicTest", "TBW102"));
}

TEST_F(NameServerLogicTest, CompressedRegisterBody) {
  ASSERT_OK_AND_ASSIGN(
      std::string z, Body(1, {{"Zipped", 2}, {"Other", 3}}).EncodeCompressed());
  EXPECT_EQ(Process(RegisterRequest(z, /*compressed=*/true)).code(),
            response_code::kSuccess);
  RemotingCommand route = Route("Zipped");
  ASSERT_EQ(route.code(), response_code::kSuccess);
  ASSERT_OK_AND_ASSIGN(remoting::TopicRouteData data,
                       remoting::TopicRouteData::Parse(route.body_view()));
  ASSERT_EQ(data.queue_datas.size(), 1u);
  EXPECT_EQ(data.queue_datas[0].write_queue_nums, 2);
  EXPECT_EQ(Route("Other").code(), response_code::kSuccess);
}

TEST_F(NameServerLogicTest, BadCrcIsRejected) {
  RemotingCommand req =
      RegisterRequest(Body(1, {{"T", 1}, {"U", 1}}).EncodeJson(), false);
  req.SetExt("bodyCrc32", int64_t{12345});
  RemotingCommand resp = Process(req);
  EXPECT_EQ(resp.code(), response_code::kSystemError);
  EXPECT_EQ(resp.remark(), "crc32 not match");
  EXPECT_EQ(Route("T").code(), response_code::kTopicNotExist);
  // bodyCrc32 = 0 means "not checked".
  req.SetExt("bodyCrc32", int64_t{0});
  EXPECT_EQ(Process(req).code(), response_code::kSuccess);
}

TEST_F(NameServerLogicTest, MissingHeaderFieldIsSystemError) {
  RemotingCommand req =
      RegisterRequest(Body(1, {{"T", 1}, {"U", 1}}).EncodeJson(), false);
  req.mutable_ext_fields().erase("brokerAddr");
  RemotingCommand resp = Process(req);
  EXPECT_EQ(resp.code(), response_code::kSystemError);
  EXPECT_NE(resp.remark().find("brokerAddr"), std::string::npos);
  RemotingCommand garbage = RegisterRequest("{not json", false);
  EXPECT_EQ(Process(garbage).code(), response_code::kSystemError);
}

TEST_F(NameServerLogicTest, SingleTopicFirstRegistrationIsRefused) {
  EXPECT_EQ(Register(Body(1, {{"Only", 1}})).code(),
            response_code::kSystemError);
  EXPECT_EQ(Route("Only").code(), response_code::kTopicNotExist);
  EXPECT_EQ(Register(Body(1, {{"A", 1}, {"B", 1}})).code(),
            response_code::kSuccess);
  EXPECT_EQ(Register(Body(2, {{"Only", 1}})).code(), response_code::kSuccess);
  EXPECT_EQ(Route("Only").code(), response_code::kSuccess);
  // A registration merges: earlier topics stay.
  EXPECT_EQ(Route("A").code(), response_code::kSuccess);
}

TEST_F(NameServerLogicTest, QueueCountsChangeOnlyWithANewDataVersion) {
  ASSERT_EQ(Register(Body(1, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  ASSERT_EQ(Register(Body(1, {{"T", 8}, {"U", 1}})).code(),
            response_code::kSuccess);  // same version: ignored
  ASSERT_OK_AND_ASSIGN(auto same,
                       remoting::TopicRouteData::Parse(Route("T").body_view()));
  EXPECT_EQ(same.queue_datas[0].read_queue_nums, 4);
  ASSERT_EQ(Register(Body(2, {{"T", 8}, {"U", 1}})).code(),
            response_code::kSuccess);
  ASSERT_OK_AND_ASSIGN(auto changed,
                       remoting::TopicRouteData::Parse(Route("T").body_view()));
  EXPECT_EQ(changed.queue_datas[0].read_queue_nums, 8);
}

TEST_F(NameServerLogicTest, SlaveLearnsItsMaster) {
  ASSERT_EQ(Register(Body(1, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  RemotingCommand slave =
      Register(Body(1, {{"T", 4}, {"U", 1}}), 1, "127.0.0.1:10921");
  EXPECT_EQ(slave.code(), response_code::kSuccess);
  EXPECT_EQ(slave.ExtOr("masterAddr", ""), "127.0.0.1:10911");
  EXPECT_EQ(slave.ExtOr("haServerAddr", ""), "127.0.0.1:10912");
  ASSERT_OK_AND_ASSIGN(auto route,
                       remoting::TopicRouteData::Parse(Route("T").body_view()));
  ASSERT_EQ(route.broker_datas.size(), 1u);
  EXPECT_EQ(route.broker_datas[0].broker_addrs.size(), 2u);
}

TEST_F(NameServerLogicTest, BrokersSilentFor120SecondsExpire) {
  ASSERT_EQ(Register(Body(1, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  clock_.Advance(119000);
  EXPECT_EQ(routes_.ScanNotActiveBrokers(), 0u);
  EXPECT_EQ(Route("T").code(), response_code::kSuccess);
  // A re-registration restarts the clock.
  ASSERT_EQ(Register(Body(1, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  clock_.Advance(119000);
  EXPECT_EQ(routes_.ScanNotActiveBrokers(), 0u);
  clock_.Advance(2000);
  EXPECT_EQ(routes_.ScanNotActiveBrokers(), 1u);
  EXPECT_EQ(Route("T").code(), response_code::kTopicNotExist);
  ASSERT_OK_AND_ASSIGN(auto info,
                       remoting::ClusterInfo::Parse(
                           Process(RemotingCommand::CreateRequest(
                                       request_code::kGetBrokerClusterInfo))
                               .body_view()));
  EXPECT_TRUE(info.broker_addr_table.empty());
  EXPECT_TRUE(info.cluster_addr_table.empty());
}

TEST_F(NameServerLogicTest, UnregisterRemovesTheBrokerAndItsTopics) {
  ASSERT_EQ(Register(Body(1, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  RemotingCommand req =
      RemotingCommand::CreateRequest(request_code::kUnregisterBroker);
  req.SetExt("brokerName", "broker-a");
  req.SetExt("brokerAddr", "127.0.0.1:10911");
  req.SetExt("clusterName", "DefaultCluster");
  req.SetExt("brokerId", int64_t{0});
  EXPECT_EQ(Process(req).code(), response_code::kSuccess);
  EXPECT_EQ(Route("T").code(), response_code::kTopicNotExist);
  ASSERT_OK_AND_ASSIGN(
      auto topics,
      remoting::TopicList::Parse(
          Process(RemotingCommand::CreateRequest(
                      request_code::kGetAllTopicListFromNameserver))
              .body_view()));
  EXPECT_TRUE(topics.topic_list.empty());
}

TEST_F(NameServerLogicTest, DeleteTopicForgetsOnlyThatTopic) {
  ASSERT_EQ(Register(Body(1, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  auto del = [&](const std::string& topic, const std::string& cluster) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kDeleteTopicInNamesrv);
    req.SetExt("topic", topic);
    if (!cluster.empty()) req.SetExt("clusterName", cluster);
    return Process(req).code();
  };
  // Another cluster's delete leaves this cluster's queues alone.
  EXPECT_EQ(del("T", "OtherCluster"), response_code::kSuccess);
  EXPECT_EQ(Route("T").code(), response_code::kSuccess);
  EXPECT_EQ(del("T", "DefaultCluster"), response_code::kSuccess);
  EXPECT_EQ(Route("T").code(), response_code::kTopicNotExist);
  EXPECT_EQ(Route("U").code(), response_code::kSuccess);
  EXPECT_EQ(del("U", ""), response_code::kSuccess);
  EXPECT_EQ(Route("U").code(), response_code::kTopicNotExist);
  EXPECT_EQ(del("never-existed", ""), response_code::kSuccess);
  RemotingCommand no_topic =
      RemotingCommand::CreateRequest(request_code::kDeleteTopicInNamesrv);
  EXPECT_EQ(Process(no_topic).code(), response_code::kSystemError);
}

TEST_F(NameServerLogicTest, ConnectionCloseDropsItsBrokers) {
  RemotingCommand req =
      RegisterRequest(Body(1, {{"T", 4}, {"U", 1}}).EncodeJson(), false);
  ASSERT_EQ(Process(req, /*conn=*/42).code(), response_code::kSuccess);
  EXPECT_EQ(routes_.OnConnectionClosed(7), 0u);
  EXPECT_EQ(Route("T").code(), response_code::kSuccess);
  EXPECT_EQ(routes_.OnConnectionClosed(42), 1u);
  EXPECT_EQ(Route("T").code(), response_code::kTopicNotExist);
}

TEST_F(NameServerLogicTest, QueryDataVersionReportsChanges) {
  ASSERT_EQ(Register(Body(3, {{"T", 4}, {"U", 1}})).code(),
            response_code::kSuccess);
  RemotingCommand q =
      RemotingCommand::CreateRequest(request_code::kQueryDataVersion);
  q.SetExt("brokerName", "broker-a");
  q.SetExt("brokerAddr", "127.0.0.1:10911");
  q.SetExt("clusterName", "DefaultCluster");
  q.SetExt("brokerId", int64_t{0});
  q.set_body(remoting::json::Write(Body(3, {}).data_version.ToJson()));
  RemotingCommand same = Process(q);
  EXPECT_EQ(same.code(), response_code::kSuccess);
  EXPECT_EQ(same.ExtOr("changed", ""), "false");
  q.set_body(remoting::json::Write(Body(4, {}).data_version.ToJson()));
  EXPECT_EQ(Process(q).ExtOr("changed", ""), "true");
}

TEST_F(NameServerLogicTest, UnimplementedCodeIsNotSupported) {
  RemotingCommand resp =
      Process(RemotingCommand::CreateRequest(request_code::kPutKvConfig));
  EXPECT_EQ(resp.code(), response_code::kRequestCodeNotSupported);
}

// mqadmin wipeWritePerm / addWritePerm: the broker's queues turn read-only in
// every route, then writable again.
TEST_F(NameServerLogicTest, WipeAndAddWritePermOfBroker) {
  ASSERT_EQ(Register(Body(1, {{"T1", 4}, {"T2", 2}})).code(),
            response_code::kSuccess);
  auto perm_of = [&](const std::string& topic) {
    std::optional<remoting::TopicRouteData> route =
        routes_.GetTopicRoute(topic);
    EXPECT_TRUE(route.has_value());
    return route ? route->queue_datas.at(0).perm : -1;
  };
  ASSERT_EQ(perm_of("T1"), 6);
  RemotingCommand wipe =
      RemotingCommand::CreateRequest(request_code::kWipeWritePermOfBroker);
  wipe.SetExt("brokerName", "broker-a");
  RemotingCommand resp = Process(wipe);
  ASSERT_EQ(resp.code(), response_code::kSuccess) << resp.remark();
  EXPECT_EQ(resp.ExtOr("wipeTopicCount", ""), "2");
  EXPECT_EQ(perm_of("T1"), 4);
  EXPECT_EQ(perm_of("T2"), 4);
  RemotingCommand add =
      RemotingCommand::CreateRequest(request_code::kAddWritePermOfBroker);
  add.SetExt("brokerName", "broker-a");
  resp = Process(add);
  ASSERT_EQ(resp.code(), response_code::kSuccess) << resp.remark();
  EXPECT_EQ(resp.ExtOr("addTopicCount", ""), "2");
  EXPECT_EQ(perm_of("T1"), 6);
  // An unknown broker changes nothing; a missing name is an error.
  RemotingCommand other =
      RemotingCommand::CreateRequest(request_code::kWipeWritePermOfBroker);
  other.SetExt("brokerName", "broker-z");
  EXPECT_EQ(Process(other).ExtOr("wipeTopicCount", ""), "0");
  EXPECT_EQ(perm_of("T1"), 6);
  EXPECT_EQ(Process(RemotingCommand::CreateRequest(
                        request_code::kWipeWritePermOfBroker))
                .code(),
            response_code::kSystemError);
}

}  // namespace
}  // namespace thruster::namesrv
