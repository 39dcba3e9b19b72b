// ACK_MESSAGE, BATCH_ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME: spec/pop.md
// §3, §4, §7.4, §7.5.
#include "broker/pop_ack_processor.h"

#include <openssl/evp.h>

#include <vector>

#include "broker/processor_util.h"
#include "common/logging.h"
#include "remoting/json.h"
#include "remoting/pop_protocol.h"

namespace thruster::broker {
namespace {

using remoting::PopExtraInfo;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
namespace json = remoting::json;

std::string OrderKey(std::string_view topic, std::string_view group,
                     int32_t queue_id) {
  return std::string(topic) + "@" + std::string(group) + "@" +
         std::to_string(queue_id);
}

// java.util.BitSet.toByteArray, Base64: bit i of byte i/8 (little-endian).
std::vector<int> DecodeBitSet(std::string_view b64) {
  std::vector<int> bits;
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 4096) return bits;
  std::vector<unsigned char> out(b64.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(
      out.data(), reinterpret_cast<const unsigned char*>(b64.data()),
      static_cast<int>(b64.size()));
  if (n < 0) return bits;
  for (int i = 0; i < n; ++i) {
    for (int b = 0; b < 8; ++b) {
      if ((out[static_cast<size_t>(i)] >> b) & 1) bits.push_back(i * 8 + b);
    }
  }
  return bits;
}

}  // namespace

PopAckProcessor::PopAckProcessor(const BrokerContext& context,
                                 store::MessageStore& store,
                                 TopicConfigManager& topics, PopService& pop)
    : context_(context), store_(store), topics_(topics), pop_(pop) {}

void PopAckProcessor::ProcessRequest(RemotingCommand request,
                                     remoting::Responder responder) {
  switch (request.code()) {
    case req_code::kAckMessage:
      return Ack(request, responder);
    case req_code::kBatchAckMessage:
      return BatchAck(request, responder);
    case req_code::kChangeMessageInvisibleTime:
      return ChangeInvisibleTime(request, responder);
    default:
      return SendError(request, responder, rc::kRequestCodeNotSupported,
                       "request code not supported");
  }
}

namespace {

// The checks ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME share (§3.1, §4);
// answers and returns nullopt when one fails.
struct Checked {
  std::string group;
  std::string topic;
  int32_t queue_id = 0;
  int64_t offset = 0;
  PopExtraInfo handle;
};

std::optional<Checked> CheckHandleRequest(const RemotingCommand& req,
                                          const remoting::Responder& r,
                                          store::MessageStore& store,
                                          TopicConfigManager& topics,
                                          int64_t now, bool change) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  Result<std::string_view> extra = req.RequireExt("extraInfo");
  Result<int64_t> offset = req.RequireExtInt64("offset");
  if (AnsweredRequestError(req, r,
                           {group.status(), topic.status(), queue_id.status(),
                            extra.status(), offset.status()}))
    return std::nullopt;
  std::optional<remoting::TopicConfig> tc = topics.Find(*topic);
  if (!tc) {
    SendError(
        req, r, rc::kTopicNotExist,
        "topic[" + std::string(*topic) + "] not exist, apply first please!");
    return std::nullopt;
  }
  if (*queue_id < 0 || *queue_id >= tc->read_queue_nums) {
    SendError(req, r, rc::kMessageIllegal,
              "queueId[" + std::to_string(*queue_id) + "] is illegal, topic:[" +
                  std::string(*topic) + "] topicConfig.readQueueNums:[" +
                  std::to_string(tc->read_queue_nums) + "]");
    return std::nullopt;
  }
  Result<PopExtraInfo> handle = PopExtraInfo::Parse(*extra);
  if (!handle.ok()) {
    SendError(req, r, rc::kSystemError, std::string(handle.status().message()));
    return std::nullopt;
  }
  const int64_t min = store.GetMinOffsetInQueue(*topic, *queue_id);
  const int64_t max = store.GetMaxOffsetInQueue(*topic, *queue_id);
  if (*offset < min || (change ? *offset >= max : *offset > max)) {
    SendError(req, r, rc::kNoMessage,
              "offset is illegal, key:" + std::string(*topic) + "@" +
                  std::to_string(*queue_id) +
                  ", commit:" + std::to_string(*offset) +
                  ", store:" + std::to_string(min) + "," + std::to_string(max));
    return std::nullopt;
  }
  if (handle->ReviveTime() <= now) {
    SendError(req, r, rc::kNoMessage,
              "the handle expired at " + std::to_string(handle->ReviveTime()) +
                  " (now " + std::to_string(now) + "): " + std::string(*extra));
    return std::nullopt;
  }
  Checked c;
  c.group = std::string(*group);
  c.topic = std::string(*topic);
  c.queue_id = *queue_id;
  c.offset = *offset;
  c.handle = std::move(handle).value();
  return c;
}

}  // namespace

void PopAckProcessor::Ack(const RemotingCommand& req,
                          const remoting::Responder& r) {
  std::optional<Checked> c = CheckHandleRequest(req, r, store_, topics_,
                                                context_.clock.NowMs(), false);
  if (!c) return;
  if (c->handle.orderly()) {
    const std::string key = OrderKey(c->topic, c->group, c->queue_id);
    Result<std::optional<int64_t>> next =
        pop_.AckOrderly(key, c->offset, c->handle.pop_time);
    if (!next.ok()) {
      return SendError(req, r, rc::kMessageIllegal,
                       std::string(next.status().message()));
    }
    if (next->has_value()) {
      const int64_t committed =
          pop_.CommittedOffset(c->group, c->topic, c->queue_id).value_or(0);
      if (c->offset >= committed && **next > committed)
        pop_.CommitOffset(c->group, c->topic, c->queue_id, **next);
    }
    r.Send(req.CreateResponse(rc::kSuccess, ""));
    return;
  }
  AckMsg ack;
  ack.ack_offsets.push_back(c->offset);
  ack.start_offset = c->handle.ck_queue_offset;
  ack.group = c->group;
  ack.topic = c->topic;
  ack.queue_id = c->queue_id;
  ack.pop_time = c->handle.pop_time;
  ack.broker_name = c->handle.broker_name;
  Result<bool> done =
      pop_.Ack(ack, c->handle.revive_qid, c->handle.ReviveTime(), false);
  if (!done.ok()) {
    // A lost ack only means the message comes again (§3.1, §11 item 4).
    TH_LOG(broker, kWarn, "pop: ack of {}/{}/{} not written: {}", c->topic,
           c->queue_id, c->offset, done.status().ToString());
  }
  r.Send(req.CreateResponse(rc::kSuccess, ""));
}

void PopAckProcessor::BatchAck(const RemotingCommand& req,
                               const remoting::Responder& r) {
  Result<json::Value> body = json::Parse(req.body_view());
  const json::Value* acks = body.ok() ? body->Find("acks") : nullptr;
  if (acks == nullptr || !acks->is_array() || acks->size() == 0) {
    return SendError(req, r, rc::kNoMessage, "batch ack body is empty");
  }
  const int64_t now = context_.clock.NowMs();
  auto member = [](const json::Value& v, const char* s, const char* l) {
    return v.Find(s) != nullptr ? v.GetString(s) : v.GetString(l);
  };
  for (size_t i = 0; i < acks->size(); ++i) {
    const json::Value& a = acks->at(i);
    if (!a.is_object()) continue;
    const std::string group = member(a, "c", "consumerGroup");
    const std::string normal = member(a, "t", "topic");
    const std::string retry = member(a, "r", "retry");
    std::optional<int64_t> so =
        json::ParseInt64(member(a, "so", "startOffset"));
    std::optional<int64_t> q = json::ParseInt64(member(a, "q", "queueId"));
    std::optional<int64_t> rq =
        json::ParseInt64(member(a, "rq", "reviveQueueId"));
    std::optional<int64_t> pt = json::ParseInt64(member(a, "pt", "popTime"));
    std::optional<int64_t> it =
        json::ParseInt64(member(a, "it", "invisibleTime"));
    if (group.empty() || normal.empty() || !so || !q || !rq || !pt || !it ||
        *q < 0 || *q > INT32_MAX)
      continue;
    std::string topic = normal;
    if (retry == "1") topic = PopRetryTopic(group, normal);
    if (retry == "2")
      topic = std::string(kRetryGroupTopicPrefix) + group + "+" + normal;
    const int32_t queue_id = static_cast<int32_t>(*q);
    if (!topics_.Find(topic)) continue;
    if (*pt + *it <= now) continue;  // expired: see the class comment
    const int64_t min = store_.GetMinOffsetInQueue(topic, queue_id);
    const int64_t max = store_.GetMaxOffsetInQueue(topic, queue_id);
    AckMsg ack;
    for (int bit : DecodeBitSet(member(a, "b", "bitSet"))) {
      const int64_t o = *so + bit;
      if (o >= min && o <= max) ack.ack_offsets.push_back(o);
    }
    if (ack.ack_offsets.empty()) continue;
    if (*rq == remoting::pop::kOrderReviveQueue) {
      const std::string key = OrderKey(topic, group, queue_id);
      for (int64_t o : ack.ack_offsets) {
        Result<std::optional<int64_t>> next = pop_.AckOrderly(key, o, *pt);
        if (!next.ok() || !next->has_value()) continue;
        const int64_t committed =
            pop_.CommittedOffset(group, topic, queue_id).value_or(0);
        if (o >= committed && **next > committed)
          pop_.CommitOffset(group, topic, queue_id, **next);
      }
      continue;
    }
    ack.start_offset = *so;
    ack.group = group;
    ack.topic = topic;
    ack.queue_id = queue_id;
    ack.pop_time = *pt;
    ack.broker_name =
        body->GetString("brokerName", context_.config.broker_name);
    Result<bool> done =
        pop_.Ack(ack, static_cast<int32_t>(*rq), *pt + *it, true);
    if (!done.ok()) {
      TH_LOG(broker, kWarn, "pop: batch ack of {}/{} not written: {}", topic,
             queue_id, done.status().ToString());
    }
  }
  r.Send(req.CreateResponse(rc::kSuccess, ""));
}

void PopAckProcessor::ChangeInvisibleTime(const RemotingCommand& req,
                                          const remoting::Responder& r) {
  const int64_t now = context_.clock.NowMs();
  Result<int64_t> invisible = req.RequireExtInt64("invisibleTime");
  if (AnsweredRequestError(req, r, {invisible.status()})) return;
  if (*invisible < 0) {
    return SendError(req, r, rc::kInvalidParameter,
                     "invisibleTime must not be negative");
  }
  std::optional<Checked> c =
      CheckHandleRequest(req, r, store_, topics_, now, true);
  if (!c) return;
  RemotingCommand resp = req.CreateResponse(rc::kSuccess, "");
  if (c->handle.orderly()) {
    const std::string key = OrderKey(c->topic, c->group, c->queue_id);
    Result<int64_t> pop_time =
        pop_.ChangeOrderlyInvisible(key, c->offset, now + *invisible);
    if (!pop_time.ok()) {
      return SendError(req, r, rc::kMessageIllegal,
                       std::string(pop_time.status().message()));
    }
    resp.SetExt("invisibleTime", now + *invisible - *pop_time);
    resp.SetExt("popTime", *pop_time);
    resp.SetExt("reviveQid", remoting::pop::kOrderReviveQueue);
    r.Send(std::move(resp));
    return;
  }
  PopCheckPoint ck;
  ck.start_offset = c->offset;
  // A checkpoint is known by (topic, group, queue, start, pop time): a change
  // in the very millisecond of the pop, for the batch's first offset, would
  // name the old checkpoint, which the ack below then ends.
  ck.pop_time =
      now == c->handle.pop_time && c->offset == c->handle.ck_queue_offset
          ? now + 1
          : now;
  ck.invisible_time = *invisible;
  ck.num = 1;
  ck.queue_offset_diff = {0};
  ck.queue_id = c->queue_id;
  ck.topic = c->topic;
  ck.group = c->group;
  ck.broker_name = context_.config.broker_name;
  const int64_t new_pop_time = ck.pop_time;
  if (Status s = pop_.AddCheckPoint(std::move(ck), c->handle.revive_qid);
      !s.ok()) {
    return SendError(req, r, rc::kSystemError,
                     "change invisible time failed: " + s.ToString());
  }
  AckMsg ack;
  ack.ack_offsets.push_back(c->offset);
  ack.start_offset = c->handle.ck_queue_offset;
  ack.group = c->group;
  ack.topic = c->topic;
  ack.queue_id = c->queue_id;
  ack.pop_time = c->handle.pop_time;
  ack.broker_name = c->handle.broker_name;
  Result<bool> done =
      pop_.Ack(ack, c->handle.revive_qid, c->handle.ReviveTime(), false);
  if (!done.ok()) {
    TH_LOG(broker, kWarn, "pop: ack of the old handle of {}/{}/{}: {}",
           c->topic, c->queue_id, c->offset, done.status().ToString());
  }
  resp.SetExt("invisibleTime", *invisible);
  resp.SetExt("popTime", new_pop_time);
  resp.SetExt("reviveQid", c->handle.revive_qid);
  r.Send(std::move(resp));
}

}  // namespace thruster::broker
