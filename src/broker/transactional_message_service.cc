// Half messages, op records and the check-back pass: spec/transactions.md §2,
// §4, §5, §6.
#include "broker/transactional_message_service.h"

#include <algorithm>
#include <charconv>

#include "common/coding.h"
#include "common/logging.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "store/put_outcome.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
using PropertyMap = std::map<std::string, std::string, std::less<>>;

// Op records are read this many at a time.
constexpr int32_t kOpBatch = 32;

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Get(const PropertyMap& m, std::string_view name) {
  auto it = m.find(name);
  return it == m.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace

bool IsPreparedMessage(std::string_view properties, int32_t reconsume_times) {
  std::optional<std::string_view> tran =
      message::FindProperty(properties, txn_prop::kTranMsg);
  if (!tran) return false;
  return IsPreparedMessage(
      tran,
      reconsume_times > 0
          ? message::FindProperty(properties, message::prop::kDelay)
          : std::nullopt,
      reconsume_times);
}

bool IsPreparedMessage(std::optional<std::string_view> tran,
                       std::optional<std::string_view> delay,
                       int32_t reconsume_times) {
  if (!tran || !EqualsIgnoreCase(*tran, "true")) return false;
  if (reconsume_times > 0) {
    if (delay) {
      std::optional<int64_t> level = ParseInt64(*delay);
      if (level && *level > 0) return false;
    }
  }
  return true;
}

Status PrepareHalfMessage(TopicConfigManager& topics,
                          message::MessageToStore* msg,
                          std::string* properties) {
  if (!topics.Find(kTransHalfTopic)) {
    Result<std::pair<remoting::TopicConfig, bool>> tc = topics.FindOrCreate(
        kTransHalfTopic, 1, remoting::kPermRead | remoting::kPermWrite);
    if (!tc.ok()) return tc.status();
  }
  PropertyMap props = message::ParseProperties(msg->properties);
  if (auto u = props.find(message::prop::kUniqKey); u != props.end())
    props[std::string(txn_prop::kTransactionId)] = u->second;
  props[std::string(message::prop::kRealTopic)] = std::string(msg->topic);
  props[std::string(message::prop::kRealQueueId)] =
      std::to_string(msg->queue_id);
  *properties = message::EncodeProperties(props);
  msg->properties = *properties;
  msg->sys_flag = (msg->sys_flag & ~message::sysflag::kTransactionMask) |
                  message::sysflag::kTransactionNotType;
  msg->topic = kTransHalfTopic;
  msg->queue_id = 0;
  return Status::OK();
}

TransactionalMessageService::TransactionalMessageService(
    const BrokerContext& context, store::MessageStore& store,
    TopicConfigManager& topics, ConsumerOffsetManager& offsets,
    TransactionCheckSender sender, TransactionCheckOptions options)
    : context_(context),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      sender_(std::move(sender)),
      options_(options) {}

void TransactionalMessageService::MarkDone(int32_t queue_id,
                                           int64_t half_queue_offset) {
  {
    MutexLock lock(&op_mu_);
    queued_ops_[queue_id].push_back(half_queue_offset);
  }
  if (on_queued_) on_queued_();
}

bool TransactionalMessageService::HasQueuedOps() const {
  MutexLock lock(&op_mu_);
  return !queued_ops_.empty();
}

Status TransactionalMessageService::WriteOps() {
  MutexLock write_lock(&write_mu_);
  std::map<int32_t, std::vector<int64_t>> ops;
  {
    MutexLock lock(&op_mu_);
    ops.swap(queued_ops_);
  }
  if (ops.empty()) return Status::OK();
  if (!topics_.Find(kTransOpHalfTopic)) {
    Result<std::pair<remoting::TopicConfig, bool>> tc = topics_.FindOrCreate(
        kTransOpHalfTopic, 1, remoting::kPermRead | remoting::kPermWrite);
    if (!tc.ok()) {
      MutexLock lock(&op_mu_);
      for (auto& [q, offs] : ops)
        queued_ops_[q].insert(queued_ops_[q].begin(), offs.begin(), offs.end());
      return tc.status();
    }
  }
  const std::string properties = message::EncodeProperties(
      {{std::string(message::prop::kTags), std::string(kTransOpTag)}});
  Status first_error;
  for (auto& [queue_id, offsets] : ops) {
    std::string body;
    for (int64_t off : offsets) {
      body += std::to_string(off);
      body += ',';
    }
    message::MessageToStore msg;
    msg.topic = kTransOpHalfTopic;
    msg.queue_id = queue_id;
    msg.body = AsBytes(body);
    msg.properties = properties;
    msg.born_timestamp = context_.clock.NowMs();
    msg.born_host = context_.store_host;
    msg.store_host = context_.store_host;
    store::PutResult r = store_.PutMessage(msg);
    if (store::IsStored(r)) continue;
    TH_LOG(broker, kWarn, "writing op record {} of half queue {} failed: {}",
           body, queue_id, store::PutStatusName(r.status));
    if (first_error.ok())
      first_error = Status::IOError("op record: " + r.error);
    MutexLock lock(&op_mu_);
    queued_ops_[queue_id].insert(queued_ops_[queue_id].begin(), offsets.begin(),
                                 offsets.end());
  }
  return first_error;
}

std::optional<store::SelectResult> TransactionalMessageService::ReadOne(
    std::string_view topic, int32_t queue_id, int64_t offset,
    int64_t* next_offset) {
  store::GetMessageResult r =
      store_.GetMessage(kTransSysGroup, topic, queue_id, offset, 1, 1 << 30);
  *next_offset = r.next_begin_offset;
  if (r.status != store::GetMessageStatus::kFound || r.messages.empty())
    return std::nullopt;
  return std::move(r.messages.front());
}

int TransactionalMessageService::CheckOnce() {
  MutexLock lock(&check_mu_);
  const int64_t start_ms = context_.clock.NowMs();
  std::optional<remoting::TopicConfig> half = topics_.Find(kTransHalfTopic);
  if (!half) return 0;
  int checks = 0;
  for (int32_t q = 0; q < std::max(1, half->read_queue_nums); ++q)
    checks += CheckQueue(q, start_ms);
  return checks;
}

int TransactionalMessageService::CheckQueue(int32_t queue_id,
                                            int64_t start_ms) {
  const int64_t half_max =
      store_.GetMaxOffsetInQueue(kTransHalfTopic, queue_id);
  const int64_t half_off =
      offsets_.Query(kTransSysGroup, kTransHalfTopic, queue_id)
          .value_or(store_.GetMinOffsetInQueue(kTransHalfTopic, queue_id));
  if (half_off >= half_max) return 0;
  const int64_t op_max =
      store_.GetMaxOffsetInQueue(kTransOpHalfTopic, queue_id);
  const int64_t op_off =
      offsets_.Query(kTransSysGroup, kTransOpHalfTopic, queue_id)
          .value_or(store_.GetMinOffsetInQueue(kTransOpHalfTopic, queue_id));

  // Every op record up to the op queue's end (spec §5 step 2; loading them
  // all at once means each half message is asked about only once every op
  // record written before the pass has been seen).
  std::map<int64_t, int64_t> removed;  // half queue offset → op queue offset
  std::map<int64_t, OpState> ops;      // op queue offset → state
  for (int64_t off = op_off; off < op_max;) {
    store::GetMessageResult r = store_.GetMessage(
        kTransSysGroup, kTransOpHalfTopic, queue_id, off, kOpBatch, 1 << 30);
    if (r.status != store::GetMessageStatus::kFound || r.messages.empty()) {
      if (r.next_begin_offset <= off) break;
      off = r.next_begin_offset;
      continue;
    }
    for (const store::SelectResult& sr : r.messages) {
      message::RecordCheck c = message::CheckRecord(sr.bytes, false);
      if (c.status != message::RecordStatus::kOk) continue;
      const int64_t op_offset = c.record.queue_offset;
      OpState& st = ops[op_offset];
      std::optional<std::string_view> tag =
          message::FindProperty(c.record.properties, message::prop::kTags);
      if (!tag || *tag != kTransOpTag) {
        TH_LOG(broker, kWarn, "op record at op offset {} has tag {}: ignored",
               op_offset, tag.value_or(""));
        continue;
      }
      std::string_view body = AsStringView(c.record.body);
      while (!body.empty()) {
        size_t comma = body.find(',');
        std::string_view item = body.substr(0, comma);
        body.remove_prefix(comma == std::string_view::npos ? body.size()
                                                           : comma + 1);
        std::optional<int64_t> v = ParseInt64(item);
        if (!v || *v < half_off) continue;
        if (removed.emplace(*v, op_offset).second) ++st.pending;
      }
    }
    off = r.next_begin_offset;
  }
  auto resolve = [&](std::map<int64_t, int64_t>::iterator it) {
    --ops[it->second].pending;
    removed.erase(it);
  };

  int checks = 0;
  int misses = 0;
  int64_t i = half_off;
  while (i < half_max) {
    if (auto it = removed.find(i); it != removed.end()) {
      resolve(it);
      ++i;
      continue;
    }
    int64_t next = i + 1;
    std::optional<store::SelectResult> sr =
        ReadOne(kTransHalfTopic, queue_id, i, &next);
    message::RecordCheck c;
    if (sr) c = message::CheckRecord(sr->bytes, false);
    if (!sr || c.status != message::RecordStatus::kOk) {
      if (++misses >= 2) break;
      i = std::max(i + 1, next);
      continue;
    }
    const message::DecodedRecord& rec = c.record;
    PropertyMap props = message::ParseProperties(rec.properties);
    const int64_t now = context_.clock.NowMs();
    const int64_t times =
        ParseInt64(Get(props, txn_prop::kCheckTimes)).value_or(0);
    const int64_t reserved_ms =
        int64_t{store_.config().file_reserved_time} * 3600 * 1000;
    if (times >= options_.transaction_check_max ||
        now - rec.born_timestamp > reserved_ms) {
      Discard(rec);
      ++i;
      continue;
    }
    if (rec.store_timestamp >= start_ms) break;
    const int64_t age = now - rec.born_timestamp;
    const bool has_immunity = props.count(txn_prop::kCheckImmunity) != 0;
    int64_t immunity = options_.transaction_timeout_ms;
    if (has_immunity) {
      std::optional<int64_t> s =
          ParseInt64(Get(props, txn_prop::kCheckImmunity));
      if (s) immunity = *s * 1000;
    }
    if (has_immunity && age < immunity) {
      // Still immune: cycle it to the queue's tail (spec §5 step 3).
      std::optional<int64_t> prepared =
          ParseInt64(Get(props, txn_prop::kPreparedQueueOffset));
      if (prepared) {
        if (auto it = removed.find(*prepared); it != removed.end()) {
          resolve(it);
          ++i;
          continue;
        }
      }
      props[std::string(txn_prop::kPreparedQueueOffset)] =
          std::to_string(prepared.value_or(i));
      if (!Renew(rec, message::EncodeProperties(props)).ok()) break;
      ++i;
      continue;
    }
    if (!has_immunity && age >= 0 && age < options_.transaction_timeout_ms)
      break;  // later records are younger
    if (!(age > immunity || age <= -1)) break;
    props[std::string(txn_prop::kCheckTimes)] = std::to_string(times + 1);
    const std::string properties = message::EncodeProperties(props);
    store::PutResult copy = Renew(rec, properties);
    if (!store::IsStored(copy)) {
      TH_LOG(broker, kWarn, "re-appending half message {} failed: {}", i,
             store::PutStatusName(copy.status));
      break;  // retried next pass
    }
    if (SendCheck(rec, props, properties, copy)) ++checks;
    ++i;
  }

  offsets_.Commit(kTransSysGroup, kTransHalfTopic, queue_id, i);
  int64_t new_op_off = op_off;
  for (const auto& [off, st] : ops) {
    if (off != new_op_off || st.pending > 0) break;
    ++new_op_off;
  }
  if (new_op_off != op_off ||
      !offsets_.Query(kTransSysGroup, kTransOpHalfTopic, queue_id))
    offsets_.Commit(kTransSysGroup, kTransOpHalfTopic, queue_id, new_op_off);
  return checks;
}

store::PutResult TransactionalMessageService::Renew(
    const message::DecodedRecord& rec, const std::string& properties) {
  message::MessageToStore msg;
  msg.topic = rec.topic;
  msg.queue_id = rec.queue_id;
  msg.flag = rec.flag;
  msg.sys_flag = rec.sys_flag;
  msg.body = rec.body;
  msg.properties = properties;
  msg.born_timestamp = rec.born_timestamp;
  msg.born_host = rec.born_host;
  msg.store_host = context_.store_host;
  msg.reconsume_times = rec.reconsume_times;
  msg.prepared_transaction_offset = rec.prepared_transaction_offset;
  return store_.PutMessage(msg);
}

void TransactionalMessageService::Discard(const message::DecodedRecord& rec) {
  Result<std::pair<remoting::TopicConfig, bool>> tc = topics_.FindOrCreate(
      kTransCheckMaxTimeTopic, 1, remoting::kPermRead | remoting::kPermWrite);
  if (tc.ok() && tc->second) context_.request_registration();
  message::MessageToStore msg;
  msg.topic = kTransCheckMaxTimeTopic;
  msg.queue_id = 0;
  msg.flag = rec.flag;
  msg.sys_flag = rec.sys_flag;
  msg.body = rec.body;
  msg.properties = rec.properties;
  msg.born_timestamp = rec.born_timestamp;
  msg.born_host = rec.born_host;
  msg.store_host = context_.store_host;
  msg.reconsume_times = rec.reconsume_times;
  store::PutResult r = store_.PutMessage(msg);
  TH_LOG(broker, kWarn,
         "half message at half offset {} (phys {}, {} {}) was checked too "
         "often or is too old: moved to {} ({})",
         rec.queue_offset, rec.phys_offset, message::prop::kUniqKey,
         message::FindProperty(rec.properties, message::prop::kUniqKey)
             .value_or(""),
         kTransCheckMaxTimeTopic, store::PutStatusName(r.status));
}

bool TransactionalMessageService::SendCheck(const message::DecodedRecord& rec,
                                            const PropertyMap& props,
                                            const std::string& properties,
                                            const store::PutResult& copy) {
  const std::string group(Get(props, txn_prop::kProducerGroup));
  const std::string real_topic(Get(props, message::prop::kRealTopic));
  const int32_t real_qid = static_cast<int32_t>(
      ParseInt64(Get(props, message::prop::kRealQueueId)).value_or(0));
  const std::string uniq_key(Get(props, message::prop::kUniqKey));

  // The body: the copy as a stored record, with the real topic and queue
  // (spec §6.2).
  message::MessageToStore m;
  m.topic = real_topic.empty() ? rec.topic : std::string_view(real_topic);
  m.queue_id = real_qid;
  m.flag = rec.flag;
  m.sys_flag = rec.sys_flag;
  m.body = rec.body;
  m.properties = properties;
  m.born_timestamp = rec.born_timestamp;
  m.born_host = rec.born_host;
  m.store_host = context_.store_host;
  m.reconsume_times = rec.reconsume_times;
  m.prepared_transaction_offset = rec.prepared_transaction_offset;
  std::string body;
  Result<int32_t> size =
      message::EncodeRecord(m, store_.config().max_message_size, &body);
  if (!size.ok()) {
    TH_LOG(broker, kWarn, "check of half offset {} not sent: {}",
           copy.queue_offset, size.status().ToString());
    return false;
  }
  message::PatchInLockFields(reinterpret_cast<std::byte*>(body.data()),
                             copy.queue_offset, copy.phys_offset,
                             copy.store_timestamp);

  RemotingCommand req = RemotingCommand::CreateRequest(
      remoting::request_code::kCheckTransactionState);
  req.SetExt("tranStateTableOffset", copy.queue_offset);
  req.SetExt("commitLogOffset", copy.phys_offset);
  req.SetExt("msgId", uniq_key);
  req.SetExt("transactionId", uniq_key);
  req.SetExt("offsetMsgId",
             message::CreateMessageId(context_.store_host, copy.phys_offset));
  // The real topic (spec §9 item 4).
  req.SetExt("topic", real_topic);
  req.SetExt("bname", context_.config.broker_name);
  req.set_body(std::string_view(body));
  Status s = sender_ ? sender_(group, std::move(req))
                     : Status::NotFound("no check sender");
  if (!s.ok()) {
    TH_LOG(broker, kDebug, "check of {} (half offset {}) not sent: {}",
           uniq_key, copy.queue_offset, s.ToString());
    return false;
  }
  return true;
}

bool TransactionalMessageService::BeginCommit(std::string_view uniq_key) {
  if (uniq_key.empty()) return true;
  MutexLock lock(&commit_mu_);
  if (!committed_.emplace(uniq_key).second) return false;
  committed_order_.emplace_back(uniq_key);
  if (committed_order_.size() > kCommittedKeys) {
    committed_.erase(committed_order_.front());
    committed_order_.pop_front();
  }
  return true;
}

void TransactionalMessageService::AbortCommit(std::string_view uniq_key) {
  if (uniq_key.empty()) return;
  MutexLock lock(&commit_mu_);
  if (auto it = committed_.find(uniq_key); it != committed_.end())
    committed_.erase(it);
  // Its entry in committed_order_ stays; erasing a key twice is harmless.
}

}  // namespace thruster::broker
