// Revive-topic records: spec/pop.md §5.
#include "broker/pop_format.h"

#include "broker/topic_config_manager.h"
#include "remoting/json.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;

std::string CheckpointKey(std::string_view t, std::string_view c, int32_t q,
                          int64_t so, int64_t pt, std::string_view bn) {
  std::string k;
  k.reserve(t.size() + c.size() + bn.size() + 48);
  k.append(t).append(c).append(std::to_string(q)).append(std::to_string(so));
  k.append(std::to_string(pt)).append(bn);
  return k;
}

}  // namespace

std::string ReviveTopic(std::string_view cluster_name) {
  return std::string(kReviveTopicPrefix) + std::string(cluster_name);
}

std::string PopRetryTopic(std::string_view group, std::string_view topic) {
  if (topic.starts_with(kRetryGroupTopicPrefix)) return std::string(topic);
  return std::string(kRetryGroupTopicPrefix) + std::string(group) + "_" +
         std::string(topic);
}

int64_t PopCheckPoint::QueueOffset(size_t i) const {
  if (queue_offset_diff.empty()) return start_offset + static_cast<int64_t>(i);
  return start_offset + queue_offset_diff[i];
}

int PopCheckPoint::IndexOf(int64_t offset) const {
  for (int i = 0; i < num; ++i) {
    if (static_cast<size_t>(i) >= queue_offset_diff.size() &&
        !queue_offset_diff.empty())
      break;
    if (QueueOffset(static_cast<size_t>(i)) == offset) return i;
  }
  return -1;
}

std::string PopCheckPoint::Key() const {
  return CheckpointKey(topic, group, queue_id, start_offset, pop_time,
                       broker_name);
}

std::string PopCheckPoint::EncodeJson() const {
  // Members in alphabetical order, as fastjson writes them.
  json::Value v = json::Value::Object();
  v.Set("bm", json::Value::Int(bit_map));
  v.Set("bn", json::Value::String(broker_name));
  v.Set("c", json::Value::String(group));
  json::Value d = json::Value::Array();
  for (int32_t x : queue_offset_diff) d.Push(json::Value::Int(x));
  v.Set("d", std::move(d));
  v.Set("it", json::Value::Int(invisible_time));
  v.Set("n", json::Value::Int(num));
  v.Set("pt", json::Value::Int(pop_time));
  v.Set("q", json::Value::Int(queue_id));
  v.Set("ro", json::Value::Int(revive_offset));
  if (re_put_times > 0)
    v.Set("rp", json::Value::String(std::to_string(re_put_times)));
  v.Set("so", json::Value::Int(start_offset));
  v.Set("t", json::Value::String(topic));
  return json::Write(v);
}

Result<PopCheckPoint> PopCheckPoint::DecodeJson(std::string_view body) {
  Result<json::Value> parsed = json::Parse(body);
  if (!parsed.ok()) return parsed.status();
  const json::Value& v = *parsed;
  if (!v.is_object() || v.Find("so") == nullptr || v.Find("pt") == nullptr ||
      v.Find("t") == nullptr || v.Find("c") == nullptr) {
    return Status::InvalidArgument("checkpoint body lacks so/pt/t/c");
  }
  PopCheckPoint ck;
  ck.start_offset = v.GetInt64("so");
  ck.pop_time = v.GetInt64("pt");
  ck.invisible_time = v.GetInt64("it");
  ck.bit_map = v.GetInt64("bm");
  ck.num = static_cast<int32_t>(v.GetInt64("n"));
  ck.queue_id = static_cast<int32_t>(v.GetInt64("q"));
  ck.topic = v.GetString("t");
  ck.group = v.GetString("c");
  ck.revive_offset = v.GetInt64("ro");
  ck.broker_name = v.GetString("bn");
  ck.re_put_times = static_cast<int32_t>(v.GetInt64("rp"));
  if (const json::Value* d = v.Find("d"); d != nullptr && d->is_array()) {
    for (size_t i = 0; i < d->size(); ++i) {
      std::optional<int64_t> x = d->at(i).AsInt64();
      if (!x) return Status::InvalidArgument("checkpoint d is not numeric");
      ck.queue_offset_diff.push_back(static_cast<int32_t>(*x));
    }
  }
  if (ck.num < 0 || ck.num > 64 ||
      (!ck.queue_offset_diff.empty() &&
       ck.queue_offset_diff.size() != static_cast<size_t>(ck.num))) {
    return Status::InvalidArgument("checkpoint n and d disagree");
  }
  return ck;
}

std::string AckMsg::Key() const {
  return CheckpointKey(topic, group, queue_id, start_offset, pop_time,
                       broker_name);
}

std::string AckMsg::EncodeJson(bool batch) const {
  json::Value v = json::Value::Object();
  v.Set("ao",
        json::Value::Int(batch || ack_offsets.empty() ? -1 : ack_offsets[0]));
  if (batch) {
    json::Value aol = json::Value::Array();
    for (int64_t o : ack_offsets) aol.Push(json::Value::Int(o));
    v.Set("aol", std::move(aol));
  }
  v.Set("bn", json::Value::String(broker_name));
  v.Set("c", json::Value::String(group));
  v.Set("pt", json::Value::Int(pop_time));
  v.Set("q", json::Value::Int(queue_id));
  v.Set("so", json::Value::Int(start_offset));
  v.Set("t", json::Value::String(topic));
  return json::Write(v);
}

Result<AckMsg> AckMsg::DecodeJson(std::string_view body) {
  Result<json::Value> parsed = json::Parse(body);
  if (!parsed.ok()) return parsed.status();
  const json::Value& v = *parsed;
  if (!v.is_object() || v.Find("so") == nullptr || v.Find("t") == nullptr)
    return Status::InvalidArgument("ack body lacks so/t");
  AckMsg a;
  a.start_offset = v.GetInt64("so");
  a.group = v.GetString("c");
  a.topic = v.GetString("t");
  a.queue_id = static_cast<int32_t>(v.GetInt64("q"));
  a.pop_time = v.GetInt64("pt");
  a.broker_name = v.GetString("bn");
  const int64_t ao = v.GetInt64("ao", -1);
  if (ao >= 0) a.ack_offsets.push_back(ao);
  if (const json::Value* aol = v.Find("aol");
      aol != nullptr && aol->is_array()) {
    for (size_t i = 0; i < aol->size(); ++i) {
      std::optional<int64_t> x = aol->at(i).AsInt64();
      if (x) a.ack_offsets.push_back(*x);
    }
  }
  return a;
}

}  // namespace thruster::broker
