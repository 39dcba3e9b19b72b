// Pop state survives a kill -9 of a real thruster-broker process: a message
// popped and not acked comes back after the restart (once its invisible time
// is up), one that was acked never does, and nothing popped before the crash
// is handed out again from the queue itself.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>

#include "client/client_instance.h"
#include "client/pop_consumer.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "tests/support/process.h"
#include "tests/support/test_util.h"

namespace thruster {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

std::string Body(const client::PoppedMessage& m) {
  return std::string(reinterpret_cast<const char*>(m.record.body.data()),
                     m.record.body.size());
}

class PopCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client::ClientOptions co;
    co.heartbeat_interval_ms = 0;
    co.timeout = 10000ms;
    client_ = std::make_unique<client::ClientInstance>(co);
    ASSERT_OK(client_->Start());
    client::PopConsumerOptions po;
    po.group = "CrashGroup";
    consumer_ = std::make_unique<client::PopConsumer>(client_.get(), po);
  }
  void TearDown() override {
    consumer_.reset();
    client_->Stop();
    broker_.Stop();
  }

  // Starts thruster-broker on the test's store (again after a kill); waits
  // (with a deadline) for the line saying where it listens.
  void StartBroker() {
    ASSERT_OK(broker_.Start());
    addr_ = broker_.addr();
  }
  RemotingCommand Call(RemotingCommand req) {
    Result<RemotingCommand> r = client_->InvokeBroker(addr_, std::move(req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : RemotingCommand();
  }
  int64_t MaxOffset(const std::string& topic) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kGetMaxOffset);
    req.SetExt("topic", topic);
    req.SetExt("queueId", 0);
    RemotingCommand resp = Call(std::move(req));
    return resp.code() == rc::kSuccess ? resp.ExtInt64Or("offset", -1) : -1;
  }
  client::PopRequest Request() {
    client::PopRequest r;
    r.broker_addr = addr_;
    r.broker_name = "broker-crash";
    r.topic = "CrashT";
    r.invisible_time_ms = 3000;
    return r;
  }

  testing::TempDir dir_;
  testing::BrokerProcess broker_{THRUSTER_BROKER_BIN,
                                 dir_.path(),
                                 {"--namesrvListenPort=0",
                                  "--brokerName=broker-crash",
                                  "--reviveInterval=100"},
                                 4 << 20};
  std::string addr_;
  std::unique_ptr<client::ClientInstance> client_;
  std::unique_ptr<client::PopConsumer> consumer_;
};

TEST_F(PopCrashTest, KillNineNeitherLosesAnUnackedMessageNorRevivesAnAcked) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  RemotingCommand t =
      RemotingCommand::CreateRequest(req_code::kUpdateAndCreateTopic);
  t.SetExt("topic", "CrashT");
  t.SetExt("defaultTopic", "TBW102");
  t.SetExt("readQueueNums", 1);
  t.SetExt("writeQueueNums", 1);
  t.SetExt("perm", 6);
  t.SetExt("topicFilterType", "SINGLE_TAG");
  t.SetExt("order", "false");
  RemotingCommand created = Call(std::move(t));
  ASSERT_EQ(created.code(), rc::kSuccess) << created.remark();
  for (const char* body : {"acked", "unacked"}) {
    RemotingCommand s =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    s.SetExt("a", "PG");
    s.SetExt("b", "CrashT");
    s.SetExt("c", "TBW102");
    s.SetExt("d", 4);
    s.SetExt("e", 0);
    s.SetExt("f", 0);
    s.SetExt("g", int64_t{0});
    s.SetExt("h", 0);
    s.SetExt("i", message::EncodeProperties({{"TAGS", "A"}}));
    s.set_body(std::string_view(body));
    ASSERT_EQ(Call(std::move(s)).code(), rc::kSuccess);
  }
  // Both in one pop (one checkpoint); the first is acked.
  std::vector<std::string> got;
  client::PopResult popped;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    client::PopRequest req = Request();
    req.poll_time_ms = 1000;
    ASSERT_OK_AND_ASSIGN(popped, consumer_->Pop(req));
    for (const client::PoppedMessage& m : popped.messages) {
      got.push_back(Body(m));
      if (Body(m) == "acked") ASSERT_OK(consumer_->Ack(addr_, m));
    }
  }
  ASSERT_EQ(got, (std::vector<std::string>{"acked", "unacked"}));

  broker_.Stop(SIGKILL);
  client_->remoting().CloseConnection(addr_);
  ASSERT_NO_FATAL_FAILURE(StartBroker());

  // Pop until the un-acked message is back (its invisible time is 3 s).
  std::vector<std::string> after;
  while (after.empty() && std::chrono::steady_clock::now() < deadline + 30s) {
    client::PopRequest req = Request();
    req.poll_time_ms = 1000;
    Result<client::PopResult> r = consumer_->Pop(req);
    ASSERT_OK(r.status());
    for (const client::PoppedMessage& m : r->messages) {
      after.push_back(Body(m));
      EXPECT_EQ(m.reconsume_times, 1);
      ASSERT_OK(consumer_->Ack(addr_, m));
    }
  }
  EXPECT_EQ(after, std::vector<std::string>{"unacked"});
  // Exactly one message was revived: the acked one never was.
  EXPECT_EQ(MaxOffset("%RETRY%CrashGroup_CrashT"), 1);
}

}  // namespace
}  // namespace thruster
