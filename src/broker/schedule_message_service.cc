#include "broker/schedule_message_service.h"

#include <algorithm>

#include "broker/transactional_message_service.h"
#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/json.h"
#include "store/put_outcome.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;
namespace prop = message::prop;

constexpr int64_t kDeliverRetryAfterFailureMs = 100;

bool ValidOffsetJson(const std::string& text) {
  Result<json::Value> v = json::Parse(text);
  return v.ok() && v->is_object();
}

}  // namespace

void SetProperty(std::string* props, std::string_view name,
                 std::string_view value) {
  std::string out;
  out.reserve(props->size() + name.size() + value.size() + 2);
  std::string_view rest(*props);
  while (!rest.empty()) {
    size_t end = rest.find(message::kPropertySeparator);
    std::string_view pair =
        rest.substr(0, end == std::string_view::npos ? rest.size() : end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    size_t sep = pair.find(message::kNameValueSeparator);
    if (pair.empty() ||
        (sep != std::string_view::npos && pair.substr(0, sep) == name))
      continue;
    out.append(pair);
    out.push_back(message::kPropertySeparator);
  }
  message::AppendProperty(&out, name, value);
  *props = std::move(out);
}

bool IsDelayed(std::string_view props) {
  std::optional<std::string_view> delay =
      message::FindProperty(props, prop::kDelay);
  if (!delay) return false;
  std::optional<int32_t> level = store::ParseDelayLevel(*delay);
  return !level || *level > 0;
}

Status ParkIfDelayed(const store::DelayLevelTable& levels,
                     message::MessageToStore* msg, std::string* props) {
  return ParkIfDelayed(levels, msg, props,
                       message::FindProperty(*props, prop::kDelay));
}

Status ParkIfDelayed(const store::DelayLevelTable& levels,
                     message::MessageToStore* msg, std::string* props,
                     std::optional<std::string_view> delay) {
  const int32_t tx = message::sysflag::TransactionType(msg->sys_flag);
  if (tx != message::sysflag::kTransactionNotType &&
      tx != message::sysflag::kTransactionCommitType)
    return Status::OK();  // half messages ignore DELAY (§9 item 4)
  if (!delay) return Status::OK();
  std::optional<int32_t> level = store::ParseDelayLevel(*delay);
  if (!level) {
    return Status::InvalidArgument("the DELAY property '" +
                                   std::string(*delay) +
                                   "' is not a delay level");
  }
  if (*level <= 0) return Status::OK();
  if (*level > levels.max_level()) {
    *level = levels.max_level();
    SetProperty(props, prop::kDelay, std::to_string(*level));
  }
  SetProperty(props, prop::kRealTopic, msg->topic);
  SetProperty(props, prop::kRealQueueId, std::to_string(msg->queue_id));
  msg->topic = store::kScheduleTopic;
  msg->queue_id = *level - 1;
  msg->properties = *props;
  return Status::OK();
}

ScheduleMessageService::ScheduleMessageService(store::MessageStore& store,
                                               store::io::FileSystem* fs,
                                               const std::string& config_dir,
                                               const Clock* clock)
    : ServiceThread("schedule"),
      store_(store),
      clock_(clock),
      flush_interval_ms_(
          std::max<int64_t>(1, store.config().flush_delay_offset_interval)),
      file_(fs, store::io::JoinPath(config_dir, "delayOffset.json")) {}

ScheduleMessageService::~ScheduleMessageService() { Stop(); }

Status ScheduleMessageService::Load() {
  Result<store::DelayLevelTable> table =
      store::DelayLevelTable::Parse(store_.config().message_delay_level);
  if (!table.ok()) return table.status();
  levels_ = *table;
  Result<std::string> text = [&] {
    MutexLock lock(&file_mu_);
    return file_.Read(ValidOffsetJson);
  }();
  if (!text.ok() && !text.status().IsNotFound()) return text.status();
  {
    MutexLock lock(&mu_);
    if (text.ok()) {
      Result<json::Value> v = json::Parse(*text);
      const json::Value* t = v.ok() ? v->Find("offsetTable") : nullptr;
      for (size_t i = 0; t != nullptr && t->is_object() && i < t->size(); ++i) {
        std::optional<int64_t> level = t->key(i).AsInt64();
        std::optional<int64_t> off = t->value(i).AsInt64();
        if (!level || !off || *level < 1 || *level > INT32_MAX) continue;
        offsets_[static_cast<int32_t>(*level)] = *off;
      }
    }
    // correctDelayOffset: a saved offset outside its queue is moved into it.
    for (auto& [level, off] : offsets_) {
      const int64_t min =
          store_.GetMinOffsetInQueue(store::kScheduleTopic, level - 1);
      const int64_t max =
          store_.GetMaxOffsetInQueue(store::kScheduleTopic, level - 1);
      off = std::clamp(off, min, std::max(min, max));
    }
    dirty_ = true;
    TH_LOG(broker, kInfo, "schedule: {} delay levels, {} saved offsets",
           levels_.max_level(), offsets_.size());
  }
  return Persist();
}

void ScheduleMessageService::NotifyParked(int64_t deliver_at) {
  if (deliver_at < next_wake_ms_.load(std::memory_order_acquire)) Wakeup();
}

std::map<int32_t, int64_t> ScheduleMessageService::OffsetTable() const {
  MutexLock lock(&mu_);
  return offsets_;
}

std::string ScheduleMessageService::EncodeJson() const {
  json::Value table = json::Value::Object();
  {
    MutexLock lock(&mu_);
    for (const auto& [level, off] : offsets_)
      table.Add(json::Value::Int(level), json::Value::Int(off));
  }
  json::Value root = json::Value::Object();
  root.Set("offsetTable", std::move(table));
  return json::Write(root);
}

Status ScheduleMessageService::Persist() {
  MutexLock file_lock(&file_mu_);
  {
    MutexLock lock(&mu_);
    dirty_ = false;
  }
  Status s = file_.Write(EncodeJson());
  if (!s.ok()) {
    TH_LOG(broker, kWarn, "schedule: saving {} failed: {}", file_.path(),
           s.ToString());
    MutexLock lock(&mu_);
    dirty_ = true;
  }
  return s;
}

Status ScheduleMessageService::AdoptOffsets(std::string_view text) {
  Result<json::Value> v = json::Parse(text);
  const json::Value* t = v.ok() ? v->Find("offsetTable") : nullptr;
  if (t == nullptr || !t->is_object())
    return Status::Corruption("delay offsets from the master have no table");
  {
    MutexLock lock(&mu_);
    offsets_.clear();
    for (size_t i = 0; i < t->size(); ++i) {
      std::optional<int64_t> level = t->key(i).AsInt64();
      std::optional<int64_t> off = t->value(i).AsInt64();
      if (!level || !off || *level < 1 || *level > INT32_MAX) continue;
      offsets_[static_cast<int32_t>(*level)] = *off;
    }
  }
  return Persist();
}

Result<std::string> ScheduleMessageService::ReadOffsetFile() {
  MutexLock lock(&file_mu_);
  return file_.Read(ValidOffsetJson);
}

void ScheduleMessageService::Run() {
  int64_t last_persist_ms = clock_->NowMs();
  while (!stopped()) {
    next_wake_ms_.store(INT64_MAX, std::memory_order_release);
    const int64_t now = clock_->NowMs();
    const int64_t next_due = DeliverDue(now);
    bool dirty;
    {
      MutexLock lock(&mu_);
      dirty = dirty_;
    }
    // The interval restarts whether or not there was anything to save:
    // otherwise, once it has passed with nothing dirty, the wait below is
    // always 0 and the thread spins.
    if (now - last_persist_ms >= flush_interval_ms_) {
      last_persist_ms = now;
      if (dirty) Persist().IgnoreError();  // logged; retried next interval
    }
    next_wake_ms_.store(next_due, std::memory_order_release);
    {
      MutexLock lock(&mu_);
      ++passes_;
    }
    pass_cv_.SignalAll();
    const int64_t until_persist = last_persist_ms + flush_interval_ms_ - now;
    const int64_t wait = std::clamp<int64_t>(
        std::min(next_due - now, until_persist), 0, flush_interval_ms_);
    if (wait > 0) WaitForRunning(wait);
  }
  Persist().IgnoreError();  // logged
}

bool ScheduleMessageService::RunPassForTesting(int64_t timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // A pass that was running when this was called may have read the clock
  // before the caller moved it; the second pass after a wake-up has not.
  for (int i = 0; i < 2; ++i) {
    MutexLock lock(&mu_);
    const int64_t seen = passes_;
    Wakeup();  // the thread's own mutex; `schedule` never holds it with mu_
    while (passes_ == seen) {
      if (pass_cv_.WaitUntil(&mu_, deadline) == std::cv_status::timeout)
        return false;
    }
  }
  return true;
}

int64_t ScheduleMessageService::DeliverDue(int64_t now_ms) {
  int64_t next_due = INT64_MAX;
  for (int32_t level = 1; level <= levels_.max_level() && !stopped(); ++level) {
    int64_t offset;
    {
      MutexLock lock(&mu_);
      auto it = offsets_.find(level);
      offset = it == offsets_.end() ? 0 : it->second;
    }
    const int64_t next = DeliverLevel(level, offset, now_ms, &next_due);
    if (next != offset) {
      MutexLock lock(&mu_);
      offsets_[level] = next;
      dirty_ = true;
    }
  }
  return next_due;
}

int64_t ScheduleMessageService::DeliverLevel(int32_t level, int64_t offset,
                                             int64_t now_ms,
                                             int64_t* next_due) {
  const int32_t queue_id = level - 1;
  const int64_t max =
      store_.GetMaxOffsetInQueue(store::kScheduleTopic, queue_id);
  if (max <= 0) return offset;  // nothing parked at this level yet
  const int64_t min =
      store_.GetMinOffsetInQueue(store::kScheduleTopic, queue_id);
  offset = std::clamp(offset, min, max);
  const int64_t delay_ms = levels_.DelayMs(level);
  for (; offset < max && !stopped(); ++offset) {
    std::optional<store::cq_format::Entry> unit =
        store_.GetQueueEntry(store::kScheduleTopic, queue_id, offset);
    if (!unit) continue;  // a hole or filler: nothing to deliver there
    int64_t deliver_at = unit->tags_code;
    // A time further away than the level's delay means the clock went back
    // (or the code is not a time): deliver now, as RocketMQ does.
    if (deliver_at > now_ms + delay_ms) deliver_at = now_ms;
    if (deliver_at > now_ms) {
      *next_due = std::min(*next_due, deliver_at);
      return offset;
    }
    if (!Deliver(unit->phys_offset, level)) {
      *next_due = std::min(*next_due, now_ms + kDeliverRetryAfterFailureMs);
      return offset;
    }
  }
  return offset;
}

bool ScheduleMessageService::Deliver(int64_t phys, int32_t level) {
  std::optional<store::SelectResult> found = store_.LookMessageByOffset(phys);
  if (!found) {
    TH_LOG(broker, kWarn,
           "schedule: level {} unit points at phys offset {}, which is not a "
           "readable record; skipped",
           level, phys);
    return true;
  }
  message::RecordCheck check = message::CheckRecord(found->bytes, false);
  if (check.status != message::RecordStatus::kOk) {
    TH_LOG(broker, kWarn,
           "schedule: record at phys offset {} does not decode ({}); skipped",
           phys, check.error);
    return true;
  }
  const message::DecodedRecord& rec = check.record;
  std::optional<std::string_view> real_topic =
      message::FindProperty(rec.properties, prop::kRealTopic);
  std::optional<std::string_view> real_qid =
      message::FindProperty(rec.properties, prop::kRealQueueId);
  std::optional<int32_t> queue_id =
      real_qid ? store::ParseDelayLevel(*real_qid) : std::nullopt;
  if (!real_topic || real_topic->empty() || !queue_id || *queue_id < 0) {
    TH_LOG(broker, kWarn,
           "schedule: record at phys offset {} lacks REAL_TOPIC/REAL_QID; "
           "skipped",
           phys);
    return true;
  }
  // A half message parked in the schedule topic is dropped, as RocketMQ does
  // (§3.1).
  if (*real_topic == kTransHalfTopic) {
    TH_LOG(broker, kWarn, "schedule: half message at phys offset {} discarded",
           phys);
    return true;
  }
  message::MessageToStore msg;
  msg.topic = *real_topic;
  msg.queue_id = *queue_id;
  msg.flag = rec.flag;
  msg.sys_flag = rec.sys_flag;
  msg.body = rec.body;
  // The parked properties as they are (§3.2): DELAY, REAL_TOPIC and REAL_QID
  // stay in the delivered record; nothing re-parks it, as only sends do.
  msg.properties = rec.properties;
  msg.born_timestamp = rec.born_timestamp;
  msg.born_host = rec.born_host;
  msg.store_host = rec.store_host;
  msg.reconsume_times = rec.reconsume_times;
  store::PutResult put = store_.PutMessage(msg);
  if (!store::IsStored(put)) {
    TH_LOG(broker, kWarn,
           "schedule: putting phys offset {} back to {} failed: {} {}; "
           "retrying",
           phys, msg.topic, store::PutStatusName(put.status), put.error);
    return false;
  }
  delivered_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace thruster::broker
