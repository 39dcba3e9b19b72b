// POP_MESSAGE (200050): spec/pop.md §2, §8.1.
#include "broker/pop_message_processor.h"

#include <algorithm>
#include <memory>

#include "broker/client_manager.h"
#include "broker/fetch_journal.h"
#include "common/coding.h"
#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/pop_protocol.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace pop = remoting::pop;

constexpr int32_t kMaxPopMsgNums = 32;
// Clients ask for up to 20 s (gRPC) or 15 s; anything longer is held this long
// at most.
constexpr int64_t kMaxPollMs = 600000;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

int64_t QueuesEnd(const store::MessageStore& store,
                  const TopicConfigManager& topics, std::string_view topic,
                  int32_t queue_id) {
  if (queue_id >= 0) return store.GetMaxOffsetInQueue(topic, queue_id);
  int64_t sum = 0;
  if (std::optional<remoting::TopicConfig> tc = topics.Find(topic)) {
    for (int32_t q = 0; q < tc->read_queue_nums; ++q)
      sum += store.GetMaxOffsetInQueue(topic, q);
  }
  return sum;
}

namespace {

void AppendInfo(std::string* out, const std::string& item) {
  if (!out->empty()) *out += ';';
  *out += item;
}

}  // namespace

// What one request has gathered so far.
struct PopMessageProcessor::Batch {
  std::string group;
  std::string topic;  // the normal topic
  int32_t max_nums = 0;
  int64_t invisible_time = 0;
  int64_t pop_time = 0;
  int32_t revive_qid = 0;
  int32_t init_mode = 0;
  bool order = false;
  std::string attempt_id;
  store::TagFilter filter;
  std::shared_ptr<const filter::SqlExpression> sql;
  RemotingCommand* resp = nullptr;
  int32_t count = 0;
  int64_t rest_num = 0;
  std::string start_offset_info;
  std::string msg_offset_info;
  std::string order_count_info;
  // Who popped (the fetch journal): 0 / empty without a connection.
  uint64_t connection_id = 0;
  std::string remote_address;
};

PopMessageProcessor::PopMessageProcessor(const BrokerContext& context,
                                         store::MessageStore& store,
                                         TopicConfigManager& topics,
                                         SubscriptionGroupManager* groups,
                                         PopService& pop, BrokerStats& stats,
                                         PullRequestHoldService& hold)
    : context_(context),
      store_(store),
      topics_(topics),
      groups_(groups),
      pop_(pop),
      stats_(stats),
      hold_(hold) {}

void PopMessageProcessor::ProcessRequest(RemotingCommand request,
                                         remoting::Responder responder) {
  Pop(std::move(request), std::move(responder), std::nullopt);
}

void PopMessageProcessor::ProcessHeld(HeldPull held) {
  Pop(std::move(held.request), std::move(held.responder), held.deadline_ns);
}

void PopMessageProcessor::Pop(RemotingCommand req, remoting::Responder r,
                              std::optional<int64_t> deadline_ns) {
  auto fail = [&](int32_t code, std::string remark) {
    r.Send(req.CreateResponse(code, std::move(remark)));
  };
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  Result<int32_t> max_nums = req.RequireExtInt32("maxMsgNums");
  Result<int64_t> invisible_time = req.RequireExtInt64("invisibleTime");
  Result<int64_t> poll_time = req.RequireExtInt64("pollTime");
  Result<int32_t> init_mode = req.RequireExtInt32("initMode");
  for (const Status& s :
       {group.status(), topic.status(), queue_id.status(), max_nums.status(),
        invisible_time.status(), poll_time.status(), init_mode.status()}) {
    if (!s.ok()) return fail(rc::kSystemError, std::string(s.message()));
  }
  const int64_t now = context_.clock.NowMs();
  int64_t born = req.ExtInt64Or("bornTime", 0);
  if (born == 0) born = now;
  if (!deadline_ns && now - born - *poll_time > 500) {
    return fail(rc::kPollingTimeout, "the broker[" +
                                         context_.config.broker_name +
                                         "] pop message is timeout too much");
  }
  if ((context_.config.broker_permission & remoting::kPermRead) == 0) {
    return fail(rc::kNoPermission, "the broker[" + context_.config.broker_name +
                                       "] pop message is forbidden");
  }
  if (*max_nums > kMaxPopMsgNums || *max_nums <= 0) {
    return fail(rc::kInvalidParameter,
                "the broker[" + context_.config.broker_name +
                    "] pop message's num is greater than 32 or not positive");
  }
  if (*invisible_time <= 0)
    return fail(rc::kInvalidParameter, "invisibleTime must be positive");
  std::optional<remoting::TopicConfig> tc = topics_.Find(*topic);
  if (!tc) {
    return fail(rc::kTopicNotExist, "topic[" + std::string(*topic) +
                                        "] not exist, apply first please!");
  }
  if ((tc->perm & remoting::kPermRead) == 0) {
    return fail(rc::kNoPermission, "the topic[" + std::string(*topic) +
                                       "] peeking message is forbidden");
  }
  if (*queue_id >= tc->read_queue_nums || *queue_id < -1) {
    return fail(rc::kInvalidParameter,
                "queueId[" + std::to_string(*queue_id) +
                    "] is illegal, topic:[" + std::string(*topic) +
                    "] topicConfig.readQueueNums:[" +
                    std::to_string(tc->read_queue_nums) + "]");
  }
  if (groups_ != nullptr) {
    std::optional<SubscriptionGroupConfig> g =
        groups_->FindOrAutoCreate(*group);
    if (!g) {
      return fail(
          rc::kSubscriptionGroupNotExist,
          "subscription group [" + std::string(*group) + "] does not exist");
    }
    if (!g->consume_enable) {
      return fail(rc::kNoPermission,
                  "subscription group no permission, " + std::string(*group));
    }
  }

  Batch batch;
  batch.group = std::string(*group);
  batch.topic = std::string(*topic);
  batch.max_nums = *max_nums;
  batch.invisible_time = *invisible_time;
  batch.pop_time = now;
  batch.init_mode = *init_mode;
  batch.order = req.ExtBoolOr("order", false);
  batch.attempt_id = std::string(req.ExtOr("attemptId", ""));
  if (std::shared_ptr<remoting::Connection> conn = r.connection()) {
    batch.connection_id = conn->id();
    batch.remote_address = conn->remote_address();
  }
  const std::string exp_type(req.ExtOr("expType", "TAG"));
  const std::string exp(req.ExtOr("exp", ""));
  if (exp_type == kExpressionTypeSql92) {
    if (!context_.config.enable_property_filter) {
      return fail(rc::kSystemError,
                  "The broker does not support consumer to filter message by "
                  "SQL92");
    }
    auto compiled = sql_filters_.Get(*group, *topic, exp);
    if (!compiled.ok()) {
      return fail(rc::kSubscriptionParseFailed,
                  std::string(compiled.status().message()));
    }
    batch.sql = *compiled;
  } else {
    Result<SubscriptionData> sub = SubscriptionData::Build(
        *topic, exp.empty() ? std::string("*") : exp, exp_type);
    if (!sub.ok()) {
      return fail(rc::kSubscriptionParseFailed,
                  std::string(sub.status().message()));
    }
    batch.filter.codes = sub->codes;
  }
  batch.revive_qid =
      batch.order ? pop::kOrderReviveQueue : pop_.NextReviveQid();

  RemotingCommand resp = req.CreateResponse(rc::kSuccess, "FOUND");
  batch.resp = &resp;
  const uint64_t draw =
      SplitMix64(draw_.fetch_add(1, std::memory_order_relaxed));
  const int32_t rand = static_cast<int32_t>(draw % 100);
  const bool retry_first =
      !batch.order && rand < context_.config.pop_from_retry_probability;
  const std::string retry_topic = PopRetryTopic(*group, *topic);
  if (retry_first) ReadTopic(&batch, retry_topic, -1, 0, pop::kRetryTopicV1);
  ReadTopic(&batch, batch.topic, *queue_id, rand, pop::kNormalTopic);
  if (!retry_first && !batch.order && batch.count < batch.max_nums)
    ReadTopic(&batch, retry_topic, -1, 0, pop::kRetryTopicV1);

  if (batch.count == 0) {
    const int64_t park_until_ns =
        deadline_ns
            ? *deadline_ns
            : context_.clock.MonotonicNs() +
                  std::clamp<int64_t>(born + *poll_time - now, 0, kMaxPollMs) *
                      1000000;
    if (*poll_time > 0 && context_.clock.MonotonicNs() < park_until_ns) {
      if (hold_.held_count() >=
          static_cast<size_t>(context_.config.max_pop_polling_size)) {
        return fail(rc::kPollingFull, "pop polling is full");
      }
      HeldPull held;
      held.topic = batch.topic;
      held.queue_id = *queue_id;
      // Any arrival past the queue's current end wakes it (for -1, the
      // listener notifies with an offset past everything).
      held.offset = QueuesEnd(store_, topics_, batch.topic, *queue_id);
      held.tag_codes = batch.filter.codes;
      held.deadline_ns = park_until_ns;
      held.request = std::move(req);
      held.responder = std::move(r);
      hold_.Suspend(std::move(held));
      return;
    }
    RemotingCommand none =
        req.CreateResponse(rc::kPollingTimeout, "POLLING_NOT_FOUND");
    none.SetExt("invisibleTime", batch.invisible_time);
    none.SetExt("popTime", batch.pop_time);
    none.SetExt("restNum", batch.rest_num);
    none.SetExt("reviveQid", batch.revive_qid);
    r.Send(std::move(none));
    return;
  }
  resp.SetExt("invisibleTime", batch.invisible_time);
  resp.SetExt("msgOffsetInfo", batch.msg_offset_info);
  if (batch.order) resp.SetExt("orderCountInfo", batch.order_count_info);
  resp.SetExt("popTime", batch.pop_time);
  resp.SetExt("restNum", batch.rest_num);
  resp.SetExt("reviveQid", batch.revive_qid);
  resp.SetExt("startOffsetInfo", batch.start_offset_info);
  stats_.AddGet(batch.count);
  r.Send(std::move(resp));
}

void PopMessageProcessor::ReadTopic(Batch* batch, const std::string& topic,
                                    int32_t queue_id, int32_t start,
                                    int32_t flag) {
  if (queue_id >= 0) {
    ReadQueue(batch, topic, queue_id, flag);
    return;
  }
  std::optional<remoting::TopicConfig> tc = topics_.Find(topic);
  if (!tc || tc->read_queue_nums <= 0) return;
  const int32_t n = tc->read_queue_nums;
  for (int32_t i = 0; i < n && batch->count < batch->max_nums; ++i)
    ReadQueue(batch, topic, (start + i) % n, flag);
}

void PopMessageProcessor::ReadQueue(Batch* batch, const std::string& topic,
                                    int32_t queue_id, int32_t flag) {
  if (batch->count >= batch->max_nums) return;
  const std::string key =
      topic + "@" + batch->group + "@" + std::to_string(queue_id);
  const int64_t max_offset = store_.GetMaxOffsetInQueue(topic, queue_id);
  if (!pop_.TryLockQueue(key)) {
    // Another pop is reading this queue; its backlog still counts.
    batch->rest_num += std::max<int64_t>(
        0, max_offset - pop_.CommittedOffset(batch->group, topic, queue_id)
                            .value_or(max_offset));
    return;
  }
  struct Unlock {
    PopService& pop;
    const std::string& key;
    ~Unlock() { pop.UnlockQueue(key); }
  } unlock{pop_, key};

  const int32_t init_mode = flag == pop::kNormalTopic ? batch->init_mode : 0;
  int64_t start = pop_.PopStartOffset(batch->group, topic, queue_id, init_mode);
  if (batch->order &&
      pop_.OrderBlocked(key, batch->pop_time, batch->attempt_id)) {
    batch->rest_num += std::max<int64_t>(0, max_offset - start);
    return;
  }
  const int32_t want = batch->max_nums - batch->count;
  store::GetMessageResult result = store_.GetMessage(
      batch->group, topic, queue_id, start, want, INT32_MAX, &batch->filter);
  using S = store::GetMessageStatus;
  if (result.status == S::kOffsetTooSmall ||
      result.status == S::kOffsetOverflowBadly ||
      result.status == S::kOffsetFoundNull) {
    // The offset fell out of the queue: move the group there, read again.
    start = result.next_begin_offset;
    result = store_.GetMessage(batch->group, topic, queue_id, start, want,
                               INT32_MAX, &batch->filter);
  }
  if (batch->sql) filter::ApplySqlFilter(*batch->sql, &result);

  std::vector<int64_t> offsets;
  offsets.reserve(result.messages.size());
  for (const store::SelectResult& m : result.messages)
    offsets.push_back(LoadI64(m.bytes.data() + message::kQueueOffsetPos));

  if (!offsets.empty()) {
    if (batch->order) {
      OrderPopCounts counts =
          pop_.RecordOrderPop(key, batch->pop_time, batch->invisible_time,
                              offsets, batch->attempt_id);
      // The committed offset stays at the batch start until acks move it.
      pop_.CommitOffset(batch->group, topic, queue_id, start);
      for (size_t i = 0; i < offsets.size(); ++i) {
        AppendInfo(&batch->order_count_info,
                   std::to_string(flag) + " qo" + std::to_string(queue_id) +
                       "%" + std::to_string(offsets[i]) + " " +
                       std::to_string(counts.counts[i]));
      }
      AppendInfo(&batch->order_count_info,
                 std::to_string(flag) + " " + std::to_string(queue_id) + " " +
                     std::to_string(counts.min_count));
    } else {
      PopCheckPoint ck;
      ck.start_offset = start;
      ck.pop_time = batch->pop_time;
      ck.invisible_time = batch->invisible_time;
      ck.num = static_cast<int32_t>(offsets.size());
      ck.queue_id = queue_id;
      ck.topic = topic;
      ck.group = batch->group;
      ck.broker_name = context_.config.broker_name;
      for (int64_t o : offsets)
        ck.queue_offset_diff.push_back(static_cast<int32_t>(o - start));
      if (Status s = pop_.AddCheckPoint(std::move(ck), batch->revive_qid);
          !s.ok()) {
        TH_LOG(broker, kWarn, "pop: checkpoint for {} not written: {}", key,
               s.ToString());
        return;  // nothing handed out, the offset stays
      }
      pop_.CommitOffset(batch->group, topic, queue_id,
                        result.next_begin_offset);
    }
    if (FetchJournal* j = stats_.fetch_journal()) {
      j->Record(batch->group, topic, queue_id, offsets.front(),
                offsets.back() + 1, context_.clock.NowMs(),
                batch->connection_id, batch->remote_address,
                FetchJournal::Kind::kPop);
    }
    AppendInfo(&batch->start_offset_info, std::to_string(flag) + " " +
                                              std::to_string(queue_id) + " " +
                                              std::to_string(start));
    std::string list;
    for (size_t i = 0; i < offsets.size(); ++i) {
      if (i > 0) list += ',';
      list += std::to_string(offsets[i]);
    }
    AppendInfo(
        &batch->msg_offset_info,
        std::to_string(flag) + " " + std::to_string(queue_id) + " " + list);
    for (size_t i = 0; i < result.messages.size(); ++i) {
      store::SelectResult& m = result.messages[i];
      if (flag == pop::kNormalTopic) {
        batch->resp->AddBodySegment(m.bytes, std::move(m.file));
        continue;
      }
      // A retry-topic record goes out as a record of the normal topic with
      // its handle in POP_CK (§2.3).
      message::RecordCheck check = message::CheckRecord(m.bytes, false);
      if (check.status != message::RecordStatus::kOk) continue;
      const message::DecodedRecord& rec = check.record;
      remoting::PopExtraInfo handle;
      handle.ck_queue_offset = start;
      handle.pop_time = batch->pop_time;
      handle.invisible_time = batch->invisible_time;
      handle.revive_qid = batch->revive_qid;
      handle.retry_flag = flag;
      handle.broker_name = context_.config.broker_name;
      handle.queue_id = queue_id;
      handle.queue_offset = rec.queue_offset;
      auto props = message::ParseProperties(rec.properties);
      props[std::string(pop::kPropPopCk)] = handle.Encode();
      const std::string encoded_props = message::EncodeProperties(props);
      message::MessageToStore out;
      out.topic = batch->topic;
      out.queue_id = rec.queue_id;
      out.flag = rec.flag;
      out.sys_flag = rec.sys_flag;
      out.body = rec.body;
      out.properties = encoded_props;
      out.born_timestamp = rec.born_timestamp;
      out.born_host = rec.born_host;
      out.store_host = rec.store_host;
      out.reconsume_times = rec.reconsume_times;
      out.prepared_transaction_offset = rec.prepared_transaction_offset;
      auto bytes = std::make_shared<std::string>();
      if (!message::EncodeRecord(out, INT32_MAX, bytes.get()).ok()) continue;
      message::PatchInLockFields(reinterpret_cast<std::byte*>(bytes->data()),
                                 rec.queue_offset, rec.phys_offset,
                                 rec.store_timestamp);
      std::span<const std::byte> span(
          reinterpret_cast<const std::byte*>(bytes->data()), bytes->size());
      batch->resp->AddBodySegment(span, std::move(bytes));
    }
    batch->count += static_cast<int32_t>(offsets.size());
  } else if (result.next_begin_offset > start &&
             (result.status == S::kNoMatchedMessage ||
              result.status == S::kOffsetFoundNull ||
              result.status == S::kMessageWasRemoving ||
              result.status == S::kOffsetTooSmall ||
              result.status == S::kOffsetOverflowBadly)) {
    // Nothing matched the filter up to next_begin_offset: move past it (the
    // empty checkpoint of §2.3 step 6).
    pop_.CommitOffset(batch->group, topic, queue_id, result.next_begin_offset);
  }
  batch->rest_num +=
      std::max<int64_t>(0, max_offset - result.next_begin_offset);
}

}  // namespace thruster::broker
