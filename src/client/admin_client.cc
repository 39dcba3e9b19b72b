#include "client/admin_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>

#include "client/pull_consumer.h"
#include "message/commit_log_format.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "remoting/json.h"

namespace thruster::client {

namespace json = remoting::json;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

namespace {

constexpr std::string_view kToolsConsumerGroup = "TOOLS_CONSUMER";

Result<json::Value> ParseBody(const RemotingCommand& resp,
                              std::string_view what) {
  auto v = json::Parse(resp.body_view());
  if (!v.ok())
    return Status::Corruption(
        fmt::format("{}: unparsable body: {}", what, v.status().message()));
  return v;
}

// Whether `keys` (space-separated) contains `key`.
bool KeysContain(std::string_view keys, std::string_view key) {
  size_t pos = 0;
  while (pos <= keys.size()) {
    size_t end = keys.find(' ', pos);
    if (end == std::string_view::npos) end = keys.size();
    if (keys.substr(pos, end - pos) == key) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

MessageInfo MessageInfo::FromRecord(const message::DecodedRecord& r) {
  MessageInfo m;
  m.topic = std::string(r.topic);
  m.queue_id = r.queue_id;
  m.queue_offset = r.queue_offset;
  m.phys_offset = r.phys_offset;
  m.store_size = r.total_size;
  m.flag = r.flag;
  m.sys_flag = r.sys_flag;
  m.body_crc = r.body_crc;
  m.reconsume_times = r.reconsume_times;
  m.born_timestamp = r.born_timestamp;
  m.store_timestamp = r.store_timestamp;
  m.born_host = r.born_host.ToString();
  m.store_host = r.store_host.ToString();
  m.offset_msg_id = message::CreateMessageId(r.store_host, r.phys_offset);
  m.properties = message::ParseProperties(r.properties);
  m.body.assign(reinterpret_cast<const char*>(r.body.data()), r.body.size());
  return m;
}

std::string MessageInfo::MsgId() const {
  auto it = properties.find(message::prop::kUniqKey);
  return it != properties.end() ? it->second : offset_msg_id;
}

std::string MessageInfo::Property(std::string_view name) const {
  auto it = properties.find(name);
  return it == properties.end() ? std::string() : it->second;
}

int64_t ConsumeStats::Diff() const {
  int64_t d = 0;
  for (const auto& q : queues) d += q.broker_offset - q.consumer_offset;
  return d;
}

std::map<std::string, std::string> AdminClient::Masters(
    const remoting::TopicRouteData& route) {
  std::map<std::string, std::string> out;
  for (const auto& bd : route.broker_datas) {
    auto it = bd.broker_addrs.find(0);
    if (it != bd.broker_addrs.end()) out[bd.broker_name] = it->second;
  }
  return out;
}

Result<std::vector<std::string>> AdminClient::CreateTopic(
    const remoting::TopicConfig& config, const std::string& broker_addr,
    const std::string& cluster) {
  std::vector<std::string> addrs;
  if (!broker_addr.empty()) {
    addrs.push_back(broker_addr);
  } else {
    TH_ASSIGN_OR_RETURN(auto info, client_->FetchClusterInfo());
    auto it = info.cluster_addr_table.find(cluster);
    if (it == info.cluster_addr_table.end())
      return Status::NotFound(
          fmt::format("cluster {} does not exist", cluster));
    for (const auto& name : it->second) {
      auto bd = info.broker_addr_table.find(name);
      if (bd == info.broker_addr_table.end()) continue;
      auto master = bd->second.broker_addrs.find(0);
      if (master != bd->second.broker_addrs.end())
        addrs.push_back(master->second);
    }
    if (addrs.empty())
      return Status::NotFound(
          fmt::format("cluster {} has no master broker", cluster));
  }
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kUpdateAndCreateTopic);
    req.SetExt("topic", config.topic_name);
    req.SetExt("defaultTopic", "TBW102");
    req.SetExt("readQueueNums", config.read_queue_nums);
    req.SetExt("writeQueueNums", config.write_queue_nums);
    req.SetExt("perm", config.perm);
    req.SetExt("topicFilterType", config.topic_filter_type);
    req.SetExt("topicSysFlag", config.topic_sys_flag);
    req.SetExtBool("order", config.order);
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("create topic {} on {}", config.topic_name, addr)));
  }
  return addrs;
}

Result<std::vector<std::string>> AdminClient::DeleteTopic(
    const std::string& topic, const std::string& cluster) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  std::vector<std::string> addrs;
  for (const auto& bd : route.broker_datas) {
    if (!cluster.empty() && bd.cluster != cluster) continue;
    auto it = bd.broker_addrs.find(0);
    if (it != bd.broker_addrs.end()) addrs.push_back(it->second);
  }
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kDeleteTopicInBroker);
    req.SetExt("topic", topic);
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("delete topic {} on {}", topic, addr)));
  }
  RemotingCommand req =
      ClientInstance::NewRequest(req_code::kDeleteTopicInNamesrv);
  req.SetExt("topic", topic);
  if (!cluster.empty()) req.SetExt("clusterName", cluster);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp, client_->InvokeNameServer(req));
  TH_RETURN_IF_ERROR(StatusFromResponse(
      resp, fmt::format("delete topic {} in the name server", topic)));
  return addrs;
}

Result<std::vector<std::string>> AdminClient::TopicList() {
  TH_ASSIGN_OR_RETURN(auto topics, client_->FetchAllTopics());
  std::sort(topics.begin(), topics.end());
  return topics;
}

Result<remoting::TopicRouteData> AdminClient::TopicRoute(
    const std::string& topic) {
  return client_->FetchTopicRoute(topic);
}

Result<std::vector<TopicQueueStats>> AdminClient::TopicStatus(
    const std::string& topic) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  std::vector<TopicQueueStats> out;
  for (const auto& [name, addr] : Masters(route)) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kGetTopicStatsInfo);
    req.SetExt("topic", topic);
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    if (resp.code() == rc::kTopicNotExist) {
      return Status::NotFound(
          fmt::format("topic {} does not exist on broker {}", topic, addr));
    }
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("topic stats of {} on {}", topic, addr)));
    TH_ASSIGN_OR_RETURN(json::Value body, ParseBody(resp, "topic stats"));
    const json::Value* table = body.Find("offsetTable");
    if (table == nullptr || !table->is_object()) continue;
    for (size_t i = 0; i < table->size(); ++i) {
      auto mq = MessageQueue::FromJson(table->key(i));
      if (!mq.ok()) return mq.status();
      const json::Value& v = table->value(i);
      out.push_back(TopicQueueStats{*mq, v.GetInt64("minOffset"),
                                    v.GetInt64("maxOffset"),
                                    v.GetInt64("lastUpdateTimestamp")});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.queue < b.queue; });
  return out;
}

Result<std::vector<MessageInfo>> AdminClient::QueryMsgById(
    const std::string& id, const std::string& topic) {
  Status view_error =
      Status::NotFound(fmt::format("{} is not an offset message id", id));
  if (auto parts = message::DecodeMessageId(id); parts.ok()) {
    std::string addr = parts->store_host.ToString();
    auto hp = remoting::SplitHostPort(addr);
    if (!hp.ok()) {
      view_error = Status::NotFound(fmt::format(
          "{} names no broker address ({})", id, hp.status().message()));
    } else {
      RemotingCommand req =
          ClientInstance::NewRequest(req_code::kViewMessageById);
      req.SetExt("offset", parts->phys_offset);
      if (!topic.empty()) req.SetExt("topic", topic);
      auto resp = client_->InvokeBroker(addr, std::move(req));
      if (resp.ok() && resp->code() == rc::kSuccess) {
        std::vector<message::DecodedRecord> recs;
        TH_RETURN_IF_ERROR(DecodeMessages(resp->body(), false, &recs));
        if (!recs.empty()) {
          MessageInfo m = MessageInfo::FromRecord(recs.front());
          // A UNIQ_KEY can decode to a real address by chance; only a record
          // whose own offset id is `id` answers it.
          if (m.offset_msg_id == id) return std::vector<MessageInfo>{m};
        }
      } else {
        view_error = resp.ok() ? StatusFromResponse(*resp, "view message")
                               : resp.status();
      }
    }
  }
  if (topic.empty()) {
    return Status::NotFound(fmt::format(
        "message {} not found ({}); give -t TOPIC to search by unique key", id,
        view_error.message()));
  }
  return QueryMsgByKey(topic, id, /*unique=*/true);
}

Result<std::vector<MessageInfo>> AdminClient::QueryMsgByKey(
    const std::string& topic, const std::string& key, bool unique,
    int32_t max_num) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  std::vector<MessageInfo> out;
  std::set<std::pair<std::string, int64_t>> seen;  // (store host, phys offset)
  for (const auto& [name, addr] : Masters(route)) {
    RemotingCommand req = ClientInstance::NewRequest(req_code::kQueryMessage);
    req.SetExt("topic", topic);
    req.SetExt("key", key);
    req.SetExt("maxNum", max_num);
    req.SetExt("beginTimestamp", int64_t{0});
    req.SetExt("endTimestamp", std::numeric_limits<int64_t>::max());
    if (unique) req.SetExt("_UNIQUE_KEY_QUERY", "true");
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    if (resp.code() == rc::kQueryNotFound) continue;
    TH_RETURN_IF_ERROR(
        StatusFromResponse(resp, fmt::format("query message on {}", addr)));
    std::vector<message::DecodedRecord> recs;
    TH_RETURN_IF_ERROR(DecodeMessages(resp.body(), false, &recs));
    for (const auto& r : recs) {
      if (r.topic != topic) continue;
      auto match =
          unique ? message::FindProperty(r.properties, message::prop::kUniqKey)
                 : message::FindProperty(r.properties, message::prop::kKeys);
      if (!match) continue;
      if (unique ? *match != key : !KeysContain(*match, key)) continue;
      if (!seen.emplace(r.store_host.ToString(), r.phys_offset).second)
        continue;
      out.push_back(MessageInfo::FromRecord(r));
    }
  }
  if (out.empty()) {
    return Status::NotFound(fmt::format("no message with {} {} in topic {}",
                                        unique ? "id" : "key", key, topic));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.store_timestamp < b.store_timestamp;
  });
  return out;
}

Result<MessageInfo> AdminClient::QueryMsgByOffset(
    const std::string& topic, const std::string& broker_name, int32_t queue_id,
    int64_t offset) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  if (Masters(route).count(broker_name) == 0) {
    return Status::NotFound(
        fmt::format("topic {} has no queues on broker {}", topic, broker_name));
  }
  PullConsumerOptions o;
  o.group = std::string(kToolsConsumerGroup);
  o.register_in_heartbeat = false;
  PullConsumer consumer(client_, o);
  MessageQueue mq{topic, broker_name, queue_id};
  TH_ASSIGN_OR_RETURN(PullResult r, consumer.Pull(mq, "*", offset, 1));
  if (r.status != PullStatus::kFound || r.messages.empty()) {
    return Status::NotFound(fmt::format(
        "no message at offset {} of {} ({}; queue holds {}..{})", offset,
        mq.ToString(), PullStatusName(r.status), r.min_offset, r.max_offset));
  }
  return MessageInfo::FromRecord(r.messages.front());
}

Result<std::vector<std::string>> AdminClient::GroupBrokers(
    const std::string& group) {
  std::set<std::string> addrs;
  auto route = client_->FetchTopicRoute("%RETRY%" + group);
  if (route.ok()) {
    for (const auto& [name, addr] : Masters(*route)) addrs.insert(addr);
  } else if (!route.status().IsNotFound()) {
    return route.status();
  }
  if (addrs.empty()) {
    TH_ASSIGN_OR_RETURN(auto info, client_->FetchClusterInfo());
    for (const auto& [name, bd] : info.broker_addr_table) {
      auto it = bd.broker_addrs.find(0);
      if (it != bd.broker_addrs.end()) addrs.insert(it->second);
    }
  }
  if (addrs.empty()) return Status::NotFound("no broker is registered");
  return std::vector<std::string>(addrs.begin(), addrs.end());
}

Result<ConsumeStats> AdminClient::ConsumerProgress(const std::string& group,
                                                   const std::string& topic) {
  TH_ASSIGN_OR_RETURN(auto addrs, GroupBrokers(group));
  ConsumeStats stats;
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kGetConsumeStats);
    req.SetExt("consumerGroup", group);
    if (!topic.empty()) req.SetExt("topic", topic);
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("consume stats of {} on {}", group, addr)));
    TH_ASSIGN_OR_RETURN(json::Value body, ParseBody(resp, "consume stats"));
    if (const json::Value* tps = body.Find("consumeTps")) {
      stats.consume_tps += tps->AsDouble().value_or(0);
    }
    const json::Value* table = body.Find("offsetTable");
    if (table == nullptr || !table->is_object()) continue;
    for (size_t i = 0; i < table->size(); ++i) {
      TH_ASSIGN_OR_RETURN(MessageQueue mq,
                          MessageQueue::FromJson(table->key(i)));
      const json::Value& v = table->value(i);
      stats.queues.push_back(QueueConsumeStats{
          mq, v.GetInt64("brokerOffset"), v.GetInt64("consumerOffset"),
          v.GetInt64("pullOffset"), v.GetInt64("lastTimestamp")});
    }
  }
  if (stats.queues.empty()) {
    return Status::NotFound(
        fmt::format("consumer group {} has no offsets{}", group,
                    topic.empty() ? std::string() : " on topic " + topic));
  }
  std::sort(stats.queues.begin(), stats.queues.end(),
            [](const auto& a, const auto& b) { return a.queue < b.queue; });
  return stats;
}

Result<ConsumerConnectionInfo> AdminClient::ConsumerConnection(
    const std::string& group) {
  TH_ASSIGN_OR_RETURN(auto addrs, GroupBrokers(group));
  Status last = Status::NotFound(
      fmt::format("consumer group {} has no live consumer", group));
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kGetConsumerConnectionList);
    req.SetExt("consumerGroup", group);
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    if (resp.code() == rc::kConsumerNotOnline) continue;
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("consumer connections of {} on {}", group, addr)));
    TH_ASSIGN_OR_RETURN(json::Value body,
                        ParseBody(resp, "consumer connections"));
    ConsumerConnectionInfo info;
    if (const json::Value* set = body.Find("connectionSet");
        set != nullptr && set->is_array()) {
      for (size_t i = 0; i < set->size(); ++i) {
        const json::Value& c = set->at(i);
        info.connections.push_back(
            {c.GetString("clientId"), c.GetString("clientAddr"),
             c.GetString("language"), c.GetInt64("version")});
      }
    }
    info.consume_type = body.GetString("consumeType");
    info.message_model = body.GetString("messageModel");
    info.consume_from_where = body.GetString("consumeFromWhere");
    if (const json::Value* subs = body.Find("subscriptionTable");
        subs != nullptr && subs->is_object()) {
      for (size_t i = 0; i < subs->size(); ++i) {
        info.subscriptions[subs->key(i).text()] =
            subs->value(i).GetString("subString");
      }
    }
    return info;
  }
  return last;
}

Result<std::map<std::string, std::string>> AdminClient::BrokerRuntimeInfo(
    const std::string& broker_addr) {
  TH_ASSIGN_OR_RETURN(
      RemotingCommand resp,
      client_->InvokeBroker(broker_addr, ClientInstance::NewRequest(
                                             req_code::kGetBrokerRuntimeInfo)));
  TH_RETURN_IF_ERROR(
      StatusFromResponse(resp, fmt::format("runtime info of {}", broker_addr)));
  TH_ASSIGN_OR_RETURN(json::Value body, ParseBody(resp, "runtime info"));
  std::map<std::string, std::string> out;
  if (const json::Value* table = body.Find("table");
      table != nullptr && table->is_object()) {
    for (size_t i = 0; i < table->size(); ++i)
      out[table->key(i).text()] = table->value(i).AsText().value_or("");
  }
  return out;
}

Result<std::string> AdminClient::BrokerHaStatus(
    const std::string& broker_addr) {
  TH_ASSIGN_OR_RETURN(
      RemotingCommand resp,
      client_->InvokeBroker(broker_addr, ClientInstance::NewRequest(
                                             req_code::kGetBrokerHaStatus)));
  TH_RETURN_IF_ERROR(
      StatusFromResponse(resp, fmt::format("HA status of {}", broker_addr)));
  return std::string(resp.body_view());
}

Result<std::vector<ClusterBroker>> AdminClient::ClusterList() {
  TH_ASSIGN_OR_RETURN(auto info, client_->FetchClusterInfo());
  std::vector<ClusterBroker> out;
  for (const auto& [cluster, names] : info.cluster_addr_table) {
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& name : sorted) {
      auto bd = info.broker_addr_table.find(name);
      if (bd == info.broker_addr_table.end()) continue;
      for (const auto& [id, addr] : bd->second.broker_addrs) {
        ClusterBroker row{cluster, name, id, addr, {}, {}};
        auto rt = BrokerRuntimeInfo(addr);
        if (rt.ok()) {
          row.runtime = std::move(*rt);
        } else {
          row.error = std::string(rt.status().message());
        }
        out.push_back(std::move(row));
      }
    }
  }
  return out;
}

Result<std::vector<ResetOffsetEntry>> AdminClient::ResetByQueues(
    const std::string& group, const std::string& topic,
    const std::string& broker_name, int32_t queues, int64_t timestamp_ms,
    bool force) {
  PullConsumerOptions o;
  o.group = group;
  o.register_in_heartbeat = false;
  PullConsumer consumer(client_, o);
  std::vector<ResetOffsetEntry> out;
  for (int32_t q = 0; q < queues; ++q) {
    MessageQueue mq{topic, broker_name, q};
    TH_ASSIGN_OR_RETURN(int64_t target,
                        consumer.SearchOffset(mq, timestamp_ms));
    int64_t old = -1;
    auto committed = consumer.QueryOffset(mq);
    if (committed.ok()) {
      old = *committed;
    } else if (!committed.status().IsNotFound()) {
      return committed.status();
    }
    if (!force && old >= 0 && target >= old) {
      out.push_back({mq, old, old});
      continue;
    }
    TH_RETURN_IF_ERROR(consumer.UpdateOffset(mq, target));
    out.push_back({mq, old, target});
  }
  return out;
}

Result<std::vector<ResetOffsetEntry>> AdminClient::ResetOffsetByTime(
    const std::string& group, const std::string& topic, int64_t timestamp_ms,
    bool force) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  auto masters = Masters(route);
  std::vector<ResetOffsetEntry> out;
  for (const auto& qd : route.queue_datas) {
    auto m = masters.find(qd.broker_name);
    if (m == masters.end()) continue;
    const std::string& addr = m->second;
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kInvokeBrokerToResetOffset);
    req.SetExt("topic", topic);
    req.SetExt("group", group);
    req.SetExt("timestamp", timestamp_ms);
    req.SetExtBool("isForce", force);
    req.SetExt("queueId", int32_t{-1});
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    if (resp.code() == rc::kRequestCodeNotSupported ||
        resp.code() == rc::kConsumerNotOnline) {
      // Brokers without server-side reset, or 4.x brokers with no consumer
      // online to push the reset to: move the committed offsets directly.
      TH_ASSIGN_OR_RETURN(
          auto entries,
          ResetByQueues(group, topic, qd.broker_name,
                        std::max(qd.read_queue_nums, qd.write_queue_nums),
                        timestamp_ms, force));
      out.insert(out.end(), entries.begin(), entries.end());
      continue;
    }
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("reset offsets of {} on {}", group, addr)));
    if (resp.body().empty()) continue;
    TH_ASSIGN_OR_RETURN(json::Value body, ParseBody(resp, "reset offset"));
    const json::Value* table = body.Find("offsetTable");
    if (table == nullptr) continue;
    if (table->is_object()) {
      for (size_t i = 0; i < table->size(); ++i) {
        TH_ASSIGN_OR_RETURN(MessageQueue mq,
                            MessageQueue::FromJson(table->key(i)));
        out.push_back({mq, -1, table->value(i).AsInt64().value_or(0)});
      }
    } else if (table->is_array()) {
      for (size_t i = 0; i < table->size(); ++i) {
        TH_ASSIGN_OR_RETURN(MessageQueue mq,
                            MessageQueue::FromJson(table->at(i)));
        out.push_back({mq, -1, table->at(i).GetInt64("offset")});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.queue < b.queue; });
  return out;
}

}  // namespace thruster::client
