#include "broker/slave_synchronize.h"

#include <chrono>
#include <set>

#include "common/logging.h"
#include "remoting/codes.h"
#include "remoting/json.h"

namespace thruster::broker {

namespace json = remoting::json;
using remoting::RemotingCommand;
namespace request_code = remoting::request_code;

namespace {
constexpr auto kTimeout = std::chrono::milliseconds(3000);

Result<json::Value> BodyJson(const RemotingCommand& resp) {
  std::string_view body(reinterpret_cast<const char*>(resp.body().data()),
                        resp.body().size());
  return json::Parse(body);
}
}  // namespace

Result<RemotingCommand> SlaveSynchronize::Call(const std::string& addr,
                                               int32_t code) {
  Result<RemotingCommand> resp = client_.InvokeSync(
      addr, RemotingCommand::CreateRequest(code), kTimeout);
  if (!resp.ok()) return resp.status();
  if (resp->code() != remoting::response_code::kSuccess)
    return Status::IOError("master " + addr + " answered request " +
                           std::to_string(code) + " with code " +
                           std::to_string(resp->code()) + ": " +
                           resp->remark());
  return resp;
}

Status SlaveSynchronize::SyncAll(const std::string& master_addr,
                                 const std::string& self_addr) {
  if (master_addr.empty() || master_addr == self_addr) return Status::OK();
  Status first;
  for (Status s : {SyncTopicConfig(master_addr), SyncConsumerOffset(master_addr),
                   SyncDelayOffset(master_addr),
                   SyncSubscriptionGroupConfig(master_addr)}) {
    if (!s.ok()) {
      TH_LOG(broker, kWarn, "slave sync from {}: {}", master_addr,
             s.ToString());
      if (first.ok()) first = s;
    }
  }
  return first;
}

Status SlaveSynchronize::SyncTopicConfig(const std::string& master_addr) {
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      Call(master_addr, request_code::kGetAllTopicConfig));
  TH_ASSIGN_OR_RETURN(json::Value v, BodyJson(resp));
  remoting::DataVersion version;
  if (const json::Value* dv = v.Find("dataVersion"); dv && dv->is_object())
    version = remoting::DataVersion::FromJson(*dv);
  if (topics_synced_ && version == topics_version_) return Status::OK();
  const json::Value* table = v.Find("topicConfigTable");
  if (table == nullptr || !table->is_object())
    return Status::Corruption("GET_ALL_TOPIC_CONFIG answer has no table");
  // 4.x replaces the whole table: master topics are upserted, the others go.
  std::set<std::string> on_master;
  for (size_t i = 0; i < table->size(); ++i) {
    remoting::TopicConfig tc = remoting::TopicConfig::FromJson(table->value(i));
    if (tc.topic_name.empty()) tc.topic_name = table->key(i).text();
    on_master.insert(tc.topic_name);
    std::optional<remoting::TopicConfig> local = topics_.Find(tc.topic_name);
    if (!local || !(*local == tc)) TH_RETURN_IF_ERROR(topics_.Update(tc));
  }
  for (const remoting::TopicConfig& tc : topics_.All()) {
    if (!on_master.contains(tc.topic_name))
      TH_RETURN_IF_ERROR(topics_.Delete(tc.topic_name));
  }
  topics_version_ = version;
  topics_synced_ = true;
  TH_LOG(broker, kInfo, "slave sync: {} topics from master {}",
         on_master.size(), master_addr);
  return Status::OK();
}

Status SlaveSynchronize::SyncConsumerOffset(const std::string& master_addr) {
  Result<RemotingCommand> resp =
      Call(master_addr, request_code::kGetAllConsumerOffset);
  // A master without any offset answers SYSTEM_ERROR; nothing to copy.
  if (!resp.ok()) return Status::OK();
  TH_ASSIGN_OR_RETURN(json::Value v, BodyJson(*resp));
  const json::Value* table = v.Find("offsetTable");
  if (table == nullptr || !table->is_object()) return Status::OK();
  for (size_t i = 0; i < table->size(); ++i) {
    const std::string& key = table->key(i).text();  // topic@group
    const size_t at = key.rfind('@');
    const json::Value& per_queue = table->value(i);
    if (at == std::string::npos || !per_queue.is_object()) continue;
    const std::string_view topic(key.data(), at);
    const std::string_view group(key.data() + at + 1, key.size() - at - 1);
    for (size_t j = 0; j < per_queue.size(); ++j) {
      std::optional<int64_t> qid = per_queue.key(j).AsInt64();
      std::optional<int64_t> off = per_queue.value(j).AsInt64();
      if (!qid || !off || *qid < 0 || *qid > INT32_MAX) continue;
      offsets_.Commit(group, topic, static_cast<int32_t>(*qid), *off);
    }
  }
  return offsets_.Persist(true);
}

Status SlaveSynchronize::SyncDelayOffset(const std::string& master_addr) {
  if (schedule_ == nullptr) return Status::OK();
  Result<RemotingCommand> resp =
      Call(master_addr, request_code::kGetAllDelayOffset);
  if (!resp.ok()) return Status::OK();  // none on the master yet
  std::string_view body(reinterpret_cast<const char*>(resp->body().data()),
                        resp->body().size());
  return schedule_->AdoptOffsets(body);
}

Status SlaveSynchronize::SyncSubscriptionGroupConfig(
    const std::string& master_addr) {
  TH_ASSIGN_OR_RETURN(
      RemotingCommand resp,
      Call(master_addr, request_code::kGetAllSubscriptionGroupConfig));
  TH_ASSIGN_OR_RETURN(json::Value v, BodyJson(resp));
  remoting::DataVersion version;
  if (const json::Value* dv = v.Find("dataVersion"); dv && dv->is_object())
    version = remoting::DataVersion::FromJson(*dv);
  if (groups_synced_ && version == groups_version_) return Status::OK();
  const json::Value* table = v.Find("subscriptionGroupTable");
  if (table == nullptr || !table->is_object())
    return Status::Corruption(
        "GET_ALL_SUBSCRIPTIONGROUP_CONFIG answer has no table");
  std::set<std::string> on_master;
  for (size_t i = 0; i < table->size(); ++i) {
    SubscriptionGroupConfig c =
        SubscriptionGroupConfig::FromJson(table->value(i));
    if (c.group_name.empty()) c.group_name = table->key(i).text();
    on_master.insert(c.group_name);
    std::optional<SubscriptionGroupConfig> local = groups_.Find(c.group_name);
    if (!local || !(local->ToJson() == c.ToJson()))
      TH_RETURN_IF_ERROR(groups_.Update(c));
  }
  for (const SubscriptionGroupConfig& c : groups_.All()) {
    if (!on_master.contains(c.group_name))
      TH_RETURN_IF_ERROR(groups_.Delete(c.group_name));
  }
  groups_version_ = version;
  groups_synced_ = true;
  return Status::OK();
}

}  // namespace thruster::broker
