#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/properties.h"
#include "common/result.h"
#include "remoting/tls_config.h"

// The broker's own settings (everything that is not the store's), named and
// defaulted as RocketMQ's BrokerConfig so an existing broker.conf works;
// Thruster-only keys are marked. Read from the same Properties as
// store::MessageStoreConfig. A plain value type.
namespace thruster::broker {

struct BrokerConfig {
  std::string broker_name = "broker-a";                // brokerName
  std::string broker_cluster_name = "DefaultCluster";  // brokerClusterName
  int64_t broker_id = 0;                               // brokerId (0 = master)
  std::string broker_ip1 =
      "127.0.0.1";  // brokerIP1: the address clients are told to use
  std::string bind_address =
      "0.0.0.0";                // Thruster: address the broker listens on
  int32_t listen_port = 10911;  // listenPort (0: ephemeral, tests)
  // serverChannelMaxIdleTimeSeconds: a client connection with no completed
  // read or write for this long is closed (also a frame that stalls mid-way).
  int32_t server_channel_max_idle_time_seconds = 120;
  // serverChannelMaxPendingWriteBytes (Thruster; RocketMQ has no such bound):
  // bytes of responses queued for one client that does not read them; beyond
  // this its connection is closed, so a slow reader cannot hold unbounded
  // memory. The default, 256 MiB, is what the bound was before it had a key.
  int64_t server_channel_max_pending_write_bytes = 256 * 1024 * 1024;
  // namesrvAddr: "host:port;host:port". Empty: thruster-broker starts an
  // embedded name server and points the broker at it.
  std::string namesrv_addr;
  int32_t namesrv_listen_port =
      9876;  // Thruster: embedded name server port (0: ephemeral)
  bool auto_create_topic_enable = true;        // autoCreateTopicEnable
  bool auto_create_subscription_group = true;  // autoCreateSubscriptionGroup
  int32_t default_topic_queue_nums =
      4;  // defaultTopicQueueNums (TBW102's queue count)
  int32_t broker_permission = 6;  // brokerPermission
  int32_t register_name_server_period =
      30000;  // registerNameServerPeriod (ms, clamped 10 s..60 s)
  int32_t flush_consumer_offset_interval =
      5000;                                  // flushConsumerOffsetInterval (ms)
  int64_t channel_expired_timeout = 120000;  // channelExpiredTimeout (ms)
  bool long_polling_enable = true;           // longPollingEnable
  int64_t short_polling_time_mills = 1000;   // shortPollingTimeMills
  int32_t default_query_max_num = 32;        // defaultQueryMaxNum
  int32_t retry_max_times = 16;  // the subscription groups' retryMaxTimes
  std::string region_id = "DefaultRegion";  // regionId
  bool trace_on = true;                     // traceOn
  int32_t io_threads = 0;  // Thruster: network threads (0: one per core)
  // Thruster: how long a network thread keeps polling after its last event
  // before it sleeps (remoting::RemotingServerOptions::busy_poll_us); 0: never.
  int32_t net_busy_poll_us = 50;
  // Thruster: answer QUERY_CONSUMER_OFFSET with 0 for a group without an offset
  // on a queue whose first message is still "in memory" (RocketMQ's young-queue
  // rule, spec/remoting.md §3.4.9, §10.12).
  bool young_queue_offset_zero = true;
  // messageJourneyEnable (Thruster): keep the bounded record of recent fetches
  // per group and queue that the message journey shows (fetch_journal.h).
  bool message_journey_enable = true;
  // Transactions (spec/transactions.md §8).
  int64_t transaction_timeout = 6000;          // transactionTimeOut (ms)
  int32_t transaction_check_max = 15;          // transactionCheckMax
  int64_t transaction_check_interval = 60000;  // transactionCheckInterval (ms)
  bool reject_transaction_message = false;     // rejectTransactionMessage
  // Recall of timer messages (spec/schedule-and-timer.md §7, RocketMQ 5.3):
  // RECALL_MESSAGE is refused (NO_PERMISSION) unless recallMessageEnable; with
  // allowRecallWhenBrokerNotWriteable a broker without write permission still
  // takes recalls. Keys: recallMessageEnable,
  // allowRecallWhenBrokerNotWriteable.
  bool recall_message_enable = false;
  bool allow_recall_when_broker_not_writeable = true;
  // SQL92 subscriptions (broker/filter/sql_filter.h).
  bool enable_property_filter = false;  // enablePropertyFilter
  // Metrics (RocketMQ 5's keys): DISABLE or PROM (a Prometheus /metrics
  // endpoint on metricsPromExporterHost:metricsPromExporterPort; empty host:
  // every interface, port 0: ephemeral, tests).
  std::string metrics_exporter_type = "DISABLE";  // metricsExporterType
  std::string metrics_prom_exporter_host;         // metricsPromExporterHost
  int32_t metrics_prom_exporter_port = 5557;      // metricsPromExporterPort
  // The 5.x gRPC endpoint (apache.rocketmq.v2, src/proxy) in this process, as
  // RocketMQ's proxy in local mode; port 0: ephemeral (tests). Off by default:
  // RocketMQ's broker serves no gRPC unless started with its proxy.
  bool enable_grpc_server = false;  // enableGrpcServer (Thruster)
  int32_t grpc_server_port = 8081;  // grpcServerPort (RocketMQ proxy)
  bool acl_enable = false;  // aclEnable: check every request (plain ACL 1.0)
  // Thruster: the plain_acl.yml to use. Empty: conf/plain_acl.yml under
  // ROCKETMQ_HOME when set, else plain_acl.yml beside the -c config file (see
  // apps/thruster-broker), else ./conf/plain_acl.yml.
  std::string acl_file;
  // Pop consumption (spec/pop.md §10).
  int32_t revive_queue_num = 8;         // reviveQueueNum
  int64_t revive_interval = 1000;       // reviveInterval (ms)
  int32_t pop_from_retry_probability = 20;  // popFromRetryProbability (%)
  int32_t max_pop_polling_size = 100000;    // maxPopPollingSize
  // Replication (spec/ha.md §1, §6.3); the store's HA keys are in
  // store::MessageStoreConfig.
  std::string broker_ip2;  // brokerIP2: haServerAddr's host (empty: brokerIP1)
  bool slave_read_enable = false;  // slaveReadEnable
  // Controller mode on etcd (spec/ha.md §7; ha/etcd_controller.h): the group
  // elects its master through etcd instead of static roles; the HA stream is
  // the auto-switch one and the store keeps the epoch file.
  bool enable_controller_mode = false;  // enableControllerMode
  std::string etcd_endpoints;           // etcdEndpoints (',' or ';')
  // etcd lease TTL: a dead master is replaced within about this long, and a
  // master that cannot renew stops acknowledging before it runs out.
  int64_t controller_lease_ttl_ms = 3000;                // controllerLeaseTtlMs
  int64_t broker_election_priority = 2147483647;         // brokerElectionPriority
  bool enable_elect_unclean_master = false;  // enableElectUncleanMaster
  // vipChannelEnabled (Thruster; RocketMQ always opens it): a second listener
  // on listenPort - 2 serving every request but pulls, for Java clients
  // <= 4.5.0 and 4.9.8 slaves (spec/remoting.md §1.1, spec/ha.md §5).
  bool vip_channel_enabled = true;
  // tls.server.mode (tlsMode), tls.server.*, tls.enable, tls.client.*: TLS on
  // the broker's port (and the embedded name server's), and on its own
  // connections to name servers.
  remoting::TlsConfig tls;

  // "host:port" of every name server to register with (namesrvAddr split on
  // ';'), or empty.
  std::vector<std::string> NameServerAddresses() const;
  // Reads every known key (unknown keys are ignored); InvalidArgument naming
  // the key when malformed.
  static Result<BrokerConfig> FromProperties(const Properties& props);

  bool operator==(const BrokerConfig&) const = default;
};

}  // namespace thruster::broker
