// Our client against a real in-process name server and broker that both
// enforce TLS: the broker registers with the name server over TLS, and
// messages are produced and pulled back over TLS (pull bodies are copied into
// TLS records unless kTLS is on).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "broker/broker.h"
#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "namesrv/name_server.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"
#include "tests/support/tls_certs.h"

namespace thruster::client {
namespace {

using testing::MakeIdentity;
using testing::TestIdentity;

class TlsBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeIdentity(dir_.path(), "ca", testing::CaSpec("test-ca"));
    TestIdentity server =
        MakeIdentity(dir_.path(), "server", testing::LeafSpec("broker"), &ca_);
    remoting::TlsServerOptions tls;
    tls.mode = remoting::TlsMode::kEnforcing;
    tls.cert_path = server.cert_path;
    tls.key_path = server.key_path;

    namesrv::NameServerOptions ns_options =
        thruster::testing::LoopbackNameServerOptions();
    ns_options.tls = tls;
    namesrv_ = std::make_unique<namesrv::NameServer>(ns_options);
    ASSERT_OK(namesrv_->Start());

    broker::BrokerConfig bc =
        thruster::testing::LoopbackBrokerConfig(NamesrvAddr());
    bc.tls.server = tls;
    bc.tls.client = TlsClient();  // registration goes over TLS too
    broker_ = std::make_unique<broker::Broker>(
        bc, thruster::testing::SmallDiskStoreConfig(dir_.path() + "/store",
                                                    8 << 20, 10000));
    ASSERT_OK(broker_->Start());
  }
  void TearDown() override {
    clients_.clear();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }

  std::string NamesrvAddr() const {
    return "127.0.0.1:" + std::to_string(namesrv_->port());
  }
  remoting::TlsClientOptions TlsClient() const {
    remoting::TlsClientOptions tls;
    tls.enable = true;
    tls.trust_cert_path = ca_.cert_path;
    return tls;
  }
  ClientInstance* Client(remoting::TlsClientOptions tls) {
    ClientOptions o;
    o.namesrv_addr = NamesrvAddr();
    o.heartbeat_interval_ms = 0;
    o.timeout = std::chrono::milliseconds(3000);
    o.instance_name = "tls" + std::to_string(clients_.size());
    o.tls = std::move(tls);
    clients_.push_back(std::make_unique<ClientInstance>(o));
    EXPECT_OK(clients_.back()->Start());
    return clients_.back().get();
  }

  testing::TempDir dir_;
  TestIdentity ca_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<broker::Broker> broker_;
  std::vector<std::unique_ptr<ClientInstance>> clients_;
};

TEST_F(TlsBrokerTest, BrokerRegistersWithNameServerOverTls) {
  ClientInstance* client = Client(TlsClient());
  AdminClient admin(client);
  // Registration is the broker's first act after it starts listening.
  Result<std::vector<ClusterBroker>> brokers = admin.ClusterList();
  ASSERT_TRUE(testing::WaitUntil([&] {
    brokers = admin.ClusterList();
    return brokers.ok() && !brokers->empty();
  })) << brokers.status().ToString();
  EXPECT_EQ(brokers->front().addr, broker_->broker_addr());
  // Its runtime info came over TLS from the broker itself.
  EXPECT_TRUE(brokers->front().error.empty()) << brokers->front().error;

  // A plaintext client gets nothing from either port.
  AdminClient plain(Client({}));
  EXPECT_FALSE(plain.ClusterList().ok());
}

TEST_F(TlsBrokerTest, ProduceAndConsumeOverTls) {
  ClientInstance* client = Client(TlsClient());
  remoting::TopicConfig tc;
  tc.topic_name = "TlsOrders";
  tc.read_queue_nums = 1;
  tc.write_queue_nums = 1;
  ASSERT_OK(
      AdminClient(client).CreateTopic(tc, broker_->broker_addr(), "").status());

  std::vector<std::string> bodies = {"small", std::string(100000, 'm'),
                                     std::string(1 << 20, 'L')};
  bodies[2][12345] = 'x';
  // The route reaches the name server a moment after the topic is created.
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return AdminClient(client).TopicRoute("TlsOrders").ok(); }));
  Producer producer(client);
  for (const std::string& body : bodies) {
    Message m;
    m.topic = "TlsOrders";
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    Result<SendResult> sent = producer.Send(m);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  }

  PullConsumerOptions po;
  po.register_in_heartbeat = false;
  PullConsumer consumer(client, po);
  ASSERT_OK_AND_ASSIGN(auto queues, consumer.FetchSubscribeQueues("TlsOrders"));
  ASSERT_EQ(queues.size(), 1u);
  std::vector<std::string> got;
  int64_t offset = 0;
  ASSERT_TRUE(testing::WaitUntil([&] {
    Result<PullResult> r = consumer.Pull(queues[0], "*", offset, 32);
    if (!r.ok() || r->status != PullStatus::kFound) return got.size() >= 3;
    for (const auto& m : r->messages)
      got.emplace_back(reinterpret_cast<const char*>(m.body.data()),
                       m.body.size());
    offset = r->next_begin_offset;
    return got.size() >= 3;
  }));
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(got[i] == bodies[i]) << i;
}

}  // namespace
}  // namespace thruster::client
