#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "message/commit_log_format.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "message/uniq_key.h"
#include "tests/client/fake_broker.h"
#include "tests/support/test_util.h"

namespace thruster::client {
namespace {

std::vector<std::byte> FromHex(std::string_view hex) {
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

std::string Str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The stored record of spec/remoting.md §8.4, as a pull returns it.
TEST(DecodeMessagesTest, DecodesTheSpecPullRecord) {
  auto body = FromHex(
      "00 00 00 BB DA A3 20 A7 77 D1 89 82 00 00 00 00"
      "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
      "00 00 00 00 00 00 00 00 00 00 01 8B CF E5 68 00"
      "7F 00 00 01 00 00 D4 31 00 00 01 8B CF E5 68 7B"
      "7F 00 00 01 00 00 2A 9F 00 00 00 00 00 00 00 00"
      "00 00 00 00 00 00 00 05 48 65 6C 6C 6F 09 54 6F"
      "70 69 63 54 65 73 74 00 52 55 4E 49 51 5F 4B 45"
      "59 01 37 46 30 30 30 30 30 31 33 30 33 39 31 42"
      "36 44 33 35 38 36 30 30 41 35 45 32 43 30 30 30"
      "30 31 02 57 41 49 54 01 74 72 75 65 02 54 41 47"
      "53 01 41 02 43 4C 55 53 54 45 52 01 44 65 66 61"
      "75 6C 74 43 6C 75 73 74 65 72 02");
  ASSERT_EQ(body.size(), 187u);
  std::vector<message::DecodedRecord> msgs;
  ASSERT_OK(DecodeMessages(body, /*check_crc=*/true, &msgs));
  ASSERT_EQ(msgs.size(), 1u);
  const auto& m = msgs[0];
  EXPECT_EQ(m.topic, "TopicTest");
  EXPECT_EQ(Str(m.body), "Hello");
  EXPECT_EQ(m.store_timestamp, 1700000000123);
  EXPECT_EQ(m.born_host.ToString(), "127.0.0.1:54321");
  EXPECT_EQ(m.store_host.ToString(), "127.0.0.1:10911");
  EXPECT_EQ(message::FindProperty(m.properties, "UNIQ_KEY"),
            "7F00000130391B6D358600A5E2C00001");
  EXPECT_EQ(message::FindProperty(m.properties, "CLUSTER"), "DefaultCluster");

  // Two records back to back, then a torn third.
  std::vector<std::byte> two = body;
  two.insert(two.end(), body.begin(), body.end());
  msgs.clear();
  ASSERT_OK(DecodeMessages(two, true, &msgs));
  EXPECT_EQ(msgs.size(), 2u);
  two.insert(two.end(), body.begin(), body.begin() + 50);
  msgs.clear();
  EXPECT_TRUE(DecodeMessages(two, true, &msgs).IsCorruption());
}

class ClientTest : public ::testing::Test {
 protected:
  void StartBroker(int send_delay_ms = 0) {
    broker_.AddTopic("TopicA", 4);
    broker_.set_send_delay_ms(send_delay_ms);
    ASSERT_OK(broker_.Start());
    ClientOptions o;
    o.namesrv_addr = broker_.namesrv_addr();
    o.heartbeat_interval_ms = 0;
    instance_ = std::make_unique<ClientInstance>(o);
    ASSERT_OK(instance_->Start());
  }
  void TearDown() override {
    if (instance_) instance_->Stop();
  }

  Message Msg(std::string body, std::string tags = "", std::string keys = "") {
    bodies_.push_back(std::make_shared<std::string>(std::move(body)));
    Message m;
    m.topic = "TopicA";
    m.tags = std::move(tags);
    m.keys = std::move(keys);
    m.body = std::as_bytes(
        std::span(bodies_.back()->data(), bodies_.back()->size()));
    return m;
  }

  testing::FakeBroker broker_;
  std::unique_ptr<ClientInstance> instance_;
  std::vector<std::shared_ptr<std::string>> bodies_;
};

TEST_F(ClientTest, RouteListsTheBrokerAndItsQueues) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  ASSERT_OK_AND_ASSIGN(auto route, instance_->FetchTopicRoute("TopicA"));
  ASSERT_EQ(route.queue_datas.size(), 1u);
  EXPECT_EQ(route.queue_datas[0].write_queue_nums, 4);
  ASSERT_OK_AND_ASSIGN(auto addr, instance_->FindBrokerMaster("broker-a"));
  EXPECT_EQ(addr, broker_.broker_addr());
  ASSERT_OK_AND_ASSIGN(auto topics, instance_->FetchAllTopics());
  EXPECT_NE(std::find(topics.begin(), topics.end(), "TopicA"), topics.end());
  EXPECT_TRUE(instance_->FetchTopicRoute("NoSuchTopic").status().IsNotFound());
}

TEST_F(ClientTest, SendUsesTheV2HeaderAndRoundRobinsOverQueues) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Producer producer(instance_.get(), ProducerOptions{.group = "PG"});
  std::vector<int32_t> queues;
  std::set<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK_AND_ASSIGN(SendResult r,
                         producer.Send(Msg("hello", "TagA", "k1 k2")));
    EXPECT_EQ(r.status, SendStatus::kSendOk);
    EXPECT_EQ(r.queue.topic, "TopicA");
    EXPECT_EQ(r.queue.broker_name, "broker-a");
    EXPECT_EQ(r.msg_id.size(), message::kUniqKeyLength);
    EXPECT_TRUE(ids.insert(r.msg_id).second);
    ASSERT_OK_AND_ASSIGN(auto parts, message::DecodeMessageId(r.offset_msg_id));
    EXPECT_EQ(parts.store_host.ToString(), broker_.broker_addr());
    queues.push_back(r.queue.queue_id);
    EXPECT_EQ(r.queue_offset, i / 4);
  }
  // Each of the 4 queues got two messages, in turn.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(queues[static_cast<size_t>(i)],
              queues[static_cast<size_t>(i + 4)]);
  EXPECT_EQ(std::set<int32_t>(queues.begin(), queues.end()).size(), 4u);

  auto h = broker_.last_send_header();
  EXPECT_EQ(h["a"], "PG");
  EXPECT_EQ(h["b"], "TopicA");
  EXPECT_EQ(h["c"], "TBW102");
  EXPECT_EQ(h["f"], "0");
  EXPECT_EQ(h.count("m"), 0u);  // not a batch
  auto props = message::ParseProperties(h["i"]);
  EXPECT_EQ(props["TAGS"], "TagA");
  EXPECT_EQ(props["KEYS"], "k1 k2");
  EXPECT_EQ(props["UNIQ_KEY"].size(), message::kUniqKeyLength);
}

TEST_F(ClientTest, EachTopicRoundRobinsOverAllOfItsQueues) {
  // RocketMQ keeps sendWhichQueue per topic: a producer that alternates
  // between two 4-queue topics still sends each topic's messages to all four
  // of its queues in turn (one shared counter would put every TopicA message
  // on queues 0 and 2).
  broker_.AddTopic("TopicB", 4);
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Producer producer(instance_.get(), ProducerOptions{.group = "PG"});
  std::map<std::string, std::vector<int32_t>> queues;
  for (int i = 0; i < 16; ++i) {
    Message m = Msg("hello");
    m.topic = i % 2 == 0 ? "TopicA" : "TopicB";
    ASSERT_OK_AND_ASSIGN(SendResult r, producer.Send(m));
    EXPECT_EQ(r.queue.topic, m.topic);
    queues[m.topic].push_back(r.queue.queue_id);
  }
  for (const auto& [topic, ids] : queues) {
    ASSERT_EQ(ids.size(), 8u) << topic;
    EXPECT_EQ(std::set<int32_t>(ids.begin(), ids.end()).size(), 4u) << topic;
    for (size_t i = 0; i + 4 < ids.size(); ++i)
      EXPECT_EQ(ids[i], ids[i + 4]) << topic;
  }
}

TEST_F(ClientTest, SendToAMissingTopicWithoutAutoCreationIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Producer producer(instance_.get());
  Message m = Msg("x");
  m.topic = "NoSuchTopic";
  auto r = producer.Send(m);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_FALSE(producer.SendAsync(m, [](Result<SendResult>) {}).ok());
}

TEST_F(ClientTest, AsyncSendsStayWithinTheWindow) {
  ASSERT_NO_FATAL_FAILURE(StartBroker(/*send_delay_ms=*/2));
  Producer producer(instance_.get(), ProducerOptions{.max_in_flight = 5});
  std::atomic<int> ok{0};
  auto body = std::make_shared<std::string>(100, 'z');
  Message m = Msg("");
  m.body = std::as_bytes(std::span(body->data(), body->size()));
  m.body_owner = body;
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(producer.SendAsync(m, [&](Result<SendResult> r) {
      if (r.ok()) ok.fetch_add(1);
    }));
  }
  producer.Flush();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(broker_.sends(), 200);
  EXPECT_LE(broker_.max_outstanding_sends(), 5);
  EXPECT_GE(broker_.max_outstanding_sends(), 2);
}

// A chain of sends driven from the callbacks, as `thruster bench produce`
// runs them.
struct SendChain {
  Producer* producer = nullptr;
  const Message* msg = nullptr;
  std::atomic<int> left{0};
  std::atomic<int> ok{0};
  void Next() {
    if (left.fetch_sub(1) <= 0) return;
    Status s = producer->TrySendAsync(*msg, [this](Result<SendResult> r) {
      if (r.ok()) ok.fetch_add(1);
      Next();
    });
    EXPECT_OK(s);
  }
};

TEST_F(ClientTest, TrySendAsyncNeedsALoadedRouteAndChainsFromCallbacks) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Producer producer(instance_.get());
  Message m = Msg("chained");
  EXPECT_TRUE(producer.TrySendAsync(m, [](Result<SendResult>) {}).IsNotFound());
  ASSERT_OK_AND_ASSIGN(auto queues, producer.FetchPublishQueues("TopicA"));
  EXPECT_EQ(queues.size(), 4u);
  SendChain chains[3];
  for (auto& c : chains) {
    c.producer = &producer;
    c.msg = &m;
    c.left = 50;
  }
  for (auto& c : chains) c.Next();
  producer.Flush();
  for (auto& c : chains) EXPECT_EQ(c.ok.load(), 50);
  EXPECT_EQ(broker_.sends(), 150);
}

TEST_F(ClientTest, PullReturnsTheSentMessagesInQueueOrder) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Producer producer(instance_.get());
  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i) {
    Message m = Msg("body-" + std::to_string(i), "T" + std::to_string(i % 2),
                    "key" + std::to_string(i));
    m.queue_id = 2;
    ASSERT_OK_AND_ASSIGN(SendResult r, producer.Send(m));
    EXPECT_EQ(r.queue.queue_id, 2);
    sent.push_back(r.msg_id);
  }
  PullConsumer consumer(instance_.get(), PullConsumerOptions{.group = "CG"});
  ASSERT_OK_AND_ASSIGN(auto queues, consumer.FetchSubscribeQueues("TopicA"));
  ASSERT_EQ(queues.size(), 4u);
  MessageQueue mq = queues[2];
  ASSERT_OK_AND_ASSIGN(PullResult r, consumer.Pull(mq, "*", 0, 4));
  EXPECT_EQ(r.status, PullStatus::kFound);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.next_begin_offset, 4);
  EXPECT_EQ(r.max_offset, 10);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(Str(r.messages[i].body), "body-" + std::to_string(i));
    EXPECT_EQ(r.messages[i].queue_offset, static_cast<int64_t>(i));
    EXPECT_EQ(message::FindProperty(r.messages[i].properties, "UNIQ_KEY"),
              sent[i]);
    EXPECT_EQ(message::FindProperty(r.messages[i].properties, "KEYS"),
              "key" + std::to_string(i));
  }
  ASSERT_OK_AND_ASSIGN(PullResult rest, consumer.Pull(mq, "*", 4, 32));
  EXPECT_EQ(rest.messages.size(), 6u);
  ASSERT_OK_AND_ASSIGN(PullResult none, consumer.Pull(mq, "*", 10, 32));
  EXPECT_EQ(none.status, PullStatus::kNoNewMessage);
  EXPECT_TRUE(none.messages.empty());
  ASSERT_OK_AND_ASSIGN(PullResult moved, consumer.Pull(mq, "*", 99, 32));
  EXPECT_EQ(moved.status, PullStatus::kOffsetIllegal);
  EXPECT_EQ(moved.next_begin_offset, 10);

  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<PullResult>> async;
  consumer.PullAsync(mq, "*", 0, 32, -1, [&](Result<PullResult> res) {
    std::lock_guard lock(mu);
    async.emplace(std::move(res));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return async.has_value(); });
  ASSERT_TRUE(async->ok()) << async->status().ToString();
  EXPECT_EQ((*async)->messages.size(), 10u);
}

TEST_F(ClientTest, OffsetsAreCommittedAndQueried) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  PullConsumer consumer(instance_.get(), PullConsumerOptions{.group = "CG"});
  MessageQueue mq{"TopicA", "broker-a", 1};
  EXPECT_TRUE(consumer.QueryOffset(mq).status().IsNotFound());
  ASSERT_OK(consumer.UpdateOffset(mq, 42));
  ASSERT_OK_AND_ASSIGN(int64_t off, consumer.QueryOffset(mq));
  EXPECT_EQ(off, 42);
  ASSERT_OK_AND_ASSIGN(int64_t max, consumer.MaxOffset(mq));
  EXPECT_EQ(max, 0);
}

TEST(ClientUnreachableTest, NameServerDownIsAClearIOError) {
  ClientOptions o;
  o.namesrv_addr = "127.0.0.1:1";  // nothing listens on port 1
  o.heartbeat_interval_ms = 0;
  ClientInstance instance(o);
  ASSERT_OK(instance.Start());
  auto r = instance.FetchTopicRoute("TopicA");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find("name server unreachable"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace thruster::client
