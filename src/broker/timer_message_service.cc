#include "broker/timer_message_service.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "broker/schedule_message_service.h"
#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "store/delay_level_table.h"

namespace thruster::broker {
namespace {

namespace prop = message::prop;
namespace tf = store::timer_format;
namespace rc = remoting::response_code;

constexpr int64_t kTimerRetryAfterFailureMs = 500;
constexpr int64_t kCleanIntervalMs = 30000;
// How far back recovery looks in the timer queue for the last indexed message.
constexpr int64_t kMaxQueueSearch = 20000;
// RocketMQ's timerRollWindowSlot bounds.
constexpr int64_t kMinRollWindowSlot = 2;
constexpr int64_t kMaxRollWindowSlot = tf::kSlotsTotal / 2 - 60;
// A chain longer than every unit the log can hold is corrupt.
constexpr size_t kMaxChain = size_t{1} << 31;

std::optional<int64_t> ParseLong(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

int64_t RollWindowMs(const store::MessageStoreConfig& c) {
  int64_t slots = c.timer_roll_window_slot;
  if (slots < kMinRollWindowSlot || slots > kMaxRollWindowSlot)
    slots = kMaxRollWindowSlot;
  // A unit's delay field is an i32.
  return std::min<int64_t>(slots * c.timer_precision_ms, INT32_MAX);
}

}  // namespace

void RemoveProperty(std::string* props, std::string_view name) {
  if (!message::FindProperty(*props, name)) return;
  std::string out;
  out.reserve(props->size());
  std::string_view rest(*props);
  while (!rest.empty()) {
    const size_t end = rest.find(message::kPropertySeparator);
    std::string_view pair =
        rest.substr(0, end == std::string_view::npos ? rest.size() : end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    const size_t sep = pair.find(message::kNameValueSeparator);
    if (pair.empty() ||
        (sep != std::string_view::npos && pair.substr(0, sep) == name))
      continue;
    out.append(pair);
    out.push_back(message::kPropertySeparator);
  }
  *props = std::move(out);
}

std::optional<TimerRefusal> TransformTimerMessage(
    const store::MessageStoreConfig& config, int64_t now_ms,
    message::MessageToStore* msg, std::string* props) {
  const int32_t tx = message::sysflag::TransactionType(msg->sys_flag);
  if (tx != message::sysflag::kTransactionNotType &&
      tx != message::sysflag::kTransactionCommitType)
    return std::nullopt;  // half messages ignore TIMER_* (§9 item 4)
  // Every property looked at below starts with TIMER_: one search settles
  // the common case of a message without any.
  if (props->find("TIMER_") == std::string::npos) return std::nullopt;
  if (msg->topic == kTimerTopic ||
      message::FindProperty(*props, timer_prop::kOutMs))
    return std::nullopt;  // already a timer message (a re-put)
  const auto deliver = message::FindProperty(*props, timer_prop::kDeliverMs);
  const auto delay_sec = message::FindProperty(*props, timer_prop::kDelaySec);
  const auto delay_ms = message::FindProperty(*props, timer_prop::kDelayMs);
  if (!deliver && !delay_sec && !delay_ms) return std::nullopt;
  if (auto level = message::FindProperty(*props, prop::kDelay)) {
    std::optional<int32_t> l = store::ParseDelayLevel(*level);
    if (l && *l > 0) {  // the delay level wins (§2.2)
      for (std::string_view p : {timer_prop::kDeliverMs, timer_prop::kDelaySec,
                                 timer_prop::kDelayMs})
        RemoveProperty(props, p);
      msg->properties = *props;
      return std::nullopt;
    }
  }
  if (!config.timer_wheel_enable) {
    return TimerRefusal{
        rc::kSystemError,
        "accurate timer message is not enabled, timerWheelEnable is false"};
  }
  const int64_t max_delay_ms = int64_t{config.timer_max_delay_sec} * 1000;
  const TimerRefusal illegal{
      rc::kMessageIllegal,
      "timer message illegal, the delay time should not be bigger than the "
      "max delay " +
          std::to_string(max_delay_ms) +
          "ms; or if set del msg, the delay time should be bigger than the "
          "current time"};
  std::optional<int64_t> deliver_ms;
  if (delay_sec) {
    std::optional<int64_t> s = ParseLong(*delay_sec);
    if (!s) return illegal;
    // Anything that overflows is far beyond timerMaxDelaySec.
    if (*s > (INT64_MAX - now_ms) / 1000) return illegal;
    deliver_ms = *s < -now_ms / 1000 ? now_ms : now_ms + *s * 1000;
  } else if (delay_ms) {
    std::optional<int64_t> ms = ParseLong(*delay_ms);
    if (!ms) return illegal;
    if (*ms > INT64_MAX - now_ms) return illegal;
    deliver_ms = now_ms + std::max<int64_t>(*ms, -now_ms);
  } else {
    deliver_ms = ParseLong(*deliver);
    if (!deliver_ms) return illegal;
  }
  if (*deliver_ms <= now_ms) {
    // Due already: stored as a normal message. A cancel must name a future
    // time.
    if (message::FindProperty(*props, timer_prop::kDelUniqKey)) return illegal;
    return std::nullopt;
  }
  if (*deliver_ms - now_ms > max_delay_ms) return illegal;
  const int64_t p = config.timer_precision_ms;
  int64_t out = *deliver_ms;
  out -= (out % p == 0) ? p : out % p;
  SetProperty(props, timer_prop::kOutMs, std::to_string(out));
  SetProperty(props, prop::kRealTopic, msg->topic);
  SetProperty(props, prop::kRealQueueId, std::to_string(msg->queue_id));
  msg->topic = kTimerTopic;
  msg->queue_id = 0;
  msg->properties = *props;
  return std::nullopt;
}

TimerMessageService::TimerMessageService(store::MessageStore& store,
                                         store::io::FileSystem* fs,
                                         const Clock* clock)
    : ServiceThread("timer"),
      store_(store),
      fs_(fs),
      clock_(clock),
      precision_ms_(std::max(1, store.config().timer_precision_ms)),
      roll_window_ms_(RollWindowMs(store.config())) {}

TimerMessageService::~TimerMessageService() { Stop(); }

Status TimerMessageService::Load() {
  const store::MessageStoreConfig& c = store_.config();
  // A store that never held a timer message gets its files with the first
  // one (Run), so brokers that never use timers pay nothing for a 38 MB wheel.
  if (!fs_->Exists(store::io::JoinPath(c.store_path_root_dir, "timerwheel")) &&
      store_.GetMaxOffsetInQueue(kTimerTopic, 0) <= 0)
    return Status::OK();
  return OpenFiles();
}

Status TimerMessageService::OpenFiles() {
  const store::MessageStoreConfig& c = store_.config();
  Result<std::unique_ptr<store::TimerWheel>> wheel = store::TimerWheel::Open(
      fs_, store::io::JoinPath(c.store_path_root_dir, "timerwheel"),
      precision_ms_);
  if (!wheel.ok()) return wheel.status();
  Result<std::unique_ptr<store::TimerLog>> log = store::TimerLog::Open(
      fs_, store::io::JoinPath(c.store_path_root_dir, "timerlog"),
      c.mapped_file_size_timer_log);
  if (!log.ok()) return log.status();
  TH_RETURN_IF_ERROR(fs_->CreateDirs(c.ConfigDir()));
  Result<std::unique_ptr<store::TimerCheckpoint>> cp =
      store::TimerCheckpoint::Open(
          fs_, store::io::JoinPath(c.ConfigDir(), "timercheck"));
  if (!cp.ok()) return cp.status();
  wheel_ = std::move(wheel).value();
  log_ = std::move(log).value();
  checkpoint_ = std::move(cp).value();
  Recover();
  return Status::OK();
}

void TimerMessageService::Recover() {
  const tf::Checkpoint cp =
      checkpoint_->existed() ? checkpoint_->Read() : tf::Checkpoint{};
  // Re-points each slot at the units found in the log (spec §6.6 step 1).
  auto relink = [this](int64_t pos, const tf::Unit& u) {
    tf::Slot slot = wheel_->Get(u.DeliverTime());
    if (slot.first_pos < 0) {
      slot.first_pos = pos;
      slot.last_pos = pos;
      slot.num = 1;
    } else if (pos > slot.last_pos) {
      slot.last_pos = pos;
      ++slot.num;
    }
    wheel_->Put(slot);
  };
  std::optional<tf::Unit> last;
  const int64_t scan_from = cp.last_timer_log_flush_pos - log_->segment_size();
  Result<int64_t> end =
      log_->Recover(scan_from, [&](int64_t pos, const tf::Unit& u) {
        relink(pos, u);
        last = u;
      });
  const int64_t log_end = end.ok() ? *end : 0;

  const int64_t now = clock_->NowMs();
  write_time_ms_ = now / precision_ms_ * precision_ms_;
  if (checkpoint_->existed() && cp.last_read_time_ms > 0) {
    read_time_ms_ =
        std::max(cp.last_read_time_ms / precision_ms_ * precision_ms_,
                 write_time_ms_ - kMaxRollWindowSlot * precision_ms_);
  } else {
    read_time_ms_ = write_time_ms_;
  }
  read_time_ms_ = std::min(read_time_ms_, write_time_ms_);
  read_time_pub_.store(read_time_ms_, kRelaxed);

  // One pass over the wheel: slots that point past the recovered end (a
  // wheel flushed ahead of the log) are cut back and re-linked from their
  // first unit (step 4); the rest count towards the pending total. A slot
  // never used holds time units 0 and is left untouched (the file stays
  // sparse).
  int64_t rescan_from = INT64_MAX;
  int64_t pending = 0;
  const int64_t read_units = wheel_->TimeUnits(read_time_ms_);
  for (int64_t i = 0; i < tf::kSlotsTotal; ++i) {
    if (wheel_->TimeUnitsAtIndex(i) == 0) continue;
    tf::Slot s = wheel_->AtIndex(i);
    if (s.first_pos >= log_end) {
      if (s.first_pos >= 0) wheel_->PutAtIndex(i, tf::Slot{0, 0, 0, 0, 0});
      continue;
    }
    if (s.first_pos < 0) continue;
    if (s.last_pos >= log_end) {
      s.last_pos = s.first_pos;
      s.num = 1;
      wheel_->PutAtIndex(i, s);
      rescan_from = std::min(rescan_from, s.first_pos);
    } else if (s.time_units >= read_units) {
      pending += std::max(0, s.num);
    }
  }
  if (rescan_from < INT64_MAX) {
    log_->Recover(rescan_from,
                  [&](int64_t pos, const tf::Unit& u) { relink(pos, u); })
        .status()
        .IgnoreError();  // the same end as before
    pending = 0;         // counted again with the re-linked slots
    for (int64_t i = 0; i < tf::kSlotsTotal; ++i) {
      if (wheel_->TimeUnitsAtIndex(i) < read_units) continue;
      tf::Slot s = wheel_->AtIndex(i);
      if (s.first_pos >= 0) pending += std::max(0, s.num);
    }
  }

  // Indexing resumes after the last message with a unit, or at the saved
  // offset when that is further (already-due messages get no unit).
  queue_offset_ = cp.last_timer_queue_offset;
  if (last) {
    if (std::optional<int64_t> after = QueueOffsetAfter(last->offset_py))
      queue_offset_ = std::max(queue_offset_, *after);
  }
  const int64_t qmin = store_.GetMinOffsetInQueue(kTimerTopic, 0);
  const int64_t qmax = store_.GetMaxOffsetInQueue(kTimerTopic, 0);
  queue_offset_ = std::clamp(queue_offset_, qmin, std::max(qmin, qmax));
  pending_.store(pending, kRelaxed);
  last_flush_ms_ = now;
  last_clean_ms_ = now;
  data_version_ = cp.counter;
  TH_LOG(broker, kInfo,
         "timer: timerlog {} bytes ({} re-scanned from {}), queue offset {}, "
         "read time {}, {} pending",
         log_end, last ? "units" : "none", std::max<int64_t>(0, scan_from),
         queue_offset_, read_time_ms_, pending);
}

std::optional<int64_t> TimerMessageService::QueueOffsetAfter(
    int64_t phys) const {
  const int64_t qmin = store_.GetMinOffsetInQueue(kTimerTopic, 0);
  const int64_t qmax = store_.GetMaxOffsetInQueue(kTimerTopic, 0);
  for (int64_t q = qmax - 1; q >= std::max(qmin, qmax - kMaxQueueSearch); --q) {
    std::optional<store::cq_format::Entry> e =
        store_.GetQueueEntry(kTimerTopic, 0, q);
    if (e && e->phys_offset == phys) return q + 1;
    if (e && e->phys_offset < phys) break;  // queue units are in log order
  }
  return std::nullopt;
}

void TimerMessageService::Run() {
  while (!stopped()) {
    if (!wheel_) {
      if (store_.GetMaxOffsetInQueue(kTimerTopic, 0) > 0) {
        if (Status s = OpenFiles(); !s.ok()) {
          TH_LOG(broker, kError, "timer: opening the timer files failed: {}",
                 s.ToString());
          wheel_.reset();
          log_.reset();
          checkpoint_.reset();
        }
      }
      if (!wheel_) {
        MarkPass();
        WaitForRunning(1000);  // a parked message wakes it (Notify)
        continue;
      }
    }
    const int64_t now = clock_->NowMs();
    write_time_ms_ =
        std::max(write_time_ms_, now / precision_ms_ * precision_ms_);
    const bool enqueued = Enqueue();
    const bool released = Dequeue();
    if (now - last_flush_ms_ >= store_.config().timer_flush_interval_ms ||
        now < last_flush_ms_) {
      last_flush_ms_ = now;
      Flush().IgnoreError();  // logged; the checkpoint stays at the last good
    }
    if (now - last_clean_ms_ >= kCleanIntervalMs || now < last_clean_ms_) {
      last_clean_ms_ = now;
      if (int n = log_->RemoveSegmentsBelow(store_.GetMinPhyOffset()); n > 0)
        TH_LOG(broker, kInfo, "timer: removed {} timerlog segments", n);
    }
    MarkPass();
    int64_t wait = write_time_ms_ + precision_ms_ - now;
    wait = std::min<int64_t>(
        wait, last_flush_ms_ + store_.config().timer_flush_interval_ms - now);
    if (!enqueued || !released) wait = std::min(wait, kTimerRetryAfterFailureMs);
    WaitForRunning(std::clamp<int64_t>(wait, 1, 1000));
  }
  Flush().IgnoreError();  // logged
}

void TimerMessageService::MarkPass() {
  {
    MutexLock lock(&mu_);
    ++passes_;
  }
  pass_cv_.SignalAll();
}

bool TimerMessageService::RunPassForTesting(int64_t timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // A pass already running may have read the clock before the caller moved
  // it; the second pass after a wake-up has not.
  for (int i = 0; i < 2; ++i) {
    MutexLock lock(&mu_);
    const int64_t seen = passes_;
    Wakeup();
    while (passes_ == seen) {
      if (pass_cv_.WaitUntil(&mu_, deadline) == std::cv_status::timeout)
        return false;
    }
  }
  return true;
}

bool TimerMessageService::Enqueue() {
  const int64_t qmin = store_.GetMinOffsetInQueue(kTimerTopic, 0);
  const int64_t qmax = store_.GetMaxOffsetInQueue(kTimerTopic, 0);
  if (queue_offset_ < qmin) queue_offset_ = qmin;
  for (; queue_offset_ < qmax && !stopped(); ++queue_offset_) {
    dirty_ = true;
    std::optional<store::cq_format::Entry> e =
        store_.GetQueueEntry(kTimerTopic, 0, queue_offset_);
    if (!e) continue;  // a hole: nothing parked there
    std::optional<store::SelectResult> found =
        store_.LookMessageByOffset(e->phys_offset);
    message::RecordCheck check = found
                                     ? message::CheckRecord(found->bytes, false)
                                     : message::RecordCheck{};
    if (!found || check.status != message::RecordStatus::kOk) {
      TH_LOG(broker, kWarn,
             "timer: queue offset {} points at phys offset {}, which is not a "
             "readable record; skipped",
             queue_offset_, e->phys_offset);
      continue;
    }
    const std::string_view props = check.record.properties;
    std::optional<int64_t> out;
    if (auto v = message::FindProperty(props, timer_prop::kOutMs))
      out = ParseLong(*v);
    if (!out) {
      TH_LOG(broker, kWarn,
             "timer: record at phys offset {} has no valid TIMER_OUT_MS; "
             "skipped",
             e->phys_offset);
      continue;
    }
    const bool cancel =
        message::FindProperty(props, timer_prop::kDelUniqKey).has_value();
    if (*out < write_time_ms_) {
      // Already due: delivered now, never indexed (a cancel has nothing
      // left to cancel).
      if (cancel) continue;
      if (PutBack(e->phys_offset, false, INT64_MAX, nullptr) ==
          PutOutcome::kRetry)
        return false;
      continue;
    }
    int32_t magic = tf::kMagicDefault;
    int64_t park = *out;
    if (*out - write_time_ms_ >= roll_window_ms_) {
      magic |= tf::kMagicRoll;
      park = (*out - write_time_ms_ - roll_window_ms_ < roll_window_ms_ / 3)
                 ? write_time_ms_ + roll_window_ms_ / 2
                 : write_time_ms_ + roll_window_ms_;
    }
    if (cancel) magic |= tf::kMagicDelete;
    tf::Slot slot = wheel_->Get(park);
    tf::Unit unit;
    unit.prev_pos = slot.last_pos;
    unit.magic = magic;
    unit.enqueue_time = write_time_ms_;
    unit.delay = static_cast<int32_t>(park - write_time_ms_);
    unit.offset_py = e->phys_offset;
    unit.size_py = e->size;
    unit.topic_hash = message::JHash(
        message::FindProperty(props, prop::kRealTopic).value_or(""));
    Result<int64_t> pos = log_->Append(unit);
    if (!pos.ok()) {
      TH_LOG(broker, kError, "timer: appending to the timerlog failed: {}",
             pos.status().ToString());
      return false;
    }
    if (slot.first_pos < 0) slot.first_pos = *pos;
    slot.last_pos = *pos;
    slot.num += cancel ? -1 : 1;
    wheel_->Put(slot);
    pending_.fetch_add(1, kRelaxed);
    if (!cancel) enqueued_.fetch_add(1, kRelaxed);
  }
  return true;
}

bool TimerMessageService::Dequeue() {
  while (read_time_ms_ < write_time_ms_ && !stopped()) {
    if (!ReleaseSlot()) return false;
    read_time_ms_ += precision_ms_;
    slot_done_ = 0;
    dirty_ = true;
    read_time_pub_.store(read_time_ms_, kRelaxed);
  }
  return true;
}

bool TimerMessageService::ReleaseSlot() {
  const tf::Slot slot = wheel_->Get(read_time_ms_);
  if (slot.first_pos < 0) return true;
  const int64_t units = wheel_->TimeUnits(read_time_ms_);
  std::vector<tf::Unit> chain;
  for (int64_t pos = slot.last_pos; pos >= 0 && chain.size() < kMaxChain;) {
    std::optional<tf::Unit> u = log_->Read(pos);
    if (!u || wheel_->TimeUnits(u->DeliverTime()) != units) {
      TH_LOG(broker, kWarn,
             "timer: slot {} chain breaks at timerlog position {}; the rest "
             "of the slot is lost",
             read_time_ms_, pos);
      break;
    }
    chain.push_back(*u);
    pos = u->prev_pos;
  }
  std::reverse(chain.begin(), chain.end());
  // Cancels first (§6.4): each names `<topic>+<UNIQ_KEY>` to drop.
  std::set<std::string> deleted;
  for (const tf::Unit& u : chain) {
    if ((u.magic & tf::kMagicDelete) == 0 || (u.magic & tf::kMagicRoll) != 0)
      continue;
    std::optional<store::SelectResult> found =
        store_.LookMessageByOffset(u.offset_py);
    if (!found) continue;
    message::RecordCheck c = message::CheckRecord(found->bytes, false);
    if (c.status != message::RecordStatus::kOk) continue;
    if (auto key =
            message::FindProperty(c.record.properties, timer_prop::kDelUniqKey))
      deleted.emplace(*key);
  }
  int64_t index = 0;
  for (const tf::Unit& u : chain) {
    const bool roll = (u.magic & tf::kMagicRoll) != 0;
    if ((u.magic & tf::kMagicDelete) != 0 && !roll) continue;
    if (index++ < slot_done_) continue;  // put before a failed one
    if (PutBack(u.offset_py, roll, u.enqueue_time, &deleted) ==
        PutOutcome::kRetry)
      return false;
    ++slot_done_;
  }
  pending_.fetch_sub(static_cast<int64_t>(chain.size()), kRelaxed);
  return true;
}

TimerMessageService::PutOutcome TimerMessageService::PutBack(
    int64_t phys, bool roll, int64_t enqueue_ms,
    const std::set<std::string>* deleted) {
  std::optional<store::SelectResult> found = store_.LookMessageByOffset(phys);
  message::RecordCheck check = found ? message::CheckRecord(found->bytes, false)
                                     : message::RecordCheck{};
  if (!found || check.status != message::RecordStatus::kOk) {
    TH_LOG(broker, kWarn,
           "timer: phys offset {} is not a readable record; skipped", phys);
    return PutOutcome::kDone;
  }
  const message::DecodedRecord& rec = check.record;
  const auto real_topic =
      message::FindProperty(rec.properties, prop::kRealTopic);
  const auto real_qid =
      message::FindProperty(rec.properties, prop::kRealQueueId);
  std::optional<int64_t> qid = real_qid ? ParseLong(*real_qid) : std::nullopt;
  if (!real_topic || real_topic->empty() || !qid || *qid < 0 ||
      *qid > INT32_MAX) {
    TH_LOG(broker, kWarn,
           "timer: record at phys offset {} lacks REAL_TOPIC/REAL_QID; skipped",
           phys);
    return PutOutcome::kDone;
  }
  if (deleted != nullptr && !deleted->empty()) {
    std::string key(*real_topic);
    key += '+';
    key += message::FindProperty(rec.properties, prop::kUniqKey).value_or("");
    if (deleted->count(key) > 0) return PutOutcome::kDone;  // cancelled
  }
  std::string props(rec.properties);
  message::MessageToStore msg;
  if (roll) {
    msg.topic = kTimerTopic;
    msg.queue_id = 0;
    int64_t times = 0;
    if (auto t = message::FindProperty(props, timer_prop::kRollTimes))
      times = ParseLong(*t).value_or(0);
    SetProperty(&props, timer_prop::kRollTimes, std::to_string(times + 1));
  } else {
    msg.topic = *real_topic;
    msg.queue_id = static_cast<int32_t>(*qid);
  }
  SetProperty(&props, timer_prop::kEnqueueMs, std::to_string(enqueue_ms));
  SetProperty(&props, timer_prop::kDequeueMs, std::to_string(clock_->NowMs()));
  msg.flag = rec.flag;
  msg.sys_flag = rec.sys_flag;
  msg.body = rec.body;
  msg.properties = props;
  msg.born_timestamp = rec.born_timestamp;
  msg.born_host = rec.born_host;
  msg.store_host = rec.store_host;
  msg.reconsume_times = rec.reconsume_times;
  store::PutResult put = store_.PutMessage(msg);
  if (put.ok()) {
    (roll ? rolled_ : delivered_).fetch_add(1, kRelaxed);
    return PutOutcome::kDone;
  }
  if (put.status == store::PutStatus::kMessageIllegal ||
      put.status == store::PutStatus::kPropertiesSizeExceeded) {
    TH_LOG(broker, kWarn,
           "timer: putting phys offset {} to {} was refused ({} {}); dropped",
           phys, msg.topic, store::PutStatusName(put.status), put.error);
    return PutOutcome::kDone;
  }
  TH_LOG(broker, kWarn,
         "timer: putting phys offset {} to {} failed: {} {}; "
         "retrying",
         phys, msg.topic, store::PutStatusName(put.status), put.error);
  return PutOutcome::kRetry;
}

Status TimerMessageService::Flush() {
  if (!wheel_ || !log_ || !checkpoint_) return Status::OK();
  tf::Checkpoint cp = checkpoint_->Read();
  const bool changed = dirty_ || cp.last_read_time_ms != read_time_ms_;
  cp.last_read_time_ms = read_time_ms_;
  cp.last_timer_queue_offset = queue_offset_;
  cp.master_timer_queue_offset = queue_offset_;
  // Order matters: the checkpoint only names units and slots already durable.
  Status s = log_->Sync();
  if (s.ok()) s = wheel_->Sync();
  if (!s.ok()) {
    TH_LOG(broker, kError, "timer: flushing timerlog/timerwheel failed: {}",
           s.ToString());
    return s;
  }
  cp.last_timer_log_flush_pos = log_->end_pos();
  if (changed) ++data_version_;
  cp.counter = data_version_;
  cp.timestamp = clock_->NowMs();
  s = checkpoint_->Write(cp);
  if (!s.ok()) {
    TH_LOG(broker, kError, "timer: writing timercheck failed: {}",
           s.ToString());
    return s;
  }
  dirty_ = false;
  return Status::OK();
}

}  // namespace thruster::broker
