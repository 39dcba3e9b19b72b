// Timer messages from our client: the producer's delivery-time setters, recall
// (the producer's and `thruster admin recallMessage`), and
// `thruster bench produce --timer-ratio` / `thruster bench timer` against an
// in-process broker.
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "common/coding.h"
#include "message/properties.h"
#include "namesrv/name_server.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::client {
namespace {

constexpr int64_t kT0 = 1700000000000;

class TimerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {}
  void Start(const Clock* clock) {
    namesrv_ = std::make_unique<namesrv::NameServer>(
        thruster::testing::LoopbackNameServerOptions());
    ASSERT_OK(namesrv_->Start());
    broker::BrokerConfig bc = thruster::testing::LoopbackBrokerConfig(Ns(), 2);
    bc.recall_message_enable = recall_message_enable_;
    store::MessageStoreConfig sc = thruster::testing::SmallDiskStoreConfig(
        dir_.path() + "/store", 8 << 20, 10000);
    sc.mapped_file_size_timer_log = 1 << 20;
    broker_ = std::make_unique<broker::Broker>(
        bc, sc, store::io::DefaultFileSystem(), clock);
    ASSERT_OK(broker_->Start());
    ClientOptions o;
    o.namesrv_addr = Ns();
    o.heartbeat_interval_ms = 0;
    client_ = std::make_unique<ClientInstance>(o);
    ASSERT_OK(client_->Start());
  }
  void TearDown() override {
    if (client_) client_->Stop();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }
  std::string Ns() { return "127.0.0.1:" + std::to_string(namesrv_->port()); }
  void CreateTopic(const std::string& topic) {
    AdminClient admin(client_.get());
    remoting::TopicConfig tc;
    tc.topic_name = topic;
    tc.read_queue_nums = 1;
    tc.write_queue_nums = 1;
    ASSERT_TRUE(admin.CreateTopic(tc, "", "DefaultCluster").ok());
    ASSERT_TRUE(
        testing::WaitUntil([&] { return admin.TopicRoute(topic).ok(); }));
  }
  std::vector<message::DecodedRecord> Pull(const std::string& topic,
                                           PullResult* keep) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    PullConsumer consumer(client_.get(), PullConsumerOptions{.group = "CG"});
    Result<PullResult> r = consumer.Pull(
        MessageQueue{topic, broker_->config().broker_name, 0}, "*", 0, 32);
    if (!r.ok()) return {};
    *keep = std::move(r).value();
    return keep->messages;
  }
  struct CliResult {
    int exit_code = -1;
    std::string out;
    std::string err;
  };
  CliResult Run(const std::string& args) {
    const std::string err_path = dir_.path() + "/stderr";
    const std::string cmd =
        std::string(THRUSTER_BIN) + " " + args + " 2>" + err_path;
    CliResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream f(err_path);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
  }

  testing::TempDir dir_;
  bool recall_message_enable_ = false;
  ManualClock clock_{kT0};
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<ClientInstance> client_;
};

TEST_F(TimerClientTest, ProducerSetsADeliveryTimeTheBrokerKeeps) {
  Start(&clock_);
  CreateTopic("TimerTopic");
  Producer producer(client_.get(), ProducerOptions{.group = "PG"});
  Message m;
  m.topic = "TimerTopic";
  m.body = AsBytes("in-5s");
  m.SetDelayTimeSec(5);
  ASSERT_TRUE(producer.Send(m).ok());
  Message at;
  at.topic = "TimerTopic";
  at.body = AsBytes("at-3s");
  at.SetDeliverTimeMs(kT0 + 3000);
  ASSERT_TRUE(producer.Send(at).ok());
  Message ms;
  ms.topic = "TimerTopic";
  ms.body = AsBytes("in-4000ms");
  ms.SetDelayTimeMs(4000);
  ASSERT_TRUE(producer.Send(ms).ok());
  Message far;
  far.topic = "TimerTopic";
  far.body = AsBytes("too-far");
  far.SetDelayTimeSec(4 * 86400);
  Result<SendResult> refused = producer.Send(far);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("timer message illegal"),
            std::string::npos)
      << refused.status().ToString();

  PullResult keep;
  EXPECT_TRUE(Pull("TimerTopic", &keep).empty());
  auto advance_to = [&](int64_t ms) {
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
    ASSERT_TRUE(broker_->timer()->RunPassForTesting());
    clock_.Set(kT0 + ms);
    ASSERT_TRUE(broker_->timer()->RunPassForTesting());
  };
  advance_to(2999);
  EXPECT_TRUE(Pull("TimerTopic", &keep).empty());
  advance_to(3000);
  std::vector<message::DecodedRecord> got = Pull("TimerTopic", &keep);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(AsStringView(got[0].body), "at-3s");
  advance_to(5000);
  got = Pull("TimerTopic", &keep);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(AsStringView(got[1].body), "in-4000ms");
  EXPECT_EQ(AsStringView(got[2].body), "in-5s");
  EXPECT_EQ(message::FindProperty(got[2].properties, "TIMER_DELAY_SEC"), "5");
}

// RocketMQ 5.3's recall: the send result's handle, Producer::RecallMessage
// and `thruster admin recallMessage` each cancel a message before it is due;
// the one not recalled is delivered.
TEST_F(TimerClientTest, RecallCancelsATimerMessageBeforeItIsDue) {
  recall_message_enable_ = true;
  Start(&clock_);
  CreateTopic("RecallTopic");
  Producer producer(client_.get(), ProducerOptions{.group = "PG"});
  std::vector<SendResult> sent;
  for (const char* body : {"by-api", "by-cli", "kept"}) {
    Message m;
    m.topic = "RecallTopic";
    m.body = AsBytes(body);
    m.SetDelayTimeSec(5);
    Result<SendResult> r = producer.Send(m);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->recall_handle.empty());
    sent.push_back(*r);
  }
  Message plain;
  plain.topic = "RecallTopic";
  plain.body = AsBytes("plain");
  Result<SendResult> p = producer.Send(plain);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->recall_handle.empty());

  Result<std::string> id =
      producer.RecallMessage("RecallTopic", sent[0].recall_handle);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, sent[0].msg_id);
  CliResult r = Run("admin recallMessage -n " + Ns() + " -t RecallTopic -h " +
                    sent[1].recall_handle + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["msgId"], sent[1].msg_id);
  // A handle of another topic is the broker's ILLEGAL_OPERATION.
  CreateTopic("OtherTopic");
  Result<std::string> wrong =
      producer.RecallMessage("OtherTopic", sent[2].recall_handle);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().ToString().find("ILLEGAL_OPERATION"),
            std::string::npos)
      << wrong.status().ToString();
  r = Run("admin recallMessage -n " + Ns() + " -t RecallTopic -h garbage");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("recall handle is invalid"), std::string::npos) << r.err;

  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  ASSERT_TRUE(broker_->timer()->RunPassForTesting());
  clock_.Set(kT0 + 6000);
  ASSERT_TRUE(broker_->timer()->RunPassForTesting());
  PullResult keep;
  std::vector<message::DecodedRecord> got = Pull("RecallTopic", &keep);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(AsStringView(got[0].body), "plain");
  EXPECT_EQ(AsStringView(got[1].body), "kept");
}

TEST_F(TimerClientTest, BenchProduceSendsTheAskedShareAsTimers) {
  Start(&clock_);
  CliResult r = Run("bench produce --namesrv " + Ns() +
                    " --topic BenchTimed --size 64 --producers 2 --inflight 4 "
                    "--messages 200 --warmup-bytes 0 --runs 1 --json "
                    "--timer-ratio 0.1 --timer-delay-sec 30");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["timer_ratio"], 0.1);
  EXPECT_EQ(j["timer_delay_sec"], 30);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  // 20 of the 200 measured sends were parked; the probe send was not.
  EXPECT_EQ(broker_->store().GetMaxOffsetInQueue("rmq_sys_wheel_timer", 0), 20);
  r = Run("bench produce --namesrv " + Ns() + " --timer-ratio 1.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--timer-ratio"), std::string::npos) << r.err;
}

// The timer bench end to end on the system clock: a small run parks its
// timers, waits for their delivery and finds none early or missing.
TEST_F(TimerClientTest, BenchTimerReportsRatesAndLateness) {
  Start(SystemClock::Default());
  CliResult r = Run("bench timer --namesrv " + Ns() +
                    " --topic BT --timers 300 --plain 100 --delay-sec 1 "
                    "--spread-sec 1 --grace-sec 20 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["delivered"], 300);
  EXPECT_EQ(j["delivered_early"], 0);
  EXPECT_EQ(j["produce_timers"]["errors"], 0);
  EXPECT_GT(j["produce_plain_with_pending_timers"]["msgs_per_sec"], 0);
  EXPECT_LE(j["lateness_ms"]["p99"], 5000);
  EXPECT_EQ(broker_->timer()->delivered_count(), 300);
}

}  // namespace
}  // namespace thruster::client
