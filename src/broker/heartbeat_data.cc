#include "broker/heartbeat_data.h"

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "common/strings.h"
#include "message/message.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;

// An enum member given as a name or as an ordinal into `names`.
std::string EnumMember(const json::Value& obj, std::string_view key,
                       std::initializer_list<const char*> names) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return {};
  if (v->is_number()) {
    std::optional<int64_t> n = v->AsInt64();
    if (n && *n >= 0 && static_cast<size_t>(*n) < names.size())
      return *(names.begin() + *n);
    return {};
  }
  return v->AsText().value_or("");
}

}  // namespace

Result<SubscriptionData> SubscriptionData::Build(
    std::string_view topic, std::string_view sub_string,
    std::string_view expression_type) {
  SubscriptionData sd;
  sd.topic = std::string(topic);
  if (!expression_type.empty() && expression_type != "TAG") {
    return Status::InvalidArgument(
        "expression type " + std::string(expression_type) +
        " is not supported (property filtering is disabled)");
  }
  sub_string = TrimBlanks(sub_string);
  if (sub_string.empty() || sub_string == "*") {
    sd.sub_string = "*";
    return sd;
  }
  sd.sub_string = std::string(sub_string);
  std::string_view rest = sub_string;
  while (true) {
    size_t pos = rest.find("||");
    std::string_view tag = TrimBlanks(rest.substr(0, pos));
    if (!tag.empty() &&
        std::find(sd.tags.begin(), sd.tags.end(), tag) == sd.tags.end()) {
      sd.tags.emplace_back(tag);
      sd.codes.push_back(message::JHash(tag));
    }
    if (pos == std::string_view::npos) break;
    rest.remove_prefix(pos + 2);
  }
  if (sd.tags.empty()) sd.sub_string = "*";
  return sd;
}

SubscriptionData SubscriptionData::Sql92(std::string_view topic,
                                         std::string_view text) {
  SubscriptionData sd;
  sd.topic = std::string(topic);
  sd.expression_type = std::string(kExpressionTypeSql92);
  sd.sub_string = std::string(TrimBlanks(text));
  return sd;
}

SubscriptionData SubscriptionData::FromJson(const json::Value& v) {
  SubscriptionData sd;
  sd.topic = v.GetString("topic");
  sd.expression_type = v.GetString("expressionType", "TAG");
  if (sd.expression_type.empty()) sd.expression_type = "TAG";
  sd.sub_version = v.GetInt64("subVersion", 0);
  if (sd.expression_type == kExpressionTypeSql92) {
    sd.sub_string = Sql92(sd.topic, v.GetString("subString", "")).sub_string;
    return sd;
  }
  Result<SubscriptionData> built =
      Build(sd.topic, v.GetString("subString", "*"), "TAG");
  if (built.ok()) {
    sd.sub_string = built->sub_string;
    sd.tags = built->tags;
    sd.codes = built->codes;
  }
  return sd;
}

json::Value SubscriptionData::ToJson() const {
  json::Value v = json::Value::Object();
  v.Set("classFilterMode", json::Value::Bool(false));
  json::Value codes_json = json::Value::Array();
  for (int64_t c : codes) codes_json.Push(json::Value::Int(c));
  v.Set("codeSet", std::move(codes_json));
  v.Set("expressionType", json::Value::String(expression_type));
  v.Set("subString", json::Value::String(sub_string));
  v.Set("subVersion", json::Value::Int(sub_version));
  json::Value tags_json = json::Value::Array();
  for (const auto& t : tags) tags_json.Push(json::Value::String(t));
  v.Set("tagsSet", std::move(tags_json));
  v.Set("topic", json::Value::String(topic));
  return v;
}

ConsumerData ConsumerData::FromJson(const json::Value& v) {
  ConsumerData cd;
  cd.group_name = v.GetString("groupName");
  cd.consume_type =
      EnumMember(v, "consumeType",
                 {"CONSUME_ACTIVELY", "CONSUME_PASSIVELY", "CONSUME_POP"});
  cd.message_model =
      EnumMember(v, "messageModel", {"BROADCASTING", "CLUSTERING"});
  cd.consume_from_where =
      EnumMember(v, "consumeFromWhere",
                 {"CONSUME_FROM_LAST_OFFSET",
                  "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
                  "CONSUME_FROM_MIN_OFFSET", "CONSUME_FROM_MAX_OFFSET",
                  "CONSUME_FROM_FIRST_OFFSET", "CONSUME_FROM_TIMESTAMP"});
  if (const json::Value* subs = v.Find("subscriptionDataSet");
      subs != nullptr && subs->is_array()) {
    for (size_t i = 0; i < subs->size(); ++i) {
      if (!subs->at(i).is_object()) continue;
      SubscriptionData sd = SubscriptionData::FromJson(subs->at(i));
      if (!sd.topic.empty()) cd.subscriptions.push_back(std::move(sd));
    }
  }
  return cd;
}

Result<HeartbeatData> HeartbeatData::Parse(std::string_view body) {
  Result<json::Value> v = json::Parse(body);
  if (!v.ok())
    return Status::InvalidArgument("heartbeat body is not JSON: " +
                                   v.status().ToString());
  if (!v->is_object())
    return Status::InvalidArgument("heartbeat body is not a JSON object");
  HeartbeatData hb;
  hb.client_id = v->GetString("clientID");
  if (hb.client_id.empty())
    return Status::InvalidArgument("heartbeat body has no clientID");
  if (const json::Value* ps = v->Find("producerDataSet");
      ps != nullptr && ps->is_array()) {
    for (size_t i = 0; i < ps->size(); ++i) {
      if (!ps->at(i).is_object()) continue;
      std::string g = ps->at(i).GetString("groupName");
      if (!g.empty()) hb.producer_groups.push_back(std::move(g));
    }
  }
  if (const json::Value* cs = v->Find("consumerDataSet");
      cs != nullptr && cs->is_array()) {
    for (size_t i = 0; i < cs->size(); ++i) {
      if (!cs->at(i).is_object()) continue;
      ConsumerData cd = ConsumerData::FromJson(cs->at(i));
      if (!cd.group_name.empty()) hb.consumers.push_back(std::move(cd));
    }
  }
  return hb;
}

}  // namespace thruster::broker
