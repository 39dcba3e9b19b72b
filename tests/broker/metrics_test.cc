// The broker's Prometheus endpoint (metricsExporterType=PROM): the exposition
// writer's format, and a real Prometheus (Debian's package) scraping a broker
// that the test loads with sends and pulls, checked through Prometheus's HTTP
// API; `promtool check metrics` must find nothing to say about /metrics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "broker/broker.h"
#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "common/prom_text.h"
#include "common/properties.h"
#include "namesrv/name_server.h"
#include "tests/support/in_process.h"
#include "tests/support/test_util.h"

namespace thruster {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(PromTextTest, WritesFamiliesEscapedLabelsAndCumulativeBuckets) {
  PromText out;
  out.Family("x_total", "counter", "Things\\counted.");
  out.Sample("x_total", {{"topic", "a\"b\\c\nd"}}, int64_t{7});
  AtomicHistogram<2> h({1, 10});
  h.Observe(0.5);
  h.Observe(5);
  h.Observe(5);
  h.Observe(50);
  out.Family("y", "histogram", "Sizes.");
  h.Write(out, "y", {{"n", "1"}});
  EXPECT_EQ(out.text(),
            "# HELP x_total Things\\\\counted.\n"
            "# TYPE x_total counter\n"
            "x_total{topic=\"a\\\"b\\\\c\\nd\"} 7\n"
            "# HELP y Sizes.\n"
            "# TYPE y histogram\n"
            "y_bucket{n=\"1\",le=\"1\"} 1\n"
            "y_bucket{n=\"1\",le=\"10\"} 3\n"
            "y_bucket{n=\"1\",le=\"+Inf\"} 4\n"
            "y_sum{n=\"1\"} 60.5\n"
            "y_count{n=\"1\"} 4\n");
}

TEST(MetricsConfigTest, KeysHaveRocketMQsDefaultsAndBadOnesAreRefused) {
  Properties none;
  ASSERT_OK_AND_ASSIGN(broker::BrokerConfig c,
                       broker::BrokerConfig::FromProperties(none));
  EXPECT_EQ(c.metrics_exporter_type, "DISABLE");
  EXPECT_EQ(c.metrics_prom_exporter_port, 5557);
  Properties otlp;
  otlp.Set("metricsExporterType", "OTLP_GRPC");
  auto r = broker::BrokerConfig::FromProperties(otlp);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("OTLP_GRPC"), std::string::npos);
  Properties port;
  port.Set("metricsPromExporterPort", "70000");
  EXPECT_FALSE(broker::BrokerConfig::FromProperties(port).ok());
}

// A port nothing listens on right now (the kernel's pick for a socket bound
// to port 0, closed again).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BrokerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namesrv::NameServerOptions ns_options =
        testing::LoopbackNameServerOptions();
    ns_options.metrics_exporter_type = "PROM";
    ns_options.metrics_prom_exporter_host = "127.0.0.1";
    ns_options.metrics_prom_exporter_port = 0;
    namesrv_ = std::make_unique<namesrv::NameServer>(ns_options);
    ASSERT_OK(namesrv_->Start());
    broker::BrokerConfig bc;
    bc.bind_address = "127.0.0.1";
    bc.broker_ip1 = "127.0.0.1";
    bc.listen_port = 0;
    bc.broker_name = "broker-metrics";
    bc.namesrv_addr = "127.0.0.1:" + std::to_string(namesrv_->port());
    bc.io_threads = 2;
    bc.metrics_exporter_type = "PROM";
    bc.metrics_prom_exporter_host = "127.0.0.1";
    bc.metrics_prom_exporter_port = 0;
    store::MessageStoreConfig sc;
    sc.store_path_root_dir = dir_.path() + "/store";
    sc.mapped_file_size_commit_log = 4 << 20;
    sc.mapped_file_size_consume_queue = 20 * 10000;
    sc.max_hash_slot_num = 1000;
    sc.max_index_num = 4000;
    broker_ = std::make_unique<broker::Broker>(bc, sc);
    ASSERT_OK(broker_->Start());
    ASSERT_GT(broker_->metrics_port(), 0);
    client::ClientOptions o;
    o.namesrv_addr = "127.0.0.1:" + std::to_string(namesrv_->port());
    o.heartbeat_interval_ms = 0;
    client_ = std::make_unique<client::ClientInstance>(o);
    ASSERT_OK(client_->Start());
  }
  void TearDown() override {
    if (prometheus_ > 0) {
      ::kill(prometheus_, SIGTERM);
      int status = 0;
      ::waitpid(prometheus_, &status, 0);
    }
    if (client_) client_->Stop();
    if (broker_) broker_->Shutdown();
    if (namesrv_) namesrv_->Stop();
  }

  std::string Scrape(uint16_t port) {
    httplib::Client c("127.0.0.1", port);
    auto res = c.Get("/metrics");
    if (!res || res->status != 200) return {};
    return res->body;
  }

  // Starts Prometheus scraping the broker's endpoint every 200 ms; its API
  // answers on the returned port.
  int StartPrometheus() {
    const int port = FreePort();
    const std::string cfg = dir_.path() + "/prometheus.yml";
    std::ofstream(cfg) << "global:\n"
                          "  scrape_interval: 200ms\n"
                          "  scrape_timeout: 200ms\n"
                          "scrape_configs:\n"
                          "  - job_name: thruster-broker\n"
                          "    static_configs:\n"
                          "      - targets: ['127.0.0.1:"
                       << broker_->metrics_port()
                       << "']\n"
                          "  - job_name: thruster-namesrv\n"
                          "    static_configs:\n"
                          "      - targets: ['127.0.0.1:"
                       << namesrv_->metrics_port() << "']\n";
    const std::string log = dir_.path() + "/prometheus.log";
    prometheus_log_ = log;
    std::fflush(stdout);
    prometheus_ = ::fork();
    if (prometheus_ == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stdout);
      if (f == nullptr || ::dup2(::fileno(stdout), 2) < 0) ::_exit(127);
      const std::string config_flag = "--config.file=" + cfg;
      const std::string tsdb_flag =
          "--storage.tsdb.path=" + dir_.path() + "/tsdb";
      const std::string listen_flag =
          "--web.listen-address=127.0.0.1:" + std::to_string(port);
      ::execl(PROMETHEUS_BIN, PROMETHEUS_BIN, config_flag.c_str(),
              tsdb_flag.c_str(), listen_flag.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return port;
  }

  // Polls Prometheus's instant query until `pred` holds for the first
  // series' value, or 60 s pass; the last answer either way.
  template <typename Pred>
  json QueryUntil(int port, const std::string& promql, Pred pred) {
    httplib::Client c("127.0.0.1", port);
    json last;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      const httplib::Params params{{"query", promql}};
      auto res = c.Get("/api/v1/query", params, httplib::Headers{});
      if (res && res->status == 200) {
        last = json::parse(res->body, nullptr, false);
        const json& result = last["data"]["result"];
        if (result.is_array() && !result.empty() &&
            pred(std::stod(result[0]["value"][1].get<std::string>())))
          return last;
      }
      int status = 0;
      if (::waitpid(prometheus_, &status, WNOHANG) != 0) {
        ADD_FAILURE() << "prometheus exited:\n" << ReadAll(prometheus_log_);
        return last;
      }
      std::this_thread::sleep_for(100ms);  // polling Prometheus
    }
    ADD_FAILURE() << promql << " never matched; last answer: " << last.dump()
                  << "\nprometheus log:\n"
                  << ReadAll(prometheus_log_);
    return last;
  }

  testing::TempDir dir_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<client::ClientInstance> client_;
  pid_t prometheus_ = -1;
  std::string prometheus_log_;
};

TEST(DeployTest, PrometheusScrapeExampleIsValid) {
  const std::string cmd = std::string(PROMTOOL_BIN) + " check config " +
                          THRUSTER_SOURCE_DIR +
                          "/deploy/prometheus/prometheus.yml 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  // The Grafana dashboard is JSON with panels querying our families.
  std::ifstream in(std::string(THRUSTER_SOURCE_DIR) +
                   "/deploy/grafana/thruster-broker.json");
  const json dash = json::parse(in, nullptr, false);
  ASSERT_FALSE(dash.is_discarded());
  ASSERT_TRUE(dash["panels"].is_array());
  EXPECT_GE(dash["panels"].size(), 10u);
  EXPECT_NE(dash.dump().find("rocketmq_consumer_lag_messages"),
            std::string::npos);
}

TEST_F(BrokerMetricsTest, PrometheusScrapesWhatTheBrokerCounted) {
  ASSERT_TRUE(std::string(PROMETHEUS_BIN).find("NOTFOUND") == std::string::npos)
      << "prometheus is not installed (scripts/install-deps.sh)";
  const std::string topic = "MetricsTopic";
  const std::string group = "MetricsGroup";
  client::AdminClient admin(client_.get());
  remoting::TopicConfig tc;
  tc.topic_name = topic;
  tc.read_queue_nums = 2;
  tc.write_queue_nums = 2;
  ASSERT_OK(admin.CreateTopic(tc, "", "DefaultCluster").status());
  // The producer needs the route the broker registers asynchronously.
  const auto route_deadline = std::chrono::steady_clock::now() + 10s;
  while (!admin.TopicRoute(topic).ok() &&
         std::chrono::steady_clock::now() < route_deadline) {
    std::this_thread::sleep_for(20ms);  // polling the name server
  }

  // 30 messages to queue 0, 20 to queue 1, 100 body bytes each.
  client::Producer producer(client_.get());
  const std::string body(100, 'x');
  for (int i = 0; i < 50; ++i) {
    client::Message m;
    m.topic = topic;
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    m.queue_id = i < 30 ? 0 : 1;
    ASSERT_OK(producer.Send(m).status());
  }
  ASSERT_TRUE(broker_->store().WaitForDispatch(10000));

  // The group pulls all of queue 0 and commits offset 12 there: 18 behind,
  // 18 in flight; nothing on queue 1.
  client::PullConsumerOptions po;
  po.group = group;
  client::PullConsumer consumer(client_.get(), po);
  client::MessageQueue mq{topic, broker_->config().broker_name, 0};
  int64_t offset = 0;
  int pulled = 0;
  while (offset < 30) {
    ASSERT_OK_AND_ASSIGN(client::PullResult r,
                         consumer.Pull(mq, "*", offset, 32));
    ASSERT_EQ(r.status, client::PullStatus::kFound);
    pulled += static_cast<int>(r.messages.size());
    offset = r.next_begin_offset;
  }
  ASSERT_EQ(pulled, 30);
  ASSERT_OK(consumer.UpdateOffset(mq, 12));

  const std::string text = Scrape(broker_->metrics_port());
  ASSERT_FALSE(text.empty());
  EXPECT_NE(text.find("rocketmq_messages_in_total{cluster=\"DefaultCluster\","
                      "node_type=\"broker\",node_id=\"broker-metrics\","
                      "topic=\"MetricsTopic\",message_type=\"normal\","
                      "is_system=\"false\"} 50\n"),
            std::string::npos)
      << text;

  // promtool has nothing to say about either exposition.
  const std::string ns_text = Scrape(namesrv_->metrics_port());
  EXPECT_NE(
      ns_text.find("rocketmq_namesrv_live_brokers{node_type=\"namesrv\","),
      std::string::npos)
      << ns_text;
  for (const std::string* t : {&text, &ns_text}) {
    const std::string file = dir_.path() + "/metrics.txt";
    std::ofstream(file) << *t;
    const std::string cmd =
        std::string(PROMTOOL_BIN) + " check metrics < " + file + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string lint;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) lint.append(buf, n);
    const int status = ::pclose(p);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << lint;
    EXPECT_EQ(lint, "") << *t;
  }

  // A real Prometheus scrapes the broker and answers the same figures.
  const int port = StartPrometheus();
  auto eq = [](double want) { return [want](double v) { return v == want; }; };
  const std::string sel =
      "{topic=\"" + topic + "\",node_id=\"broker-metrics\"}";
  QueryUntil(port, "sum(rocketmq_messages_in_total" + sel + ")", eq(50));
  QueryUntil(port, "sum(rocketmq_throughput_in_total" + sel + ")", eq(5000));
  QueryUntil(
      port,
      "sum(rocketmq_message_size_bucket{topic=\"" + topic + "\",le=\"1024\"})",
      eq(50));
  QueryUntil(port,
             "sum(rocketmq_messages_out_total{topic=\"" + topic +
                 "\",consumer_group=\"" + group + "\"})",
             eq(30));
  QueryUntil(port,
             "rocketmq_consumer_lag_messages{topic=\"" + topic +
                 "\",consumer_group=\"" + group + "\"}",
             eq(18));
  QueryUntil(port,
             "rocketmq_consumer_inflight_messages{topic=\"" + topic +
                 "\",consumer_group=\"" + group + "\"}",
             eq(18));
  // Every send answered SUCCESS (SEND_MESSAGE = 10 or SEND_MESSAGE_V2 = 310;
  // SUCCESS = 0).
  QueryUntil(port,
             "sum(rocketmq_rpc_latency_count{node_type=\"broker\","
             "request_code=~\"10|310\",response_code=\"0\"})",
             eq(50));
  QueryUntil(port, "rocketmq_topic_number", [](double v) { return v >= 1; });
  QueryUntil(port, "rocketmq_storage_size", [](double v) { return v > 0; });
  QueryUntil(port, "thruster_store_append_lock_seconds_count",
             [](double v) { return v >= 50; });
  // The name server's own endpoint: the one broker, its REGISTER_BROKER (103)
  // answered.
  QueryUntil(port, "rocketmq_namesrv_live_brokers{cluster=\"DefaultCluster\"}",
             eq(1));
  QueryUntil(port,
             "sum(rocketmq_rpc_latency_count{node_type=\"namesrv\","
             "request_code=\"103\"})",
             [](double v) { return v >= 1; });

  // More load is seen by the next scrapes.
  for (int i = 0; i < 10; ++i) {
    client::Message m;
    m.topic = topic;
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    m.queue_id = 1;
    ASSERT_OK(producer.Send(m).status());
  }
  QueryUntil(port, "sum(rocketmq_messages_in_total" + sel + ")", eq(60));
}

}  // namespace
}  // namespace thruster
