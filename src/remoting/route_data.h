#pragma once

// JSON bodies shared by broker and name server (spec/remoting.md §3.3, §3.5):
// TopicConfig, DataVersion, the route (TopicRouteData with QueueData and
// BrokerData), ClusterInfo and TopicList. Each struct converts to and from
// json::Value; writers put members in alphabetical order like fastjson, readers
// are lenient (§4.3).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "remoting/json.h"

namespace thruster::remoting {

// Permission bits (§3.3).
inline constexpr int32_t kPermPriority = 8;
inline constexpr int32_t kPermRead = 4;
inline constexpr int32_t kPermWrite = 2;
inline constexpr int32_t kPermInherit = 1;

// {"counter":5,"stateVersion":0,"timestamp":1700000000000}. Equal only when all
// three members are.
struct DataVersion {
  int64_t counter = 0;
  int64_t state_version = 0;
  int64_t timestamp = 0;

  json::Value ToJson() const;
  static DataVersion FromJson(const json::Value& v);
  friend bool operator==(const DataVersion&, const DataVersion&) = default;
};

// One topic as a broker configures it (§3.3).
struct TopicConfig {
  std::string topic_name;
  int32_t read_queue_nums = 16;
  int32_t write_queue_nums = 16;
  int32_t perm = kPermRead | kPermWrite;
  std::string topic_filter_type = "SINGLE_TAG";
  int32_t topic_sys_flag = 0;
  bool order = false;
  // [5.x] attributes; written only when non-empty (4.x brokers have none).
  std::map<std::string, std::string> attributes;

  json::Value ToJson() const;
  // Accepts the pre-4.9.0 spelling `topicSynFlag` too (§10.4).
  static TopicConfig FromJson(const json::Value& v);
  friend bool operator==(const TopicConfig&, const TopicConfig&) = default;
};

// A broker name's queues for one topic.
struct QueueData {
  std::string broker_name;
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 0;
  int32_t topic_sys_flag = 0;

  json::Value ToJson() const;
  static QueueData FromJson(const json::Value& v);
  friend bool operator==(const QueueData&, const QueueData&) = default;
};

// A broker group: its cluster and its members by broker id (0 = master).
struct BrokerData {
  std::string cluster;
  std::string broker_name;
  std::map<int64_t, std::string> broker_addrs;

  // `bare_numeric_keys` writes brokerAddrs as fastjson does ({0:"..."});
  // otherwise standard JSON ({"0":"..."}).
  json::Value ToJson(bool bare_numeric_keys) const;
  static BrokerData FromJson(const json::Value& v);
  friend bool operator==(const BrokerData&, const BrokerData&) = default;
};

// GET_ROUTEINFO_BY_TOPIC's body (§3.5.3).
struct TopicRouteData {
  std::string order_topic_conf;  // omitted when empty
  std::vector<QueueData> queue_datas;
  std::vector<BrokerData> broker_datas;

  json::Value ToJson(bool bare_numeric_keys) const;
  static Result<TopicRouteData> Parse(std::string_view text);
};

// GET_BROKER_CLUSTER_INFO's body (§3.5.4); RocketMQ always writes bare numeric
// keys here.
struct ClusterInfo {
  std::map<std::string, BrokerData> broker_addr_table;
  std::map<std::string, std::vector<std::string>> cluster_addr_table;

  json::Value ToJson() const;
  static Result<ClusterInfo> Parse(std::string_view text);
};

// {"topicList":[...]} (§3.5.5); `broker_addr` is written only when set.
struct TopicList {
  std::vector<std::string> topic_list;
  std::string broker_addr;

  json::Value ToJson() const;
  static Result<TopicList> Parse(std::string_view text);
};

// Reads an int32 member leniently (number or numeric string); `def` when absent
// or out of range.
int32_t GetInt32(const json::Value& obj, std::string_view key, int32_t def);

}  // namespace thruster::remoting
