#include "broker/consumer_offset_manager.h"

#include "common/logging.h"
#include "remoting/json.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;

bool ValidOffsetsJson(const std::string& text) {
  Result<json::Value> v = json::Parse(text);
  return v.ok() && v->is_object();
}

// "topic@group" → (topic, group); the group never contains '@', topics may not
// either (validated names).
std::pair<std::string_view, std::string_view> SplitKey(std::string_view key) {
  size_t at = key.rfind('@');
  if (at == std::string_view::npos) return {key, {}};
  return {key.substr(0, at), key.substr(at + 1)};
}

}  // namespace

ConsumerOffsetManager::ConsumerOffsetManager(store::io::FileSystem* fs,
                                             std::string config_dir)
    : file_(fs, store::io::JoinPath(config_dir, "consumerOffset.json")) {}

std::string ConsumerOffsetManager::Key(std::string_view group,
                                       std::string_view topic) {
  std::string key;
  key.reserve(topic.size() + 1 + group.size());
  key.append(topic).append("@").append(group);
  return key;
}

Status ConsumerOffsetManager::Load() {
  MutexLock lock(&mu_);
  Result<std::string> text = file_.Read(ValidOffsetsJson);
  if (!text.ok())
    return text.status().IsNotFound() ? Status::OK() : text.status();
  Result<json::Value> v = json::Parse(*text);
  if (!v.ok()) return v.status();
  const json::Value* table = v->Find("offsetTable");
  if (table == nullptr || !table->is_object()) return Status::OK();
  size_t queues = 0;
  for (size_t i = 0; i < table->size(); ++i) {
    const json::Value& per_queue = table->value(i);
    if (!per_queue.is_object()) continue;
    auto& dst = offsets_[table->key(i).text()];
    for (size_t j = 0; j < per_queue.size(); ++j) {
      std::optional<int64_t> qid = per_queue.key(j).AsInt64();
      std::optional<int64_t> off = per_queue.value(j).AsInt64();
      if (!qid || !off || *qid < 0 || *qid > INT32_MAX) continue;
      dst[static_cast<int32_t>(*qid)] = *off;
      ++queues;
    }
  }
  TH_LOG(broker, kInfo,
         "loaded {} consumer offsets of {} topic@group pairs from {}", queues,
         offsets_.size(), file_.path());
  return Status::OK();
}

std::string ConsumerOffsetManager::EncodeJsonLocked() const {
  json::Value root = json::Value::Object();
  json::Value table = json::Value::Object();
  for (const auto& [key, queues] : offsets_) {
    json::Value per_queue = json::Value::Object();
    for (const auto& [qid, off] : queues)
      per_queue.Add(json::Value::Int(qid), json::Value::Int(off));
    table.Set(key, std::move(per_queue));
  }
  root.Set("offsetTable", std::move(table));
  return json::Write(root);
}

std::string ConsumerOffsetManager::EncodeJson() const {
  MutexLock lock(&mu_);
  return EncodeJsonLocked();
}

Status ConsumerOffsetManager::Persist(bool force) {
  MutexLock lock(&mu_);
  if (!dirty_ && !force) return Status::OK();
  Status s = file_.Write(EncodeJsonLocked());
  if (s.ok()) {
    dirty_ = false;
  } else {
    TH_LOG(broker, kError, "persisting {} failed: {}", file_.path(),
           s.ToString());
  }
  return s;
}

void ConsumerOffsetManager::Commit(std::string_view group,
                                   std::string_view topic, int32_t queue_id,
                                   int64_t offset) {
  MutexLock lock(&mu_);
  auto it = offsets_.find(Key(group, topic));
  if (it == offsets_.end())
    it =
        offsets_.emplace(Key(group, topic), std::map<int32_t, int64_t>{}).first;
  auto [q, inserted] = it->second.emplace(queue_id, offset);
  if (!inserted) {
    if (q->second == offset) return;
    q->second = offset;
  }
  dirty_ = true;
}

std::optional<int64_t> ConsumerOffsetManager::Query(std::string_view group,
                                                    std::string_view topic,
                                                    int32_t queue_id) const {
  MutexLock lock(&mu_);
  auto it = offsets_.find(Key(group, topic));
  if (it == offsets_.end()) return std::nullopt;
  auto q = it->second.find(queue_id);
  if (q == it->second.end()) return std::nullopt;
  return q->second;
}

void ConsumerOffsetManager::SetPullOffset(std::string_view group,
                                          std::string_view topic,
                                          int32_t queue_id, int64_t offset) {
  MutexLock lock(&mu_);
  auto it = pull_offsets_.find(Key(group, topic));
  if (it == pull_offsets_.end())
    it = pull_offsets_.emplace(Key(group, topic), std::map<int32_t, int64_t>{})
             .first;
  it->second[queue_id] = offset;
}

std::optional<int64_t> ConsumerOffsetManager::QueryPullOffset(
    std::string_view group, std::string_view topic, int32_t queue_id) const {
  MutexLock lock(&mu_);
  auto it = pull_offsets_.find(Key(group, topic));
  if (it == pull_offsets_.end()) return std::nullopt;
  auto q = it->second.find(queue_id);
  if (q == it->second.end()) return std::nullopt;
  return q->second;
}

std::vector<std::string> ConsumerOffsetManager::TopicsOfGroup(
    std::string_view group) const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [key, queues] : offsets_) {
    auto [topic, g] = SplitKey(key);
    if (g == group) out.emplace_back(topic);
  }
  return out;
}

std::vector<std::string> ConsumerOffsetManager::GroupsOfTopic(
    std::string_view topic) const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [key, queues] : offsets_) {
    auto [t, group] = SplitKey(key);
    if (t == topic) out.emplace_back(group);
  }
  return out;
}

void ConsumerOffsetManager::RemoveTopic(std::string_view topic) {
  MutexLock lock(&mu_);
  for (Table* table : {&offsets_, &pull_offsets_}) {
    for (auto it = table->begin(); it != table->end();) {
      if (SplitKey(it->first).first == topic) {
        it = table->erase(it);
        dirty_ = true;
      } else {
        ++it;
      }
    }
  }
}

void ConsumerOffsetManager::RemoveGroup(std::string_view group) {
  MutexLock lock(&mu_);
  for (Table* table : {&offsets_, &pull_offsets_}) {
    for (auto it = table->begin(); it != table->end();) {
      if (SplitKey(it->first).second == group) {
        it = table->erase(it);
        dirty_ = true;
      } else {
        ++it;
      }
    }
  }
}

}  // namespace thruster::broker
