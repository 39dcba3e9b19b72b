// Pop bookkeeping and revive: spec/pop.md §2.6, §5, §6, §7.
#include "broker/pop_service.h"

#include <algorithm>
#include <limits>

#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/pop_protocol.h"

namespace thruster::broker {
namespace {

namespace prop = message::prop;

std::string_view BodyView(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

PopService::PopService(const BrokerContext& context, store::MessageStore& store,
                       TopicConfigManager& topics,
                       ConsumerOffsetManager& offsets,
                       SubscriptionGroupManager* groups)
    : ServiceThread("pop-revive"),
      context_(context),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      groups_(groups),
      revive_topic_(ReviveTopic(context.config.broker_cluster_name)),
      revive_queue_num_(context.config.revive_queue_num) {}

PopService::~PopService() { Stop(); }

Status PopService::Load() {
  Result<std::pair<remoting::TopicConfig, bool>> t =
      topics_.FindOrCreate(revive_topic_, revive_queue_num_,
                           remoting::kPermRead | remoting::kPermWrite);
  if (!t.ok()) return t.status();
  for (int32_t q = 0; q < revive_queue_num_; ++q) Replay(q);
  CommitReviveProgress();
  return Status::OK();
}

int32_t PopService::NextReviveQid() {
  MutexLock lock(&mu_);
  return static_cast<int32_t>(revive_counter_++ % revive_queue_num_);
}

bool PopService::TryLockQueue(const std::string& key) {
  MutexLock lock(&mu_);
  return locked_queues_.insert(key).second;
}

void PopService::UnlockQueue(const std::string& key) {
  MutexLock lock(&mu_);
  locked_queues_.erase(key);
}

int64_t PopService::PopStartOffset(std::string_view group,
                                   std::string_view topic, int32_t queue_id,
                                   int32_t init_mode) {
  if (std::optional<int64_t> o = offsets_.Query(group, topic, queue_id))
    return *o;
  const int64_t min = store_.GetMinOffsetInQueue(topic, queue_id);
  const int64_t max = store_.GetMaxOffsetInQueue(topic, queue_id);
  int64_t init = min;
  if (init_mode == 1 && !topic.starts_with(kRetryGroupTopicPrefix)) {
    // MAX: the newest existing message, or 0 for a queue still starting at 0
    // (initPopOffsetByCheckMsgInMem).
    init = min == 0 ? 0 : std::max<int64_t>(max - 1, 0);
  }
  offsets_.Commit(group, topic, queue_id, init);
  return init;
}

Result<int64_t> PopService::PutReviveRecord(int32_t revive_qid,
                                            std::string_view tag,
                                            const std::string& body,
                                            const std::string& uniq_key,
                                            int64_t deliver_ms) {
  const std::string props = message::EncodeProperties(
      {{std::string(prop::kTags), std::string(tag)},
       {std::string(prop::kUniqKey), uniq_key},
       {std::string(kPropTimerDeliverMs), std::to_string(deliver_ms)}});
  message::MessageToStore m;
  m.topic = revive_topic_;
  m.queue_id = revive_qid;
  m.body = std::as_bytes(std::span(body.data(), body.size()));
  m.properties = props;
  m.born_timestamp = context_.clock.NowMs();
  m.born_host = context_.store_host;
  m.store_host = context_.store_host;
  store::PutResult put = store_.PutMessage(m);
  if (!put.ok()) {
    return Status::IOError(
        "writing a " + std::string(tag) + " record to " + revive_topic_, 0);
  }
  return put.queue_offset;
}

Status PopService::AddCheckPoint(PopCheckPoint ck, int32_t revive_qid) {
  if (ck.num <= 0) return Status::OK();
  const std::string uniq = ck.topic + "@" + std::to_string(ck.queue_id) + "@" +
                           std::to_string(ck.start_offset) + "@" + ck.group +
                           "@" + std::to_string(ck.pop_time) + "@" +
                           ck.broker_name + "@ck";
  Result<int64_t> ro = PutReviveRecord(revive_qid, kCkTag, ck.EncodeJson(),
                                       uniq, ck.ReviveTime() - 1000);
  if (!ro.ok()) return ro.status();
  Pending p;
  p.revive_qid = revive_qid;
  p.revive_offset = *ro;
  p.ck = std::move(ck);
  MutexLock lock(&mu_);
  std::string key = p.ck.Key();
  pending_[std::move(key)] = std::move(p);
  return Status::OK();
}

void PopService::ApplyAckLocked(const AckMsg& ack) {
  auto it = pending_.find(ack.Key());
  if (it == pending_.end()) return;
  for (int64_t o : ack.ack_offsets) {
    const int i = it->second.ck.IndexOf(o);
    if (i >= 0) it->second.acked |= uint64_t{1} << i;
  }
  if (it->second.AllAcked()) pending_.erase(it);
}

Result<bool> PopService::Ack(const AckMsg& ack, int32_t revive_qid,
                             int64_t revive_time, bool batch) {
  std::string uniq = ack.topic + "@" + std::to_string(ack.queue_id) + "@";
  if (batch) {
    uniq += "[";
    for (size_t i = 0; i < ack.ack_offsets.size(); ++i) {
      if (i > 0) uniq += ", ";
      uniq += std::to_string(ack.ack_offsets[i]);
    }
    uniq += "]@" + ack.group + "@" + std::to_string(ack.pop_time) + "@bAck";
  } else {
    uniq += std::to_string(ack.ack_offsets.empty() ? -1 : ack.ack_offsets[0]) +
            "@" + ack.group + "@" + std::to_string(ack.pop_time) + "@" +
            ack.broker_name + "@ack";
  }
  bool pending;
  {
    MutexLock lock(&mu_);
    pending = pending_.count(ack.Key()) > 0;
  }
  if (!pending) return false;
  Result<int64_t> put =
      PutReviveRecord(revive_qid, batch ? kBatchAckTag : kAckTag,
                      ack.EncodeJson(batch), uniq, revive_time);
  if (!put.ok()) return put.status();
  MutexLock lock(&mu_);
  ApplyAckLocked(ack);
  return true;
}

void PopService::Replay(int32_t revive_qid) {
  int64_t offset =
      offsets_.Query(kReviveGroup, revive_topic_, revive_qid).value_or(0);
  offset =
      std::max(offset, store_.GetMinOffsetInQueue(revive_topic_, revive_qid));
  const int64_t max = store_.GetMaxOffsetInQueue(revive_topic_, revive_qid);
  int cks = 0;
  while (offset < max) {
    store::GetMessageResult r = store_.GetMessage(
        kReviveGroup, revive_topic_, revive_qid, offset, 32, INT32_MAX);
    if (r.messages.empty()) {
      if (r.next_begin_offset <= offset) break;
      offset = r.next_begin_offset;
      continue;
    }
    for (const store::SelectResult& sel : r.messages) {
      message::RecordCheck check = message::CheckRecord(sel.bytes, false);
      if (check.status != message::RecordStatus::kOk) continue;
      const message::DecodedRecord& rec = check.record;
      std::optional<std::string_view> tag =
          message::FindProperty(rec.properties, prop::kTags);
      if (!tag) continue;
      if (*tag == kCkTag) {
        Result<PopCheckPoint> ck =
            PopCheckPoint::DecodeJson(BodyView(rec.body));
        if (!ck.ok() || ck->num <= 0) continue;
        // Never hand out again, from the queue itself, what this checkpoint
        // covers (the group offset may be older than the checkpoint).
        const int64_t end =
            ck->QueueOffset(static_cast<size_t>(ck->num - 1)) + 1;
        std::optional<int64_t> committed =
            offsets_.Query(ck->group, ck->topic, ck->queue_id);
        if (!committed || *committed < end)
          offsets_.Commit(ck->group, ck->topic, ck->queue_id, end);
        Pending p;
        p.revive_qid = revive_qid;
        p.revive_offset = rec.queue_offset;
        p.ck = std::move(ck).value();
        MutexLock lock(&mu_);
        std::string key = p.ck.Key();
        pending_[std::move(key)] = std::move(p);
        ++cks;
      } else if (*tag == kAckTag || *tag == kBatchAckTag) {
        Result<AckMsg> ack = AckMsg::DecodeJson(BodyView(rec.body));
        if (!ack.ok()) continue;
        MutexLock lock(&mu_);
        ApplyAckLocked(*ack);
      }
    }
    offset = r.next_begin_offset;
  }
  if (cks > 0) {
    TH_LOG(broker, kInfo, "pop: revive queue {} replayed, {} checkpoints read",
           revive_qid, cks);
  }
}

void PopService::CommitReviveProgress() {
  std::vector<int64_t> oldest(static_cast<size_t>(revive_queue_num_),
                              std::numeric_limits<int64_t>::max());
  {
    MutexLock lock(&mu_);
    for (const auto& [key, p] : pending_) {
      auto& o = oldest[static_cast<size_t>(p.revive_qid)];
      o = std::min(o, p.revive_offset);
    }
  }
  for (int32_t q = 0; q < revive_queue_num_; ++q) {
    int64_t o = oldest[static_cast<size_t>(q)];
    if (o == std::numeric_limits<int64_t>::max())
      o = store_.GetMaxOffsetInQueue(revive_topic_, q);
    offsets_.Commit(kReviveGroup, revive_topic_, q, o);
  }
}

bool PopService::ReviveMessage(const PopCheckPoint& ck, int64_t offset) {
  store::GetMessageResult r =
      store_.GetMessage(ck.group, ck.topic, ck.queue_id, offset, 1, INT32_MAX);
  if (r.messages.empty()) {
    // Gone (deleted with its segment) or never there: nothing to revive.
    TH_LOG(broker, kWarn, "pop: revive of {}/{}/{} found no message ({})",
           ck.topic, ck.queue_id, offset,
           store::GetMessageStatusName(r.status));
    return true;
  }
  message::RecordCheck check = message::CheckRecord(r.messages[0].bytes, false);
  if (check.status != message::RecordStatus::kOk ||
      check.record.queue_offset != offset)
    return true;
  const message::DecodedRecord& rec = check.record;
  const int32_t reconsume = rec.reconsume_times + 1;
  int32_t max_times = context_.config.retry_max_times;
  if (groups_ != nullptr) {
    if (std::optional<SubscriptionGroupConfig> g = groups_->Find(ck.group))
      max_times = g->retry_max_times;
  }
  const bool to_dlq = reconsume > max_times;
  const std::string topic =
      to_dlq ? DlqTopic(ck.group) : PopRetryTopic(ck.group, ck.topic);
  if (!topics_
           .FindOrCreate(topic, 1, remoting::kPermRead | remoting::kPermWrite)
           .ok())
    return false;
  if (!to_dlq && !offsets_.Query(ck.group, topic, 0))
    offsets_.Commit(ck.group, topic, 0, 0);
  auto props = message::ParseProperties(rec.properties);
  if (rec.reconsume_times == 0 ||
      props.find(remoting::pop::kPropFirstPopTime) == props.end())
    props[std::string(remoting::pop::kPropFirstPopTime)] =
        std::to_string(ck.pop_time);
  props.erase(std::string(remoting::pop::kPropPopCk));
  const std::string encoded = message::EncodeProperties(props);
  message::MessageToStore m;
  m.topic = topic;
  m.queue_id = 0;
  m.flag = rec.flag;
  m.sys_flag = rec.sys_flag;
  m.body = rec.body;
  m.properties = encoded;
  m.born_timestamp = rec.born_timestamp;
  m.born_host = context_.store_host;
  m.store_host = context_.store_host;
  m.reconsume_times = reconsume;
  store::PutResult put = store_.PutMessage(m);
  if (!put.ok()) {
    TH_LOG(broker, kWarn, "pop: reviving {}/{}/{} into {} failed: {}", ck.topic,
           ck.queue_id, offset, topic, put.error);
    return false;
  }
  return true;
}

int PopService::ReviveOnce() {
  MutexLock revive_lock(&revive_mu_);
  const int64_t now = context_.clock.NowMs();
  std::vector<Pending> due;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, p] : pending_) {
      if (p.ck.ReviveTime() <= now) due.push_back(p);
    }
  }
  int revived = 0;
  for (const Pending& p : due) {
    AckMsg done;
    done.start_offset = p.ck.start_offset;
    done.group = p.ck.group;
    done.topic = p.ck.topic;
    done.queue_id = p.ck.queue_id;
    done.pop_time = p.ck.pop_time;
    done.broker_name = p.ck.broker_name;
    bool failed = false;
    for (int i = 0; i < p.ck.num; ++i) {
      if ((p.acked >> i) & 1) continue;
      {
        // An ack may have come in since `due` was taken.
        MutexLock lock(&mu_);
        auto it = pending_.find(p.ck.Key());
        if (it == pending_.end() || ((it->second.acked >> i) & 1)) continue;
      }
      const int64_t offset = p.ck.QueueOffset(static_cast<size_t>(i));
      if (!ReviveMessage(p.ck, offset)) {
        failed = true;
        continue;
      }
      ++revived;
      done.ack_offsets.push_back(offset);
    }
    if (done.ack_offsets.empty() && failed) continue;
    // Revived offsets are done: record it, so a replay does not revive them
    // again.
    if (!done.ack_offsets.empty()) {
      Ack(done, p.revive_qid, p.ck.ReviveTime(), true).status().IgnoreError();
    }
    if (!failed) {
      MutexLock lock(&mu_);
      pending_.erase(p.ck.Key());
    }
  }
  if (!due.empty()) CommitReviveProgress();
  return revived;
}

size_t PopService::PendingCheckPointsForTesting() const {
  MutexLock lock(&mu_);
  return pending_.size();
}

void PopService::Run() {
  while (!stopped()) {
    WaitForRunning(context_.config.revive_interval);
    if (stopped()) break;
    ReviveOnce();
  }
}

bool PopService::OrderBlockedLocked(const OrderInfo& info, int64_t now_ms,
                                    std::string_view attempt_id) {
  if (!attempt_id.empty() && attempt_id == info.attempt_id) return false;
  for (size_t i = 0; i < info.offsets.size(); ++i) {
    if (!info.acked[i] && info.next_visible[i] > now_ms) return true;
  }
  return false;
}

bool PopService::OrderBlocked(const std::string& key, int64_t now_ms,
                              std::string_view attempt_id) {
  MutexLock lock(&mu_);
  auto it = order_.find(key);
  return it != order_.end() &&
         OrderBlockedLocked(it->second, now_ms, attempt_id);
}

OrderPopCounts PopService::RecordOrderPop(const std::string& key,
                                          int64_t pop_time,
                                          int64_t invisible_time,
                                          const std::vector<int64_t>& offsets,
                                          std::string attempt_id) {
  MutexLock lock(&mu_);
  OrderInfo& old = order_[key];
  OrderInfo next;
  next.pop_time = pop_time;
  next.invisible_time = invisible_time;
  next.offsets = offsets;
  next.acked.assign(offsets.size(), false);
  next.next_visible.assign(offsets.size(), pop_time + invisible_time);
  next.attempt_id = std::move(attempt_id);
  OrderPopCounts out;
  out.min_count = std::numeric_limits<int32_t>::max();
  for (int64_t o : offsets) {
    int32_t count = 0;
    for (size_t j = 0; j < old.offsets.size(); ++j) {
      if (old.offsets[j] == o) count = old.counts[j] + 1;
    }
    next.counts.push_back(count);
    out.counts.push_back(count);
    out.min_count = std::min(out.min_count, count);
  }
  if (offsets.empty()) out.min_count = 0;
  old = std::move(next);
  return out;
}

Result<std::optional<int64_t>> PopService::AckOrderly(const std::string& key,
                                                      int64_t offset,
                                                      int64_t pop_time) {
  MutexLock lock(&mu_);
  auto it = order_.find(key);
  if (it == order_.end()) return Status::NotFound("no orderly pop of " + key);
  OrderInfo& info = it->second;
  if (info.pop_time != pop_time) return std::optional<int64_t>();
  auto pos = std::find(info.offsets.begin(), info.offsets.end(), offset);
  if (pos == info.offsets.end())
    return Status::NotFound("offset " + std::to_string(offset) +
                            " is not part of the orderly pop of " + key);
  info.acked[static_cast<size_t>(pos - info.offsets.begin())] = true;
  for (size_t i = 0; i < info.offsets.size(); ++i) {
    if (!info.acked[i]) return std::optional<int64_t>(info.offsets[i]);
  }
  return std::optional<int64_t>(info.offsets.back() + 1);
}

Result<int64_t> PopService::ChangeOrderlyInvisible(const std::string& key,
                                                   int64_t offset,
                                                   int64_t next_visible_ms) {
  MutexLock lock(&mu_);
  auto it = order_.find(key);
  if (it == order_.end()) return Status::NotFound("no orderly pop of " + key);
  OrderInfo& info = it->second;
  auto pos = std::find(info.offsets.begin(), info.offsets.end(), offset);
  if (pos == info.offsets.end())
    return Status::NotFound("offset " + std::to_string(offset) +
                            " is not part of the orderly pop of " + key);
  info.next_visible[static_cast<size_t>(pos - info.offsets.begin())] =
      next_visible_ms;
  return info.pop_time;
}

}  // namespace thruster::broker
