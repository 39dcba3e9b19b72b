// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ for orderly consumers (spec/remoting.md
// §3.4.17) over the processor, with a manual clock for lock expiry
// (rebalanceLockMaxLiveTime, 60 s).
#include <set>
#include <thread>

#include "broker/admin_broker_processor.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;

class OrderedLockProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<AdminBrokerProcessor>(
        ctx_, *store_, *topics_, *offsets_, clients_, locks_, stats_, *hold_);
  }

  static std::string Body(const std::string& client,
                          const std::vector<int>& queues,
                          const std::string& group = "OG") {
    json::Value set = json::Value::Array();
    for (int q : queues) {
      json::Value mq = json::Value::Object();
      mq.Set("brokerName", json::Value::String("broker-t"));
      mq.Set("queueId", json::Value::Int(q));
      mq.Set("topic", json::Value::String("T"));
      set.Push(std::move(mq));
    }
    json::Value body = json::Value::Object();
    body.Set("clientId", json::Value::String(client));
    body.Set("consumerGroup", json::Value::String(group));
    body.Set("mqSet", std::move(set));
    return json::Write(body);
  }
  // The queue ids LOCK_BATCH_MQ granted to `client`.
  std::set<int> Lock(const std::string& client, const std::vector<int>& queues,
                     const std::string& group = "OG") {
    RemotingCommand resp =
        Call(*processor_,
             Request(req_code::kLockBatchMq, {}, Body(client, queues, group)));
    EXPECT_EQ(resp.code(), rc::kSuccess) << resp.remark();
    std::set<int> out;
    const json::Value answer = Json(resp);
    const json::Value* set = answer.Find("lockOKMQSet");
    if (set == nullptr) return out;
    for (size_t i = 0; i < set->size(); ++i)
      out.insert(static_cast<int>(set->at(i).GetInt64("queueId")));
    return out;
  }
  void Unlock(const std::string& client, const std::vector<int>& queues) {
    RemotingCommand resp = Call(*processor_, Request(req_code::kUnlockBatchMq,
                                                     {}, Body(client, queues)));
    EXPECT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  }

  ManualClock clock_;
  BrokerContext ctx_{config_, clock_, store_host_, [] {}, 0};
  std::unique_ptr<AdminBrokerProcessor> processor_;
};

TEST_F(OrderedLockProcessorTest, TwoConsumersNeverHoldTheSameQueue) {
  EXPECT_EQ(Lock("c1", {0, 1}), (std::set<int>{0, 1}));
  // c2 asks for everything: it gets only what c1 does not hold.
  EXPECT_EQ(Lock("c2", {0, 1, 2, 3}), (std::set<int>{2, 3}));
  // Renewals keep each holder's own queues and nothing more.
  EXPECT_EQ(Lock("c1", {0, 1, 2, 3}), (std::set<int>{0, 1}));
  EXPECT_EQ(Lock("c2", {0, 1, 2, 3}), (std::set<int>{2, 3}));
  // Another group is independent.
  EXPECT_EQ(Lock("c3", {0, 1, 2, 3}, "OtherGroup"),
            (std::set<int>{0, 1, 2, 3}));
}

TEST_F(OrderedLockProcessorTest, UnlockReleasesOnlyTheHoldersQueues) {
  EXPECT_EQ(Lock("c1", {0, 1}), (std::set<int>{0, 1}));
  // Someone else's unlock changes nothing.
  Unlock("c2", {0, 1});
  EXPECT_TRUE(Lock("c2", {0, 1}).empty());
  Unlock("c1", {1});
  EXPECT_EQ(Lock("c2", {0, 1}), (std::set<int>{1}));
  EXPECT_EQ(Lock("c1", {0, 1}), (std::set<int>{0}));
}

TEST_F(OrderedLockProcessorTest, ADeadHoldersLockExpiresAfterMaxLiveTime) {
  EXPECT_EQ(Lock("c1", {0}), (std::set<int>{0}));
  // Renewed at 50 s: still c1's at 100 s.
  clock_.Advance(50000);
  EXPECT_EQ(Lock("c1", {0}), (std::set<int>{0}));
  clock_.Advance(50000);
  EXPECT_TRUE(Lock("c2", {0}).empty());
  // c1 stops renewing (it died): exactly 60 s after its last renewal the lock
  // still holds, a millisecond later it is free.
  clock_.Advance(10000);
  EXPECT_TRUE(Lock("c2", {0}).empty());
  clock_.Advance(1);
  EXPECT_EQ(Lock("c2", {0}), (std::set<int>{0}));
  // The old holder's renewal now fails.
  EXPECT_TRUE(Lock("c1", {0}).empty());
  EXPECT_TRUE(locks_.HasLocks("OG", clock_.NowMs()));
  clock_.Advance(60001);
  EXPECT_FALSE(locks_.HasLocks("OG", clock_.NowMs()));
}

TEST_F(OrderedLockProcessorTest, ConcurrentConsumersGetDisjointQueues) {
  // Eight consumers race for the same eight queues: every queue is granted to
  // exactly one of them.
  const std::vector<int> all{0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<std::set<int>> granted(8);
  std::vector<std::thread> threads;
  for (int c = 0; c < 8; ++c) {
    threads.emplace_back([&, c] {
      std::vector<MessageQueue> mqs;
      for (int q : all) mqs.push_back(MessageQueue{"T", "broker-t", q});
      for (const MessageQueue& mq : locks_.TryLockBatch(
               "OG", mqs, "c" + std::to_string(c), clock_.NowMs()))
        granted[static_cast<size_t>(c)].insert(mq.queue_id);
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<int> seen;
  for (const auto& g : granted) seen.insert(g.begin(), g.end());
  EXPECT_EQ(seen, (std::multiset<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

}  // namespace
}  // namespace thruster::broker
