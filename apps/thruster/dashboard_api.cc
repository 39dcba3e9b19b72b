#include "thruster/dashboard_api.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "client/dlq_admin.h"
#include "client/message_journey_client.h"
#include "client/pull_consumer.h"
#include "common/hex.h"
#include "message/properties.h"
#include "thruster/message_json.h"

namespace thruster::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kRetryPrefix = "%RETRY%";
constexpr std::string_view kDlqPrefix = "%DLQ%";
// A DLQ page lists at most this many messages (oldest first).
constexpr size_t kMaxDlqMessages = 2000;
// A search by time lists at most this many messages (oldest first per queue).
constexpr size_t kMaxTimeRangeMessages = 200;

ApiResponse Json(const json& j, int status = 200) {
  return {status, j.dump(-1, ' ', false, json::error_handler_t::replace)};
}

ApiResponse Error(int status, std::string_view message) {
  return Json(json{{"error", message}}, status);
}

ApiResponse FromStatus(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound:
      return Error(404, s.message());
    case Status::Code::kInvalidArgument:
      return Error(400, s.message());
    default:
      return Error(502, s.message());
  }
}

std::string Param(const ApiRequest& r, const std::string& name) {
  auto it = r.params.find(name);
  return it == r.params.end() ? std::string() : it->second;
}

std::optional<int64_t> ToInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

// RocketMQ's topic and group name rule (TopicValidator): 1-127 chars of
// letters, digits, '%', '|', '_' and '-'.
bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 127) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '%' || c == '|' || c == '_' ||
           c == '-';
  });
}

// The message as the UI lists it; `with_body` adds properties and the body
// (hex, so any bytes survive JSON; the UI shows it as text or hex).
json MessageJson(const client::MessageInfo& m, bool with_body) {
  json j = MessageSummaryJson(m);
  if (with_body) {
    AddMessageDetailJson(m, &j);
    j["bodyHex"] = HexUpper(m.body);
  }
  return j;
}

json Messages(const std::vector<client::MessageInfo>& msgs, bool with_body) {
  json arr = json::array();
  for (const auto& m : msgs) arr.push_back(MessageJson(m, with_body));
  return json{{"messages", arr}};
}

json ParseBody(const ApiRequest& r) {
  return json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

std::optional<int64_t> IntField(const json& j, const char* key,
                                int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return ToInt(it->get_ref<const std::string&>());
  return std::nullopt;
}

std::string TopicKind(std::string_view topic) {
  if (topic.starts_with(kRetryPrefix)) return "RETRY";
  if (topic.starts_with(kDlqPrefix)) return "DLQ";
  static const std::set<std::string_view> kSystem = {
      "TBW102",
      "SELF_TEST_TOPIC",
      "OFFSET_MOVED_EVENT",
      "SCHEDULE_TOPIC_XXXX",
      "RMQ_SYS_TRANS_HALF_TOPIC",
      "RMQ_SYS_TRANS_OP_HALF_TOPIC",
      "RMQ_SYS_TRACE_TOPIC",
      "rmq_sys_REVIVE_LOG",
      "rmq_sys_wheel_timer",
      "TRANS_CHECK_MAX_TIME_TOPIC",
      "BenchmarkTest",
  };
  if (kSystem.contains(topic) || topic.starts_with("rmq_sys_") ||
      topic.starts_with("CID_RMQ_SYS_"))
    return "SYSTEM";
  return "NORMAL";
}

class Routes {
 public:
  explicit Routes(client::AdminClient* admin) : admin_(admin) {}

  ApiResponse Cluster() const {
    auto rows = admin_->ClusterList();
    if (!rows.ok()) return FromStatus(rows.status());
    json arr = json::array();
    for (const auto& b : *rows) {
      json j = {{"cluster", b.cluster},
                {"brokerName", b.broker_name},
                {"brokerId", b.broker_id},
                {"role", b.broker_id == 0 ? "MASTER" : "SLAVE"},
                {"addr", b.addr},
                {"runtime", b.runtime}};
      if (!b.error.empty()) j["error"] = b.error;
      arr.push_back(std::move(j));
    }
    return Json(json{{"brokers", arr}});
  }

  ApiResponse Topics() const {
    auto topics = admin_->TopicList();
    if (!topics.ok()) return FromStatus(topics.status());
    std::sort(topics->begin(), topics->end());
    // Each broker registers its cluster's and its own name as topics too.
    std::set<std::string, std::less<>> names;
    if (auto rows = admin_->ClusterList(); rows.ok()) {
      for (const auto& b : *rows) {
        names.insert(b.cluster);
        names.insert(b.broker_name);
      }
    }
    json arr = json::array();
    for (const auto& t : *topics)
      arr.push_back(json{
          {"topic", t}, {"kind", names.contains(t) ? "SYSTEM" : TopicKind(t)}});
    return Json(json{{"topics", arr}});
  }

  ApiResponse Topic(const ApiRequest& r) const {
    const std::string topic = Param(r, "topic");
    if (!ValidName(topic)) return Error(400, "a valid topic is required");
    auto route = admin_->TopicRoute(topic);
    if (!route.ok()) return FromStatus(route.status());
    auto stats = admin_->TopicStatus(topic);
    if (!stats.ok()) return FromStatus(stats.status());
    json brokers = json::array();
    for (const auto& q : route->queue_datas) {
      json addrs = json::object();
      for (const auto& b : route->broker_datas)
        if (b.broker_name == q.broker_name)
          for (const auto& [id, addr] : b.broker_addrs)
            addrs[std::to_string(id)] = addr;
      brokers.push_back(json{{"brokerName", q.broker_name},
                             {"readQueueNums", q.read_queue_nums},
                             {"writeQueueNums", q.write_queue_nums},
                             {"perm", q.perm},
                             {"addrs", addrs}});
    }
    json queues = json::array();
    int64_t total = 0;
    for (const auto& q : *stats) {
      total += q.max_offset - q.min_offset;
      queues.push_back(json{{"brokerName", q.queue.broker_name},
                            {"queueId", q.queue.queue_id},
                            {"minOffset", q.min_offset},
                            {"maxOffset", q.max_offset},
                            {"lastUpdateTimestamp", q.last_update_timestamp}});
    }
    return Json(json{{"topic", topic},
                     {"kind", TopicKind(topic)},
                     {"brokers", brokers},
                     {"queues", queues},
                     {"messages", total}});
  }

  ApiResponse CreateTopic(const ApiRequest& r) const {
    const json j = ParseBody(r);
    if (!j.is_object()) return Error(400, "the body must be a JSON object");
    remoting::TopicConfig tc;
    tc.topic_name = StringField(j, "topic");
    if (!ValidName(tc.topic_name))
      return Error(400,
                   "topic names are 1-127 letters, digits, '%', '|', '_' or "
                   "'-'");
    const auto read = IntField(j, "readQueueNums", 8);
    const auto write = IntField(j, "writeQueueNums", 8);
    const auto perm = IntField(j, "perm", 6);
    if (!read || !write || *read < 1 || *read > 1024 || *write < 1 ||
        *write > 1024)
      return Error(400, "readQueueNums and writeQueueNums must be 1-1024");
    if (!perm || (*perm != 2 && *perm != 4 && *perm != 6))
      return Error(400, "perm must be 2 (write), 4 (read) or 6 (read+write)");
    tc.read_queue_nums = static_cast<int32_t>(*read);
    tc.write_queue_nums = static_cast<int32_t>(*write);
    tc.perm = static_cast<int32_t>(*perm);
    auto order = j.find("order");
    tc.order = order != j.end() && order->is_boolean() && order->get<bool>();
    std::string broker = StringField(j, "brokerAddr");
    std::string cluster = StringField(j, "cluster");
    if (broker.empty() && cluster.empty()) {
      // The UI's default: every master of the only cluster there is.
      auto rows = admin_->ClusterList();
      if (!rows.ok()) return FromStatus(rows.status());
      std::set<std::string> clusters;
      for (const auto& b : *rows) clusters.insert(b.cluster);
      if (clusters.size() != 1)
        return Error(400, "name the cluster (there are " +
                              std::to_string(clusters.size()) + ")");
      cluster = *clusters.begin();
    }
    auto addrs = admin_->CreateTopic(tc, broker, cluster);
    if (!addrs.ok()) return FromStatus(addrs.status());
    return Json(json{{"topic", tc.topic_name}, {"brokers", *addrs}});
  }

  ApiResponse DeleteTopic(const ApiRequest& r) const {
    const std::string topic = Param(r, "topic");
    if (!ValidName(topic)) return Error(400, "a valid topic is required");
    auto addrs = admin_->DeleteTopic(topic, Param(r, "cluster"));
    if (!addrs.ok()) return FromStatus(addrs.status());
    return Json(json{{"topic", topic}, {"brokers", *addrs}});
  }

  ApiResponse Groups() const {
    auto topics = admin_->TopicList();
    if (!topics.ok()) return FromStatus(topics.status());
    std::set<std::string> groups;
    for (const auto& t : *topics)
      if (t.starts_with(kRetryPrefix))
        groups.insert(t.substr(kRetryPrefix.size()));
    json arr = json::array();
    for (const auto& g : groups) {
      json j = {{"group", g}};
      auto progress = admin_->ConsumerProgress(g, "");
      if (progress.ok()) {
        j["diffTotal"] = progress->Diff();
        j["consumeTps"] = progress->consume_tps;
        std::set<std::string> subscribed;
        for (const auto& q : progress->queues)
          if (!q.queue.topic.starts_with(kRetryPrefix))
            subscribed.insert(q.queue.topic);
        j["topics"] = subscribed;
      } else {
        j["error"] = progress.status().message();
      }
      auto conn = admin_->ConsumerConnection(g);
      j["online"] = conn.ok() ? conn->connections.size() : 0;
      if (conn.ok()) {
        j["consumeType"] = conn->consume_type;
        j["messageModel"] = conn->message_model;
      }
      arr.push_back(std::move(j));
    }
    return Json(json{{"groups", arr}});
  }

  ApiResponse Group(const ApiRequest& r) const {
    const std::string group = Param(r, "group");
    if (!ValidName(group)) return Error(400, "a valid group is required");
    auto progress = admin_->ConsumerProgress(group, Param(r, "topic"));
    if (!progress.ok()) return FromStatus(progress.status());
    json queues = json::array();
    for (const auto& q : progress->queues)
      queues.push_back(json{{"topic", q.queue.topic},
                            {"brokerName", q.queue.broker_name},
                            {"queueId", q.queue.queue_id},
                            {"brokerOffset", q.broker_offset},
                            {"consumerOffset", q.consumer_offset},
                            {"diff", q.broker_offset - q.consumer_offset},
                            {"lastTimestamp", q.last_timestamp}});
    json j = {{"group", group},
              {"diffTotal", progress->Diff()},
              {"consumeTps", progress->consume_tps},
              {"queues", queues}};
    auto conn = admin_->ConsumerConnection(group);
    json connections = json::array();
    if (conn.ok()) {
      for (const auto& c : conn->connections)
        connections.push_back(json{{"clientId", c.client_id},
                                   {"clientAddr", c.client_addr},
                                   {"language", c.language},
                                   {"version", c.version}});
      j["consumeType"] = conn->consume_type;
      j["messageModel"] = conn->message_model;
      j["consumeFromWhere"] = conn->consume_from_where;
      j["subscriptions"] = conn->subscriptions;
    } else if (!conn.status().IsNotFound()) {
      j["connectionError"] = conn.status().message();
    }
    j["connections"] = connections;
    return Json(j);
  }

  ApiResponse ResetOffset(const ApiRequest& r) const {
    const json j = ParseBody(r);
    if (!j.is_object()) return Error(400, "the body must be a JSON object");
    const std::string group = StringField(j, "group");
    const std::string topic = StringField(j, "topic");
    if (!ValidName(group) || !ValidName(topic))
      return Error(400, "a valid group and topic are required");
    const auto ts = IntField(j, "timestamp", -1);
    if (!ts || *ts < 0)
      return Error(400, "timestamp must be milliseconds since the epoch");
    auto force = j.find("force");
    const bool forced =
        force == j.end() || (force->is_boolean() && force->get<bool>());
    auto moved = admin_->ResetOffsetByTime(group, topic, *ts, forced);
    if (!moved.ok()) return FromStatus(moved.status());
    json arr = json::array();
    for (const auto& e : *moved)
      arr.push_back(json{{"brokerName", e.queue.broker_name},
                         {"queueId", e.queue.queue_id},
                         {"oldOffset", e.old_offset},
                         {"newOffset", e.new_offset}});
    return Json(json{{"group", group}, {"topic", topic}, {"queues", arr}});
  }

  ApiResponse ByKey(const ApiRequest& r) const {
    const std::string topic = Param(r, "topic");
    const std::string key = Param(r, "key");
    if (!ValidName(topic) || key.empty())
      return Error(400, "a valid topic and a key are required");
    auto msgs = admin_->QueryMsgByKey(topic, key);
    // A search that finds nothing is an empty answer, not an error.
    if (!msgs.ok() && msgs.status().IsNotFound())
      return Json(json{{"messages", json::array()}});
    if (!msgs.ok()) return FromStatus(msgs.status());
    return Json(Messages(*msgs, false));
  }

  ApiResponse ById(const ApiRequest& r) const {
    const std::string id = Param(r, "id");
    const std::string topic = Param(r, "topic");
    if (id.empty()) return Error(400, "a message id is required");
    if (!topic.empty() && !ValidName(topic))
      return Error(400, "the topic is not a valid name");
    auto msgs = admin_->QueryMsgById(id, topic);
    if (!msgs.ok()) return FromStatus(msgs.status());
    return Json(Messages(*msgs, true));
  }

  ApiResponse ByOffset(const ApiRequest& r) const {
    const std::string topic = Param(r, "topic");
    const std::string broker = Param(r, "broker");
    const auto queue_id = ToInt(Param(r, "queueId"));
    const auto offset = ToInt(Param(r, "offset"));
    if (!ValidName(topic) || broker.empty() || !queue_id || !offset ||
        *queue_id < 0 || *queue_id > INT32_MAX || *offset < 0)
      return Error(400,
                   "topic, broker, queueId and offset (numbers >= 0) are "
                   "required");
    auto m = admin_->QueryMsgByOffset(topic, broker,
                                      static_cast<int32_t>(*queue_id), *offset);
    if (!m.ok()) return FromStatus(m.status());
    return Json(Messages({*m}, true));
  }

  // Messages of `topic` stored in [begin, end] (ms): per queue from the offset
  // SEARCH_OFFSET_BY_TIMESTAMP gives for `begin`, read until a message stored
  // after `end`; at most kMaxTimeRangeMessages in all ("truncated" then).
  ApiResponse ByTime(const ApiRequest& r) const {
    const std::string topic = Param(r, "topic");
    const auto begin = ToInt(Param(r, "begin"));
    const auto end = ToInt(Param(r, "end"));
    if (!ValidName(topic) || !begin || !end || *begin < 0 || *end < *begin)
      return Error(400,
                   "a valid topic and begin <= end (ms since the epoch) are "
                   "required");
    client::PullConsumerOptions o;
    o.group = "TOOLS_CONSUMER";
    o.register_in_heartbeat = false;
    client::PullConsumer consumer(admin_->client(), o);
    auto queues = consumer.FetchSubscribeQueues(topic);
    if (!queues.ok()) return FromStatus(queues.status());
    std::vector<client::MessageInfo> found;
    bool truncated = false;
    for (const client::MessageQueue& mq : *queues) {
      auto from = consumer.SearchOffset(mq, *begin);
      if (!from.ok()) return FromStatus(from.status());
      int64_t offset = *from;
      bool past_end = false;
      while (!past_end && !truncated) {
        auto pulled = consumer.Pull(mq, "*", offset, 32);
        if (!pulled.ok()) return FromStatus(pulled.status());
        if (pulled->status != client::PullStatus::kFound ||
            pulled->messages.empty())
          break;
        for (const message::DecodedRecord& rec : pulled->messages) {
          if (rec.store_timestamp > *end) {
            past_end = true;
            break;
          }
          if (rec.store_timestamp < *begin) continue;
          if (found.size() >= kMaxTimeRangeMessages) {
            truncated = true;
            break;
          }
          found.push_back(client::MessageInfo::FromRecord(rec));
        }
        offset = pulled->next_begin_offset;
      }
    }
    std::stable_sort(
        found.begin(), found.end(),
        [](const client::MessageInfo& a, const client::MessageInfo& b) {
          return a.store_timestamp < b.store_timestamp;
        });
    json j = Messages(found, false);
    j["truncated"] = truncated;
    j["limit"] = kMaxTimeRangeMessages;
    return Json(j);
  }

  // The brokers' journey of a message (TRACE_MESSAGE) by id or key.
  ApiResponse Journey(const ApiRequest& r) const {
    client::JourneyRequest q;
    q.msg_id = Param(r, "id");
    q.topic = Param(r, "topic");
    q.key = Param(r, "key");
    q.group = Param(r, "group");
    if (q.msg_id.empty() && q.key.empty())
      return Error(400, "a message id or a key is required");
    if (!q.topic.empty() && !ValidName(q.topic))
      return Error(400, "the topic is not a valid name");
    auto answers = client::TraceMessage(admin_->client(), q);
    if (!answers.ok()) return FromStatus(answers.status());
    json brokers = json::array();
    for (const client::JourneyAnswer& a : *answers) {
      json doc = json::parse(a.json, nullptr, false);
      if (doc.is_discarded())
        return Error(502, "broker " + a.broker_addr + " sent bad JSON");
      doc["brokerAddr"] = a.broker_addr;
      brokers.push_back(std::move(doc));
    }
    return Json(json{{"brokers", brokers}});
  }

  ApiResponse Dlq(const ApiRequest& r) const {
    const std::string group = Param(r, "group");
    if (!ValidName(group)) return Error(400, "a valid group is required");
    auto msgs = client::ReadTopicMessages(
        admin_->client(), std::string(kDlqPrefix) + group, kMaxDlqMessages);
    if (!msgs.ok() && msgs.status().IsNotFound())  // nothing ever died
      return Json(json{{"group", group},
                       {"exists", false},
                       {"messages", json::array()},
                       {"limit", kMaxDlqMessages}});
    if (!msgs.ok()) return FromStatus(msgs.status());
    json j = Messages(*msgs, false);
    // Where each came from: the topic it was first sent to, and the id it had
    // there (the broker's send-back records both).
    for (size_t i = 0; i < msgs->size(); ++i) {
      j["messages"][i]["originTopic"] = (*msgs)[i].Property("RETRY_TOPIC");
      j["messages"][i]["originMsgId"] = (*msgs)[i].Property("ORIGIN_MESSAGE_ID");
    }
    j["group"] = group;
    j["exists"] = true;
    j["limit"] = kMaxDlqMessages;
    return Json(j);
  }

  ApiResponse Resend(const ApiRequest& r) const {
    const json j = ParseBody(r);
    if (!j.is_object()) return Error(400, "the body must be a JSON object");
    const std::string group = StringField(j, "group");
    if (!ValidName(group)) return Error(400, "a valid group is required");
    auto ids = j.find("msgIds");
    if (ids == j.end() || !ids->is_array() || ids->empty())
      return Error(400, "msgIds must list the messages to re-send");
    std::vector<std::string> msg_ids;
    for (const auto& id : *ids) {
      if (!id.is_string() || id.get_ref<const std::string&>().empty())
        return Error(400, "msgIds must be non-empty strings");
      msg_ids.push_back(id.get<std::string>());
    }
    auto outcomes = client::ResendDlqMessages(admin_->client(), group, msg_ids);
    if (!outcomes.ok()) return FromStatus(outcomes.status());
    json arr = json::array();
    for (const auto& o : *outcomes) {
      json e = {{"msgId", o.msg_id}, {"topic", o.origin_topic}};
      if (o.error.empty()) {
        e["newMsgId"] = o.new_msg_id;
      } else {
        e["error"] = o.error;
      }
      arr.push_back(std::move(e));
    }
    return Json(json{{"group", group}, {"resent", arr}});
  }

 private:
  client::AdminClient* const admin_;
};

}  // namespace

ApiResponse DashboardApi::Handle(const ApiRequest& request) const {
  using Handler = ApiResponse (Routes::*)(const ApiRequest&) const;
  struct Route {
    std::string_view method;
    std::string_view path;
    Handler handler;
  };
  static constexpr Route kRoutes[] = {
      {"GET", "/api/topic", &Routes::Topic},
      {"POST", "/api/topic", &Routes::CreateTopic},
      {"DELETE", "/api/topic", &Routes::DeleteTopic},
      {"GET", "/api/group", &Routes::Group},
      {"POST", "/api/group/resetOffset", &Routes::ResetOffset},
      {"GET", "/api/messages/byKey", &Routes::ByKey},
      {"GET", "/api/messages/byId", &Routes::ById},
      {"GET", "/api/messages/byOffset", &Routes::ByOffset},
      {"GET", "/api/messages/byTime", &Routes::ByTime},
      {"GET", "/api/messages/journey", &Routes::Journey},
      {"GET", "/api/dlq", &Routes::Dlq},
      {"POST", "/api/dlq/resend", &Routes::Resend},
  };
  Routes routes(admin_);
  if (request.method == "GET") {
    if (request.path == "/api/cluster") return routes.Cluster();
    if (request.path == "/api/topics") return routes.Topics();
    if (request.path == "/api/groups") return routes.Groups();
  }
  bool path_known = request.path == "/api/cluster" ||
                    request.path == "/api/topics" ||
                    request.path == "/api/groups";
  for (const Route& r : kRoutes) {
    if (r.path != request.path) continue;
    path_known = true;
    if (r.method == request.method)
      return std::invoke(r.handler, routes, request);
  }
  if (path_known)
    return Error(405, request.method + " is not allowed on " + request.path);
  return Error(404, "no API at " + request.path);
}

}  // namespace thruster::cli
