// Admin and tooling calls: spec/remoting.md §3.4.4, §3.4.5, §3.4.11,
// §3.4.15–§3.4.25.
#include "broker/admin_broker_processor.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>

#include "broker/processor_util.h"
#include "broker/schedule_message_service.h"
#include "common/logging.h"
#include "remoting/json.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;
namespace json = remoting::json;

constexpr int64_t kTpsWindowMs = 60000;

}  // namespace

// "[ 1 days, 2 hours, 3 minutes, 4 seconds ]", as RocketMQ's runtime.
std::string FormatRuntime(int64_t ms) {
  const int64_t s = std::max<int64_t>(ms, 0) / 1000;
  return "[ " + std::to_string(s / 86400) + " days, " +
         std::to_string(s / 3600 % 24) + " hours, " +
         std::to_string(s / 60 % 60) + " minutes, " + std::to_string(s % 60) +
         " seconds ]";
}

// RocketMQ's MixAll.humanReadableByteCount(bytes, false): "512 B", "1.5 KiB".
std::string HumanReadableByteCount(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr char kUnits[] = "KMGTPE";
  double v = static_cast<double>(bytes);
  int exp = 0;
  while (v >= 1024 && exp < 6) {
    v /= 1024;
    ++exp;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %ciB", v, kUnits[exp - 1]);
  return buf;
}

namespace {

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

AdminBrokerProcessor::AdminBrokerProcessor(
    const BrokerContext& context, store::MessageStore& store,
    TopicConfigManager& topics, ConsumerOffsetManager& offsets,
    ClientManager& clients, RebalanceLockManager& locks,
    const BrokerStats& stats, const PullRequestHoldService& hold)
    : context_(context),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      clients_(clients),
      locks_(locks),
      stats_(stats),
      hold_(hold) {}

void AdminBrokerProcessor::ProcessRequest(Req q, Responder r) {
  switch (q.code()) {
    case request_code::kUpdateAndCreateTopic:
      return UpdateAndCreateTopic(std::move(q), std::move(r));
    case request_code::kDeleteTopicInBroker:
      return DeleteTopic(std::move(q), std::move(r));
    case request_code::kGetTopicConfig:
      return GetTopicConfig(std::move(q), std::move(r));
    case request_code::kGetAllTopicConfig:
      return GetAllTopicConfig(std::move(q), std::move(r));
    case request_code::kGetMaxOffset:
      return GetMaxOffset(std::move(q), std::move(r));
    case request_code::kGetMinOffset:
      return GetMinOffset(std::move(q), std::move(r));
    case request_code::kSearchOffsetByTimestamp:
      return SearchOffsetByTimestamp(std::move(q), std::move(r));
    case request_code::kGetEarliestMsgStoretime:
      return GetEarliestMsgStoretime(std::move(q), std::move(r));
    case request_code::kLockBatchMq:
      return LockBatchMq(std::move(q), std::move(r));
    case request_code::kUnlockBatchMq:
      return UnlockBatchMq(std::move(q), std::move(r));
    case request_code::kGetBrokerRuntimeInfo:
      return GetBrokerRuntimeInfo(std::move(q), std::move(r));
    case request_code::kGetConsumeStats:
      return GetConsumeStats(std::move(q), std::move(r));
    case request_code::kGetTopicStatsInfo:
      return GetTopicStatsInfo(std::move(q), std::move(r));
    case request_code::kGetConsumerConnectionList:
      return GetConsumerConnectionList(std::move(q), std::move(r));
    case request_code::kGetProducerConnectionList:
      return GetProducerConnectionList(std::move(q), std::move(r));
    case request_code::kQueryTopicConsumeByWho:
      return QueryTopicConsumeByWho(std::move(q), std::move(r));
    case request_code::kCleanExpiredConsumequeue:
      return CleanExpiredConsumeQueue(std::move(q), std::move(r));
  }
  SendError(q, r, rc::kRequestCodeNotSupported,
            " request type " + std::to_string(q.code()) + " not supported");
}

void AdminBrokerProcessor::UpdateAndCreateTopic(Req req, Responder r) {
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
  if (Status s = topics_.Update(tc); !s.ok()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  context_.request_registration();
  r.Send(req.CreateResponse(rc::kSuccess));
}

void AdminBrokerProcessor::DeleteTopic(Req req, Responder r) {
  std::optional<std::string_view> topic = RequireValidTopic(req, r);
  if (!topic) return;
  if (*topic == kAutoCreateTopicKey || *topic == kSelfTestTopic ||
      *topic == kOffsetMovedEvent ||
      *topic == context_.config.broker_cluster_name ||
      *topic == context_.config.broker_name) {
    return SendError(
        req, r, rc::kInvalidParameter,
        "the topic[" + std::string(*topic) + "] is a system topic");
  }
  if (Status s = topics_.Delete(*topic); !s.ok() && !s.IsNotFound()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  if (Status s = store_.DeleteTopic(*topic); !s.ok() && !s.IsNotFound()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  offsets_.RemoveTopic(*topic);
  auto conn = r.connection();
  TH_LOG(broker, kInfo, "deleted topic {} (requested by {})", *topic,
         conn ? conn->remote_address() : std::string("a gone client"));
  context_.request_registration();
  r.Send(req.CreateResponse(rc::kSuccess));
}

void AdminBrokerProcessor::GetTopicConfig(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return;
  std::optional<remoting::TopicConfig> tc = topics_.Find(*topic);
  if (!tc)
    return SendError(req, r, rc::kTopicNotExist,
                     "no topic in this broker. topic: " + std::string(*topic));
  SendJson(req, r, tc->ToJson());
}

void AdminBrokerProcessor::GetAllTopicConfig(Req req, Responder r) {
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.set_body(std::string_view(topics_.EncodeJson()));
  r.Send(std::move(resp));
}

void AdminBrokerProcessor::GetMaxOffset(Req req, Responder r) {
  AnswerQueueOffset(req, r, [this](std::string_view topic, int32_t queue_id) {
    return store_.GetMaxOffsetInQueue(topic, queue_id);
  });
}

void AdminBrokerProcessor::GetMinOffset(Req req, Responder r) {
  AnswerQueueOffset(req, r, [this](std::string_view topic, int32_t queue_id) {
    return store_.GetMinOffsetInQueue(topic, queue_id);
  });
}

void AdminBrokerProcessor::AnswerQueueOffset(
    const Req& req, const Responder& r,
    const std::function<int64_t(std::string_view, int32_t)>& offset_of) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  if (AnsweredRequestError(req, r, {topic.status(), queue_id.status()})) return;
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("offset", offset_of(*topic, *queue_id));
  r.Send(std::move(resp));
}

void AdminBrokerProcessor::SearchOffsetByTimestamp(Req req, Responder r) {
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
  resp.SetExt("offset", store_.GetOffsetInQueueByTime(*topic, *queue_id,
                                                      *timestamp, type));
  r.Send(std::move(resp));
}

void AdminBrokerProcessor::GetEarliestMsgStoretime(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  if (AnsweredRequestError(req, r, {topic.status(), queue_id.status()})) return;
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("timestamp", store_.GetEarliestMessageTime(*topic, *queue_id));
  r.Send(std::move(resp));
}

void AdminBrokerProcessor::LockBatchMq(Req req, Responder r) {
  Result<LockBatchBody> body = LockBatchBody::Parse(req.body_view());
  if (AnsweredRequestError(req, r, {body.status()})) return;
  std::vector<MessageQueue> granted = locks_.TryLockBatch(
      body->group, body->mqs, body->client_id, context_.clock.NowMs());
  json::Value set = json::Value::Array();
  for (const MessageQueue& mq : granted)
    set.Push(MessageQueueJson(mq.broker_name, mq.queue_id, mq.topic));
  json::Value out = json::Value::Object();
  out.Set("lockOKMQSet", std::move(set));
  SendJson(req, r, out);
}

void AdminBrokerProcessor::UnlockBatchMq(Req req, Responder r) {
  Result<LockBatchBody> body = LockBatchBody::Parse(req.body_view());
  if (AnsweredRequestError(req, r, {body.status()})) return;
  locks_.UnlockBatch(body->group, body->mqs, body->client_id);
  r.Send(req.CreateResponse(rc::kSuccess));
}

void AdminBrokerProcessor::GetBrokerRuntimeInfo(Req req, Responder r) {
  json::Value table = json::Value::Object();
  for (auto& [k, v] : RuntimeInfoTable()) table.Set(k, json::Value::String(v));
  json::Value body = json::Value::Object();
  body.Set("table", std::move(table));
  SendJson(req, r, body);
}

std::map<std::string, std::string> AdminBrokerProcessor::RuntimeInfoTable()
    const {
  // RocketMQ 4.9.8's table (AdminBrokerProcessor.prepareRuntimeInfo and the
  // store's StoreStatsService), key for key, plus Thruster's store figures.
  std::map<std::string, std::string> kv = store_.RuntimeInfo();
  const int64_t now = context_.clock.NowMs();
  kv["brokerVersionDesc"] = "V4_9_8";
  kv["brokerVersion"] = std::to_string(remoting::kThrusterVersion);
  kv["brokerActive"] = "true";
  // Thruster: the replication role, for clusterList's role and lag columns.
  kv["brokerRole"] = std::string(store::BrokerRoleName(store_.broker_role()));
  kv["putTps"] = stats_.PutTps();
  // RocketMQ's spelling, which mqadmin clusterList reads; the corrected
  // spelling stays for the tools that read it.
  kv["getTransferedTps"] = stats_.GetTps();
  kv["getTransferredTps"] = kv["getTransferedTps"];
  kv["getTotalTps"] = kv["getTransferedTps"];
  const BrokerStats::DayMarks marks = stats_.day_marks();
  kv["msgPutTotalYesterdayMorning"] =
      std::to_string(marks.put_yesterday_morning);
  kv["msgPutTotalTodayMorning"] = std::to_string(marks.put_today_morning);
  kv["msgPutTotalTodayNow"] = std::to_string(stats_.put_total());
  kv["msgGetTotalYesterdayMorning"] =
      std::to_string(marks.get_yesterday_morning);
  kv["msgGetTotalTodayMorning"] = std::to_string(marks.get_today_morning);
  kv["msgGetTotalTodayNow"] = std::to_string(stats_.get_total());
  kv["putMessageTimesTotal"] = std::to_string(stats_.put_total());
  // Requests are served on the network threads, with no queue in front of the
  // processors: nothing ever waits in a send, pull or query pool queue.
  for (const char* pool : {"send", "pull", "query"}) {
    kv[std::string(pool) + "ThreadPoolQueueSize"] = "0";
    kv[std::string(pool) + "ThreadPoolQueueHeadWaitTimeMills"] = "0";
  }
  kv["EndTransactionQueueSize"] = "0";
  kv["bootTimestamp"] = std::to_string(context_.start_time_ms);
  kv["startAcceptSendRequestTimeStamp"] =
      std::to_string(context_.start_time_ms);
  kv["earliestMessageTimeStamp"] =
      std::to_string(store_.GetEarliestMessageTime());
  kv["runtime"] = FormatRuntime(now - context_.start_time_ms);
  const int64_t max_phys = store_.GetMaxPhyOffset();
  const int64_t flushed = store_.commit_log().flushed_where();
  kv["remainHowManyDataToFlush"] =
      HumanReadableByteCount(std::max<int64_t>(0, max_phys - flushed));
  if (store_.config().transient_store_pool_enable) {
    kv["remainHowManyDataToCommit"] = HumanReadableByteCount(std::max<int64_t>(
        0, max_phys - store_.commit_log().committed_where()));
  }
  if (Result<store::io::DiskUsage> disk = store_.RootDiskUsage(); disk.ok()) {
    kv["commitLogDirCapacity"] =
        "Total : " +
        HumanReadableByteCount(static_cast<int64_t>(disk->total_bytes)) +
        ", Free : " +
        HumanReadableByteCount(static_cast<int64_t>(disk->free_bytes)) + ".";
  }
  // The thread-pool queues' capacities, RocketMQ's defaults
  // (sendThreadPoolQueueCapacity etc.): Thruster has no such queues (see
  // above), so nothing can fill them.
  kv["sendThreadPoolQueueCapacity"] = "10000";
  kv["pullThreadPoolQueueCapacity"] = "100000";
  kv["queryThreadPoolQueueCapacity"] = "20000";
  kv["EndTransactionThreadPoolQueueCapacity"] = "100000";
  // StoreStatsService figures Thruster does not keep: the values RocketMQ
  // gives on a broker that has served nothing (sizes, latency maxima and the
  // put-latency distribution all zero; found/miss split of pulls unknown).
  kv["putMessageEntireTimeMax"] = "0";
  kv["getMessageEntireTimeMax"] = "0";
  kv["putMessageSizeTotal"] = "0";
  kv["putMessageAverageSize"] = "0.0";
  kv["dispatchMaxBuffer"] = "0";
  std::string distribute;
  for (const char* bucket :
       {"[<=0ms]", "[0~10ms]", "[10~50ms]", "[50~100ms]", "[100~200ms]",
        "[200~500ms]", "[500ms~1s]", "[1~2s]", "[2~3s]", "[3~4s]", "[4~5s]",
        "[5~10s]", "[10s~]"}) {
    distribute += std::string(bucket) + ":0 ";
  }
  kv["putMessageDistributeTime"] = distribute;
  kv["getFoundTps"] = "0.00 0.00 0.00";
  kv["getMissTps"] = "0.00 0.00 0.00";
  // ScheduleMessageService.buildRunningStats: "delivered,max" per level.
  if (schedule_ != nullptr) {
    for (const auto& [level, offset] : schedule_->OffsetTable()) {
      kv["scheduleMessageOffset_" + std::to_string(level)] =
          std::to_string(offset) + "," +
          std::to_string(
              store_.GetMaxOffsetInQueue(store::kScheduleTopic, level - 1));
    }
  }
  kv["producerCount"] = std::to_string(clients_.producer_count());
  kv["consumerCount"] = std::to_string(clients_.consumer_count());
  kv["pullHoldCount"] = std::to_string(hold_.held_count());
  return kv;
}

void AdminBrokerProcessor::GetConsumeStats(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::vector<std::string> topic_list;
  if (std::string_view t = req.ExtOr("topic", ""); !t.empty()) {
    topic_list.emplace_back(t);
  } else {
    topic_list = offsets_.TopicsOfGroup(*group);
  }
  const int64_t now = context_.clock.NowMs();
  json::Value table = json::Value::Object();
  int64_t consumed_recently = 0;
  for (const std::string& topic : topic_list) {
    std::optional<remoting::TopicConfig> tc = topics_.Find(topic);
    if (!tc) continue;
    for (int32_t q = 0; q < tc->read_queue_nums; ++q) {
      const int64_t broker_offset = store_.GetMaxOffsetInQueue(topic, q);
      const int64_t consumer_offset =
          std::max<int64_t>(offsets_.Query(*group, topic, q).value_or(0), 0);
      const int64_t pull_offset =
          std::max(consumer_offset,
                   offsets_.QueryPullOffset(*group, topic, q).value_or(0));
      const int64_t last_ts =
          consumer_offset > 0
              ? store_.GetMessageStoreTimestamp(topic, q, consumer_offset - 1)
              : 0;
      json::Value w = json::Value::Object();
      w.Set("brokerOffset", json::Value::Int(broker_offset));
      w.Set("consumerOffset", json::Value::Int(consumer_offset));
      w.Set("lastTimestamp", json::Value::Int(std::max<int64_t>(last_ts, 0)));
      w.Set("pullOffset", json::Value::Int(pull_offset));
      table.Add(MessageQueueJson(context_.config.broker_name, q, topic),
                std::move(w));
      // Consumption rate: committed messages among those stored during the last
      // minute.
      if (broker_offset > 0) {
        const int64_t window_start =
            store_.GetOffsetInQueueByTime(topic, q, now - kTpsWindowMs);
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

void AdminBrokerProcessor::GetTopicStatsInfo(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return;
  std::optional<remoting::TopicConfig> tc = topics_.Find(*topic);
  if (!tc)
    return SendError(req, r, rc::kTopicNotExist,
                     "topic[" + std::string(*topic) + "] not exist");
  const int64_t now = context_.clock.NowMs();
  json::Value table = json::Value::Object();
  int64_t put_recently = 0;
  for (int32_t q = 0; q < std::max(tc->read_queue_nums, tc->write_queue_nums);
       ++q) {
    const int64_t min = store_.GetMinOffsetInQueue(*topic, q);
    const int64_t max = store_.GetMaxOffsetInQueue(*topic, q);
    const int64_t last =
        max > 0 ? store_.GetMessageStoreTimestamp(*topic, q, max - 1) : 0;
    json::Value s = json::Value::Object();
    s.Set("lastUpdateTimestamp", json::Value::Int(std::max<int64_t>(last, 0)));
    s.Set("maxOffset", json::Value::Int(max));
    s.Set("minOffset", json::Value::Int(min));
    table.Add(MessageQueueJson(context_.config.broker_name, q, *topic),
              std::move(s));
    if (max > 0)
      put_recently +=
          max - store_.GetOffsetInQueueByTime(*topic, q, now - kTpsWindowMs);
  }
  json::Value body = json::Value::Object();
  body.Set("offsetTable", std::move(table));
  body.Set("topicPutTps",
           json::Value::Double(static_cast<double>(put_recently) * 1000.0 /
                               kTpsWindowMs));
  SendJson(req, r, body);
}

void AdminBrokerProcessor::GetConsumerConnectionList(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::optional<json::Value> body = clients_.ConsumerConnectionJson(*group);
  if (!body)
    return SendError(
        req, r, rc::kConsumerNotOnline,
        "the consumer group[" + std::string(*group) + "] not online");
  SendJson(req, r, *body);
}

void AdminBrokerProcessor::GetProducerConnectionList(Req req, Responder r) {
  Result<std::string_view> group = req.RequireExt("producerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::optional<json::Value> body = clients_.ProducerConnectionJson(*group);
  if (!body)
    return SendError(
        req, r, rc::kSystemError,
        "the producer group[" + std::string(*group) + "] not exist");
  SendJson(req, r, *body);
}

void AdminBrokerProcessor::QueryTopicConsumeByWho(Req req, Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return;
  std::vector<std::string> groups = clients_.GroupsSubscribing(*topic);
  for (std::string& g : offsets_.GroupsOfTopic(*topic)) {
    if (std::find(groups.begin(), groups.end(), g) == groups.end())
      groups.push_back(std::move(g));
  }
  json::Value list = json::Value::Array();
  for (std::string& g : groups) list.Push(json::Value::String(std::move(g)));
  json::Value body = json::Value::Object();
  body.Set("groupList", std::move(list));
  SendJson(req, r, body);
}

// RocketMQ answers SUCCESS with no body; Thruster adds what it removed,
// {"removed":[{"topic":…,"queueId":…,"maxPhysicOffset":…}],
// "minCommitLogOffset":…}, which Java tools ignore.
void AdminBrokerProcessor::CleanExpiredConsumeQueue(Req req, Responder r) {
  auto conn = r.connection();
  TH_LOG(broker, kWarn, "cleanExpiredConsumeQueue called by {}",
         conn ? conn->remote_address() : std::string("a gone client"));
  Result<std::vector<store::MessageStore::ExpiredConsumeQueue>> removed =
      store_.CleanExpiredConsumeQueues();
  if (!removed.ok()) {
    return SendError(req, r, rc::kSystemError,
                     std::string(removed.status().message()));
  }
  json::Value list = json::Value::Array();
  for (const auto& e : *removed) {
    json::Value q = json::Value::Object();
    q.Set("topic", json::Value::String(e.topic));
    q.Set("queueId", json::Value::Int(e.queue_id));
    q.Set("maxPhysicOffset", json::Value::Int(e.last_phys_end));
    list.Push(std::move(q));
  }
  json::Value body = json::Value::Object();
  body.Set("removed", std::move(list));
  body.Set("minCommitLogOffset", json::Value::Int(store_.GetMinPhyOffset()));
  SendJson(req, r, body);
}

}  // namespace thruster::broker
