#include "broker/topic_config_manager.h"

#include <algorithm>

#include "common/logging.h"
#include "remoting/json.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;
using remoting::TopicConfig;

constexpr size_t kMaxTopicLength = 127;
constexpr size_t kMaxRetryTopicLength = 255;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ValidTopicsJson(const std::string& text) {
  Result<json::Value> v = json::Parse(text);
  return v.ok() && v->is_object();
}

}  // namespace

Status ValidateTopicName(std::string_view topic) {
  if (topic.empty()) return Status::InvalidArgument("the topic name is empty");
  const bool retry_or_dlq = StartsWith(topic, kRetryGroupTopicPrefix) ||
                            StartsWith(topic, kDlqGroupTopicPrefix);
  const size_t max_len = retry_or_dlq ? kMaxRetryTopicLength : kMaxTopicLength;
  if (topic.size() > max_len) {
    return Status::InvalidArgument("the topic name is longer than " +
                                   std::to_string(max_len) + " characters");
  }
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '%' || c == '|' ||
                    c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(
          "the topic name contains a character other than [%|a-zA-Z0-9_-]");
    }
  }
  return Status::OK();
}

bool IsNotAllowedToSend(std::string_view topic) {
  static constexpr std::string_view kForbidden[] = {
      "SCHEDULE_TOPIC_XXXX",
      "RMQ_SYS_TRANS_HALF_TOPIC",
      "RMQ_SYS_TRANS_OP_HALF_TOPIC",
      "TRANS_CHECK_MAX_TIME_TOPIC",
      kSelfTestTopic,
      kOffsetMovedEvent};
  return std::find(std::begin(kForbidden), std::end(kForbidden), topic) !=
         std::end(kForbidden);
}

std::string RetryTopic(std::string_view group) {
  return std::string(kRetryGroupTopicPrefix) + std::string(group);
}
std::string DlqTopic(std::string_view group) {
  return std::string(kDlqGroupTopicPrefix) + std::string(group);
}

TopicConfigManager::TopicConfigManager(store::io::FileSystem* fs,
                                       std::string config_dir,
                                       TopicConfigManagerOptions options,
                                       const Clock* clock)
    : options_(std::move(options)),
      clock_(clock),
      file_(fs, store::io::JoinPath(config_dir, "topics.json")) {
  data_version_.timestamp = clock_->NowMs();
}

Status TopicConfigManager::Load() {
  MutexLock lock(&mu_);
  Result<std::string> text = file_.Read(ValidTopicsJson);
  if (text.ok()) {
    Result<json::Value> v = json::Parse(*text);
    if (!v.ok()) return v.status();
    if (const json::Value* dv = v->Find("dataVersion");
        dv != nullptr && dv->is_object()) {
      data_version_ = remoting::DataVersion::FromJson(*dv);
    }
    if (const json::Value* table = v->Find("topicConfigTable");
        table != nullptr && table->is_object()) {
      for (size_t i = 0; i < table->size(); ++i) {
        TopicConfig tc = TopicConfig::FromJson(table->value(i));
        if (tc.topic_name.empty()) tc.topic_name = table->key(i).text();
        if (!ValidateTopicName(tc.topic_name).ok()) continue;
        topics_[tc.topic_name] = std::move(tc);
      }
    }
    TH_LOG(broker, kInfo, "loaded {} topics from {}", topics_.size(),
           file_.path());
  } else if (!text.status().IsNotFound()) {
    return text.status();
  }
  const size_t before = topics_.size();
  AddSystemTopicsLocked();
  if (topics_.size() != before) {
    BumpVersionLocked();
    return PersistLocked();
  }
  return Status::OK();
}

void TopicConfigManager::AddTopicIfAbsentLocked(std::string_view name,
                                                int32_t queues, int32_t perm) {
  if (topics_.count(name) != 0) return;
  TopicConfig tc;
  tc.topic_name = std::string(name);
  tc.read_queue_nums = queues;
  tc.write_queue_nums = queues;
  tc.perm = perm;
  topics_[tc.topic_name] = tc;
}

void TopicConfigManager::AddSystemTopicsLocked() {
  const int32_t rw = remoting::kPermRead | remoting::kPermWrite;
  if (options_.auto_create_topic_enable) {
    AddTopicIfAbsentLocked(kAutoCreateTopicKey,
                           options_.default_topic_queue_nums,
                           rw | remoting::kPermInherit);
  } else if (auto it = topics_.find(kAutoCreateTopicKey); it != topics_.end()) {
    it->second.perm &= ~remoting::kPermInherit;  // auto-creation was turned off
                                                 // since the last run
  }
  AddTopicIfAbsentLocked(kSelfTestTopic, 1, rw);
  AddTopicIfAbsentLocked(kOffsetMovedEvent, 1, rw);
  if (!options_.cluster_name.empty())
    AddTopicIfAbsentLocked(options_.cluster_name, 16,
                           remoting::kPermRead | remoting::kPermWrite);
  if (!options_.broker_name.empty())
    AddTopicIfAbsentLocked(options_.broker_name, 1, rw);
}

void TopicConfigManager::BumpVersionLocked() {
  data_version_.counter++;
  data_version_.timestamp = clock_->NowMs();
}

std::string TopicConfigManager::EncodeJsonLocked() const {
  json::Value root = json::Value::Object();
  root.Set("dataVersion", data_version_.ToJson());
  json::Value table = json::Value::Object();
  for (const auto& [name, tc] : topics_) table.Set(name, tc.ToJson());
  root.Set("topicConfigTable", std::move(table));
  return json::Write(root);
}

std::string TopicConfigManager::EncodeJson() const {
  MutexLock lock(&mu_);
  return EncodeJsonLocked();
}

Status TopicConfigManager::PersistLocked() {
  Status s = file_.Write(EncodeJsonLocked());
  if (!s.ok())
    TH_LOG(broker, kError, "persisting {} failed: {}", file_.path(),
           s.ToString());
  return s;
}

Status TopicConfigManager::Persist() {
  MutexLock lock(&mu_);
  return PersistLocked();
}

std::optional<TopicConfig> TopicConfigManager::Find(
    std::string_view topic) const {
  MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return std::nullopt;
  return it->second;
}

Status TopicConfigManager::Update(const TopicConfig& config) {
  TH_RETURN_IF_ERROR(ValidateTopicName(config.topic_name));
  MutexLock lock(&mu_);
  topics_[config.topic_name] = config;
  BumpVersionLocked();
  TH_LOG(broker, kInfo, "topic {} set: read {} write {} perm {}",
         config.topic_name, config.read_queue_nums, config.write_queue_nums,
         config.perm);
  return PersistLocked();
}

Result<std::pair<TopicConfig, bool>>
TopicConfigManager::CreateTopicInSendMessage(std::string_view topic,
                                             std::string_view default_topic,
                                             int32_t queue_nums) {
  TH_RETURN_IF_ERROR(ValidateTopicName(topic));
  MutexLock lock(&mu_);
  if (auto it = topics_.find(topic); it != topics_.end())
    return std::make_pair(it->second, false);
  auto tmpl = topics_.find(default_topic);
  if (tmpl == topics_.end()) {
    return Status::NotFound("topic " + std::string(topic) +
                            " does not exist and default topic " +
                            std::string(default_topic) + " is unknown");
  }
  if ((tmpl->second.perm & remoting::kPermInherit) == 0) {
    return Status::NotFound("topic " + std::string(topic) +
                            " does not exist and auto-creation is disabled");
  }
  TopicConfig tc;
  tc.topic_name = std::string(topic);
  const int32_t n =
      std::max(1, std::min(queue_nums, tmpl->second.write_queue_nums));
  tc.read_queue_nums = n;
  tc.write_queue_nums = n;
  tc.perm = tmpl->second.perm & ~remoting::kPermInherit;
  topics_[tc.topic_name] = tc;
  BumpVersionLocked();
  TH_LOG(broker, kInfo, "auto-created topic {} with {} queues from {}",
         tc.topic_name, n, default_topic);
  PersistLocked().IgnoreError();  // logged; the topic works in memory and is
                                  // re-persisted on the next change
  return std::make_pair(tc, true);
}

Result<std::pair<TopicConfig, bool>> TopicConfigManager::FindOrCreate(
    std::string_view topic, int32_t queue_nums, int32_t perm) {
  TH_RETURN_IF_ERROR(ValidateTopicName(topic));
  MutexLock lock(&mu_);
  if (auto it = topics_.find(topic); it != topics_.end())
    return std::make_pair(it->second, false);
  TopicConfig tc;
  tc.topic_name = std::string(topic);
  tc.read_queue_nums = queue_nums;
  tc.write_queue_nums = queue_nums;
  tc.perm = perm;
  topics_[tc.topic_name] = tc;
  BumpVersionLocked();
  TH_LOG(broker, kInfo, "created topic {} with {} queues", tc.topic_name,
         queue_nums);
  PersistLocked().IgnoreError();  // logged; kept in memory
  return std::make_pair(tc, true);
}

Status TopicConfigManager::Delete(std::string_view topic) {
  MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end())
    return Status::NotFound("topic " + std::string(topic));
  topics_.erase(it);
  BumpVersionLocked();
  return PersistLocked();
}

remoting::DataVersion TopicConfigManager::data_version() const {
  MutexLock lock(&mu_);
  return data_version_;
}

std::vector<TopicConfig> TopicConfigManager::All() const {
  MutexLock lock(&mu_);
  std::vector<TopicConfig> out;
  out.reserve(topics_.size());
  for (const auto& [name, tc] : topics_) out.push_back(tc);
  return out;
}

}  // namespace thruster::broker
