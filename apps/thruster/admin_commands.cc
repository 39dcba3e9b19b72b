// `thruster admin <command>`: mqadmin's everyday commands, with its command
// names and option letters, over the client library (src/client/). Tables by
// default, one JSON document with --json. Exit status 1 with a one-line reason
// on stderr when the name server or a broker cannot be reached, the topic or
// group does not exist, or a broker refuses.
#include <charconv>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/dlq_admin.h"
#include "common/hex.h"
#include "common/logging.h"
#include "message/properties.h"
#include "remoting/json.h"
#include "thruster/commands.h"
#include "thruster/message_json.h"

namespace thruster::cli {
namespace {

using nlohmann::json;

struct AdminArgs : AdminConnection {
  bool json = false;
  std::string topic;
  std::string cluster;
  std::string broker;
  std::string group;
  std::string key;
  std::string msg_id;
  std::string timestamp;
  int32_t read_queues = 8;
  int32_t write_queues = 8;
  int32_t perm = 6;
  bool order = false;
  int32_t queue_id = 0;
  int64_t offset = 0;
  bool force = true;
  // updateSubGroup's SubscriptionGroupConfig, deleteSubGroup's -r,
  // updateBrokerConfig's -k/-v.
  bool consume_enable = true;
  bool consume_from_min_enable = true;
  bool consume_broadcast_enable = true;
  int32_t retry_queue_nums = 1;
  int32_t retry_max_times = 16;
  int64_t broker_id = 0;
  int64_t which_broker_when_consume_slowly = 1;
  bool notify_consumer_ids_changed = true;
  bool consume_message_orderly = false;
  bool remove_offset = false;
  std::string config_key;
  std::string config_value;
  // sendMessage's body, tags and keys; consumeMessage's count.
  std::string body;
  std::string tags;
  int32_t count = 128;
  std::vector<std::string> msg_ids;
  bool all = false;
};

// A text table: columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) {
    rows_.push_back(std::move(header));
  }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print() const {
    std::vector<size_t> w;
    for (const auto& r : rows_) {
      if (w.size() < r.size()) w.resize(r.size());
      for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    }
    for (const auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line.append(w[i] - r[i].size() + 2, ' ');
      }
      fmt::print("{}\n", line);
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Parses -s of resetOffsetByTime: "now", milliseconds since the epoch, or
// mqadmin's local-time form yyyy-MM-dd#HH:mm:ss:SSS.
std::optional<int64_t> ParseTimestamp(const std::string& s) {
  if (s == "now")
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  if (auto v = remoting::json::ParseInt64(s)) return *v;
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d#%d:%d:%d:%d", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == -1) return std::nullopt;
  return static_cast<int64_t>(t) * 1000 + ms;
}

bool IsPrintableText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
  }
  return true;
}

std::string Hex(std::string_view s, size_t max) {
  std::string out = HexUpper(s.substr(0, max));
  if (s.size() > max) out += "...";
  return out;
}

json MessageJson(const client::MessageInfo& m) {
  json j = MessageSummaryJson(m);
  AddMessageDetailJson(m, &j);
  if (IsPrintableText(m.body)) {
    j["body"] = m.body;
  } else {
    j["bodyHex"] = Hex(m.body, m.body.size());
  }
  return j;
}

void PrintMessage(const client::MessageInfo& m) {
  auto line = [](std::string_view k, const std::string& v) {
    fmt::print("{:<21}{}\n", fmt::format("{}:", k), v);
  };
  line("OffsetID", m.offset_msg_id);
  line("MsgId", m.MsgId());
  line("Topic", m.topic);
  line("Tags", fmt::format("[{}]", m.Property(message::prop::kTags)));
  line("Keys", fmt::format("[{}]", m.Property(message::prop::kKeys)));
  line("Queue ID", std::to_string(m.queue_id));
  line("Queue Offset", std::to_string(m.queue_offset));
  line("CommitLog Offset", std::to_string(m.phys_offset));
  line("Reconsume Times", std::to_string(m.reconsume_times));
  line("Born Timestamp", FormatTime(m.born_timestamp));
  line("Store Timestamp", FormatTime(m.store_timestamp));
  line("Born Host", m.born_host);
  line("Store Host", m.store_host);
  line("System Flag", std::to_string(m.sys_flag));
  std::string props = "{";
  for (const auto& [k, v] : m.properties) {
    if (props.size() > 1) props += ", ";
    props += k + "=" + v;
  }
  line("Properties", props + "}");
  line("Body Length", std::to_string(m.body.size()));
  constexpr size_t kShown = 512;  // the whole body is in --json
  if (IsPrintableText(m.body)) {
    line("Message Body",
         m.body.size() > kShown ? m.body.substr(0, kShown) + "..." : m.body);
  } else {
    line("Message Body (hex)", Hex(m.body, kShown / 2));
  }
}

using Command = std::function<Status(const AdminArgs&, client::AdminClient&)>;

int Run(std::string_view name, const AdminArgs& a, const Command& cmd) {
  return RunAdminCommand(name, a, [&](client::ClientInstance& instance) {
    client::AdminClient admin(&instance);
    return cmd(a, admin);
  });
}

Status UpdateTopic(const AdminArgs& a, client::AdminClient& admin) {
  if (a.broker.empty() == a.cluster.empty())
    return Status::InvalidArgument(
        "give exactly one of -b BROKER_ADDR and -c CLUSTER");
  remoting::TopicConfig tc;
  tc.topic_name = a.topic;
  tc.read_queue_nums = a.read_queues;
  tc.write_queue_nums = a.write_queues;
  tc.perm = a.perm;
  tc.order = a.order;
  TH_ASSIGN_OR_RETURN(auto addrs, admin.CreateTopic(tc, a.broker, a.cluster));
  if (a.json) {
    fmt::print("{}\n",
               json{{"topic", a.topic},
                    {"readQueueNums", a.read_queues},
                    {"writeQueueNums", a.write_queues},
                    {"perm", a.perm},
                    {"order", a.order},
                    {"brokers", addrs}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  for (const auto& addr : addrs)
    fmt::print("create topic to {} success.\n", addr);
  fmt::print(
      "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, "
      "perm={}, order={}]\n",
      a.topic, a.read_queues, a.write_queues, a.perm, a.order);
  return Status::OK();
}

Status DeleteTopic(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto addrs, admin.DeleteTopic(a.topic, a.cluster));
  if (a.json) {
    fmt::print("{}\n", json{{"topic", a.topic}, {"brokers", addrs}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
  } else {
    for (const auto& addr : addrs)
      fmt::print("delete topic [{}] from broker {} success.\n", a.topic, addr);
    fmt::print("delete topic [{}] from name server success.\n", a.topic);
  }
  return Status::OK();
}

Status TopicList(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto topics, admin.TopicList());
  if (a.json) {
    fmt::print("{}\n", json{{"topicList", topics}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
  } else {
    for (const auto& t : topics) fmt::print("{}\n", t);
  }
  return Status::OK();
}

Status TopicRoute(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto route, admin.TopicRoute(a.topic));
  if (a.json) {
    fmt::print("{}\n", remoting::json::Write(route.ToJson(false)));
    return Status::OK();
  }
  Table brokers({"#Cluster", "#Broker Name", "#BID", "#Addr"});
  for (const auto& bd : route.broker_datas)
    for (const auto& [id, addr] : bd.broker_addrs)
      brokers.Add({bd.cluster, bd.broker_name, std::to_string(id), addr});
  brokers.Print();
  fmt::print("\n");
  Table queues({"#Broker Name", "#Read Queues", "#Write Queues", "#Perm"});
  for (const auto& qd : route.queue_datas)
    queues.Add({qd.broker_name, std::to_string(qd.read_queue_nums),
                std::to_string(qd.write_queue_nums), std::to_string(qd.perm)});
  queues.Print();
  return Status::OK();
}

Status TopicStatus(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto stats, admin.TopicStatus(a.topic));
  if (a.json) {
    json arr = json::array();
    for (const auto& s : stats)
      arr.push_back({{"brokerName", s.queue.broker_name},
                     {"queueId", s.queue.queue_id},
                     {"minOffset", s.min_offset},
                     {"maxOffset", s.max_offset},
                     {"lastUpdateTimestamp", s.last_update_timestamp}});
    fmt::print("{}\n", json{{"topic", a.topic}, {"queues", arr}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  Table t(
      {"#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated"});
  for (const auto& s : stats)
    t.Add({s.queue.broker_name, std::to_string(s.queue.queue_id),
           std::to_string(s.min_offset), std::to_string(s.max_offset),
           FormatTime(s.last_update_timestamp)});
  t.Print();
  return Status::OK();
}

Status PrintMessages(const AdminArgs& a,
                     const std::vector<client::MessageInfo>& msgs) {
  if (a.json) {
    json arr = json::array();
    for (const auto& m : msgs) arr.push_back(MessageJson(m));
    fmt::print("{}\n", json{{"messages", arr}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i > 0) fmt::print("\n");
    PrintMessage(msgs[i]);
  }
  return Status::OK();
}

Status QueryMsgById(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto msgs, admin.QueryMsgById(a.msg_id, a.topic));
  return PrintMessages(a, msgs);
}

// mqadmin queryMsgByUniqueKey: the oldest stored message whose UNIQ_KEY is
// -i; with -a every one (a message sent back for retry is stored again).
Status QueryMsgByUniqueKey(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto msgs,
                      admin.QueryMsgByKey(a.topic, a.msg_id, /*unique=*/true));
  if (!a.all && msgs.size() > 1) msgs.resize(1);
  return PrintMessages(a, msgs);
}

Status QueryMsgByKey(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto msgs, admin.QueryMsgByKey(a.topic, a.key));
  if (a.json) return PrintMessages(a, msgs);
  Table t({"#Message ID", "#QID", "#Offset", "#Store Time"});
  for (const auto& m : msgs)
    t.Add({m.MsgId(), std::to_string(m.queue_id),
           std::to_string(m.queue_offset), FormatTime(m.store_timestamp)});
  t.Print();
  return Status::OK();
}

Status QueryMsgByOffset(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(
      auto m, admin.QueryMsgByOffset(a.topic, a.broker, a.queue_id, a.offset));
  return PrintMessages(a, {m});
}

Status ConsumerProgress(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto stats, admin.ConsumerProgress(a.group, a.topic));
  if (a.json) {
    json arr = json::array();
    for (const auto& q : stats.queues)
      arr.push_back({{"topic", q.queue.topic},
                     {"brokerName", q.queue.broker_name},
                     {"queueId", q.queue.queue_id},
                     {"brokerOffset", q.broker_offset},
                     {"consumerOffset", q.consumer_offset},
                     {"pullOffset", q.pull_offset},
                     {"diff", q.broker_offset - q.consumer_offset},
                     {"lastTimestamp", q.last_timestamp}});
    fmt::print("{}\n",
               json{{"group", a.group},
                    {"consumeTps", stats.consume_tps},
                    {"diffTotal", stats.Diff()},
                    {"queues", arr}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  Table t({"#Topic", "#Broker Name", "#QID", "#Broker Offset",
           "#Consumer Offset", "#Diff", "#LastTime"});
  for (const auto& q : stats.queues)
    t.Add({q.queue.topic, q.queue.broker_name, std::to_string(q.queue.queue_id),
           std::to_string(q.broker_offset), std::to_string(q.consumer_offset),
           std::to_string(q.broker_offset - q.consumer_offset),
           FormatTime(q.last_timestamp)});
  t.Print();
  fmt::print("\nConsume TPS: {:.2f}\nDiff Total: {}\n", stats.consume_tps,
             stats.Diff());
  return Status::OK();
}

Status ConsumerConnection(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto info, admin.ConsumerConnection(a.group));
  if (a.json) {
    json conns = json::array();
    for (const auto& c : info.connections)
      conns.push_back({{"clientId", c.client_id},
                       {"clientAddr", c.client_addr},
                       {"language", c.language},
                       {"version", c.version}});
    fmt::print("{}\n",
               json{{"group", a.group},
                    {"connections", conns},
                    {"subscriptions", info.subscriptions},
                    {"consumeType", info.consume_type},
                    {"messageModel", info.message_model},
                    {"consumeFromWhere", info.consume_from_where}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  Table t({"#", "#ClientId", "#ClientAddr", "#Language", "#Version"});
  int i = 0;
  for (const auto& c : info.connections)
    t.Add({std::to_string(++i), c.client_id, c.client_addr, c.language,
           std::to_string(c.version)});
  t.Print();
  fmt::print("\nBelow is subscription:\n");
  Table s({"#", "#Topic", "#SubExpression"});
  i = 0;
  for (const auto& [topic, expr] : info.subscriptions)
    s.Add({std::to_string(++i), topic, expr});
  s.Print();
  fmt::print("\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
             info.consume_type, info.message_model, info.consume_from_where);
  return Status::OK();
}

std::string Runtime(const client::ClusterBroker& b, const std::string& key) {
  auto it = b.runtime.find(key);
  if (it == b.runtime.end()) return "-";
  std::string v = it->second;
  if (auto sp = v.find(' '); sp != std::string::npos)
    v.resize(sp);  // first window of a TPS triple
  return v;
}

// A slave's replication lag in bytes: its group master's CommitLog max offset
// minus its own; "-" for a master or when either is unknown. The master is
// asked first (ids in order), so a slave that caught up in between would show
// a negative lag: that reads as 0.
std::string SlaveLag(const std::vector<client::ClusterBroker>& rows,
                     const client::ClusterBroker& b) {
  if (b.broker_id == 0) return "-";
  for (const auto& m : rows) {
    if (m.broker_id != 0 || m.broker_name != b.broker_name ||
        m.cluster != b.cluster)
      continue;
    auto mo = m.runtime.find("commitLogMaxOffset");
    auto so = b.runtime.find("commitLogMaxOffset");
    if (mo == m.runtime.end() || so == b.runtime.end()) return "-";
    int64_t master_max = 0;
    int64_t slave_max = 0;
    const std::string& ms = mo->second;
    const std::string& ss = so->second;
    if (std::from_chars(ms.data(), ms.data() + ms.size(), master_max).ec !=
            std::errc() ||
        std::from_chars(ss.data(), ss.data() + ss.size(), slave_max).ec !=
            std::errc())
      return "-";
    return std::to_string(std::max<int64_t>(0, master_max - slave_max));
  }
  return "-";
}

Status ClusterList(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto rows, admin.ClusterList());
  if (a.json) {
    json arr = json::array();
    for (const auto& b : rows) {
      json j = {{"cluster", b.cluster},
                {"brokerName", b.broker_name},
                {"brokerId", b.broker_id},
                {"addr", b.addr},
                {"runtime", b.runtime}};
      if (!b.error.empty()) j["error"] = b.error;
      if (b.broker_id != 0) j["slaveLag"] = SlaveLag(rows, b);
      arr.push_back(j);
    }
    fmt::print("{}\n", json{{"brokers", arr}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  Table t({"#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Version",
           "#InTPS", "#OutTPS", "#InTotalToday", "#OutTotalToday", "#Role",
           "#MaxOffset", "#SlaveLag"});
  for (const auto& b : rows) {
    if (!b.error.empty()) {
      t.Add({b.cluster, b.broker_name, std::to_string(b.broker_id), b.addr,
             "unreachable", "-", "-", "-", "-", "-", "-", "-"});
      continue;
    }
    t.Add({b.cluster, b.broker_name, std::to_string(b.broker_id), b.addr,
           Runtime(b, "brokerVersionDesc"), Runtime(b, "putTps"),
           Runtime(b, "getTransferedTps"), Runtime(b, "msgPutTotalTodayNow"),
           Runtime(b, "msgGetTotalTodayNow"), Runtime(b, "brokerRole"),
           Runtime(b, "commitLogMaxOffset"), SlaveLag(rows, b)});
  }
  t.Print();
  return Status::OK();
}

Status BrokerStatus(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto table, admin.BrokerRuntimeInfo(a.broker));
  if (a.json) {
    fmt::print("{}\n", json(table).dump(-1, ' ', false,
                                        json::error_handler_t::replace));
    return Status::OK();
  }
  size_t w = 0;
  for (const auto& [k, v] : table) w = std::max(w, k.size());
  for (const auto& [k, v] : table) fmt::print("{:<{}}  : {}\n", k, w, v);
  return Status::OK();
}

Status ResetOffsetByTime(const AdminArgs& a, client::AdminClient& admin) {
  auto ts = ParseTimestamp(a.timestamp);
  if (!ts)
    return Status::InvalidArgument(fmt::format(
        "bad -s '{}': use milliseconds, 'now' or yyyy-MM-dd#HH:mm:ss:SSS",
        a.timestamp));
  TH_ASSIGN_OR_RETURN(auto entries,
                      admin.ResetOffsetByTime(a.group, a.topic, *ts, a.force));
  if (a.json) {
    json arr = json::array();
    for (const auto& e : entries)
      arr.push_back({{"brokerName", e.queue.broker_name},
                     {"queueId", e.queue.queue_id},
                     {"oldOffset", e.old_offset},
                     {"newOffset", e.new_offset}});
    fmt::print("{}\n",
               json{{"group", a.group},
                    {"topic", a.topic},
                    {"timestamp", *ts},
                    {"queues", arr}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  fmt::print(
      "rollback consumer offset by specified group [{}], topic [{}], "
      "timestamp(ms) [{}]\n",
      a.group, a.topic, *ts);
  Table t({"#Broker Name", "#QID", "#Old Offset", "#New Offset"});
  for (const auto& e : entries)
    t.Add({e.queue.broker_name, std::to_string(e.queue.queue_id),
           e.old_offset < 0 ? std::string("-") : std::to_string(e.old_offset),
           std::to_string(e.new_offset)});
  t.Print();
  return Status::OK();
}

Status UpdateSubGroup(const AdminArgs& a, client::AdminClient& admin) {
  const json config = {
      {"brokerId", a.broker_id},
      {"consumeBroadcastEnable", a.consume_broadcast_enable},
      {"consumeEnable", a.consume_enable},
      {"consumeFromMinEnable", a.consume_from_min_enable},
      {"consumeMessageOrderly", a.consume_message_orderly},
      {"groupName", a.group},
      {"notifyConsumerIdsChangedEnable", a.notify_consumer_ids_changed},
      {"retryMaxTimes", a.retry_max_times},
      {"retryQueueNums", a.retry_queue_nums},
      {"whichBrokerWhenConsumeSlowly", a.which_broker_when_consume_slowly}};
  TH_ASSIGN_OR_RETURN(auto addrs,
                      admin.UpdateSubGroup(config.dump(), a.broker, a.cluster));
  if (a.json) {
    fmt::print("{}\n", json{{"config", config}, {"brokers", addrs}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  for (const auto& addr : addrs)
    fmt::print("create subscription group to {} success.\n", addr);
  fmt::print("{}\n", config.dump());
  return Status::OK();
}

Status DeleteSubGroup(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto addrs, admin.DeleteSubGroup(a.group, a.remove_offset,
                                                       a.broker, a.cluster));
  if (a.json) {
    fmt::print("{}\n",
               json{{"group", a.group},
                    {"removeOffset", a.remove_offset},
                    {"brokers", addrs}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  for (const auto& addr : addrs)
    fmt::print("delete subscription group [{}] from broker [{}] success.\n",
               a.group, addr);
  return Status::OK();
}

Status ProducerConnection(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto conns, admin.ProducerConnection(a.group, a.topic));
  if (a.json) {
    json arr = json::array();
    for (const auto& c : conns)
      arr.push_back({{"broker", c.broker_addr},
                     {"clientId", c.client_id},
                     {"clientAddr", c.client_addr},
                     {"language", c.language},
                     {"version", c.version}});
    fmt::print("{}\n", json{{"group", a.group}, {"connections", arr}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  Table t({"#", "#ClientId", "#ClientAddr", "#Language", "#Version"});
  int i = 0;
  for (const auto& c : conns)
    t.Add({fmt::format("{:04d}", ++i), c.client_id, c.client_addr, c.language,
           std::to_string(c.version)});
  t.Print();
  return Status::OK();
}

Status GetBrokerConfig(const AdminArgs& a, client::AdminClient& admin) {
  if (a.broker.empty()) return Status::InvalidArgument("give -b BROKER_ADDR");
  TH_ASSIGN_OR_RETURN(auto config, admin.GetBrokerConfig(a.broker));
  if (a.json) {
    fmt::print("{}\n", json(config).dump(-1, ' ', false,
                                         json::error_handler_t::replace));
    return Status::OK();
  }
  fmt::print("============{}============\n", a.broker);
  for (const auto& [k, v] : config) fmt::print("{:<50}=  {}\n", k, v);
  return Status::OK();
}

Status UpdateBrokerConfig(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto addrs,
                      admin.UpdateBrokerConfig(a.config_key, a.config_value,
                                               a.broker, a.cluster));
  if (a.json) {
    fmt::print("{}\n",
               json{{"key", a.config_key},
                    {"value", a.config_value},
                    {"brokers", addrs}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  for (const auto& addr : addrs)
    fmt::print("update broker config success, {}\n", addr);
  return Status::OK();
}

Status ChangeWritePerm(const AdminArgs& a, client::AdminClient& admin,
                       bool wipe) {
  TH_ASSIGN_OR_RETURN(int64_t count, admin.ChangeWritePerm(a.broker, wipe));
  if (a.json) {
    fmt::print("{}\n",
               json{{"brokerName", a.broker},
                    {"namesrv", a.namesrv},
                    {wipe ? "wipeTopicCount" : "addTopicCount", count}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  fmt::print("{} write perm of broker[{}] in name server[{}] OK, {}\n",
             wipe ? "wipe" : "add", a.broker, a.namesrv, count);
  return Status::OK();
}

// mqadmin sendMessage: one message, sent and acknowledged.
Status SendMessage(const AdminArgs& a, client::AdminClient& admin) {
  client::ProducerOptions po;
  po.group = "TOOLS_PRODUCER";
  client::Producer producer(admin.client(), po);
  auto body = std::make_shared<std::string>(a.body);
  client::Message m;
  m.topic = a.topic;
  m.tags = a.tags;
  m.keys = a.key;
  m.body = std::as_bytes(std::span(body->data(), body->size()));
  m.body_owner = body;
  m.queue_id = a.queue_id;
  TH_ASSIGN_OR_RETURN(client::SendResult r, producer.Send(m));
  const std::string status =
      r.status == client::SendStatus::kSendOk ? "SEND_OK" : "SEND_NOT_OK";
  if (a.json) {
    fmt::print("{}\n",
               json{{"topic", a.topic},
                    {"brokerName", r.queue.broker_name},
                    {"queueId", r.queue.queue_id},
                    {"queueOffset", r.queue_offset},
                    {"sendStatus", status},
                    {"msgId", r.msg_id},
                    {"offsetMsgId", r.offset_msg_id}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    return Status::OK();
  }
  Table t({"#Broker Name", "#QID", "#Send Result", "#MsgId"});
  t.Add({r.queue.broker_name, std::to_string(r.queue.queue_id), status,
         r.msg_id});
  t.Print();
  return Status::OK();
}

// mqadmin consumeMessage: reads up to -c messages from the queues of a topic
// (or one queue from -o), without committing anything.
Status ConsumeMessage(const AdminArgs& a, client::AdminClient& admin) {
  if (a.count <= 0) return Status::InvalidArgument("-c must be > 0");
  TH_ASSIGN_OR_RETURN(auto queues, admin.TopicStatus(a.topic));
  std::vector<client::MessageInfo> out;
  for (const auto& q : queues) {
    if (!a.broker.empty() && q.queue.broker_name != a.broker) continue;
    if (a.queue_id >= 0 && q.queue.queue_id != a.queue_id) continue;
    int64_t from =
        a.offset > 0 ? std::max(a.offset, q.min_offset) : q.min_offset;
    for (int64_t o = from;
         o < q.max_offset && static_cast<int32_t>(out.size()) < a.count; ++o) {
      TH_ASSIGN_OR_RETURN(auto m,
                          admin.QueryMsgByOffset(a.topic, q.queue.broker_name,
                                                 q.queue.queue_id, o));
      out.push_back(std::move(m));
    }
  }
  if (out.empty() && !a.json) {
    fmt::print("no message in topic {}\n", a.topic);
    return Status::OK();
  }
  return PrintMessages(a, out);
}

// mqadmin's printMsg: every message of a topic (a DLQ: %DLQ%<group>).
Status PrintMsg(const AdminArgs& a, client::AdminClient& admin) {
  TH_ASSIGN_OR_RETURN(auto msgs,
                      client::ReadTopicMessages(admin.client(), a.topic));
  return PrintMessages(a, msgs);
}

// Sends messages of a group's DLQ back to the topic they were first sent to.
Status ResendDlq(const AdminArgs& a, client::AdminClient& admin) {
  if (a.all == !a.msg_ids.empty())
    return Status::InvalidArgument("give either -i MSG_ID... or --all");
  TH_ASSIGN_OR_RETURN(auto outcomes, client::ResendDlqMessages(
                                         admin.client(), a.group, a.msg_ids));
  size_t failed = 0;
  json arr = json::array();
  Table t({"#Message ID", "#Topic", "#New Message ID", "#Result"});
  for (const auto& o : outcomes) {
    if (!o.error.empty()) ++failed;
    arr.push_back({{"msgId", o.msg_id},
                   {"topic", o.origin_topic},
                   {"newMsgId", o.new_msg_id},
                   {"error", o.error}});
    t.Add({o.msg_id, o.origin_topic, o.new_msg_id,
           o.error.empty() ? "SEND_OK" : o.error});
  }
  if (a.json) {
    fmt::print("{}\n", json{{"resent", arr}}.dump(
                           -1, ' ', false, json::error_handler_t::replace));
  } else {
    t.Print();
  }
  if (failed > 0)
    return Status::IOError(fmt::format("{} of {} messages were not re-sent",
                                       failed, outcomes.size()));
  return Status::OK();
}

}  // namespace

void AddAdminCommands(CLI::App& app, int* exit_code) {
  auto* admin = app.add_subcommand(
      "admin", "mqadmin-style administration of brokers and name servers");
  admin->require_subcommand(1);
  AddAclAdminCommands(*admin, exit_code);
  AddAdminCommands2(*admin, exit_code);
  AddTraceMessageCommand(*admin, exit_code);
  AddHaAdminCommands(*admin, exit_code);
  static AdminArgs a;
  SeedNamesrvFromEnv(&a);
  auto add = [&](const char* name, const char* help, Command cmd) {
    auto* c = admin->add_subcommand(name, help);
    AddAdminConnectionOptions(*c, &a);
    c->add_flag("--json", a.json, "print one JSON document");
    c->callback([exit_code, name, cmd] { *exit_code = Run(name, a, cmd); });
    return c;
  };

  auto* c = add("updateTopic", "create or update a topic", UpdateTopic);
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-b,--brokerAddr", a.broker,
                "create on this broker (host:port)");
  c->add_option("-c,--clusterName", a.cluster,
                "create on every master of this cluster");
  c->add_option("-r,--readQueueNums", a.read_queues, "read queues")
      ->capture_default_str();
  c->add_option("-w,--writeQueueNums", a.write_queues, "write queues")
      ->capture_default_str();
  c->add_option("-p,--perm", a.perm,
                "permission bits (2 write, 4 read, 6 both)")
      ->capture_default_str();
  c->add_option("-o,--order", a.order, "ordered topic (true/false)")
      ->capture_default_str();

  c = add("deleteTopic", "delete a topic from its brokers and the name server",
          DeleteTopic);
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-c,--clusterName", a.cluster,
                "only from the brokers of this cluster");

  add("topicList", "list every topic the name server knows", TopicList);

  c = add("topicRoute", "show a topic's route", TopicRoute);
  c->add_option("-t,--topic", a.topic, "topic name")->required();

  c = add("topicStatus", "show min/max offsets of every queue of a topic",
          TopicStatus);
  c->add_option("-t,--topic", a.topic, "topic name")->required();

  c = add("queryMsgById", "look a message up by its offset id or unique key",
          QueryMsgById);
  c->add_option("-i,--msgId", a.msg_id, "offset message id or UNIQ_KEY")
      ->required();
  c->add_option("-t,--topic", a.topic, "topic (needed to search by UNIQ_KEY)");

  c = add("queryMsgByUniqueKey", "look a message up by its UNIQ_KEY",
          QueryMsgByUniqueKey);
  c->add_option("-i,--msgId", a.msg_id, "the message's UNIQ_KEY")->required();
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_flag("-a,--showAll", a.all, "every stored copy, oldest first");

  c = add("queryMsgByKey", "find messages by a KEYS value", QueryMsgByKey);
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-k,--msgKey", a.key, "key")->required();

  c = add("queryMsgByOffset", "read the message at a queue offset",
          QueryMsgByOffset);
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-b,--brokerName", a.broker, "broker name")->required();
  c->add_option("-i,--queueId", a.queue_id, "queue id")->required();
  c->add_option("-o,--offset", a.offset, "queue offset")->required();

  c = add("consumerProgress", "show a consumer group's offsets and lag",
          ConsumerProgress);
  c->add_option("-g,--groupName", a.group, "consumer group")->required();
  c->add_option("-t,--topicName", a.topic, "only this topic");

  c = add("consumerConnection", "show a consumer group's live connections",
          ConsumerConnection);
  c->add_option("-g,--consumerGroup", a.group, "consumer group")->required();

  add("clusterList", "list clusters, brokers and their traffic", ClusterList);

  c = add("brokerStatus", "show a broker's runtime information", BrokerStatus);
  c->add_option("-b,--brokerAddr", a.broker, "broker address (host:port)")
      ->required();

  c = add("resetOffsetByTime",
          "move a group's offsets on a topic to a point in time",
          ResetOffsetByTime);
  c->add_option("-g,--group", a.group, "consumer group")->required();
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-s,--timestamp", a.timestamp,
                "ms since the epoch, 'now' or yyyy-MM-dd#HH:mm:ss:SSS")
      ->required();
  c->add_option("-f,--force", a.force,
                "also move offsets forwards (true/false)")
      ->capture_default_str();

  c = add("updateSubGroup", "create or update a subscription group",
          UpdateSubGroup);
  c->add_option("-b,--brokerAddr", a.broker, "on this broker (host:port)");
  c->add_option("-c,--clusterName", a.cluster,
                "on every master of this cluster");
  c->add_option("-g,--groupName", a.group, "consumer group")->required();
  c->add_option("-s,--consumeEnable", a.consume_enable,
                "consumption allowed (true/false)")
      ->capture_default_str();
  c->add_option("-m,--consumeFromMinEnable", a.consume_from_min_enable,
                "consume from the queue's min offset (true/false)")
      ->capture_default_str();
  c->add_option("-d,--consumeBroadcastEnable", a.consume_broadcast_enable,
                "broadcast consumption allowed (true/false)")
      ->capture_default_str();
  c->add_option("-q,--retryQueueNums", a.retry_queue_nums,
                "queues of the group's retry topic")
      ->capture_default_str();
  c->add_option("-r,--retryMaxTimes", a.retry_max_times,
                "retries before the dead-letter queue")
      ->capture_default_str();
  c->add_option("-i,--brokerId", a.broker_id, "broker id to consume from")
      ->capture_default_str();
  c->add_option("-w,--whichBrokerWhenConsumeSlowly",
                a.which_broker_when_consume_slowly,
                "broker id to consume from when slow")
      ->capture_default_str();
  c->add_option("-a,--notifyConsumerIdsChanged", a.notify_consumer_ids_changed,
                "notify consumers of membership changes (true/false)")
      ->capture_default_str();
  c->add_option("-o,--consumeMessageOrderly", a.consume_message_orderly,
                "consume orderly: the group's 5.x clients pop one message "
                "group at a time (true/false)")
      ->capture_default_str();

  c = add("deleteSubGroup", "delete a subscription group", DeleteSubGroup);
  c->add_option("-b,--brokerAddr", a.broker, "from this broker (host:port)");
  c->add_option("-c,--clusterName", a.cluster,
                "from every master of this cluster");
  c->add_option("-g,--groupName", a.group, "consumer group")->required();
  c->add_option("-r,--removeOffset", a.remove_offset,
                "also drop the group's offsets (true/false)")
      ->capture_default_str();

  c = add("producerConnection", "show a producer group's connections",
          ProducerConnection);
  c->add_option("-g,--producerGroup", a.group, "producer group")->required();
  c->add_option("-t,--topic", a.topic, "a topic the group sends to")
      ->required();

  c = add("getBrokerConfig", "print a broker's settings", GetBrokerConfig);
  c->add_option("-b,--brokerAddr", a.broker, "broker address (host:port)")
      ->required();

  c = add("updateBrokerConfig",
          "change a broker setting (hot-changeable keys only)",
          UpdateBrokerConfig);
  c->add_option("-b,--brokerAddr", a.broker, "on this broker (host:port)");
  c->add_option("-c,--clusterName", a.cluster,
                "on every master of this cluster");
  c->add_option("-k,--key", a.config_key, "config key")->required();
  c->add_option("-v,--value", a.config_value, "new value")->required();

  c = add("wipeWritePerm",
          "make a broker read-only in the name server's routes",
          [](const AdminArgs& args, client::AdminClient& admin) {
            return ChangeWritePerm(args, admin, true);
          });
  c->add_option("-b,--brokerName", a.broker, "broker name")->required();

  c = add("addWritePerm", "make a broker writable again in the routes",
          [](const AdminArgs& args, client::AdminClient& admin) {
            return ChangeWritePerm(args, admin, false);
          });
  c->add_option("-b,--brokerName", a.broker, "broker name")->required();

  c = add("sendMessage", "send one message", SendMessage);
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-p,--body", a.body, "message body")->required();
  c->add_option("-k,--key", a.key, "message keys");
  c->add_option("-c,--tags", a.tags, "message tag");
  c->add_option("-i,--qid", a.queue_id, "queue id of the first broker");
  a.queue_id = -1;

  c = add("consumeMessage", "print messages of a topic without consuming them",
          ConsumeMessage);
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-b,--brokerName", a.broker, "only this broker");
  c->add_option("-i,--queueId", a.queue_id, "only this queue");
  c->add_option("-o,--offset", a.offset, "from this queue offset");
  c->add_option("-c,--messageNumber", a.count, "at most this many messages")
      ->capture_default_str();
  c = add("printMsg", "print every message of a topic (e.g. %DLQ%<group>)",
          PrintMsg);
  c->add_option("-t,--topic", a.topic, "topic name")->required();

  c = add("resendDlq",
          "send dead-letter messages of a group back to their original topic",
          ResendDlq);
  c->add_option("-g,--consumerGroup", a.group, "consumer group")->required();
  c->add_option("-i,--msgId", a.msg_ids,
                "message id (UNIQ_KEY or offset id); repeatable");
  c->add_flag("--all", a.all, "every message of the group's DLQ");
}

}  // namespace thruster::cli
