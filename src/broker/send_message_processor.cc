// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320):
// spec/remoting.md §3.4.1, §3.4.2, §5.6; CONSUMER_SEND_MSG_BACK (36): §3.4.14,
// §6.8.
#include "broker/send_message_processor.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <random>

#include "broker/metrics/broker_metrics.h"
#include "broker/schedule_message_service.h"
#include "broker/timer_message_service.h"
#include "broker/transactional_message_service.h"
#include "common/coding.h"
#include "common/logging.h"
#include "message/batch_codec.h"
#include "message/commit_log_format.h"
#include "message/find_properties.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/json.h"
#include "remoting/recall_handle.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;

// V2 one-letter header names → the long names of SEND_MESSAGE (§3.4.1).
struct SendHeader {
  std::string_view producer_group;
  std::string_view topic;
  std::string_view default_topic;
  int32_t default_topic_queue_nums = 4;
  int32_t queue_id = -1;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  int32_t flag = 0;
  std::string_view properties;
  int32_t reconsume_times = 0;
  std::optional<int32_t> max_reconsume_times;
  bool batch = false;
};

// The header's fields, read in one pass over extFields: SEND_MESSAGE_V2's
// one-letter names a..m land in a slot each; SEND_MESSAGE's long names are
// looked up one by one. Absent and empty are alike (a missing field).
class SendExtFields {
 public:
  explicit SendExtFields(const RemotingCommand& req)
      : req_(req), v2_(req.code() != remoting::request_code::kSendMessage) {
    if (!v2_) return;
    for (const auto& [k, v] : req.ext_fields()) {
      if (k.size() == 1 && k[0] >= 'a' && k[0] < 'a' + kSlots)
        slots_[k[0] - 'a'] = v;
    }
  }

  std::string_view Get(const char* longname, char letter) const {
    if (v2_) return slots_[letter - 'a'];
    return req_.FindExt(longname).value_or(std::string_view());
  }
  const char* Name(const char* longname, const char* letter) const {
    return v2_ ? letter : longname;
  }

 private:
  static constexpr int kSlots = 13;  // a..m
  const RemotingCommand& req_;
  const bool v2_;
  std::string_view slots_[kSlots];
};

// json::ParseInt64, with the plain digits every client sends (up to 18, which
// cannot overflow) read without a from_chars call.
std::optional<int64_t> ParseSendInt64(std::string_view v) {
  if (!v.empty() && v.size() <= 18) {
    int64_t n = 0;
    size_t i = 0;
    for (; i < v.size(); ++i) {
      const auto d = static_cast<unsigned char>(v[i] - '0');
      if (d > 9) break;
      n = n * 10 + d;
    }
    if (i == v.size()) return n;
  }
  return remoting::json::ParseInt64(v);
}

// RemotingCommand's typed accessors (RequireExt*, Ext*Or), on a value.
Result<std::string_view> RequireSendField(std::string_view v,
                                          const char* name) {
  if (v.empty())
    return Status::InvalidArgument(
        fmt::format("missing header field {}", name));
  return v;
}
Result<int64_t> RequireSendInt64(std::string_view v, const char* name) {
  TH_ASSIGN_OR_RETURN(std::string_view text, RequireSendField(v, name));
  auto i = ParseSendInt64(text);
  if (!i)
    return Status::InvalidArgument(
        fmt::format("header field {} is not a number: {}", name, text));
  return *i;
}
Result<int32_t> RequireSendInt32(std::string_view v, const char* name) {
  TH_ASSIGN_OR_RETURN(int64_t i, RequireSendInt64(v, name));
  if (i < std::numeric_limits<int32_t>::min() ||
      i > std::numeric_limits<int32_t>::max()) {
    return Status::InvalidArgument(
        fmt::format("header field {} out of range: {}", name, i));
  }
  return static_cast<int32_t>(i);
}
int32_t SendInt32Or(std::string_view v, int32_t def) {
  if (v.empty()) return def;
  int64_t i = ParseSendInt64(v).value_or(def);
  if (i < std::numeric_limits<int32_t>::min() ||
      i > std::numeric_limits<int32_t>::max())
    return def;
  return static_cast<int32_t>(i);
}
bool SendBoolOr(std::string_view v, bool def) {
  if (v.empty()) return def;
  if (v.size() != 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    char c = v[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "true"[i]) return false;
  }
  return true;
}

Result<SendHeader> ParseSendHeader(const RemotingCommand& req) {
  const SendExtFields f(req);
  SendHeader h;
  TH_ASSIGN_OR_RETURN(h.producer_group,
                      RequireSendField(f.Get("producerGroup", 'a'),
                                       f.Name("producerGroup", "a")));
  TH_ASSIGN_OR_RETURN(
      h.topic, RequireSendField(f.Get("topic", 'b'), f.Name("topic", "b")));
  h.default_topic = f.Get("defaultTopic", 'c');
  if (h.default_topic.empty()) h.default_topic = kAutoCreateTopicKey;
  h.default_topic_queue_nums =
      SendInt32Or(f.Get("defaultTopicQueueNums", 'd'), 4);
  TH_ASSIGN_OR_RETURN(h.queue_id, RequireSendInt32(f.Get("queueId", 'e'),
                                                   f.Name("queueId", "e")));
  h.sys_flag = SendInt32Or(f.Get("sysFlag", 'f'), 0);
  TH_ASSIGN_OR_RETURN(h.born_timestamp,
                      RequireSendInt64(f.Get("bornTimestamp", 'g'),
                                       f.Name("bornTimestamp", "g")));
  h.flag = SendInt32Or(f.Get("flag", 'h'), 0);
  h.properties = f.Get("properties", 'i');
  h.reconsume_times = SendInt32Or(f.Get("reconsumeTimes", 'j'), 0);
  if (std::string_view m = f.Get("maxReconsumeTimes", 'l'); !m.empty()) {
    h.max_reconsume_times = SendInt32Or(m, 16);
  }
  h.batch = SendBoolOr(f.Get("batch", 'm'), false) ||
            req.code() == remoting::request_code::kSendBatchMessage;
  return h;
}

int32_t SendResponseCode(store::PutStatus s) {
  switch (s) {
    case store::PutStatus::kPutOk:
      return rc::kSuccess;
    case store::PutStatus::kFlushDiskTimeout:
      return rc::kFlushDiskTimeout;
    case store::PutStatus::kMessageIllegal:
    case store::PutStatus::kPropertiesSizeExceeded:
      return rc::kMessageIllegal;
    case store::PutStatus::kServiceNotAvailable:
      return rc::kServiceNotAvailable;
    case store::PutStatus::kOsPageCacheBusy:
      return rc::kSystemBusy;
    case store::PutStatus::kFlushSlaveTimeout:
      return rc::kFlushSlaveTimeout;
    case store::PutStatus::kSlaveNotAvailable:
      return rc::kSlaveNotAvailable;
    case store::PutStatus::kCreateMappedFileFailed:
    case store::PutStatus::kUnknownError:
    case store::PutStatus::kInSyncReplicasNotEnough:
      return rc::kSystemError;
  }
  return rc::kSystemError;
}

// UNIQ_KEY, CLUSTER, TRAN_MSG and DELAY of a properties text, found in one
// scan (FindProperties); each as FindProperty gives it. The views point into
// the text scanned.
class SendProperties {
 public:
  explicit SendProperties(std::string_view props) {
    message::FindProperties(props, kNames, values_);
  }
  std::optional<std::string_view> uniq_key() const { return values_[0]; }
  std::optional<std::string_view> cluster() const { return values_[1]; }
  std::optional<std::string_view> tran_msg() const { return values_[2]; }
  std::optional<std::string_view> delay() const { return values_[3]; }

 private:
  static constexpr std::string_view kNames[] = {message::prop::kUniqKey,
                                                "CLUSTER", txn_prop::kTranMsg,
                                                message::prop::kDelay};
  std::optional<std::string_view> values_[std::size(kNames)];
};

// The recall handle of a message the timer transform parked (§7): none for a
// retry topic's message or one that is not parked.
std::string RecallHandleFor(const BrokerConfig& config,
                            const message::MessageToStore& msg,
                            std::string_view real_topic, bool retry_topic,
                            const std::string& uniq_key) {
  if (retry_topic || uniq_key.empty() || msg.topic != kTimerTopic ||
      real_topic == kTimerTopic)
    return "";
  const auto out = message::FindProperty(msg.properties, timer_prop::kOutMs);
  if (!out) return "";
  int64_t out_ms = 0;
  auto [end, ec] =
      std::from_chars(out->data(), out->data() + out->size(), out_ms);
  if (ec != std::errc() || end != out->data() + out->size()) return "";
  return remoting::EncodeRecallHandle(remoting::RecallHandle{
      std::string(real_topic), config.broker_name, out_ms + 1, uniq_key});
}

}  // namespace

SendMessageProcessor::SendMessageProcessor(const BrokerContext& context,
                                           store::MessageStore& store,
                                           TopicConfigManager& topics,
                                           BrokerStats& stats,
                                           SubscriptionGroupManager* groups)
    : context_(context),
      store_(store),
      topics_(topics),
      stats_(stats),
      groups_(groups),
      uniq_keys_(context.store_host),
      delay_levels_(store::DelayLevelTable::ParseOrDefault(
          store.config().message_delay_level)) {}

void SendMessageProcessor::ProcessRequest(RemotingCommand request,
                                          remoting::Responder responder) {
  if (request.code() == remoting::request_code::kConsumerSendMsgBack) {
    ConsumerSendMsgBack(std::move(request), std::move(responder));
  } else {
    SendMessage(request, std::move(responder));
  }
}

void SendMessageProcessor::SendMessage(const RemotingCommand& req,
                                       remoting::Responder&& r) {
  auto fail = [&](int32_t code, std::string remark) {
    RemotingCommand resp = req.CreateResponse(code, std::move(remark));
    resp.SetExt("MSG_REGION", context_.config.region_id);
    resp.SetExtBool("TRACE_ON", context_.config.trace_on);
    r.Send(std::move(resp));
  };
  Result<SendHeader> parsed = ParseSendHeader(req);
  if (!parsed.ok())
    return fail(rc::kSystemError, std::string(parsed.status().message()));
  SendHeader h = *parsed;

  if ((context_.config.broker_permission & remoting::kPermWrite) == 0) {
    return fail(rc::kNoPermission, "the broker[" + context_.config.broker_name +
                                       "] sending message is forbidden");
  }
  if (Status s = ValidateTopicName(h.topic); !s.ok()) {
    return fail(rc::kInvalidParameter, std::string(s.message()));
  }
  if (IsNotAllowedToSend(h.topic)) {
    return fail(rc::kNoPermission, "sending message to topic " +
                                       std::string(h.topic) + " is forbidden");
  }
  const bool retry_topic = h.topic.substr(0, kRetryGroupTopicPrefix.size()) ==
                           kRetryGroupTopicPrefix;
  if (h.batch && retry_topic)
    return fail(rc::kMessageIllegal,
                "batch messages cannot go to a retry topic");

  std::optional<remoting::TopicConfig> tc = topics_.Find(h.topic);
  if (!tc) {
    Result<std::pair<remoting::TopicConfig, bool>> created =
        retry_topic
            ? topics_.FindOrCreate(h.topic, 1,
                                   remoting::kPermRead | remoting::kPermWrite)
            : topics_.CreateTopicInSendMessage(h.topic, h.default_topic,
                                               h.default_topic_queue_nums);
    if (!created.ok()) {
      return fail(rc::kTopicNotExist,
                  "topic[" + std::string(h.topic) +
                      "] not exist, apply first please! " +
                      std::string(created.status().message()));
    }
    tc = created->first;
    if (created->second) context_.request_registration();
  }
  if ((tc->perm & remoting::kPermWrite) == 0) {
    return fail(rc::kNoPermission, "the topic[" + std::string(h.topic) +
                                       "] sending message is forbidden");
  }
  const int32_t queue_limit =
      std::max(tc->read_queue_nums, tc->write_queue_nums);
  if (h.queue_id >= queue_limit) {
    return fail(rc::kInvalidParameter,
                "queueId " + std::to_string(h.queue_id) +
                    " is out of range [0, " + std::to_string(queue_limit) +
                    ") of topic " + std::string(h.topic));
  }
  if (h.queue_id < 0) {
    thread_local std::minstd_rand rng(std::random_device{}());
    h.queue_id = static_cast<int32_t>(
        rng() % static_cast<uint32_t>(std::max(1, tc->write_queue_nums)));
  }
  const std::span<const std::byte> body = req.body();
  if (body.size() > static_cast<size_t>(store_.config().max_message_size)) {
    return fail(rc::kMessageIllegal,
                "message body of " + std::to_string(body.size()) +
                    " bytes is larger than maxMessageSize " +
                    std::to_string(store_.config().max_message_size));
  }
  if (h.batch) {
    if (Status s =
            message::ValidateBatch(body, store_.config().max_message_size);
        !s.ok())
      return fail(rc::kMessageIllegal, std::string(s.message()));
  }

  // A retried message past its limit goes to the group's dead-letter queue
  // (§6.8).
  std::string topic(h.topic);
  int32_t queue_id = h.queue_id;
  if (retry_topic) {
    const int32_t max_times =
        h.max_reconsume_times.value_or(context_.config.retry_max_times);
    if (h.reconsume_times > max_times) {
      const std::string group(h.topic.substr(kRetryGroupTopicPrefix.size()));
      Result<std::pair<remoting::TopicConfig, bool>> dlq = topics_.FindOrCreate(
          DlqTopic(group), 1, remoting::kPermRead | remoting::kPermWrite);
      if (!dlq.ok())
        return fail(rc::kSystemError, std::string(dlq.status().message()));
      if (dlq->second) context_.request_registration();
      topic = DlqTopic(group);
      queue_id = 0;
    }
  }

  // The properties the send looks at, from one scan of the producer's text:
  // views into the request, which outlives this call. Appending a pair to a
  // text that does not end with the pair separator runs the new pair on into
  // the last one, so then the text is scanned again after each append (the
  // views then point into `properties`).
  // Room for the UNIQ_KEY and CLUSTER pairs appended below.
  std::string properties;
  properties.reserve(h.properties.size() + 64 +
                     context_.config.broker_cluster_name.size());
  properties.assign(h.properties);
  SendProperties found(h.properties);
  const bool sealed = h.properties.empty() ||
                      h.properties.back() == message::kPropertySeparator;
  std::string uniq_key;
  if (!h.batch) {
    if (found.uniq_key() && !found.uniq_key()->empty()) {
      uniq_key = std::string(*found.uniq_key());
    } else {
      uniq_key = uniq_keys_.Next(context_.clock.NowMs());
      message::AppendProperty(&properties, message::prop::kUniqKey, uniq_key);
      if (!sealed) found = SendProperties(properties);
    }
    if (!found.cluster()) {
      message::AppendProperty(&properties, "CLUSTER",
                              context_.config.broker_cluster_name);
      if (!sealed) found = SendProperties(properties);
    }
  }

  message::MessageToStore msg;
  msg.topic = topic;
  msg.queue_id = queue_id;
  msg.flag = h.flag;
  msg.sys_flag = h.sys_flag;
  msg.body = body;
  msg.properties = properties;
  msg.born_timestamp = h.born_timestamp;
  if (auto conn = r.connection()) {
    // IPv4 peers only, as parsing remote_address() ("ip:port") allowed.
    const asio::ip::tcp::endpoint& peer = conn->remote_endpoint();
    if (peer.address().is_v4()) {
      const auto ip = peer.address().to_v4().to_bytes();
      msg.born_host = message::HostAddress::V4(
          ip[0], ip[1], ip[2], ip[3], static_cast<int32_t>(peer.port()));
    }
  }
  msg.store_host = context_.store_host;
  msg.reconsume_times = h.reconsume_times;
  // A prepared message is stored as a half message (spec/transactions.md §2).
  std::string half_properties;
  if (!h.batch &&
      IsPreparedMessage(found.tran_msg(), found.delay(), h.reconsume_times)) {
    if (context_.config.reject_transaction_message) {
      return fail(rc::kNoPermission,
                  "the broker[" + context_.config.broker_name +
                      "] sending transaction message is forbidden");
    }
    if (Status s = PrepareHalfMessage(topics_, &msg, &half_properties); !s.ok())
      return fail(rc::kSystemError, std::string(s.message()));
  }
  // A DELAY level parks the message in SCHEDULE_TOPIC_XXXX (a batch may not
  // be delayed, as in RocketMQ).
  if (h.batch && IsDelayed(properties))
    return fail(rc::kMessageIllegal, "a batch message cannot be delayed");
  if (Status s = ParkIfDelayed(delay_levels_, &msg, &properties, found.delay());
      !s.ok())
    return fail(rc::kMessageIllegal, std::string(s.message()));
  // TIMER_* properties park it in rmq_sys_wheel_timer (5.x timer messages).
  if (!h.batch && half_properties.empty()) {
    if (std::optional<TimerRefusal> refusal = TransformTimerMessage(
            store_.config(), context_.clock.NowMs(), &msg, &properties))
      return fail(refusal->code, std::move(refusal->remark));
  }
  // A parked timer message can be recalled until it is due (§7).
  std::string recall_handle =
      RecallHandleFor(context_.config, msg, topic, retry_topic, uniq_key);

  const int32_t answer_queue_id = h.queue_id;
  const bool batch = h.batch;
  // For the metrics: a half message or a parked (delayed) one is stored
  // under another topic, but counted under the producer's.
  metrics::MessageType msg_type = metrics::MessageType::kNormal;
  if (!half_properties.empty()) {
    msg_type = metrics::MessageType::kTransaction;
  } else if (msg.topic != topic) {
    msg_type = metrics::MessageType::kDelay;
  }
  const auto body_bytes = static_cast<int64_t>(body.size());
  // The Responder stamps opaque, response flag and serialize type, so the
  // answer is built from scratch when the put completes.
  auto done = [this, r = std::move(r), answer_queue_id, batch,
               uniq_key = std::move(uniq_key),
               recall_handle = std::move(recall_handle), topic, msg_type,
               body_bytes](store::PutResult result) mutable {
    RemotingCommand resp;
    resp.set_code(SendResponseCode(result.status));
    resp.SetExt("MSG_REGION", context_.config.region_id);
    resp.SetExtBool("TRACE_ON", context_.config.trace_on);
    if (result.status == store::PutStatus::kPutOk ||
        result.status == store::PutStatus::kFlushDiskTimeout ||
        result.status == store::PutStatus::kFlushSlaveTimeout ||
        result.status == store::PutStatus::kSlaveNotAvailable) {
      std::string msg_id;
      if (batch && !result.batch_phys_offsets.empty()) {
        for (int64_t phys : result.batch_phys_offsets) {
          if (!msg_id.empty()) msg_id += ',';
          msg_id += message::CreateMessageId(context_.store_host, phys);
        }
      } else {
        msg_id =
            message::CreateMessageId(context_.store_host, result.phys_offset);
      }
      resp.SetExt("msgId", std::move(msg_id));
      resp.SetExt("queueId", answer_queue_id);
      resp.SetExt("queueOffset", result.queue_offset);
      if (!uniq_key.empty()) resp.SetExt("transactionId", uniq_key);
      if (!recall_handle.empty())
        resp.SetExt("recallHandle", std::move(recall_handle));
      stats_.AddPut(std::max(1, result.msg_num));
      if (metrics::BrokerMetrics* m = stats_.metrics())
        m->CountIn(topic, msg_type, std::max(1, result.msg_num), body_bytes);
      if (result.status == store::PutStatus::kFlushDiskTimeout)
        resp.set_remark("flush disk timeout");
      if (result.status == store::PutStatus::kFlushSlaveTimeout)
        resp.set_remark("flush slave timeout");
      if (result.status == store::PutStatus::kSlaveNotAvailable)
        resp.set_remark("slave not available");
    } else {
      resp.set_remark(std::string(store::PutStatusName(result.status)) +
                      (result.error.empty() ? "" : ": " + result.error));
      TH_LOG(broker, kDebug, "send to {} failed: {}", topic, resp.remark());
    }
    r.Send(std::move(resp));
  };
  if (batch) {
    store_.AsyncPutMessages(msg, std::move(done));
  } else {
    store_.AsyncPutMessage(msg, std::move(done));
  }
}

// The consumed record is copied into the group's retry topic with its
// reconsume count raised and parked for delay level `delayLevel` (or 3 +
// reconsume times), or into its dead-letter topic once the count reached the
// limit (or the client asked for it with a negative delay level): §4.1.
void SendMessageProcessor::ConsumerSendMsgBack(RemotingCommand req,
                                               remoting::Responder r) {
  auto fail = [&](int32_t code, std::string remark) {
    r.Send(req.CreateResponse(code, std::move(remark)));
  };
  Result<int64_t> offset = req.RequireExtInt64("offset");
  Result<std::string_view> group = req.RequireExt("group");
  for (const Status& s : {offset.status(), group.status()}) {
    if (!s.ok()) return fail(rc::kSystemError, std::string(s.message()));
  }
  const int32_t delay_level = req.ExtInt32Or("delayLevel", 0);
  std::optional<store::SelectResult> found =
      store_.LookMessageByOffset(*offset);
  if (!found) {
    return fail(rc::kSystemError,
                "look message by offset failed, " + std::to_string(*offset));
  }
  message::RecordCheck check = message::CheckRecord(found->bytes, false);
  if (check.status != message::RecordStatus::kOk) {
    return fail(rc::kSystemError,
                "the record at offset " + std::to_string(*offset) +
                    " does not decode: " + std::string(check.error));
  }
  const message::DecodedRecord& orig = check.record;
  std::optional<SubscriptionGroupConfig> group_config;
  if (groups_ != nullptr) {
    group_config = groups_->FindOrAutoCreate(*group);
    if (!group_config) {
      return fail(rc::kSubscriptionGroupNotExist,
                  "subscription group not exist, " + std::string(*group));
    }
  }
  const int32_t max_times = req.ExtInt32Or(
      "maxReconsumeTimes", group_config ? group_config->retry_max_times
                                        : context_.config.retry_max_times);
  const bool to_dlq = delay_level < 0 || orig.reconsume_times >= max_times;
  const std::string topic = to_dlq ? DlqTopic(*group) : RetryTopic(*group);
  const int32_t retry_queues =
      to_dlq || !group_config ? 1 : std::max(1, group_config->retry_queue_nums);
  Result<std::pair<remoting::TopicConfig, bool>> tc = topics_.FindOrCreate(
      topic, retry_queues, remoting::kPermRead | remoting::kPermWrite);
  if (!tc.ok())
    return fail(rc::kSystemError, std::string(tc.status().message()));
  if (tc->second) context_.request_registration();

  std::string properties(orig.properties);
  if (!message::FindProperty(properties, "RETRY_TOPIC")) {
    message::AppendProperty(&properties, "RETRY_TOPIC", orig.topic);
  }
  if (!message::FindProperty(properties, "ORIGIN_MESSAGE_ID")) {
    message::AppendProperty(
        &properties, "ORIGIN_MESSAGE_ID",
        message::CreateMessageId(orig.store_host, orig.phys_offset));
  }
  SetProperty(&properties, message::prop::kWait, "false");
  const int32_t level =
      to_dlq ? 0 : (delay_level > 0 ? delay_level : 3 + orig.reconsume_times);
  SetProperty(&properties, message::prop::kDelay, std::to_string(level));
  message::MessageToStore msg;
  msg.topic = topic;
  msg.queue_id = 0;
  msg.flag = orig.flag;
  msg.sys_flag = orig.sys_flag;
  msg.body = orig.body;
  msg.properties = properties;
  msg.born_timestamp = orig.born_timestamp;
  msg.born_host = orig.born_host;
  msg.store_host = context_.store_host;
  msg.reconsume_times = orig.reconsume_times + 1;
  if (Status s = ParkIfDelayed(delay_levels_, &msg, &properties); !s.ok())
    return fail(rc::kSystemError, std::string(s.message()));
  const metrics::MessageType msg_type = msg.topic != topic
                                            ? metrics::MessageType::kDelay
                                            : metrics::MessageType::kNormal;
  store_.AsyncPutMessage(
      msg, [this, resp = req.CreateResponse(rc::kSuccess), r, topic, msg_type,
            body_bytes = static_cast<int64_t>(msg.body.size()),
            keep = std::move(found)](store::PutResult result) mutable {
        if (result.ok()) {
          stats_.AddPut(1);
          if (metrics::BrokerMetrics* m = stats_.metrics())
            m->CountIn(topic, msg_type, 1, body_bytes);
        } else {
          resp.set_code(rc::kSystemError);
          resp.set_remark(std::string(store::PutStatusName(result.status)));
        }
        r.Send(std::move(resp));
      });
}

}  // namespace thruster::broker
