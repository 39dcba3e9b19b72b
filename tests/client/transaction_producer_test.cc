// A transactional producer against a real in-process broker: the local
// transaction's answer ends it, and an unknown one is resolved by the broker's
// check-back (transactionTimeOut and transactionCheckInterval are shortened so
// the check comes within a fraction of a second).
#include "client/transaction_producer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker.h"
#include "broker/transactional_message_service.h"
#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/pull_consumer.h"
#include "common/coding.h"
#include "namesrv/name_server.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::client {
namespace {

using namespace std::chrono_literals;

// Answers the local transaction with `first` and every check with `check`,
// counting the checks.
class ScriptedListener : public TransactionListener {
 public:
  LocalTransactionState ExecuteLocalTransaction(const Message&,
                                                const SendResult&) override {
    return first.load();
  }
  LocalTransactionState CheckLocalTransaction(
      const CheckedMessage& msg) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      last_checked_body = msg.body;
      last_checked_topic = msg.topic;
    }
    checks.fetch_add(1);
    return check.load();
  }
  std::atomic<LocalTransactionState> first{LocalTransactionState::kUnknown};
  std::atomic<LocalTransactionState> check{LocalTransactionState::kUnknown};
  std::atomic<int> checks{0};
  std::mutex mu;
  std::string last_checked_body;
  std::string last_checked_topic;
};

class TransactionProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_ = std::make_unique<namesrv::NameServer>(
        thruster::testing::LoopbackNameServerOptions());
    ASSERT_OK(namesrv_->Start());
    broker::BrokerConfig bc = thruster::testing::LoopbackBrokerConfig(
        "127.0.0.1:" + std::to_string(namesrv_->port()), 2);
    bc.transaction_timeout = transaction_timeout_;
    bc.transaction_check_interval = 50;
    broker_ = std::make_unique<broker::Broker>(
        bc, thruster::testing::SmallDiskStoreConfig(dir_.path() + "/store",
                                                    4 << 20, 10000));
    ASSERT_OK(broker_->Start());
    ClientOptions o;
    o.namesrv_addr = "127.0.0.1:" + std::to_string(namesrv_->port());
    o.heartbeat_interval_ms = 0;
    client_ = std::make_unique<ClientInstance>(o);
    ASSERT_OK(client_->Start());
    AdminClient admin(client_.get());
    remoting::TopicConfig tc;
    tc.topic_name = "TxTopic";
    tc.read_queue_nums = 1;
    tc.write_queue_nums = 1;
    ASSERT_TRUE(admin.CreateTopic(tc, "", "DefaultCluster").ok());
    ASSERT_TRUE(
        testing::WaitUntil([&] { return admin.TopicRoute("TxTopic").ok(); }));
    producer_ = std::make_unique<TransactionProducer>(
        client_.get(), ProducerOptions{.group = "TxGroup"}, &listener_);
  }
  void TearDown() override {
    producer_.reset();
    if (client_) client_->Stop();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }

  Result<TransactionSendResult> Send(const std::string& body) {
    Message m;
    m.topic = "TxTopic";
    m.tags = "TagTx";
    m.body = AsBytes(body);
    auto r = producer_->SendMessageInTransaction(m);
    // The broker asks only producers it knows from a heartbeat.
    EXPECT_OK(client_->SendHeartbeats());
    return r;
  }

  // Bodies a consumer of TxTopic can pull now.
  std::vector<std::string> Bodies() {
    PullConsumer consumer(client_.get(), PullConsumerOptions{.group = "CG"});
    MessageQueue mq{"TxTopic", broker_->config().broker_name, 0};
    auto r = consumer.Pull(mq, "*", 0, 32);
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& m : r->messages) out.emplace_back(AsStringView(m.body));
    return out;
  }
  // Whether every half message was walked past by a check pass.
  bool AllHalfMessagesResolved() {
    auto done = broker_->offsets().Query(broker::kTransSysGroup,
                                         broker::kTransHalfTopic, 0);
    return done && *done == broker_->store().GetMaxOffsetInQueue(
                                broker::kTransHalfTopic, 0);
  }

  // transactionTimeOut: short, so a check comes quickly.
  int64_t transaction_timeout_ = 100;
  testing::TempDir dir_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<ClientInstance> client_;
  ScriptedListener listener_;
  std::unique_ptr<TransactionProducer> producer_;
};

// Time enough for END_TRANSACTION to arrive before any check is due, even on
// a loaded sanitizer build.
class EndedTransactionTest : public TransactionProducerTest {
 protected:
  EndedTransactionTest() { transaction_timeout_ = 5000; }
};

TEST_F(EndedTransactionTest, CommitDeliversAndRollbackDoesNot) {
  listener_.first = LocalTransactionState::kCommit;
  ASSERT_OK_AND_ASSIGN(TransactionSendResult a, Send("yes"));
  EXPECT_EQ(a.state, LocalTransactionState::kCommit);
  listener_.first = LocalTransactionState::kRollback;
  ASSERT_OK(Send("no").status());
  ASSERT_TRUE(testing::WaitUntil([&] { return Bodies().size() == 1; }));
  // Both are resolved: no check ever asks about them, and nothing else
  // arrives.
  ASSERT_TRUE(testing::WaitUntil([&] { return AllHalfMessagesResolved(); }));
  EXPECT_EQ(listener_.checks.load(), 0);
  EXPECT_EQ(Bodies(), std::vector<std::string>{"yes"});
}

TEST_F(TransactionProducerTest, UnknownIsCheckedBackAndCommittedOnce) {
  listener_.first = LocalTransactionState::kUnknown;
  listener_.check = LocalTransactionState::kCommit;
  ASSERT_OK_AND_ASSIGN(TransactionSendResult r, Send("later"));
  EXPECT_EQ(r.state, LocalTransactionState::kUnknown);
  EXPECT_TRUE(Bodies().empty());
  ASSERT_TRUE(testing::WaitUntil([&] { return listener_.checks.load() > 0; }));
  {
    std::lock_guard<std::mutex> lock(listener_.mu);
    EXPECT_EQ(listener_.last_checked_body, "later");
    EXPECT_EQ(listener_.last_checked_topic, "TxTopic");
  }
  ASSERT_TRUE(testing::WaitUntil([&] { return Bodies().size() == 1; }));
  ASSERT_TRUE(testing::WaitUntil([&] { return AllHalfMessagesResolved(); }));
  // With checks every 50 ms a second check may come before the answer to the
  // first is in (RocketMQ's behaviour too); the message is delivered once
  // all the same.
  EXPECT_EQ(Bodies(), std::vector<std::string>{"later"});
  EXPECT_GE(listener_.checks.load(), 1);
}

}  // namespace
}  // namespace thruster::client
