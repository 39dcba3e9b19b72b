// Client registration, offsets, queries and admin calls: spec/remoting.md
// §3.4.4–§3.4.13, §3.4.17–§3.4.25.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "broker/broker.h"
#include "common/logging.h"
#include "remoting/json.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace json = remoting::json;

constexpr int64_t kTpsWindowMs = 60000;

void SendError(const RemotingCommand& req, const remoting::Responder& r,
               int32_t code, std::string remark) {
  r.Send(req.CreateResponse(code, std::move(remark)));
}

// Answers SYSTEM_ERROR with the first failed check of the request (a missing or
// unparsable header field, an unparsable body); true when it did, and the
// handler must return.
bool AnsweredRequestError(const RemotingCommand& req,
                          const remoting::Responder& r,
                          std::initializer_list<Status> checks) {
  for (const Status& s : checks) {
    if (!s.ok()) {
      SendError(req, r, rc::kSystemError, std::string(s.message()));
      return true;
    }
  }
  return false;
}

// The request's `topic` when it is present and a valid name (spec §3.4.1);
// otherwise answers the request with the error and returns nullopt.
std::optional<std::string_view> RequireValidTopic(
    const RemotingCommand& req, const remoting::Responder& r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return std::nullopt;
  if (Status s = ValidateTopicName(*topic); !s.ok()) {
    SendError(req, r, rc::kInvalidParameter, std::string(s.message()));
    return std::nullopt;
  }
  return *topic;
}

void SendJson(const RemotingCommand& req, const remoting::Responder& r,
              const json::Value& body) {
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.set_body(std::string_view(json::Write(body)));
  r.Send(std::move(resp));
}

json::Value MessageQueueJson(std::string_view broker_name, int32_t queue_id,
                             std::string_view topic) {
  json::Value mq = json::Value::Object();
  mq.Set("brokerName", json::Value::String(std::string(broker_name)));
  mq.Set("queueId", json::Value::Int(queue_id));
  mq.Set("topic", json::Value::String(std::string(topic)));
  return mq;
}

// {"clientId":…,"consumerGroup":…,"mqSet":[{MessageQueue}…]} (LOCK_BATCH_MQ /
// UNLOCK_BATCH_MQ bodies).
struct LockBatchBody {
  std::string client_id;
  std::string group;
  std::vector<MessageQueue> mqs;
  static Result<LockBatchBody> Parse(std::string_view text) {
    Result<json::Value> v = json::Parse(text);
    if (!v.ok() || !v->is_object())
      return Status::InvalidArgument("lock body is not a JSON object");
    LockBatchBody b;
    b.client_id = v->GetString("clientId");
    b.group = v->GetString("consumerGroup");
    if (b.client_id.empty() || b.group.empty()) {
      return Status::InvalidArgument(
          "lock body needs clientId and consumerGroup");
    }
    if (const json::Value* set = v->Find("mqSet");
        set != nullptr && set->is_array()) {
      for (size_t i = 0; i < set->size(); ++i) {
        const json::Value& mq = set->at(i);
        if (!mq.is_object()) continue;
        b.mqs.push_back(
            MessageQueue{mq.GetString("topic"), mq.GetString("brokerName"),
                         static_cast<int32_t>(mq.GetInt64("queueId", 0))});
      }
    }
    return b;
  }
};

}  // namespace

void Broker::HandleHeartbeat(Req req, Responder r) {
  Result<HeartbeatData> hb = HeartbeatData::Parse(req.body_view());
  if (AnsweredRequestError(req, r, {hb.status()})) return;
  ClientChannel channel;
  if (auto conn = r.connection()) {
    channel.connection = conn;
    channel.connection_id = conn->id();
    channel.remote_address = conn->remote_address();
  }
  channel.language = std::string(remoting::LanguageName(req.language()));
  channel.version = req.version();
  channel.last_update_ms = clock_->NowMs();
  bool created_topic = false;
  for (const ConsumerData& cd : hb->consumers) {
    Result<std::pair<remoting::TopicConfig, bool>> retry =
        topics_->FindOrCreate(RetryTopic(cd.group_name), 1,
                              remoting::kPermRead | remoting::kPermWrite);
    if (!retry.ok()) {
      return SendError(req, r, rc::kSystemError,
                       "cannot create the retry topic of group " +
                           cd.group_name + ": " +
                           std::string(retry.status().message()));
    }
    created_topic = created_topic || retry->second;
  }
  if (created_topic) RequestRegistration();
  std::vector<std::string> changed = clients_.Heartbeat(*hb, channel);
  r.Send(req.CreateResponse(rc::kSuccess));
  NotifyConsumerIdsChanged(changed);
}

void Broker::HandleUnregisterClient(Req req, Responder r) {
  Result<std::string_view> client_id = req.RequireExt("clientID");
  if (AnsweredRequestError(req, r, {client_id.status()})) return;
  auto conn = r.connection();
  std::vector<std::string> changed =
      clients_.Unregister(conn ? conn->id() : 0, req.ExtOr("producerGroup", ""),
                          req.ExtOr("consumerGroup", ""));
  r.Send(req.CreateResponse(rc::kSuccess));
  NotifyConsumerIdsChanged(changed);
}

void Broker::HandleGetConsumerList(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::vector<std::string> ids = clients_.ConsumerIds(*group);
  if (ids.empty()) {
    return SendError(req, r, rc::kSystemError,
                     "no consumer for this group, " + std::string(*group));
  }
  json::Value list = json::Value::Array();
  for (std::string& id : ids) list.Push(json::Value::String(std::move(id)));
  json::Value body = json::Value::Object();
  body.Set("consumerIdList", std::move(list));
  SendJson(req, r, body);
}

void Broker::HandleQueryConsumerOffset(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  if (AnsweredRequestError(req, r,
                           {group.status(), topic.status(), queue_id.status()}))
    return;
  std::optional<int64_t> offset = offsets_->Query(*group, *topic, *queue_id);
  if (!offset && config_.young_queue_offset_zero &&
      req.ExtBoolOr("setZeroIfNotFound", true)) {
    // Young-queue rule (§3.4.9): a queue that still starts at 0 with message 0
    // in memory is read from 0.
    const int64_t min = store_->GetMinOffsetInQueue(*topic, *queue_id);
    const int64_t max = store_->GetMaxOffsetInQueue(*topic, *queue_id);
    if (min <= 0 && max > 0) {
      const int64_t phys =
          store_->GetCommitLogOffsetInQueue(*topic, *queue_id, 0);
      const long pages = ::sysconf(_SC_PHYS_PAGES);
      const long page_size = ::sysconf(_SC_PAGE_SIZE);
      const int64_t ram = pages > 0 && page_size > 0
                              ? static_cast<int64_t>(pages) * page_size
                              : int64_t{24} << 30;
      const int64_t in_memory =
          ram / 100 * store_config_.access_message_in_memory_max_ratio;
      if (store_->GetMaxPhyOffset() - phys <= in_memory) offset = 0;
    }
  }
  if (!offset)
    return SendError(
        req, r, rc::kQueryNotFound,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("offset", *offset);
  r.Send(std::move(resp));
}

void Broker::HandleUpdateConsumerOffset(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  Result<int64_t> offset = req.RequireExtInt64("commitOffset");
  if (AnsweredRequestError(
          req, r,
          {group.status(), topic.status(), queue_id.status(), offset.status()}))
    return;
  offsets_->Commit(*group, *topic, *queue_id, *offset);
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  r.Send(std::move(resp));
}

void Broker::HandleGetMaxOffset(Req req, Responder r) {
  AnswerQueueOffset(req, r, [this](std::string_view topic, int32_t queue_id) {
    return store_->GetMaxOffsetInQueue(topic, queue_id);
  });
}

void Broker::HandleGetMinOffset(Req req, Responder r) {
  AnswerQueueOffset(req, r, [this](std::string_view topic, int32_t queue_id) {
    return store_->GetMinOffsetInQueue(topic, queue_id);
  });
}

void Broker::AnswerQueueOffset(
    const Req& req, Responder& r,
    const std::function<int64_t(std::string_view, int32_t)>& offset_of) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  if (AnsweredRequestError(req, r, {topic.status(), queue_id.status()})) return;
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("offset", offset_of(*topic, *queue_id));
  r.Send(std::move(resp));
}

void Broker::HandleSearchOffsetByTimestamp(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  Result<int64_t> timestamp = req.RequireExtInt64("timestamp");
  if (AnsweredRequestError(
          req, r, {topic.status(), queue_id.status(), timestamp.status()}))
    return;
  std::string boundary(req.ExtOr("boundaryType", "lower"));
  std::transform(boundary.begin(), boundary.end(), boundary.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const store::BoundaryType type = boundary == "upper"
                                       ? store::BoundaryType::kUpper
                                       : store::BoundaryType::kLower;
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("offset", store_->GetOffsetInQueueByTime(*topic, *queue_id,
                                                       *timestamp, type));
  r.Send(std::move(resp));
}

void Broker::HandleGetEarliestMsgStoretime(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  if (AnsweredRequestError(req, r, {topic.status(), queue_id.status()})) return;
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("timestamp", store_->GetEarliestMessageTime(*topic, *queue_id));
  r.Send(std::move(resp));
}

void Broker::HandleQueryMessage(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<std::string_view> key = req.RequireExt("key");
  if (AnsweredRequestError(req, r, {topic.status(), key.status()})) return;
  int32_t max_num = req.ExtInt32Or("maxNum", config_.default_query_max_num);
  if (req.ExtBoolOr("_UNIQUE_KEY_QUERY", false))
    max_num = config_.default_query_max_num;
  const int64_t begin = req.ExtInt64Or("beginTimestamp", 0);
  const int64_t end = req.ExtInt64Or("endTimestamp", INT64_MAX);
  store::QueryMessageResult result =
      store_->QueryMessage(*topic, *key, std::max(1, max_num), begin, end);
  if (result.messages.empty()) {
    return SendError(req, r, rc::kQueryNotFound,
                     "can not find message, maybe time range not correct");
  }
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("indexLastUpdateTimestamp", result.index_last_update_timestamp);
  resp.SetExt("indexLastUpdatePhyoffset", result.index_last_update_phys_offset);
  for (store::SelectResult& m : result.messages)
    resp.AddBodySegment(m.bytes, std::move(m.file));
  r.Send(std::move(resp));
}

void Broker::HandleViewMessageById(Req req, Responder r) {
  Result<int64_t> offset = req.RequireExtInt64("offset");
  if (AnsweredRequestError(req, r, {offset.status()})) return;
  std::optional<store::SelectResult> m = store_->LookMessageByOffset(*offset);
  if (!m)
    return SendError(
        req, r, rc::kSystemError,
        "can not find message by the offset, " + std::to_string(*offset));
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.AddBodySegment(m->bytes, std::move(m->file));
  r.Send(std::move(resp));
}

void Broker::HandleLockBatchMq(Req req, Responder r) {
  Result<LockBatchBody> body = LockBatchBody::Parse(req.body_view());
  if (AnsweredRequestError(req, r, {body.status()})) return;
  std::vector<MessageQueue> granted = locks_.TryLockBatch(
      body->group, body->mqs, body->client_id, clock_->NowMs());
  json::Value set = json::Value::Array();
  for (const MessageQueue& mq : granted)
    set.Push(MessageQueueJson(mq.broker_name, mq.queue_id, mq.topic));
  json::Value out = json::Value::Object();
  out.Set("lockOKMQSet", std::move(set));
  SendJson(req, r, out);
}

void Broker::HandleUnlockBatchMq(Req req, Responder r) {
  Result<LockBatchBody> body = LockBatchBody::Parse(req.body_view());
  if (AnsweredRequestError(req, r, {body.status()})) return;
  locks_.UnlockBatch(body->group, body->mqs, body->client_id);
  r.Send(req.CreateResponse(rc::kSuccess));
}

void Broker::HandleUpdateAndCreateTopic(Req req, Responder r) {
  std::optional<std::string_view> topic = RequireValidTopic(req, r);
  if (!topic) return;
  if (*topic == kAutoCreateTopicKey) {
    return SendError(req, r, rc::kInvalidParameter,
                     "the topic " + std::string(*topic) + " is reserved");
  }
  remoting::TopicConfig tc;
  tc.topic_name = std::string(*topic);
  tc.read_queue_nums = req.ExtInt32Or("readQueueNums", 16);
  tc.write_queue_nums = req.ExtInt32Or("writeQueueNums", 16);
  tc.perm = req.ExtInt32Or("perm", remoting::kPermRead | remoting::kPermWrite);
  tc.topic_filter_type =
      std::string(req.ExtOr("topicFilterType", "SINGLE_TAG"));
  tc.topic_sys_flag = req.ExtInt32Or("topicSysFlag", 0);
  tc.order = req.ExtBoolOr("order", false);
  if (tc.read_queue_nums <= 0 || tc.write_queue_nums <= 0 ||
      tc.read_queue_nums > 1024 || tc.write_queue_nums > 1024) {
    return SendError(req, r, rc::kInvalidParameter,
                     "queue counts must be in 1..1024");
  }
  if (tc.perm < 0 || tc.perm > 15)
    return SendError(req, r, rc::kInvalidParameter, "perm must be in 0..15");
  if (Status s = topics_->Update(tc); !s.ok()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  RequestRegistration();
  r.Send(req.CreateResponse(rc::kSuccess));
}

// DELETE_TOPIC_IN_BROKER (215): drops the topic's config, its consume queues
// and the consumer offsets kept for it, then re-registers so the name server's
// route follows. The CommitLog keeps the records until retention removes them.
// Deleting a topic this broker does not have succeeds (as in RocketMQ).
void Broker::HandleDeleteTopic(Req req, Responder r) {
  std::optional<std::string_view> topic = RequireValidTopic(req, r);
  if (!topic) return;
  if (*topic == kAutoCreateTopicKey || *topic == kSelfTestTopic ||
      *topic == kOffsetMovedEvent || *topic == config_.broker_cluster_name ||
      *topic == config_.broker_name) {
    return SendError(
        req, r, rc::kInvalidParameter,
        "the topic[" + std::string(*topic) + "] is a system topic");
  }
  if (Status s = topics_->Delete(*topic); !s.ok() && !s.IsNotFound()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  if (Status s = store_->DeleteTopic(*topic); !s.ok() && !s.IsNotFound()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  offsets_->RemoveTopic(*topic);
  auto conn = r.connection();
  TH_LOG(broker, kInfo, "deleted topic {} (requested by {})", *topic,
         conn ? conn->remote_address() : std::string("a gone client"));
  RequestRegistration();
  r.Send(req.CreateResponse(rc::kSuccess));
}

void Broker::HandleGetTopicConfig(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return;
  std::optional<remoting::TopicConfig> tc = topics_->Find(*topic);
  if (!tc)
    return SendError(req, r, rc::kTopicNotExist,
                     "no topic in this broker. topic: " + std::string(*topic));
  SendJson(req, r, tc->ToJson());
}

void Broker::HandleGetAllTopicConfig(Req req, Responder r) {
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.set_body(std::string_view(topics_->EncodeJson()));
  r.Send(std::move(resp));
}

void Broker::HandleGetBrokerRuntimeInfo(Req req, Responder r) {
  json::Value table = json::Value::Object();
  std::map<std::string, std::string> kv = store_->RuntimeInfo();
  kv["brokerVersionDesc"] = "V4_9_8";
  kv["brokerVersion"] = std::to_string(remoting::kThrusterVersion);
  kv["brokerActive"] = "true";
  kv["putTps"] = stats_.PutTps();
  kv["getTransferredTps"] = stats_.GetTps();
  kv["msgPutTotalTodayNow"] = std::to_string(stats_.put_total());
  kv["msgGetTotalTodayNow"] = std::to_string(stats_.get_total());
  kv["bootTimestamp"] = std::to_string(start_time_ms_);
  kv["startAcceptSendRequestTimeStamp"] = std::to_string(start_time_ms_);
  kv["earliestMessageTimeStamp"] =
      std::to_string(store_->GetEarliestMessageTime(kSelfTestTopic, 0));
  kv["runtime"] =
      std::to_string((clock_->NowMs() - start_time_ms_) / 1000) + " s";
  kv["producerCount"] = std::to_string(clients_.producer_count());
  kv["consumerCount"] = std::to_string(clients_.consumer_count());
  kv["pullHoldCount"] = std::to_string(hold_->held_count());
  for (auto& [k, v] : kv) table.Set(k, json::Value::String(v));
  json::Value body = json::Value::Object();
  body.Set("table", std::move(table));
  SendJson(req, r, body);
}

void Broker::HandleGetConsumeStats(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::vector<std::string> topic_list;
  if (std::string_view t = req.ExtOr("topic", ""); !t.empty()) {
    topic_list.emplace_back(t);
  } else {
    topic_list = offsets_->TopicsOfGroup(*group);
  }
  const int64_t now = clock_->NowMs();
  json::Value table = json::Value::Object();
  int64_t consumed_recently = 0;
  for (const std::string& topic : topic_list) {
    std::optional<remoting::TopicConfig> tc = topics_->Find(topic);
    if (!tc) continue;
    for (int32_t q = 0; q < tc->read_queue_nums; ++q) {
      const int64_t broker_offset = store_->GetMaxOffsetInQueue(topic, q);
      const int64_t consumer_offset =
          std::max<int64_t>(offsets_->Query(*group, topic, q).value_or(0), 0);
      const int64_t pull_offset =
          std::max(consumer_offset,
                   offsets_->QueryPullOffset(*group, topic, q).value_or(0));
      const int64_t last_ts =
          consumer_offset > 0
              ? store_->GetMessageStoreTimestamp(topic, q, consumer_offset - 1)
              : 0;
      json::Value w = json::Value::Object();
      w.Set("brokerOffset", json::Value::Int(broker_offset));
      w.Set("consumerOffset", json::Value::Int(consumer_offset));
      w.Set("lastTimestamp", json::Value::Int(std::max<int64_t>(last_ts, 0)));
      w.Set("pullOffset", json::Value::Int(pull_offset));
      table.Add(MessageQueueJson(config_.broker_name, q, topic), std::move(w));
      // Consumption rate: committed messages among those stored during the last
      // minute.
      if (broker_offset > 0) {
        const int64_t window_start =
            store_->GetOffsetInQueueByTime(topic, q, now - kTpsWindowMs);
        consumed_recently +=
            std::max<int64_t>(0, consumer_offset - window_start);
      }
    }
  }
  json::Value body = json::Value::Object();
  body.Set("consumeTps",
           json::Value::Double(static_cast<double>(consumed_recently) * 1000.0 /
                               kTpsWindowMs));
  body.Set("offsetTable", std::move(table));
  SendJson(req, r, body);
}

void Broker::HandleGetTopicStatsInfo(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return;
  std::optional<remoting::TopicConfig> tc = topics_->Find(*topic);
  if (!tc)
    return SendError(req, r, rc::kTopicNotExist,
                     "topic[" + std::string(*topic) + "] not exist");
  const int64_t now = clock_->NowMs();
  json::Value table = json::Value::Object();
  int64_t put_recently = 0;
  for (int32_t q = 0; q < std::max(tc->read_queue_nums, tc->write_queue_nums);
       ++q) {
    const int64_t min = store_->GetMinOffsetInQueue(*topic, q);
    const int64_t max = store_->GetMaxOffsetInQueue(*topic, q);
    const int64_t last =
        max > 0 ? store_->GetMessageStoreTimestamp(*topic, q, max - 1) : 0;
    json::Value s = json::Value::Object();
    s.Set("lastUpdateTimestamp", json::Value::Int(std::max<int64_t>(last, 0)));
    s.Set("maxOffset", json::Value::Int(max));
    s.Set("minOffset", json::Value::Int(min));
    table.Add(MessageQueueJson(config_.broker_name, q, *topic), std::move(s));
    if (max > 0)
      put_recently +=
          max - store_->GetOffsetInQueueByTime(*topic, q, now - kTpsWindowMs);
  }
  json::Value body = json::Value::Object();
  body.Set("offsetTable", std::move(table));
  body.Set("topicPutTps",
           json::Value::Double(static_cast<double>(put_recently) * 1000.0 /
                               kTpsWindowMs));
  SendJson(req, r, body);
}

void Broker::HandleGetConsumerConnectionList(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::optional<json::Value> body = clients_.ConsumerConnectionJson(*group);
  if (!body)
    return SendError(
        req, r, rc::kConsumerNotOnline,
        "the consumer group[" + std::string(*group) + "] not online");
  SendJson(req, r, *body);
}

void Broker::HandleQueryTopicConsumeByWho(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return;
  std::vector<std::string> groups = clients_.GroupsSubscribing(*topic);
  for (std::string& g : offsets_->GroupsOfTopic(*topic)) {
    if (std::find(groups.begin(), groups.end(), g) == groups.end())
      groups.push_back(std::move(g));
  }
  json::Value list = json::Value::Array();
  for (std::string& g : groups) list.Push(json::Value::String(std::move(g)));
  json::Value body = json::Value::Object();
  body.Set("groupList", std::move(list));
  SendJson(req, r, body);
}

}  // namespace thruster::broker
