#include "broker/subscription_group_manager.h"

#include <algorithm>

#include "common/logging.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;

constexpr size_t kMaxGroupLength = 255;

// RocketMQ's MixAll system consumer groups, which every broker has.
constexpr std::string_view kSystemGroups[] = {
    "TOOLS_CONSUMER",     "FILTERSRV_CONSUMER", "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY", "CID_ONSAPI_PULL",    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",   "CID_SYS_RMQ_TRANS"};

bool IsSystemGroup(std::string_view group) {
  return std::find(std::begin(kSystemGroups), std::end(kSystemGroups), group) !=
         std::end(kSystemGroups);
}

bool ValidGroupsJson(const std::string& text) {
  Result<json::Value> v = json::Parse(text);
  return v.ok() && v->is_object();
}

}  // namespace

json::Value SubscriptionGroupConfig::ToJson() const {
  json::Value v = json::Value::Object();
  v.Set("brokerId", json::Value::Int(broker_id));
  v.Set("consumeBroadcastEnable", json::Value::Bool(consume_broadcast_enable));
  v.Set("consumeEnable", json::Value::Bool(consume_enable));
  v.Set("consumeFromMinEnable", json::Value::Bool(consume_from_min_enable));
  v.Set("consumeMessageOrderly", json::Value::Bool(consume_message_orderly));
  v.Set("groupName", json::Value::String(group_name));
  v.Set("notifyConsumerIdsChangedEnable",
        json::Value::Bool(notify_consumer_ids_changed_enable));
  v.Set("retryMaxTimes", json::Value::Int(retry_max_times));
  v.Set("retryQueueNums", json::Value::Int(retry_queue_nums));
  v.Set("whichBrokerWhenConsumeSlowly",
        json::Value::Int(which_broker_when_consume_slowly));
  return v;
}

SubscriptionGroupConfig SubscriptionGroupConfig::FromJson(
    const json::Value& v) {
  SubscriptionGroupConfig c;
  c.group_name = v.GetString("groupName");
  c.consume_enable = v.GetBool("consumeEnable", c.consume_enable);
  c.consume_from_min_enable =
      v.GetBool("consumeFromMinEnable", c.consume_from_min_enable);
  c.consume_broadcast_enable =
      v.GetBool("consumeBroadcastEnable", c.consume_broadcast_enable);
  c.consume_message_orderly =
      v.GetBool("consumeMessageOrderly", c.consume_message_orderly);
  c.retry_queue_nums =
      static_cast<int32_t>(v.GetInt64("retryQueueNums", c.retry_queue_nums));
  c.retry_max_times =
      static_cast<int32_t>(v.GetInt64("retryMaxTimes", c.retry_max_times));
  c.broker_id = v.GetInt64("brokerId", c.broker_id);
  c.which_broker_when_consume_slowly = v.GetInt64(
      "whichBrokerWhenConsumeSlowly", c.which_broker_when_consume_slowly);
  c.notify_consumer_ids_changed_enable = v.GetBool(
      "notifyConsumerIdsChangedEnable", c.notify_consumer_ids_changed_enable);
  return c;
}

Status ValidateGroupName(std::string_view group) {
  if (group.empty()) return Status::InvalidArgument("the group name is empty");
  if (group.size() > kMaxGroupLength) {
    return Status::InvalidArgument("the group name is longer than " +
                                   std::to_string(kMaxGroupLength) +
                                   " characters");
  }
  for (char c : group) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '%' || c == '|' ||
                    c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(
          "the group name contains a character other than [%|a-zA-Z0-9_-]");
    }
  }
  return Status::OK();
}

SubscriptionGroupManager::SubscriptionGroupManager(store::io::FileSystem* fs,
                                                   std::string config_dir,
                                                   bool auto_create,
                                                   int32_t retry_max_times,
                                                   const Clock* clock)
    : auto_create_(auto_create),
      retry_max_times_(retry_max_times),
      clock_(clock),
      path_(store::io::JoinPath(config_dir, "subscriptionGroup.json")),
      file_(fs, path_) {
  data_version_.timestamp = clock_->NowMs();
}

Status SubscriptionGroupManager::Load() {
  MutexLock lock(&mu_);
  Result<std::string> text = file_.Read(ValidGroupsJson);
  if (text.ok()) {
    Result<json::Value> v = json::Parse(*text);
    if (!v.ok()) return v.status();
    if (const json::Value* dv = v->Find("dataVersion");
        dv != nullptr && dv->is_object()) {
      data_version_ = remoting::DataVersion::FromJson(*dv);
    }
    if (const json::Value* table = v->Find("subscriptionGroupTable");
        table != nullptr && table->is_object()) {
      for (size_t i = 0; i < table->size(); ++i) {
        SubscriptionGroupConfig c =
            SubscriptionGroupConfig::FromJson(table->value(i));
        if (c.group_name.empty()) c.group_name = table->key(i).text();
        if (!ValidateGroupName(c.group_name).ok()) continue;
        groups_[c.group_name] = std::move(c);
      }
    }
    TH_LOG(broker, kInfo, "loaded {} subscription groups from {}",
           groups_.size(), path_);
  } else if (!text.status().IsNotFound()) {
    return text.status();
  }
  const size_t before = groups_.size();
  AddSystemGroupsLocked();
  if (groups_.size() != before) {
    BumpVersionLocked();
    return PersistLocked();
  }
  return Status::OK();
}

void SubscriptionGroupManager::AddSystemGroupsLocked() {
  for (std::string_view g : kSystemGroups) {
    if (groups_.count(g) != 0) continue;
    SubscriptionGroupConfig c;
    c.group_name = std::string(g);
    c.retry_max_times = retry_max_times_;
    groups_[c.group_name] = std::move(c);
  }
}

void SubscriptionGroupManager::BumpVersionLocked() {
  data_version_.counter++;
  data_version_.timestamp = clock_->NowMs();
}

std::string SubscriptionGroupManager::EncodeJsonLocked() const {
  json::Value root = json::Value::Object();
  root.Set("dataVersion", data_version_.ToJson());
  json::Value table = json::Value::Object();
  for (const auto& [name, c] : groups_) table.Set(name, c.ToJson());
  root.Set("subscriptionGroupTable", std::move(table));
  return json::Write(root);
}

std::string SubscriptionGroupManager::EncodeJson() const {
  MutexLock lock(&mu_);
  return EncodeJsonLocked();
}

Status SubscriptionGroupManager::PersistLocked() {
  Status s = file_.Write(EncodeJsonLocked());
  if (!s.ok())
    TH_LOG(broker, kError, "persisting {} failed: {}", path_, s.ToString());
  return s;
}

Status SubscriptionGroupManager::Persist() {
  MutexLock lock(&mu_);
  return PersistLocked();
}

std::optional<SubscriptionGroupConfig> SubscriptionGroupManager::Find(
    std::string_view group) const {
  MutexLock lock(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

std::optional<SubscriptionGroupConfig>
SubscriptionGroupManager::FindOrAutoCreate(std::string_view group) {
  if (!ValidateGroupName(group).ok()) return std::nullopt;
  MutexLock lock(&mu_);
  if (auto it = groups_.find(group); it != groups_.end()) return it->second;
  if (!auto_create_ && !IsSystemGroup(group)) return std::nullopt;
  SubscriptionGroupConfig c;
  c.group_name = std::string(group);
  c.retry_max_times = retry_max_times_;
  groups_[c.group_name] = c;
  BumpVersionLocked();
  TH_LOG(broker, kInfo, "auto-created subscription group {}", group);
  PersistLocked().IgnoreError();  // logged; kept in memory, re-persisted on
                                  // the next change
  return c;
}

Status SubscriptionGroupManager::Update(const SubscriptionGroupConfig& config) {
  TH_RETURN_IF_ERROR(ValidateGroupName(config.group_name));
  if (config.retry_queue_nums < 0 || config.retry_queue_nums > 1024)
    return Status::InvalidArgument("retryQueueNums must be in 0..1024");
  if (config.retry_max_times < -1)
    return Status::InvalidArgument("retryMaxTimes must be -1 or more");
  MutexLock lock(&mu_);
  groups_[config.group_name] = config;
  BumpVersionLocked();
  TH_LOG(broker, kInfo,
         "subscription group {} set: consumeEnable {} retryQueueNums {} "
         "retryMaxTimes {}",
         config.group_name, config.consume_enable, config.retry_queue_nums,
         config.retry_max_times);
  return PersistLocked();
}

Status SubscriptionGroupManager::Delete(std::string_view group) {
  MutexLock lock(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end())
    return Status::NotFound("subscription group " + std::string(group));
  groups_.erase(it);
  BumpVersionLocked();
  TH_LOG(broker, kInfo, "deleted subscription group {}", group);
  return PersistLocked();
}

std::vector<SubscriptionGroupConfig> SubscriptionGroupManager::All() const {
  MutexLock lock(&mu_);
  std::vector<SubscriptionGroupConfig> out;
  out.reserve(groups_.size());
  for (const auto& [name, c] : groups_) out.push_back(c);
  return out;
}

remoting::DataVersion SubscriptionGroupManager::data_version() const {
  MutexLock lock(&mu_);
  return data_version_;
}

}  // namespace thruster::broker
