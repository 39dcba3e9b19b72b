// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): spec/remoting.md §3.4.3.
#include "broker/pull_message_processor.h"

#include <algorithm>

#include "broker/fetch_journal.h"
#include "broker/metrics/broker_metrics.h"
#include "common/logging.h"
#include "remoting/pull_sys_flag.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;

// Clients ask for 15-20 s; a larger (or absurd) request is held at most this
// long.
constexpr int64_t kMaxSuspendMs = 600000;

int32_t PullResponseCode(store::GetMessageStatus s, int64_t requested_offset) {
  using S = store::GetMessageStatus;
  switch (s) {
    case S::kFound:
      return rc::kSuccess;
    case S::kNoMatchedMessage:
    case S::kMessageWasRemoving:
      return rc::kPullRetryImmediately;
    case S::kNoMessageInQueue:
    case S::kNoMatchedLogicQueue:
      return requested_offset == 0 ? rc::kPullNotFound : rc::kPullOffsetMoved;
    case S::kOffsetTooSmall:
    case S::kOffsetOverflowBadly:
      return rc::kPullOffsetMoved;
    case S::kOffsetOverflowOne:
    case S::kOffsetFoundNull:
      return rc::kPullNotFound;
  }
  return rc::kSystemError;
}

// Adds the found records to `resp` as body segments: records lying back to
// back in one CommitLog segment file (a queue written by one producer, a
// batch) become one segment, so one iovec. Of consecutive segments taken from
// one file only the last holds that file: segments are written (and released)
// in order, so the file outlives the bytes of the others.
void AddRecordSegments(std::vector<store::SelectResult>* messages,
                       RemotingCommand* resp) {
  const std::byte* run = nullptr;
  size_t run_size = 0;
  std::shared_ptr<store::MappedFile> run_file;
  for (store::SelectResult& m : *messages) {
    if (run != nullptr && m.file == run_file &&
        m.bytes.data() == run + run_size) {
      run_size += m.bytes.size();
      continue;
    }
    if (run != nullptr) {
      const bool same_file = m.file == run_file;
      resp->AddBodySegment(std::span(run, run_size),
                           same_file ? nullptr : std::move(run_file));
    }
    run = m.bytes.data();
    run_size = m.bytes.size();
    run_file = std::move(m.file);
  }
  if (run != nullptr)
    resp->AddBodySegment(std::span(run, run_size), std::move(run_file));
}

}  // namespace

PullMessageProcessor::PullMessageProcessor(
    const BrokerContext& context, store::MessageStore& store,
    TopicConfigManager& topics, ConsumerOffsetManager& offsets,
    ClientManager& clients, BrokerStats& stats, PullRequestHoldService& hold,
    SubscriptionGroupManager* groups)
    : context_(context),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      clients_(clients),
      stats_(stats),
      hold_(hold),
      groups_(groups) {}

void PullMessageProcessor::ProcessRequest(RemotingCommand request,
                                          remoting::Responder responder) {
  Pull(std::move(request), std::move(responder), true);
}

void PullMessageProcessor::ProcessHeld(HeldPull pull) {
  Pull(std::move(pull.request), std::move(pull.responder), false);
}

void PullMessageProcessor::Pull(RemotingCommand req, remoting::Responder r,
                                bool first) {
  auto fail = [&](int32_t code, std::string remark) {
    RemotingCommand resp = req.CreateResponse(code, std::move(remark));
    resp.SetExt("maxOffset", int64_t{0});
    resp.SetExt("minOffset", int64_t{0});
    resp.SetExt("nextBeginOffset", int64_t{0});
    resp.SetExt("suggestWhichBrokerId", int64_t{0});
    r.Send(std::move(resp));
  };
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  Result<int64_t> offset = req.RequireExtInt64("queueOffset");
  Result<int32_t> max_msgs = req.RequireExtInt32("maxMsgNums");
  Result<int32_t> sys_flag = req.RequireExtInt32("sysFlag");
  for (const Status& s :
       {group.status(), topic.status(), queue_id.status(), offset.status(),
        max_msgs.status(), sys_flag.status()}) {
    if (!s.ok()) return fail(rc::kSystemError, std::string(s.message()));
  }
  const int64_t suspend_ms = req.ExtInt64Or("suspendTimeoutMillis", 15000);
  const int64_t commit_offset = req.ExtInt64Or("commitOffset", -1);
  const int64_t max_bytes = req.ExtInt64Or("maxMsgBytes", INT32_MAX);

  if ((context_.config.broker_permission & remoting::kPermRead) == 0) {
    return fail(rc::kNoPermission, "the broker[" + context_.config.broker_name +
                                       "] pulling message is forbidden");
  }
  // The group's subscription config (RocketMQ's order: before the topic).
  if (groups_ != nullptr) {
    std::optional<SubscriptionGroupConfig> gc =
        groups_->FindOrAutoCreate(*group);
    if (!gc) {
      return fail(rc::kSubscriptionGroupNotExist,
                  "subscription group [" + std::string(*group) +
                      "] does not exist");
    }
    if (!gc->consume_enable) {
      return fail(rc::kNoPermission,
                  "subscription group no permission, " + std::string(*group));
    }
  }
  std::optional<remoting::TopicConfig> tc = topics_.Find(*topic);
  if (!tc)
    return fail(rc::kTopicNotExist, "topic[" + std::string(*topic) +
                                        "] not exist, apply first please!");
  if ((tc->perm & remoting::kPermRead) == 0) {
    return fail(rc::kNoPermission, "the topic[" + std::string(*topic) +
                                       "] pulling message is forbidden");
  }
  if (*queue_id < 0 || *queue_id >= tc->read_queue_nums) {
    return fail(rc::kInvalidParameter,
                "queueId[" + std::to_string(*queue_id) +
                    "] is illegal, topic:[" + std::string(*topic) +
                    "] topicConfig.readQueueNums:[" +
                    std::to_string(tc->read_queue_nums) + "]");
  }
  if (*max_msgs <= 0)
    return fail(rc::kInvalidParameter, "maxMsgNums must be positive");

  std::optional<SubscriptionData> sub;
  if ((*sys_flag & remoting::pull_sys_flag::kSubscription) != 0 &&
      req.ExtOr("expressionType", "TAG") == kExpressionTypeSql92) {
    sub = SubscriptionData::Sql92(*topic, req.ExtOr("subscription", ""));
  } else if ((*sys_flag & remoting::pull_sys_flag::kSubscription) != 0) {
    Result<SubscriptionData> built =
        SubscriptionData::Build(*topic, req.ExtOr("subscription", "*"),
                                req.ExtOr("expressionType", "TAG"));
    if (!built.ok()) {
      return fail(req.ExtOr("expressionType", "TAG") == "TAG"
                      ? rc::kSubscriptionParseFailed
                      : rc::kSystemError,
                  std::string(built.status().message()));
    }
    sub = std::move(built).value();
  } else {
    sub = clients_.FindSubscription(*group, *topic);
    if (!sub) {
      return fail(rc::kSubscriptionNotExist,
                  "the consumer's subscription of " + std::string(*topic) +
                      " in group " + std::string(*group) + " does not exist");
    }
    if (sub->sub_version < req.ExtInt64Or("subVersion", 0)) {
      return fail(rc::kSubscriptionNotLatest,
                  "the consumer's subscription is not latest");
    }
  }
  std::shared_ptr<const filter::SqlExpression> sql;
  if (sub->expression_type == kExpressionTypeSql92) {
    if (!context_.config.enable_property_filter) {
      return fail(rc::kSystemError,
                  "The broker does not support consumer to filter message by "
                  "SQL92");
    }
    auto compiled = sql_filters_.Get(*group, *topic, sub->sub_string);
    if (!compiled.ok()) {
      return fail(rc::kSubscriptionParseFailed,
                  std::string(compiled.status().message()));
    }
    sql = *compiled;
  }
  store::TagFilter filter;
  filter.codes = sub->codes;

  store::GetMessageResult result = store_.GetMessage(
      *group, *topic, *queue_id, *offset, *max_msgs, max_bytes, &filter);
  if (sql) filter::ApplySqlFilter(*sql, &result);
  int32_t code = PullResponseCode(result.status, *offset);
  // Master/slave steering (spec/ha.md §6.3, 4.x): a slave without
  // slaveReadEnable sends every pull back to the master at once; with it, a
  // consumer far behind is pointed at the group's slow-consumer broker.
  const bool slave = context_.config.broker_id != 0;
  int64_t suggest = 0;
  if (context_.config.slave_read_enable) {
    std::optional<SubscriptionGroupConfig> gc;
    if (groups_) gc = groups_->Find(*group);
    suggest = result.suggest_pulling_from_slave
                  ? (gc ? gc->which_broker_when_consume_slowly : 1)
                  : (gc ? gc->broker_id : 0);
  } else if (slave) {
    code = rc::kPullRetryImmediately;
  }

  if (code == rc::kPullNotFound && first && (*sys_flag & remoting::pull_sys_flag::kSuspend) != 0) {
    const int64_t hold_ms = context_.config.long_polling_enable
                                ? suspend_ms
                                : context_.config.short_polling_time_mills;
    if ((*sys_flag & remoting::pull_sys_flag::kCommitOffset) != 0 && commit_offset >= 0 &&
        context_.config.broker_id == 0) {
      offsets_.Commit(*group, *topic, *queue_id, commit_offset);
    }
    HeldPull held;
    held.topic = std::string(*topic);
    held.queue_id = *queue_id;
    held.offset = *offset;
    held.tag_codes = sub->codes;
    held.deadline_ns = context_.clock.MonotonicNs() +
                       std::clamp<int64_t>(hold_ms, 0, kMaxSuspendMs) * 1000000;
    held.request = std::move(req);
    held.responder = std::move(r);
    hold_.Suspend(std::move(held));
    return;
  }

  RemotingCommand resp = req.CreateResponse(
      code, std::string(store::GetMessageStatusName(result.status)));
  // In name order, so each field is appended to the sorted ExtFields.
  resp.SetExt("maxOffset", result.max_offset);
  resp.SetExt("minOffset", result.min_offset);
  resp.SetExt("nextBeginOffset", result.next_begin_offset);
  resp.SetExt("suggestWhichBrokerId", suggest);
  if (code == rc::kSuccess) {
    AddRecordSegments(&result.messages, &resp);
    stats_.AddGet(static_cast<int64_t>(result.messages.size()));
    if (metrics::BrokerMetrics* m = stats_.metrics()) {
      m->CountOut(*topic, *group, static_cast<int64_t>(result.messages.size()),
                  result.buffer_total_size);
    }
    if (FetchJournal* j = stats_.fetch_journal()) {
      std::shared_ptr<remoting::Connection> conn = r.connection();
      j->Record(*group, *topic, *queue_id, *offset, result.next_begin_offset,
                context_.clock.NowMs(), conn ? conn->id() : 0,
                conn ? std::string_view(conn->remote_address()) : "",
                FetchJournal::Kind::kPull);
    }
  }
  if (first && (*sys_flag & remoting::pull_sys_flag::kCommitOffset) != 0 && commit_offset >= 0 &&
      context_.config.broker_id == 0) {
    offsets_.Commit(*group, *topic, *queue_id, commit_offset);
  }
  offsets_.SetPullOffset(*group, *topic, *queue_id, result.next_begin_offset);
  r.Send(std::move(resp));
}

}  // namespace thruster::broker
