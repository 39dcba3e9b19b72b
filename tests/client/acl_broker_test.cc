// Our client's ACL signing and the ACL admin calls against a real in-process
// broker with aclEnable, on ephemeral loopback ports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "broker/broker.h"
#include "client/acl_admin_client.h"
#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "namesrv/name_server.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::client {
namespace {

using ::testing::HasSubstr;

constexpr const char* kAcl = R"(accounts:
  - accessKey: AdminKey01
    secretKey: admin-secret
    admin: true
)";

class AclBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() + "/plain_acl.yml") << kAcl;
    namesrv_ = std::make_unique<namesrv::NameServer>(
        thruster::testing::LoopbackNameServerOptions());
    ASSERT_OK(namesrv_->Start());
    broker::BrokerConfig bc = thruster::testing::LoopbackBrokerConfig(
        "127.0.0.1:" + std::to_string(namesrv_->port()));
    bc.acl_enable = true;
    bc.acl_file = dir_.path() + "/plain_acl.yml";
    broker_ = std::make_unique<broker::Broker>(
        bc, thruster::testing::SmallDiskStoreConfig(dir_.path() + "/store",
                                                    4 << 20, 10000));
    ASSERT_OK(broker_->Start());
  }
  void TearDown() override {
    clients_.clear();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }
  ClientInstance* Client(std::string ak, std::string sk) {
    ClientOptions o;
    o.namesrv_addr = "127.0.0.1:" + std::to_string(namesrv_->port());
    o.heartbeat_interval_ms = 0;
    o.instance_name = "acl" + std::to_string(clients_.size());
    o.access_key = std::move(ak);
    o.secret_key = std::move(sk);
    clients_.push_back(std::make_unique<ClientInstance>(o));
    EXPECT_OK(clients_.back()->Start());
    return clients_.back().get();
  }
  Result<std::vector<std::string>> CreateTopic(ClientInstance* c,
                                               const std::string& topic) {
    remoting::TopicConfig tc;
    tc.topic_name = topic;
    tc.read_queue_nums = 2;
    tc.write_queue_nums = 2;
    return AdminClient(c).CreateTopic(tc, broker_->broker_addr(), "");
  }
  Result<SendResult> SendOne(ClientInstance* c, const std::string& topic) {
    // The route reaches the name server a moment after the topic is created.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
      Producer producer(c);
      std::string body = "signed";
      Message m;
      m.topic = topic;
      m.body = std::as_bytes(std::span(body.data(), body.size()));
      Result<SendResult> r = producer.Send(m);
      if (r.ok() ||
          r.status().ToString().find("does not exist") == std::string::npos ||
          std::chrono::steady_clock::now() > deadline)
        return r;
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<broker::Broker> broker_;
  std::vector<std::unique_ptr<ClientInstance>> clients_;
};

TEST_F(AclBrokerTest, UnsignedAndNonAdminRequestsAreRefusedSignedAdminServed) {
  Result<std::vector<std::string>> unsigned_create =
      CreateTopic(Client("", ""), "AclT");
  ASSERT_FALSE(unsigned_create.ok());
  EXPECT_THAT(unsigned_create.status().ToString(),
              HasSubstr("No accessKey is configured"));
  ASSERT_OK(CreateTopic(Client("AdminKey01", "admin-secret"), "AclT").status());
  Result<std::vector<std::string>> wrong =
      CreateTopic(Client("AdminKey01", "wrong-secret"), "AclT");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().ToString(), HasSubstr("Check signature failed"));
}

TEST_F(AclBrokerTest, AccountsCreatedThroughTheAdminCallsSignProducers) {
  ClientInstance* admin = Client("AdminKey01", "admin-secret");
  ASSERT_OK(CreateTopic(admin, "AclOrders").status());
  AclAdminClient acl(admin);
  AclAccountUpdate u;
  u.access_key = "Producer01";
  u.secret_key = "producer-secret";
  u.topic_perms = "AclOrders=PUB";
  ASSERT_OK_AND_ASSIGN(auto done, acl.UpdateAclConfig(u, "", "DefaultCluster"));
  EXPECT_EQ(done, std::vector<std::string>{broker_->broker_addr()});

  ClientInstance* producer = Client("Producer01", "producer-secret");
  Result<SendResult> sent = SendOne(producer, "AclOrders");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  // Not an admin: may not create topics.
  Result<std::vector<std::string>> create = CreateTopic(producer, "AclOther");
  ASSERT_FALSE(create.ok());
  EXPECT_THAT(create.status().ToString(), HasSubstr("Need admin permission"));

  ASSERT_OK_AND_ASSIGN(auto versions,
                       acl.ClusterAclConfigVersion(broker_->broker_addr(), ""));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_THAT(versions[0].version, HasSubstr("\"counter\":1"));

  ASSERT_OK(
      acl.DeleteAclConfig("Producer01", broker_->broker_addr(), "").status());
  Result<SendResult> after =
      SendOne(Client("Producer01", "producer-secret"), "AclOrders");
  ASSERT_FALSE(after.ok());
  EXPECT_THAT(after.status().ToString(),
              HasSubstr("No acl config for Producer01"));
}

}  // namespace
}  // namespace thruster::client
