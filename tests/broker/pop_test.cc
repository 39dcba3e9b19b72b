// Pop consumption over the protocol (spec/pop.md §2-§8): a broker on real
// files and a ManualClock, driven by our PopConsumer. Moving the clock and
// running one revive pass replaces waiting for invisible times.
#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker.h"
#include "broker/pop_format.h"
#include "client/client_instance.h"
#include "client/pop_consumer.h"
#include "message/properties.h"
#include "remoting/remoting_client.h"
#include "tests/broker/record_util.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using namespace std::chrono_literals;
using client::PopConsumer;
using client::PoppedMessage;
using client::PopRequest;
using client::PopResult;
using client::PopStatus;
using remoting::RemotingCommand;
using ::testing::HasSubstr;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

constexpr int64_t kT0 = 1700000000000;
constexpr int64_t kInvisible = 10000;

std::string Body(const PoppedMessage& m) {
  return std::string(reinterpret_cast<const char*>(m.record.body.data()),
                     m.record.body.size());
}

class PopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(kT0);
    store_dir_ = dir_.path() + "/store";
    StartBroker();
    client::ClientOptions co;
    co.heartbeat_interval_ms = 0;
    co.timeout = 10000ms;
    client_ = std::make_unique<client::ClientInstance>(co);
    ASSERT_OK(client_->Start());
    client::PopConsumerOptions po;
    po.group = "PopGroup";
    po.clock = &clock_;
    consumer_ = std::make_unique<PopConsumer>(client_.get(), po);
  }
  void TearDown() override {
    consumer_.reset();
    if (client_) client_->Stop();
    if (broker_) broker_->Shutdown();
  }

  void StartBroker() {
    BrokerConfig bc = testing::LoopbackBrokerConfig("", 2);
    bc.broker_name = "broker-pop";
    // Revive passes are run by the tests (the thread would only repeat them).
    bc.revive_interval = 3600000;
    broker_ =
        std::make_unique<Broker>(bc, testing::SmallDiskStoreConfig(store_dir_),
                                 store::io::DefaultFileSystem(), &clock_);
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
  }
  void RestartBroker() {
    client_->remoting().CloseConnection(addr_);
    broker_->Shutdown();
    broker_.reset();
    StartBroker();
  }

  RemotingCommand Call(RemotingCommand req) {
    Result<RemotingCommand> resp = client_->InvokeBroker(addr_, std::move(req));
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  void CreateTopic(const std::string& topic, int queues) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kUpdateAndCreateTopic);
    req.SetExt("topic", topic);
    req.SetExt("defaultTopic", "TBW102");
    req.SetExt("readQueueNums", queues);
    req.SetExt("writeQueueNums", queues);
    req.SetExt("perm", 6);
    req.SetExt("topicFilterType", "SINGLE_TAG");
    req.SetExt("order", "false");
    ASSERT_EQ(Call(std::move(req)).code(), rc::kSuccess);
  }
  void Send(const std::string& topic, const std::string& body,
            int32_t queue_id = 0, const std::string& tag = "TagA") {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", queue_id);
    req.SetExt("f", 0);
    req.SetExt("g", kT0);
    req.SetExt("h", 0);
    req.SetExt("i", Props({{"TAGS", tag}}));
    req.set_body(std::string_view(body));
    RemotingCommand resp = Call(std::move(req));
    ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  }
  PopRequest Request(const std::string& topic, int32_t max = 32) {
    PopRequest r;
    r.broker_addr = addr_;
    r.broker_name = "broker-pop";
    r.topic = topic;
    r.max_nums = max;
    r.invisible_time_ms = kInvisible;
    return r;
  }
  PopResult Pop(const PopRequest& r) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    Result<PopResult> res = consumer_->Pop(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(res).value() : PopResult();
  }
  std::vector<std::string> PopBodies(const std::string& topic) {
    PopResult r = Pop(Request(topic));
    std::vector<std::string> out;
    for (const PoppedMessage& m : r.messages) out.push_back(Body(m));
    return out;
  }
  // Moves the clock and runs one revive pass at the new time.
  void Advance(int64_t ms) {
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
    clock_.Advance(ms);
    broker_->pop().ReviveOnce();
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  }
  int64_t MaxOffset(const std::string& topic, int32_t queue_id = 0) {
    return broker_->store().GetMaxOffsetInQueue(topic, queue_id);
  }

  testing::TempDir dir_;
  std::string store_dir_;
  ManualClock clock_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
  std::unique_ptr<client::ClientInstance> client_;
  std::unique_ptr<PopConsumer> consumer_;
};

TEST_F(PopTest, MessageStaysInvisibleUntilItsInvisibleTimeThenComesBack) {
  CreateTopic("PopT", 1);
  Send("PopT", "m0");
  PopResult first = Pop(Request("PopT"));
  ASSERT_EQ(first.status, PopStatus::kFound);
  ASSERT_EQ(first.messages.size(), 1u);
  EXPECT_EQ(Body(first.messages[0]), "m0");
  EXPECT_EQ(first.messages[0].handle.Encode(),
            "0 " + std::to_string(kT0) + " 10000 " +
                std::to_string(first.revive_qid) + " 0 broker-pop 0 0");

  // Inside the invisible time nobody gets it, from the queue or the retry
  // topic.
  EXPECT_EQ(Pop(Request("PopT")).status, PopStatus::kNoNewMessage);
  Advance(kInvisible - 1);
  EXPECT_TRUE(PopBodies("PopT").empty());

  // At popTime + invisibleTime it is revived into %RETRY%<group>_<topic>.
  Advance(1);
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopT"), 1);
  PopResult again = Pop(Request("PopT"));
  ASSERT_EQ(again.messages.size(), 1u);
  const PoppedMessage& m = again.messages[0];
  EXPECT_EQ(Body(m), "m0");
  EXPECT_EQ(m.record.topic, "PopT");  // re-encoded with the normal topic
  EXPECT_EQ(m.reconsume_times, 1);
  EXPECT_EQ(m.handle.retry_flag, 1);
  EXPECT_EQ(m.ack_topic, "%RETRY%PopGroup_PopT");
  EXPECT_EQ(message::FindProperty(m.record.properties, "1ST_POP_TIME"),
            std::to_string(kT0));
  ASSERT_OK(consumer_->Ack(addr_, m));
  Advance(kInvisible);
  EXPECT_TRUE(PopBodies("PopT").empty());
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopT"), 1);
  EXPECT_EQ(broker_->pop().PendingCheckPointsForTesting(), 0u);
}

TEST_F(PopTest, AckedAndBatchAckedMessagesAreNotRevived) {
  CreateTopic("PopAck", 1);
  for (int i = 0; i < 4; ++i) Send("PopAck", "m" + std::to_string(i));
  PopResult r = Pop(Request("PopAck"));
  ASSERT_EQ(r.messages.size(), 4u);
  ASSERT_OK(consumer_->Ack(addr_, r.messages[0]));
  std::vector<PoppedMessage> rest(r.messages.begin() + 1,
                                  r.messages.begin() + 3);
  ASSERT_OK(consumer_->BatchAck(addr_, rest));
  // m3 is not acked: only it comes back.
  Advance(kInvisible);
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopAck"), 1);
  EXPECT_EQ(PopBodies("PopAck"), std::vector<std::string>{"m3"});
}

TEST_F(PopTest, AckOrChangeOfAnExpiredHandleIsRefusedWithNoMessage) {
  CreateTopic("PopExp", 1);
  Send("PopExp", "m0");
  PopResult r = Pop(Request("PopExp"));
  ASSERT_EQ(r.messages.size(), 1u);
  PoppedMessage m = r.messages[0];
  clock_.Advance(kInvisible);
  Status ack = consumer_->Ack(addr_, m);
  EXPECT_FALSE(ack.ok());
  EXPECT_THAT(ack.ToString(), HasSubstr("code 208"));
  EXPECT_THAT(ack.ToString(), HasSubstr("expired"));
  Status change = consumer_->ChangeInvisibleTime(addr_, &m, 30000);
  EXPECT_THAT(change.ToString(), HasSubstr("code 208"));
  // A malformed handle is a clear error, not a crash.
  RemotingCommand req = RemotingCommand::CreateRequest(req_code::kAckMessage);
  req.SetExt("consumerGroup", "PopGroup");
  req.SetExt("extraInfo", "1 2 three");
  req.SetExt("offset", int64_t{0});
  req.SetExt("queueId", 0);
  req.SetExt("topic", "PopExp");
  RemotingCommand resp = Call(std::move(req));
  EXPECT_EQ(resp.code(), rc::kSystemError);
  EXPECT_THAT(resp.remark(), HasSubstr("extraInfo"));
  // The refused ack changed nothing: the message is revived.
  broker_->pop().ReviveOnce();
  EXPECT_EQ(PopBodies("PopExp"), std::vector<std::string>{"m0"});
}

TEST_F(PopTest, ChangeInvisibleTimeMovesTheDeadlineAndTheNewHandleAcks) {
  CreateTopic("PopChg", 1);
  Send("PopChg", "m0");
  Send("PopChg", "m1");
  PopResult r = Pop(Request("PopChg"));
  ASSERT_EQ(r.messages.size(), 2u);
  PoppedMessage m1 = r.messages[1];
  ASSERT_OK(consumer_->Ack(addr_, r.messages[0]));
  clock_.Advance(5000);
  ASSERT_OK(consumer_->ChangeInvisibleTime(addr_, &m1, 30000));
  EXPECT_EQ(m1.handle.ck_queue_offset, 1);
  EXPECT_EQ(m1.handle.pop_time, kT0 + 5000);
  // The old deadline passes: nothing comes back.
  Advance(kInvisible);
  EXPECT_TRUE(PopBodies("PopChg").empty());
  // Acking with the new handle ends it for good.
  ASSERT_OK(consumer_->Ack(addr_, m1));
  Advance(30000);
  EXPECT_TRUE(PopBodies("PopChg").empty());
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopChg"), 0);
}

TEST_F(PopTest, RestartKeepsUnackedMessagesAndForgetsNoAck) {
  CreateTopic("PopRst", 1);
  Send("PopRst", "m0");
  Send("PopRst", "m1");
  PopResult r = Pop(Request("PopRst"));
  ASSERT_EQ(r.messages.size(), 2u);
  ASSERT_OK(consumer_->Ack(addr_, r.messages[0]));
  RestartBroker();
  // Nothing popped is handed out again from the queue after the restart.
  EXPECT_TRUE(PopBodies("PopRst").empty());
  EXPECT_EQ(broker_->pop().PendingCheckPointsForTesting(), 1u);
  Advance(kInvisible);
  PopResult again = Pop(Request("PopRst"));
  ASSERT_EQ(again.messages.size(), 1u);
  EXPECT_EQ(Body(again.messages[0]), "m1");
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopRst"), 1);
  ASSERT_OK(consumer_->Ack(addr_, again.messages[0]));
  // After a second restart neither the revived checkpoint nor the acked
  // retry message is revived again.
  RestartBroker();
  EXPECT_EQ(broker_->pop().PendingCheckPointsForTesting(), 0u);
  Advance(kInvisible);
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopRst"), 1);
  EXPECT_TRUE(PopBodies("PopRst").empty());
}

TEST_F(PopTest, ConcurrentPoppersNeverShareAMessage) {
  CreateTopic("PopConc", 4);
  constexpr int kMessages = 120;
  for (int i = 0; i < kMessages; ++i)
    Send("PopConc", "m" + std::to_string(i), i % 4);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  std::mutex mu;
  std::multiset<std::string> seen;
  auto popper = [&] {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (seen.size() >= static_cast<size_t>(kMessages)) return;
      }
      Result<PopResult> r = consumer_->Pop(Request("PopConc", 7));
      if (!r.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      for (const PoppedMessage& m : r->messages) seen.insert(Body(m));
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(popper);
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i)
    EXPECT_EQ(seen.count("m" + std::to_string(i)), 1u) << i;
}

TEST_F(PopTest, OrderlyPopHandsOutOneBatchPerQueueInOrder) {
  CreateTopic("PopFifo", 1);
  for (int i = 0; i < 5; ++i) Send("PopFifo", "m" + std::to_string(i));
  PopRequest req = Request("PopFifo", 2);
  req.order = true;
  req.attempt_id = "a1";
  PopResult r = Pop(req);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.revive_qid, 999);
  EXPECT_EQ(Body(r.messages[0]), "m0");
  EXPECT_EQ(Body(r.messages[1]), "m1");
  EXPECT_EQ(r.messages[0].reconsume_times, 0);
  // The queue is blocked while m0/m1 are in flight (another attempt).
  req.attempt_id = "a2";
  EXPECT_EQ(Pop(req).status, PopStatus::kNoNewMessage);
  ASSERT_OK(consumer_->Ack(addr_, r.messages[0]));
  EXPECT_EQ(Pop(req).status, PopStatus::kNoNewMessage);
  ASSERT_OK(consumer_->Ack(addr_, r.messages[1]));
  PopResult next = Pop(req);
  ASSERT_EQ(next.messages.size(), 2u);
  EXPECT_EQ(Body(next.messages[0]), "m2");
  EXPECT_EQ(Body(next.messages[1]), "m3");
  // Not acked in time: the same batch again, in order, counted.
  clock_.Advance(kInvisible);
  req.attempt_id = "a3";
  PopResult redo = Pop(req);
  ASSERT_EQ(redo.messages.size(), 2u);
  EXPECT_EQ(Body(redo.messages[0]), "m2");
  EXPECT_EQ(Body(redo.messages[1]), "m3");
  EXPECT_EQ(redo.messages[0].reconsume_times, 1);
  // Orderly pops never write revive records.
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopFifo"), 0);
  // An ack of an offset that pop did not hand out is refused.
  PoppedMessage wrong = redo.messages[0];
  wrong.handle.queue_offset = 4;
  Status s = consumer_->Ack(addr_, wrong);
  EXPECT_THAT(s.ToString(), HasSubstr("code 13"));
}

TEST_F(PopTest, MessagePastRetryMaxTimesGoesToTheDeadLetterQueue) {
  CreateTopic("PopDlq", 1);
  RemotingCommand g = RemotingCommand::CreateRequest(
      req_code::kUpdateAndCreateSubscriptionGroup);
  g.set_body(std::string_view(
      R"({"groupName":"PopGroup","consumeEnable":true,"retryMaxTimes":1,"retryQueueNums":1})"));
  ASSERT_EQ(Call(std::move(g)).code(), rc::kSuccess);
  Send("PopDlq", "m0");
  ASSERT_EQ(PopBodies("PopDlq"), std::vector<std::string>{"m0"});
  Advance(kInvisible);  // reconsume 1: retry topic
  ASSERT_EQ(PopBodies("PopDlq"), std::vector<std::string>{"m0"});
  Advance(kInvisible);  // reconsume 2 > retryMaxTimes 1: DLQ
  EXPECT_EQ(MaxOffset("%RETRY%PopGroup_PopDlq"), 1);
  EXPECT_EQ(MaxOffset("%DLQ%PopGroup"), 1);
  EXPECT_TRUE(PopBodies("PopDlq").empty());
}

TEST_F(PopTest, LongPollingPopIsAnsweredWhenAMessageArrives) {
  CreateTopic("PopPoll", 2);
  PopRequest req = Request("PopPoll");
  req.poll_time_ms = 5000;
  std::future<Result<PopResult>> pending =
      std::async(std::launch::async, [&] { return consumer_->Pop(req); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (broker_->HeldPopsForTesting() == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(broker_->HeldPopsForTesting(), 1u);
  Send("PopPoll", "late", 1);
  Result<PopResult> r = pending.get();
  ASSERT_OK(r.status());
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(Body(r->messages[0]), "late");
  // With nothing arriving it ends with POLLING_TIMEOUT at its deadline.
  std::future<Result<PopResult>> idle =
      std::async(std::launch::async, [&] { return consumer_->Pop(req); });
  while (broker_->HeldPopsForTesting() == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(broker_->HeldPopsForTesting(), 1u);
  clock_.Advance(5000);
  Result<PopResult> none = idle.get();
  ASSERT_OK(none.status());
  EXPECT_EQ(none->status, PopStatus::kNoNewMessage);
}

TEST_F(PopTest, BadPopRequestsAreRefusedWithRocketMQsCodes) {
  PopRequest req = Request("NoSuchTopic");
  Result<PopResult> r = consumer_->Pop(req);
  EXPECT_THAT(r.status().ToString(), HasSubstr("code 17"));
  CreateTopic("PopBad", 1);
  req = Request("PopBad", 33);
  r = consumer_->Pop(req);
  EXPECT_THAT(r.status().ToString(), HasSubstr("code 29"));
  req = Request("PopBad");
  req.queue_id = 5;
  r = consumer_->Pop(req);
  EXPECT_THAT(r.status().ToString(), HasSubstr("code 29"));
}

TEST(PopFormatTest, CheckPointAndAckBodiesAreRocketMQs) {
  PopCheckPoint ck;
  ck.start_offset = 100;
  ck.pop_time = 1700000000000;
  ck.invisible_time = 60000;
  ck.num = 3;
  ck.queue_id = 2;
  ck.topic = "TopicTest";
  ck.group = "G";
  ck.queue_offset_diff = {0, 1, 3};
  ck.broker_name = "broker-a";
  EXPECT_EQ(ck.EncodeJson(),
            R"({"bm":0,"bn":"broker-a","c":"G","d":[0,1,3],"it":60000,"n":3,)"
            R"("pt":1700000000000,"q":2,"ro":0,"so":100,"t":"TopicTest"})");
  ASSERT_OK_AND_ASSIGN(PopCheckPoint back,
                       PopCheckPoint::DecodeJson(ck.EncodeJson()));
  EXPECT_EQ(back.IndexOf(103), 2);
  EXPECT_EQ(back.Key(), ck.Key());
  AckMsg ack;
  ack.ack_offsets = {103};
  ack.start_offset = 100;
  ack.group = "G";
  ack.topic = "TopicTest";
  ack.queue_id = 2;
  ack.pop_time = 1700000000000;
  ack.broker_name = "broker-a";
  EXPECT_EQ(ack.EncodeJson(false),
            R"({"ao":103,"bn":"broker-a","c":"G","pt":1700000000000,"q":2,)"
            R"("so":100,"t":"TopicTest"})");
  EXPECT_EQ(ack.Key(), ck.Key());
  ASSERT_OK_AND_ASSIGN(remoting::PopExtraInfo h,
                       remoting::PopExtraInfo::Parse(
                           "100 1700000000000 60000 3 0 broker-a 2 103"));
  EXPECT_EQ(h.queue_offset, 103);
  EXPECT_EQ(h.Encode(), "100 1700000000000 60000 3 0 broker-a 2 103");
  EXPECT_FALSE(remoting::PopExtraInfo::Parse("100 1 2 3 7 b 2 103").ok());
  EXPECT_FALSE(remoting::PopExtraInfo::Parse("").ok());
}

}  // namespace
}  // namespace thruster::broker
