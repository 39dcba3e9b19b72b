// The admin API (and so `thruster admin`) against a real broker and its name
// server, started in-process on ephemeral loopback ports.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "broker/broker.h"
#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/dlq_admin.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "namesrv/name_server.h"
#include "remoting/remoting_client.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster::client {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;

class AdminBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv_ = std::make_unique<namesrv::NameServer>(
        thruster::testing::LoopbackNameServerOptions());
    ASSERT_OK(namesrv_->Start());
    broker_ = std::make_unique<broker::Broker>(
        thruster::testing::LoopbackBrokerConfig(
            "127.0.0.1:" + std::to_string(namesrv_->port()), 2),
        thruster::testing::SmallDiskStoreConfig(dir_.path() + "/store", 4 << 20,
                                                10000));
    ASSERT_OK(broker_->Start());
    ClientOptions o;
    o.namesrv_addr = "127.0.0.1:" + std::to_string(namesrv_->port());
    o.heartbeat_interval_ms = 0;
    client_ = std::make_unique<ClientInstance>(o);
    ASSERT_OK(client_->Start());
    admin_ = std::make_unique<AdminClient>(client_.get());
  }
  void TearDown() override {
    admin_.reset();
    if (client_) client_->Stop();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }

  void CreateTopic(const std::string& topic, int32_t queues) {
    remoting::TopicConfig tc;
    tc.topic_name = topic;
    tc.read_queue_nums = queues;
    tc.write_queue_nums = queues;
    ASSERT_OK_AND_ASSIGN(auto addrs,
                         admin_->CreateTopic(tc, "", "DefaultCluster"));
    ASSERT_EQ(addrs.size(), 1u);
    EXPECT_EQ(addrs[0], broker_->broker_addr());
    // The broker registers the topic with the name server asynchronously;
    // producers and admin lookups need the route.
    auto route = Eventually([&] { return admin_->TopicRoute(topic); });
    ASSERT_TRUE(route.ok()) << route.status().ToString();
  }

  // Sends `n` messages with key "key-<i>" and body "body-<i>" to `queue`.
  std::vector<SendResult> Send(const std::string& topic, int n,
                               int32_t queue = -1) {
    Producer producer(client_.get());
    std::vector<SendResult> out;
    for (int i = 0; i < n; ++i) {
      std::string body = "body-" + std::to_string(i);
      Message m;
      m.topic = topic;
      m.tags = "TagA";
      m.keys = "key-" + std::to_string(i);
      m.body = std::as_bytes(std::span(body.data(), body.size()));
      m.queue_id = queue;
      auto r = producer.Send(m);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) out.push_back(*r);
    }
    return out;
  }

  // Retries `f` until it succeeds or 5 s pass (dispatch to consume queues and
  // the index runs behind the append).
  template <typename F>
  auto Eventually(F f) -> decltype(f()) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (true) {
      auto r = f();
      if (r.ok() || std::chrono::steady_clock::now() > deadline) return r;
      std::this_thread::sleep_for(20ms);
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<ClientInstance> client_;
  std::unique_ptr<AdminClient> admin_;
};

TEST_F(AdminBrokerTest, CreatedTopicIsListedRoutedAndShowsOffsets) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic("AdminTopic", 4));
  // The broker registers the new topic with the name server right after
  // creating it, asynchronously: wait for the name server to list it.
  auto listed = Eventually([&]() -> Result<std::vector<std::string>> {
    TH_ASSIGN_OR_RETURN(auto topics, admin_->TopicList());
    if (std::find(topics.begin(), topics.end(), "AdminTopic") == topics.end())
      return Status::NotFound("not registered yet");
    return topics;
  });
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_OK_AND_ASSIGN(auto route, admin_->TopicRoute("AdminTopic"));
  ASSERT_EQ(route.queue_datas.size(), 1u);
  EXPECT_EQ(route.queue_datas[0].write_queue_nums, 4);

  Send("AdminTopic", 5, /*queue=*/1);
  auto status = Eventually([&]() -> Result<std::vector<TopicQueueStats>> {
    TH_ASSIGN_OR_RETURN(auto s, admin_->TopicStatus("AdminTopic"));
    if (s.size() != 4 || s[1].max_offset != 5)
      return Status::NotFound("not dispatched yet");
    return s;
  });
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  for (int q = 0; q < 4; ++q) {
    const auto& s = (*status)[static_cast<size_t>(q)];
    EXPECT_EQ(s.queue.queue_id, q);
    EXPECT_EQ(s.min_offset, 0);
    EXPECT_EQ(s.max_offset, q == 1 ? 5 : 0);
    EXPECT_EQ(s.last_update_timestamp > 0, q == 1);
  }
}

TEST_F(AdminBrokerTest, DeletedTopicLeavesBrokerAndNameServer) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic("DoomedTopic", 2));
  auto routed = Eventually([&] { return admin_->TopicRoute("DoomedTopic"); });
  ASSERT_TRUE(routed.ok()) << routed.status().ToString();
  Send("DoomedTopic", 3, /*queue=*/0);
  auto dispatched = Eventually([&]() -> Result<int64_t> {
    TH_ASSIGN_OR_RETURN(auto s, admin_->TopicStatus("DoomedTopic"));
    if (s.empty() || s[0].max_offset != 3)
      return Status::NotFound("not dispatched yet");
    return s[0].max_offset;
  });
  ASSERT_TRUE(dispatched.ok()) << dispatched.status().ToString();

  ASSERT_OK_AND_ASSIGN(auto brokers, admin_->DeleteTopic("DoomedTopic", ""));
  EXPECT_EQ(brokers.size(), 1u);
  EXPECT_TRUE(admin_->TopicRoute("DoomedTopic").status().IsNotFound());
  ASSERT_OK_AND_ASSIGN(auto topics, admin_->TopicList());
  EXPECT_EQ(std::count(topics.begin(), topics.end(), "DoomedTopic"), 0);
  EXPECT_FALSE(broker_->topics().Find("DoomedTopic").has_value());
  EXPECT_EQ(broker_->store().GetMaxOffsetInQueue("DoomedTopic", 0), 0);
  // Deleting it again finds no route: a clear NotFound, not a crash.
  EXPECT_TRUE(admin_->DeleteTopic("DoomedTopic", "").status().IsNotFound());
  // A system topic is refused by the broker and stays.
  auto self_test =
      Eventually([&] { return admin_->TopicRoute("SELF_TEST_TOPIC"); });
  ASSERT_TRUE(self_test.ok()) << self_test.status().ToString();
  EXPECT_FALSE(admin_->DeleteTopic("SELF_TEST_TOPIC", "").ok());
  EXPECT_TRUE(broker_->topics().Find("SELF_TEST_TOPIC").has_value());
}

TEST_F(AdminBrokerTest, MissingTopicIsNotFound) {
  EXPECT_TRUE(admin_->TopicStatus("NoSuchTopic").status().IsNotFound());
  EXPECT_TRUE(admin_->TopicRoute("NoSuchTopic").status().IsNotFound());
  EXPECT_TRUE(admin_->QueryMsgByKey("NoSuchTopic", "k").status().IsNotFound());
}

TEST_F(AdminBrokerTest, QueriesByKeyIdAndOffsetFindTheMessage) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic("QueryTopic", 2));
  auto sent = Send("QueryTopic", 6);
  ASSERT_EQ(sent.size(), 6u);
  const SendResult& third = sent[3];

  auto by_key =
      Eventually([&] { return admin_->QueryMsgByKey("QueryTopic", "key-3"); });
  ASSERT_TRUE(by_key.ok()) << by_key.status().ToString();
  ASSERT_EQ(by_key->size(), 1u);
  EXPECT_EQ((*by_key)[0].body, "body-3");
  EXPECT_EQ((*by_key)[0].MsgId(), third.msg_id);
  EXPECT_TRUE(
      admin_->QueryMsgByKey("QueryTopic", "key-99").status().IsNotFound());

  ASSERT_OK_AND_ASSIGN(auto by_offset_id,
                       admin_->QueryMsgById(third.offset_msg_id, ""));
  ASSERT_EQ(by_offset_id.size(), 1u);
  EXPECT_EQ(by_offset_id[0].body, "body-3");
  EXPECT_EQ(by_offset_id[0].offset_msg_id, third.offset_msg_id);

  auto by_uniq = Eventually(
      [&] { return admin_->QueryMsgById(third.msg_id, "QueryTopic"); });
  ASSERT_TRUE(by_uniq.ok()) << by_uniq.status().ToString();
  ASSERT_EQ(by_uniq->size(), 1u);
  EXPECT_EQ((*by_uniq)[0].body, "body-3");

  auto by_offset = Eventually([&] {
    return admin_->QueryMsgByOffset("QueryTopic", "broker-a",
                                    third.queue.queue_id, third.queue_offset);
  });
  ASSERT_TRUE(by_offset.ok()) << by_offset.status().ToString();
  EXPECT_EQ(by_offset->body, "body-3");
  EXPECT_EQ(by_offset->properties.at("KEYS"), "key-3");
  EXPECT_EQ(by_offset->properties.at("TAGS"), "TagA");
  EXPECT_TRUE(admin_->QueryMsgByOffset("QueryTopic", "broker-a", 0, 1000)
                  .status()
                  .IsNotFound());
}

TEST_F(AdminBrokerTest, ConsumerProgressAndConnectionAfterAConsume) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic("ProgressTopic", 2));
  Send("ProgressTopic", 10);
  PullConsumer consumer(client_.get(),
                        PullConsumerOptions{.group = "ProgressGroup"});
  ASSERT_OK_AND_ASSIGN(auto queues,
                       consumer.FetchSubscribeQueues("ProgressTopic"));
  ASSERT_EQ(queues.size(), 2u);
  ASSERT_OK(client_->SendHeartbeats());
  int consumed = 0;
  for (const auto& mq : queues) {
    int64_t offset = 0;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (offset < 5 && std::chrono::steady_clock::now() < deadline) {
      ASSERT_OK_AND_ASSIGN(PullResult r, consumer.Pull(mq, "*", offset, 32));
      consumed += static_cast<int>(r.messages.size());
      offset = r.next_begin_offset;
      if (r.status != PullStatus::kFound) std::this_thread::sleep_for(20ms);
    }
    ASSERT_OK(consumer.UpdateOffset(mq, offset));
  }
  EXPECT_EQ(consumed, 10);

  ASSERT_OK_AND_ASSIGN(
      ConsumeStats stats,
      admin_->ConsumerProgress("ProgressGroup", "ProgressTopic"));
  ASSERT_EQ(stats.queues.size(), 2u);
  for (const auto& q : stats.queues) {
    EXPECT_EQ(q.broker_offset, 5);
    EXPECT_EQ(q.consumer_offset, 5);
  }
  EXPECT_EQ(stats.Diff(), 0);

  ASSERT_OK_AND_ASSIGN(auto conn, admin_->ConsumerConnection("ProgressGroup"));
  ASSERT_EQ(conn.connections.size(), 1u);
  EXPECT_EQ(conn.connections[0].client_id, client_->client_id());
  EXPECT_EQ(conn.subscriptions.count("ProgressTopic"), 1u);
  EXPECT_TRUE(admin_->ConsumerConnection("NobodyGroup").status().IsNotFound());

  // Back to the start: the whole backlog is lag again.
  ASSERT_OK_AND_ASSIGN(
      auto reset, admin_->ResetOffsetByTime("ProgressGroup", "ProgressTopic", 0,
                                            /*force=*/true));
  ASSERT_EQ(reset.size(), 2u);
  for (const auto& e : reset) EXPECT_EQ(e.new_offset, 0);
  ASSERT_OK_AND_ASSIGN(
      stats, admin_->ConsumerProgress("ProgressGroup", "ProgressTopic"));
  EXPECT_EQ(stats.Diff(), 10);
}

// A pull answers a batch of 32 (the broker's maxTransferCountOnMessageInMemory)
// even when asked for more; PullConsumer decodes every message of it, with its
// tag, keys, UNIQ_KEY and user properties, synchronously and asynchronously.
TEST_F(AdminBrokerTest, PullDecodesEveryMessageOfABatch) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic("BatchTopic", 2));
  Producer producer(client_.get());
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    // Queue 1 gets a message between any two of queue 0's.
    for (int32_t q : {0, 1}) {
      std::string body = "batch-" + std::to_string(q) + "-" +
                         std::to_string(i) + std::string(i % 17, '.');
      Message m;
      m.topic = "BatchTopic";
      m.tags = "Tag" + std::to_string(i % 4);
      m.keys = "key-" + std::to_string(i) + " alt-" + std::to_string(i);
      m.properties["seq"] = std::to_string(i);
      m.body = std::as_bytes(std::span(body.data(), body.size()));
      m.queue_id = q;
      ASSERT_OK_AND_ASSIGN(SendResult r, producer.Send(m));
      ASSERT_EQ(r.queue_offset, i);
      if (q == 0) ids.push_back(r.msg_id);
    }
  }
  PullConsumer consumer(client_.get(), PullConsumerOptions{.check_crc = true});
  ASSERT_OK_AND_ASSIGN(auto queues,
                       consumer.FetchSubscribeQueues("BatchTopic"));
  ASSERT_EQ(queues.size(), 2u);
  auto check = [&](const PullResult& r, int64_t from) {
    for (size_t k = 0; k < r.messages.size(); ++k) {
      const message::DecodedRecord& m = r.messages[k];
      const int i = static_cast<int>(from) + static_cast<int>(k);
      EXPECT_EQ(m.queue_offset, i);
      EXPECT_EQ(m.queue_id, 0);
      EXPECT_EQ(m.topic, "BatchTopic");
      EXPECT_EQ(AsStringView(m.body),
                "batch-0-" + std::to_string(i) + std::string(i % 17, '.'));
      EXPECT_EQ(message::FindProperty(m.properties, "TAGS"),
                "Tag" + std::to_string(i % 4));
      EXPECT_EQ(message::FindProperty(m.properties, "KEYS"),
                "key-" + std::to_string(i) + " alt-" + std::to_string(i));
      EXPECT_EQ(message::FindProperty(m.properties, "UNIQ_KEY"),
                ids[static_cast<size_t>(i)]);
      EXPECT_EQ(message::FindProperty(m.properties, "seq"), std::to_string(i));
    }
  };
  auto found = Eventually([&]() -> Result<PullResult> {
    auto r = consumer.Pull(queues[0], "*", 0, 64);
    if (r.ok() && r->messages.size() < 32) return Status::NotFound("not yet");
    return r;
  });
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->status, PullStatus::kFound);
  EXPECT_EQ(found->messages.size(), 32u);
  EXPECT_EQ(found->next_begin_offset, 32);
  EXPECT_EQ(found->max_offset, 50);
  check(*found, 0);

  std::promise<Result<PullResult>> done;
  consumer.PullAsync(queues[0], "*", 32, 64, -1, [&](Result<PullResult> r) {
    done.set_value(std::move(r));
  });
  Result<PullResult> rest = done.get_future().get();
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->messages.size(), 18u);
  EXPECT_EQ(rest->next_begin_offset, 50);
  check(*rest, 32);
}

TEST_F(AdminBrokerTest, ClusterListAndBrokerStatusShowTheBroker) {
  ASSERT_OK_AND_ASSIGN(auto rows, admin_->ClusterList());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].cluster, "DefaultCluster");
  EXPECT_EQ(rows[0].broker_name, "broker-a");
  EXPECT_EQ(rows[0].addr, broker_->broker_addr());
  EXPECT_TRUE(rows[0].error.empty()) << rows[0].error;
  EXPECT_EQ(rows[0].runtime.count("brokerVersionDesc"), 1u);
  ASSERT_OK_AND_ASSIGN(auto rt,
                       admin_->BrokerRuntimeInfo(broker_->broker_addr()));
  EXPECT_EQ(rt["brokerActive"], "true");
  EXPECT_FALSE(admin_->BrokerRuntimeInfo("127.0.0.1:1").ok());
}

TEST_F(AdminBrokerTest, AutoCreatedTopicTakesAsyncSends) {
  Producer producer(client_.get(), ProducerOptions{.max_in_flight = 16});
  auto body = std::make_shared<std::string>(256, 'q');
  Message m;
  m.topic = "AutoTopic";
  m.body = std::as_bytes(std::span(body->data(), body->size()));
  m.body_owner = body;
  std::atomic<int> ok{0};
  for (int i = 0; i < 500; ++i) {
    ASSERT_OK(producer.SendAsync(m, [&](Result<SendResult> r) {
      if (r.ok()) ok.fetch_add(1);
    }));
  }
  producer.Flush();
  EXPECT_EQ(ok.load(), 500);
  auto total = Eventually([&]() -> Result<int64_t> {
    TH_ASSIGN_OR_RETURN(auto s, admin_->TopicStatus("AutoTopic"));
    int64_t n = 0;
    for (const auto& q : s) n += q.max_offset;
    if (n != 500) return Status::NotFound("not dispatched yet");
    return n;
  });
  ASSERT_TRUE(total.ok()) << total.status().ToString();
}

// `thruster admin` and `thruster bench` as an operator runs them.
struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class AdminCliTest : public AdminBrokerTest {
 protected:
  CliResult Run(const std::string& args) {
    std::string err_path = dir_.path() + "/stderr";
    std::string cmd = std::string(THRUSTER_BIN) + " " + args + " 2>" + err_path;
    CliResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream f(err_path);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
  }
  std::string Ns() { return "127.0.0.1:" + std::to_string(namesrv_->port()); }
};

TEST_F(AdminCliTest, UpdateTopicThenListAndStatusAsJson) {
  CliResult r = Run("admin updateTopic -n " + Ns() +
                    " -t CliTopic -c DefaultCluster -r 2 -w 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run("admin topicList -n " + Ns() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto topics = nlohmann::json::parse(r.out)["topicList"];
  EXPECT_NE(std::find(topics.begin(), topics.end(), "CliTopic"), topics.end());
  r = Run("admin topicStatus -n " + Ns() + " -t CliTopic --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["queues"].size(), 2u);
  r = Run("admin topicStatus -n " + Ns() + " -t CliTopic");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("#Max Offset"), std::string::npos) << r.out;
}

TEST_F(AdminCliTest, MissingTopicAndDeadNameServerExitNonZero) {
  CliResult r = Run("admin topicStatus -n " + Ns() + " -t NoSuchTopic");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("topic NoSuchTopic does not exist"), std::string::npos)
      << r.err;
  r = Run("admin topicList -n 127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("name server unreachable"), std::string::npos) << r.err;
  r = Run("admin brokerStatus -n " + Ns() + " -b 127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("broker 127.0.0.1:1 unreachable"), std::string::npos)
      << r.err;
}

TEST_F(AdminCliTest, BenchProduceThenConsumeLeavesNoLag) {
  CliResult r = Run("bench produce --namesrv " + Ns() +
                    " --topic BenchCli --size 128 --producers 2 --inflight 8 "
                    "--messages 400 --warmup-bytes 12800 --runs 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["messages"], 400);
  EXPECT_EQ(j["runs"].size(), 3u);
  EXPECT_GT(j["msgs_per_sec"].get<double>(), 0);
  EXPECT_GT(j["p99_us"].get<int64_t>(), 0);
  EXPECT_GE(j["p999_us"].get<int64_t>(), j["p50_us"].get<int64_t>());

  // Warm-up (100) + 3 runs (1200) + the probe send (1), read back whole with
  // small ranges, and with ranges beyond what the broker returns per pull
  // (short answers whose rest is pulled again).
  // The bench checks the queue offset of every message it receives, so no
  // errors means no offset skipped or read twice. A --batch above the
  // broker's cap (32) shrinks to it. The defaults warm up and take the median
  // of 3 runs.
  for (const char* shape :
       {"", "--batch 7 --depth 3", "--batch 500 --depth 2", "--depth 1"}) {
    r = Run("bench consume --namesrv " + Ns() +
            " --topic BenchCli --group BenchCliGroup --json " + shape);
    ASSERT_EQ(r.exit_code, 0) << shape << r.err << r.out;
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["messages"], 1301) << shape;
    EXPECT_EQ(j["errors"], 0) << shape;
    EXPECT_EQ(j["runs"].size(), 3u) << shape;
    EXPECT_EQ(j["queues"], 4) << shape;
    EXPECT_EQ(j["pulled_batch"],
              std::string_view(shape) == "--batch 7 --depth 3" ? 7 : 32)
        << shape;
  }

  r = Run("admin consumerProgress -n " + Ns() + " -g BenchCliGroup --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["diffTotal"], 0);
}

// A group's dead letters, listed and re-sent with `thruster admin`.
TEST_F(AdminCliTest, DeadLettersAreListedAndResentToTheirOriginalTopic) {
  CreateTopic("DlqOrigin", 1);
  std::vector<SendResult> sent = Send("DlqOrigin", 3, 0);
  ASSERT_EQ(sent.size(), 3u);
  remoting::RemotingClient raw;
  ASSERT_OK(raw.Start());
  for (const SendResult& r : sent) {
    ASSERT_OK_AND_ASSIGN(message::MessageIdParts id,
                         message::DecodeMessageId(r.offset_msg_id));
    RemotingCommand back = RemotingCommand::CreateRequest(
        remoting::request_code::kConsumerSendMsgBack);
    back.SetExt("offset", id.phys_offset);
    back.SetExt("group", "DG");
    back.SetExt("delayLevel", -1);  // straight to the DLQ
    ASSERT_OK_AND_ASSIGN(RemotingCommand resp,
                         raw.InvokeSync(broker_->broker_addr(), std::move(back),
                                        std::chrono::milliseconds(5000)));
    ASSERT_EQ(resp.code(), remoting::response_code::kSuccess) << resp.remark();
  }
  raw.Stop();
  ASSERT_TRUE(Eventually([&] { return admin_->TopicRoute("%DLQ%DG"); }).ok());
  auto dead = Eventually([&]() -> Result<std::vector<MessageInfo>> {
    auto m = ReadTopicMessages(client_.get(), "%DLQ%DG");
    if (m.ok() && m->size() < 3) return Status::NotFound("not dispatched yet");
    return m;
  });
  ASSERT_TRUE(dead.ok()) << dead.status().ToString();

  CliResult r = Run("admin printMsg -n " + Ns() + " -t %DLQ%DG --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto listed = nlohmann::json::parse(r.out)["messages"];
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1]["properties"]["RETRY_TOPIC"], "DlqOrigin");
  EXPECT_EQ(listed[1]["msgId"], sent[1].msg_id);

  r = Run("admin resendDlq -n " + Ns() + " -g DG -i " + sent[1].msg_id +
          " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto resent = nlohmann::json::parse(r.out)["resent"];
  ASSERT_EQ(resent.size(), 1u) << r.out;
  EXPECT_EQ(resent[0]["topic"], "DlqOrigin");
  auto origin = Eventually([&]() -> Result<std::vector<MessageInfo>> {
    auto m = ReadTopicMessages(client_.get(), "DlqOrigin");
    if (m.ok() && m->size() < 4) return Status::NotFound("not dispatched yet");
    return m;
  });
  ASSERT_TRUE(origin.ok()) << origin.status().ToString();
  ASSERT_EQ(origin->size(), 4u);
  const MessageInfo& again = origin->back();
  EXPECT_EQ(again.body, "body-1");
  EXPECT_EQ(again.properties.at("KEYS"), "key-1");
  EXPECT_EQ(again.properties.at("TAGS"), "TagA");
  EXPECT_EQ(again.properties.count("RETRY_TOPIC"), 0u);
  EXPECT_EQ(again.properties.count("DELAY"), 0u);
  EXPECT_EQ(again.MsgId(), resent[0]["newMsgId"]);

  // The message's journey from the CLI: dead in %DLQ%DG, then re-sent, found
  // from the original's id and from the copy's.
  for (const std::string& id : {sent[1].msg_id, again.MsgId()}) {
    r = Run("admin traceMessage -n " + Ns() + " -i " + id +
            " -t DlqOrigin -g DG --json");
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    auto traced = nlohmann::json::parse(r.out)["brokers"][0]["messages"];
    ASSERT_EQ(traced.size(), 1u) << r.out;
    EXPECT_EQ(traced[0]["offsetMsgId"], sent[1].offset_msg_id);
    std::vector<std::string> stages;
    for (const auto& g : traced[0]["groups"]) {
      if (g["group"] != "DG") continue;
      EXPECT_EQ(g["status"], "notConsumed") << r.out;
      for (const auto& e : g["timeline"]) stages.push_back(e["stage"]);
    }
    EXPECT_EQ(stages, (std::vector<std::string>{"stored", "dispatched", "dlq",
                                                "resent", "dispatched"}))
        << r.out;
  }
  r = Run("admin traceMessage -n " + Ns() + " -i " + sent[1].msg_id +
          " -t DlqOrigin -g DG");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Group DG: notConsumed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("%DLQ%DG/0@"), std::string::npos) << r.out;
  r = Run("admin traceMessage -n " + Ns() + " -i NOSUCHID -t DlqOrigin");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no message NOSUCHID"), std::string::npos) << r.err;

  r = Run("admin resendDlq -n " + Ns() + " -g DG --all");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("SEND_OK"), std::string::npos) << r.out;
  origin = Eventually([&]() -> Result<std::vector<MessageInfo>> {
    auto m = ReadTopicMessages(client_.get(), "DlqOrigin");
    if (m.ok() && m->size() < 7) return Status::NotFound("not dispatched yet");
    return m;
  });
  ASSERT_TRUE(origin.ok()) << origin.status().ToString();
  EXPECT_EQ(origin->size(), 7u);

  r = Run("admin resendDlq -n " + Ns() + " -g DG -i NOSUCHID");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NOSUCHID is not in %DLQ%DG"), std::string::npos)
      << r.err;
  r = Run("admin resendDlq -n " + Ns() + " -g DG");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--all"), std::string::npos) << r.err;
  r = Run("admin resendDlq -n " + Ns() + " -g NoGroup --all");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no dead-letter queue"), std::string::npos) << r.err;
}

TEST_F(AdminCliTest, BenchProduceSendsTheAskedShareDelayed) {
  CliResult r = Run("bench produce --namesrv " + Ns() +
                    " --topic BenchDelay --size 64 --producers 2 --inflight 4 "
                    "--messages 200 --warmup-bytes 0 --runs 1 --json "
                    "--delay-ratio 0.1 --delay-level 3");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["delay_ratio"], 0.1);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  // 20 of the 200 measured sends were parked at level 3 (10 s); the probe
  // send before the run was not delayed.
  EXPECT_EQ(broker_->store().GetMaxOffsetInQueue("SCHEDULE_TOPIC_XXXX", 2), 20);
  int64_t direct = 0;
  for (int q = 0; q < 4; ++q)
    direct += broker_->store().GetMaxOffsetInQueue("BenchDelay", q);
  EXPECT_EQ(direct, 181);
  r = Run("bench produce --namesrv " + Ns() + " --delay-ratio 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--delay-ratio"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace thruster::client
