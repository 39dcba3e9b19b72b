#include "remoting/route_data.h"

#include <limits>

namespace thruster::remoting {
namespace {

json::Value StringArray(const std::vector<std::string>& items) {
  json::Value arr = json::Value::Array();
  for (const auto& s : items) arr.Push(json::Value::String(s));
  return arr;
}

std::vector<std::string> ReadStringArray(const json::Value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (auto t = v->at(i).AsText()) out.push_back(std::move(*t));
  }
  return out;
}

Result<json::Value> ParseObject(std::string_view text) {
  TH_ASSIGN_OR_RETURN(json::Value v, json::Parse(text));
  if (!v.is_object())
    return Status::InvalidArgument("json: expected an object");
  return v;
}

}  // namespace

int32_t GetInt32(const json::Value& obj, std::string_view key, int32_t def) {
  int64_t v = obj.GetInt64(key, def);
  if (v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max())
    return def;
  return static_cast<int32_t>(v);
}

json::Value DataVersion::ToJson() const {
  json::Value v = json::Value::Object();
  v.Set("counter", json::Value::Int(counter));
  v.Set("stateVersion", json::Value::Int(state_version));
  v.Set("timestamp", json::Value::Int(timestamp));
  return v;
}

DataVersion DataVersion::FromJson(const json::Value& v) {
  DataVersion d;
  d.counter = v.GetInt64("counter", 0);
  d.state_version = v.GetInt64("stateVersion", 0);
  d.timestamp = v.GetInt64("timestamp", 0);
  return d;
}

json::Value TopicConfig::ToJson() const {
  json::Value v = json::Value::Object();
  if (!attributes.empty()) {
    json::Value attrs = json::Value::Object();
    for (const auto& [k, val] : attributes)
      attrs.Set(k, json::Value::String(val));
    v.Set("attributes", std::move(attrs));
  }
  v.Set("order", json::Value::Bool(order));
  v.Set("perm", json::Value::Int(perm));
  v.Set("readQueueNums", json::Value::Int(read_queue_nums));
  v.Set("topicFilterType", json::Value::String(topic_filter_type));
  v.Set("topicName", json::Value::String(topic_name));
  v.Set("topicSysFlag", json::Value::Int(topic_sys_flag));
  v.Set("writeQueueNums", json::Value::Int(write_queue_nums));
  return v;
}

TopicConfig TopicConfig::FromJson(const json::Value& v) {
  TopicConfig t;
  t.topic_name = v.GetString("topicName");
  t.read_queue_nums = GetInt32(v, "readQueueNums", t.read_queue_nums);
  t.write_queue_nums = GetInt32(v, "writeQueueNums", t.write_queue_nums);
  t.perm = GetInt32(v, "perm", t.perm);
  t.topic_filter_type = v.GetString("topicFilterType", t.topic_filter_type);
  t.topic_sys_flag =
      GetInt32(v, "topicSysFlag", GetInt32(v, "topicSynFlag", 0));
  t.order = v.GetBool("order", false);
  if (const json::Value* attrs = v.Find("attributes");
      attrs != nullptr && attrs->is_object()) {
    for (size_t i = 0; i < attrs->size(); ++i) {
      auto k = attrs->key(i).AsText();
      auto val = attrs->value(i).AsText();
      if (k && val) t.attributes[*k] = *val;
    }
  }
  return t;
}

json::Value QueueData::ToJson() const {
  json::Value v = json::Value::Object();
  v.Set("brokerName", json::Value::String(broker_name));
  v.Set("perm", json::Value::Int(perm));
  v.Set("readQueueNums", json::Value::Int(read_queue_nums));
  v.Set("topicSysFlag", json::Value::Int(topic_sys_flag));
  v.Set("writeQueueNums", json::Value::Int(write_queue_nums));
  return v;
}

QueueData QueueData::FromJson(const json::Value& v) {
  QueueData q;
  q.broker_name = v.GetString("brokerName");
  q.read_queue_nums = GetInt32(v, "readQueueNums", 0);
  q.write_queue_nums = GetInt32(v, "writeQueueNums", 0);
  q.perm = GetInt32(v, "perm", 0);
  q.topic_sys_flag =
      GetInt32(v, "topicSysFlag", GetInt32(v, "topicSynFlag", 0));
  return q;
}

json::Value BrokerData::ToJson(bool bare_numeric_keys) const {
  json::Value addrs = json::Value::Object();
  for (const auto& [id, addr] : broker_addrs) {
    json::Value key = bare_numeric_keys
                          ? json::Value::Int(id)
                          : json::Value::String(std::to_string(id));
    addrs.Add(std::move(key), json::Value::String(addr));
  }
  json::Value v = json::Value::Object();
  v.Set("brokerAddrs", std::move(addrs));
  v.Set("brokerName", json::Value::String(broker_name));
  v.Set("cluster", json::Value::String(cluster));
  return v;
}

BrokerData BrokerData::FromJson(const json::Value& v) {
  BrokerData b;
  b.cluster = v.GetString("cluster");
  b.broker_name = v.GetString("brokerName");
  if (const json::Value* addrs = v.Find("brokerAddrs");
      addrs != nullptr && addrs->is_object()) {
    for (size_t i = 0; i < addrs->size(); ++i) {
      auto id = addrs->key(i).AsInt64();
      auto addr = addrs->value(i).AsText();
      if (id && addr) b.broker_addrs[*id] = *addr;
    }
  }
  return b;
}

json::Value TopicRouteData::ToJson(bool bare_numeric_keys) const {
  json::Value v = json::Value::Object();
  json::Value brokers = json::Value::Array();
  for (const auto& b : broker_datas) brokers.Push(b.ToJson(bare_numeric_keys));
  v.Set("brokerDatas", std::move(brokers));
  v.Set("filterServerTable", json::Value::Object());
  if (!order_topic_conf.empty())
    v.Set("orderTopicConf", json::Value::String(order_topic_conf));
  json::Value queues = json::Value::Array();
  for (const auto& q : queue_datas) queues.Push(q.ToJson());
  v.Set("queueDatas", std::move(queues));
  return v;
}

Result<TopicRouteData> TopicRouteData::Parse(std::string_view text) {
  TH_ASSIGN_OR_RETURN(json::Value v, ParseObject(text));
  TopicRouteData r;
  r.order_topic_conf = v.GetString("orderTopicConf");
  if (const json::Value* qs = v.Find("queueDatas");
      qs != nullptr && qs->is_array()) {
    for (size_t i = 0; i < qs->size(); ++i)
      r.queue_datas.push_back(QueueData::FromJson(qs->at(i)));
  }
  if (const json::Value* bs = v.Find("brokerDatas");
      bs != nullptr && bs->is_array()) {
    for (size_t i = 0; i < bs->size(); ++i)
      r.broker_datas.push_back(BrokerData::FromJson(bs->at(i)));
  }
  return r;
}

json::Value ClusterInfo::ToJson() const {
  json::Value brokers = json::Value::Object();
  for (const auto& [name, b] : broker_addr_table)
    brokers.Set(name, b.ToJson(/*bare_numeric_keys=*/true));
  json::Value clusters = json::Value::Object();
  for (const auto& [name, members] : cluster_addr_table)
    clusters.Set(name, StringArray(members));
  json::Value v = json::Value::Object();
  v.Set("brokerAddrTable", std::move(brokers));
  v.Set("clusterAddrTable", std::move(clusters));
  return v;
}

Result<ClusterInfo> ClusterInfo::Parse(std::string_view text) {
  TH_ASSIGN_OR_RETURN(json::Value v, ParseObject(text));
  ClusterInfo c;
  if (const json::Value* t = v.Find("brokerAddrTable");
      t != nullptr && t->is_object()) {
    for (size_t i = 0; i < t->size(); ++i) {
      if (auto k = t->key(i).AsText())
        c.broker_addr_table[*k] = BrokerData::FromJson(t->value(i));
    }
  }
  if (const json::Value* t = v.Find("clusterAddrTable");
      t != nullptr && t->is_object()) {
    for (size_t i = 0; i < t->size(); ++i) {
      if (auto k = t->key(i).AsText())
        c.cluster_addr_table[*k] = ReadStringArray(&t->value(i));
    }
  }
  return c;
}

json::Value TopicList::ToJson() const {
  json::Value v = json::Value::Object();
  if (!broker_addr.empty())
    v.Set("brokerAddr", json::Value::String(broker_addr));
  v.Set("topicList", StringArray(topic_list));
  return v;
}

Result<TopicList> TopicList::Parse(std::string_view text) {
  TH_ASSIGN_OR_RETURN(json::Value v, ParseObject(text));
  TopicList t;
  t.topic_list = ReadStringArray(v.Find("topicList"));
  t.broker_addr = v.GetString("brokerAddr");
  return t;
}

}  // namespace thruster::remoting
