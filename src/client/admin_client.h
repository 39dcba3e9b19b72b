#pragma once

// What `thruster admin` (mqadmin's commands) asks of name servers and brokers
// (spec/remoting.md §3.4.4-§3.4.5, §3.4.18-§3.4.27, §3.5, §9.3), with the
// answers parsed into plain structs. Every call is synchronous.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "client/client_instance.h"
#include "client/message_queue.h"
#include "common/result.h"
#include "message/commit_log_format.h"
#include "remoting/route_data.h"

namespace thruster::client {

// A stored message copied out of a response (owning, unlike DecodedRecord).
struct MessageInfo {
  std::string topic;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t phys_offset = 0;
  int32_t store_size = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;
  int32_t body_crc = 0;
  int32_t reconsume_times = 0;
  int64_t born_timestamp = 0;
  int64_t store_timestamp = 0;
  std::string born_host;
  std::string store_host;
  std::string offset_msg_id;  // from store host and phys offset (§5.8)
  std::map<std::string, std::string, std::less<>> properties;
  std::string body;

  static MessageInfo FromRecord(const message::DecodedRecord& r);
  // The UNIQ_KEY property, or the offset id when there is none.
  std::string MsgId() const;
  // The property's value; empty when the message has none.
  std::string Property(std::string_view name) const;
};

// One queue of GET_TOPIC_STATS_INFO (§3.4.22).
struct TopicQueueStats {
  MessageQueue queue;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  int64_t last_update_timestamp = 0;
};

// One queue of GET_CONSUME_STATS (§3.4.23).
struct QueueConsumeStats {
  MessageQueue queue;
  int64_t broker_offset = 0;
  int64_t consumer_offset = 0;
  int64_t pull_offset = 0;
  int64_t last_timestamp = 0;
};

struct ConsumeStats {
  std::vector<QueueConsumeStats> queues;  // sorted by queue
  double consume_tps = 0;
  int64_t Diff() const;  // Σ brokerOffset − consumerOffset
};

// GET_CONSUMER_CONNECTION_LIST (§3.4.24).
struct ConsumerConnectionInfo {
  struct Connection {
    std::string client_id;
    std::string client_addr;
    std::string language;
    int64_t version = 0;
  };
  std::vector<Connection> connections;
  std::string consume_type;
  std::string message_model;
  std::string consume_from_where;
  std::map<std::string, std::string> subscriptions;  // topic → expression
};

// One queue moved by resetOffsetByTime.
struct ResetOffsetEntry {
  MessageQueue queue;
  int64_t old_offset = -1;  // -1: none committed (or unknown)
  int64_t new_offset = 0;
};

// One row of clusterList: the cluster info joined with each master's
// GET_BROKER_RUNTIME_INFO (§3.4.21).
struct ClusterBroker {
  std::string cluster;
  std::string broker_name;
  int64_t broker_id = 0;
  std::string addr;
  // Runtime info; empty with `error` set when the broker did not answer.
  std::map<std::string, std::string> runtime;
  std::string error;
};

// One producer connection (GET_PRODUCER_CONNECTION_LIST).
struct ProducerConnectionEntry {
  std::string broker_addr;
  std::string client_id;
  std::string client_addr;
  std::string language;
  int64_t version = 0;
};

// Lifecycle: construct over a started ClientInstance that outlives it.
// Thread-safe.
class AdminClient {
 public:
  explicit AdminClient(ClientInstance* client) : client_(client) {}
  // The client instance the calls go through (to make a Producer on it).
  ClientInstance* client() const { return client_; }

  // UPDATE_AND_CREATE_TOPIC on `broker_addr`, or on every master of `cluster`
  // (§3.4.18). Returns the broker addresses updated.
  Result<std::vector<std::string>> CreateTopic(
      const remoting::TopicConfig& config, const std::string& broker_addr,
      const std::string& cluster);
  // DELETE_TOPIC_IN_BROKER on every master hosting the topic (of `cluster`
  // when given), then DELETE_TOPIC_IN_NAMESRV on the name server. NotFound
  // when the topic does not exist.
  Result<std::vector<std::string>> DeleteTopic(const std::string& topic,
                                               const std::string& cluster);
  Result<std::vector<std::string>> TopicList();
  Result<remoting::TopicRouteData> TopicRoute(const std::string& topic);
  // GET_TOPIC_STATS_INFO on every broker of the route, merged and sorted.
  Result<std::vector<TopicQueueStats>> TopicStatus(const std::string& topic);

  // VIEW_MESSAGE_BY_ID on the broker named in an offset id; when `id` is not
  // one (or that fails) and `topic` is given, a unique-key QUERY_MESSAGE.
  Result<std::vector<MessageInfo>> QueryMsgById(const std::string& id,
                                                const std::string& topic);
  // QUERY_MESSAGE on every broker of the route; keeps records of `topic` whose
  // KEYS (or, for `unique`, UNIQ_KEY) contain `key`. NotFound when none.
  Result<std::vector<MessageInfo>> QueryMsgByKey(const std::string& topic,
                                                 const std::string& key,
                                                 bool unique = false,
                                                 int32_t max_num = 64);
  // A one-message pull at (topic, broker name, queue id, offset).
  Result<MessageInfo> QueryMsgByOffset(const std::string& topic,
                                       const std::string& broker_name,
                                       int32_t queue_id, int64_t offset);

  // GET_CONSUME_STATS of `group` (restricted to `topic` when given) on every
  // broker serving the group, merged.
  Result<ConsumeStats> ConsumerProgress(const std::string& group,
                                        const std::string& topic);
  // GET_CONSUMER_CONNECTION_LIST; NotFound when the group has no live
  // consumer.
  Result<ConsumerConnectionInfo> ConsumerConnection(const std::string& group);

  Result<std::vector<ClusterBroker>> ClusterList();
  // GET_BROKER_RUNTIME_INFO's key/value table.
  Result<std::map<std::string, std::string>> BrokerRuntimeInfo(
      const std::string& broker_addr);
  // GET_BROKER_HA_STATUS (907): the broker's HARuntimeInfo JSON text.
  Result<std::string> BrokerHaStatus(const std::string& broker_addr);

  // Moves `group`'s offsets on `topic` to the first message stored at or after
  // `timestamp_ms`: INVOKE_BROKER_TO_RESET_OFFSET where the broker supports
  // it, else SEARCH_OFFSET_BY_TIMESTAMP + UPDATE_CONSUMER_OFFSET per queue.
  // Without `force`, a queue only moves backwards.
  Result<std::vector<ResetOffsetEntry>> ResetOffsetByTime(
      const std::string& group, const std::string& topic, int64_t timestamp_ms,
      bool force);

  // The calls below address `broker_addr`, or every master of `cluster`
  // (exactly one of the two given); each returns the addresses it reached.
  // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP with a SubscriptionGroupConfig JSON.
  Result<std::vector<std::string>> UpdateSubGroup(
      const std::string& config_json, const std::string& broker_addr,
      const std::string& cluster);
  // DELETE_SUBSCRIPTIONGROUP (with the group's offsets when `remove_offset`).
  Result<std::vector<std::string>> DeleteSubGroup(
      const std::string& group, bool remove_offset,
      const std::string& broker_addr, const std::string& cluster);
  // UPDATE_BROKER_CONFIG with one key.
  Result<std::vector<std::string>> UpdateBrokerConfig(
      const std::string& key, const std::string& value,
      const std::string& broker_addr, const std::string& cluster);
  // GET_BROKER_CONFIG's key/value lines.
  Result<std::map<std::string, std::string>> GetBrokerConfig(
      const std::string& broker_addr);
  // GET_PRODUCER_CONNECTION_LIST of `group` on every master hosting `topic`,
  // merged; NotFound when no broker knows a producer of the group.
  Result<std::vector<ProducerConnectionEntry>> ProducerConnection(
      const std::string& group, const std::string& topic);
  // WIPE_WRITE_PERM_OF_BROKER (or, with !wipe, ADD_WRITE_PERM_OF_BROKER) on
  // the name server; the number of topics changed.
  Result<int64_t> ChangeWritePerm(const std::string& broker_name, bool wipe);

  // `broker_addr`, or every master of `cluster` (InvalidArgument unless
  // exactly one is given).
  Result<std::vector<std::string>> TargetBrokers(const std::string& broker_addr,
                                                 const std::string& cluster);

 private:
  // Master addresses of the brokers serving a group: the route of
  // %RETRY%<group>, else every master of the cluster info.
  Result<std::vector<std::string>> GroupBrokers(const std::string& group);
  // broker name → master address from a route.
  static std::map<std::string, std::string> Masters(
      const remoting::TopicRouteData& route);
  Result<std::vector<ResetOffsetEntry>> ResetByQueues(
      const std::string& group, const std::string& topic,
      const std::string& broker_name, int32_t queues, int64_t timestamp_ms,
      bool force);

  ClientInstance* const client_;
};

}  // namespace thruster::client
