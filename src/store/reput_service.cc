#include "store/reput_service.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>
#include <limits>
#include <thread>

#include "common/logging.h"
#include "message/find_properties.h"
#include "message/properties.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
namespace prop = message::prop;
using message::CheckRecordForDispatch;
using message::DecodedRecord;
using message::RecordCheckStatus;
using message::RecordStatus;
using message::TagsCode;

bool ReputService::DoReput() {
  MutexLock lock(&pass_mu_);
  return DoReputTo(std::numeric_limits<int64_t>::max());
}

bool ReputService::DoReputTo(int64_t limit) {
  queue_cache_.DropIfStale();
  bool moved = false;
  int64_t min = log_->GetMinOffset();
  int64_t reput = reput_from_offset_.load(std::memory_order_acquire);
  if (min > 0 && reput < min) {
    TH_LOG(store, kWarn,
           "dispatch: offset {} was deleted before it was dispatched, "
           "jumping to {}",
           reput, min);
    reput = min;
  }
  int64_t end = std::min(limit, log_->GetConfirmOffset());
  while (reput < end && !stopped()) {
    auto data = log_->GetData(PhysOffset{reput});
    if (!data || data->bytes.empty()) {
      // Past the readable end of a full segment: the next one starts at the
      // roll offset.
      if (data &&
          reput == data->file->base_offset() + data->file->file_size()) {
        reput = log_->RollNextFile(reput);
        continue;
      }
      break;
    }
    auto bytes = data->bytes;
    DecodedRecord rec;
    size_t pos = 0;
    bool roll = false;
    bool failed = false;
    while (pos < bytes.size() && reput < end) {
      const RecordCheckStatus c =
          CheckRecordForDispatch(bytes.subspan(pos), &rec);
      if (c.status == RecordStatus::kOk) {
        if (reput + c.size > end) {
          held_record_start_.store(reput, std::memory_order_relaxed);
          held_record_end_.store(reput + c.size, std::memory_order_relaxed);
          break;
        }
        Status st = DispatchLocked(rec, reput, c.size);
        if (!st.ok()) {
          // Never skip a record: retry it on the next pass (both dispatchers
          // are idempotent).
          int64_t now = clock_->MonotonicNs();
          if (now - last_error_log_ns_ > 1000000000) {
            last_error_log_ns_ = now;
            TH_LOG(store, kError,
                   "dispatch of record at {} failed, retrying: {}", reput,
                   st.ToString());
          }
          failed = true;
          dispatch_failed_ = true;
          break;
        }
        pos += static_cast<size_t>(c.size);
        reput += c.size;
        moved = true;
        continue;
      }
      if (c.status == RecordStatus::kBlank) {
        roll = true;
        break;
      }
      if (c.status == RecordStatus::kLengthMismatch && c.size > 0) {
        TH_LOG(store, kError,
               "dispatch: record at {} has inconsistent lengths, skipping {} "
               "bytes",
               reput, c.size);
        pos += static_cast<size_t>(c.size);
        reput += c.size;
        continue;
      }
      // Not a record: nothing more is readable here yet. A slave may hold
      // only the head of a record its master confirmed up to the middle of.
      if (c.status == RecordStatus::kTorn &&
          (c.size <= 0 || reput + c.size > end)) {
        held_record_start_.store(reput, std::memory_order_relaxed);
        held_record_end_.store(
            c.size > 0 ? reput + c.size : std::numeric_limits<int64_t>::max(),
            std::memory_order_relaxed);
      }
      break;
    }
    // The pending arrivals' topics point into `data`.
    NotifyArrivals();
    reput_from_offset_.store(reput, std::memory_order_release);
    if (failed) break;
    if (roll) {
      reput = log_->RollNextFile(reput);
      reput_from_offset_.store(reput, std::memory_order_release);
      continue;
    }
    if (pos < bytes.size() || pos == 0) break;
  }
  reput_from_offset_.store(reput, std::memory_order_release);
  return moved;
}

int64_t ReputService::LastCompleteRecordEnd() const {
  MutexLock lock(&pass_mu_);
  return LastCompleteRecordEndLocked();
}

int64_t ReputService::LastCompleteRecordEndLocked() const {
  int64_t pos = std::max(reput_from_offset(), log_->GetMinOffset());
  const int64_t max = log_->queue().GetMaxWrotePosition();
  while (pos < max) {
    auto data = log_->GetData(PhysOffset{pos});
    if (!data || data->bytes.empty()) {
      if (data && pos == data->file->base_offset() + data->file->file_size()) {
        pos = log_->RollNextFile(pos);
        continue;
      }
      break;
    }
    DecodedRecord rec;
    const RecordCheckStatus c = CheckRecordForDispatch(data->bytes, &rec);
    if (c.status == RecordStatus::kOk) {
      pos += c.size;
    } else if (c.status == RecordStatus::kBlank) {
      pos = log_->RollNextFile(pos);
    } else {
      break;
    }
  }
  return std::min(pos, max);
}

int64_t ReputService::dispatch_behind_bytes() const {
  const int64_t confirm = log_->GetConfirmOffset();
  const int64_t reput = reput_from_offset();
  if (reput == held_record_start_.load(std::memory_order_relaxed) &&
      confirm < held_record_end_.load(std::memory_order_relaxed))
    return 0;
  return confirm - reput;
}

int64_t ReputService::RecordBoundaryAtOrBefore(int64_t offset) const {
  int64_t pos =
      std::max(offset - offset % log_->file_size(), log_->GetMinOffset());
  if (pos >= offset) return pos;
  auto data = log_->GetData(PhysOffset{pos});
  if (!data) return pos;
  size_t at = 0;
  DecodedRecord rec;
  while (pos < offset && at < data->bytes.size()) {
    const RecordCheckStatus c =
        CheckRecordForDispatch(data->bytes.subspan(at), &rec);
    if (c.status != RecordStatus::kOk || pos + c.size > offset) break;
    pos += c.size;
    at += static_cast<size_t>(c.size);
  }
  return pos;
}

Result<int64_t> ReputService::CutBack(
    int64_t offset, const std::function<Status(int64_t cut)>& truncate) {
  MutexLock lock(&pass_mu_);
  const int64_t cut = std::min(offset, LastCompleteRecordEndLocked());
  DoReputTo(cut);
  // A controller-mode slave dispatches no further than its master's confirm
  // offset: records between it and the cut stay in the log, undispatched.
  const int64_t reachable = std::min(cut, log_->GetConfirmOffset());
  if (reput_from_offset() < reachable) {
    return Status::IOError(fmt::format(
        "truncating to {}: dispatch stopped at {}", cut, reput_from_offset()));
  }
  TH_RETURN_IF_ERROR(truncate(cut));
  // The bytes after the cut change: a record held at it is gone.
  held_record_start_.store(-1, std::memory_order_relaxed);
  reput_from_offset_.store(std::min(reput_from_offset(), cut),
                           std::memory_order_release);
  return cut;
}

void ReputService::Run() {
  while (!stopped()) {
    if (!DoReput()) WaitForRunning(1);
  }
  // Drain what is left (up to 5 s), so shutdown leaves nothing undispatched.
  // A dispatch that fails (a dead or full disk) is not waited for: the store
  // then stops with `abort` in place, and the next start dispatches the rest
  // from the CommitLog.
  dispatch_failed_ = false;
  for (int i = 0; i < 50 && dispatch_behind_bytes() > 0; ++i) {
    if (!DoReputIgnoringStop()) {
      if (dispatch_failed_) {
        TH_LOG(store, kWarn,
               "shutdown: dispatch is failing, leaving {} bytes to recovery",
               dispatch_behind_bytes());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

bool ReputService::DoReputIgnoringStop() {
  draining_ = true;
  bool moved = DoReput();
  draining_ = false;
  return moved;
}

Status ReputService::Dispatch(const message::DecodedRecord& rec, int64_t phys,
                              int32_t size) {
  MutexLock lock(&pass_mu_);
  Status st = DispatchLocked(rec, phys, size);
  NotifyArrivals();
  return st;
}

Status ReputService::DispatchLocked(const message::DecodedRecord& rec,
                                    int64_t phys, int32_t size) {
  const int32_t tx = sysflag::TransactionType(rec.sys_flag);
  // Every property the dispatchers read, in one scan of the properties.
  static constexpr std::string_view kDispatchProperties[] = {
      prop::kTags, prop::kKeys, prop::kUniqKey, prop::kDelay};
  std::array<std::optional<std::string_view>, std::size(kDispatchProperties)>
      found;
  message::FindProperties(rec.properties, kDispatchProperties, found);
  const std::optional<std::string_view>& tags = found[0];
  const std::optional<std::string_view>& keys = found[1];
  const std::optional<std::string_view>& uniq_key = found[2];
  const std::optional<std::string_view>& delay = found[3];
  int64_t tags_code = TagsCode(tags);
  // A parked delayed message is indexed by its delivery time (store spec §4.2).
  if (rec.topic == kScheduleTopic && delay) {
    if (std::optional<int32_t> level = ParseDelayLevel(*delay);
        level && *level > 0)
      tags_code = delay_levels_.DeliverTimestamp(*level, rec.store_timestamp);
  }
  const bool to_queue = tx == sysflag::kTransactionNotType ||
                        tx == sysflag::kTransactionCommitType;
  DispatchQueueCache::Slot* slot = nullptr;
  if (to_queue) {
    TH_ASSIGN_OR_RETURN(slot, queue_cache_.Find(rec.topic, rec.queue_id));
    TH_RETURN_IF_ERROR(slot->queue->PutMessagePositionInfo(
        PhysOffset{phys}, size, tags_code, QueueOffset{rec.queue_offset}));
    logics_msg_timestamp_.store(rec.store_timestamp, std::memory_order_release);
  }
  if (config_.message_index_enable) {
    TH_RETURN_IF_ERROR(index_->BuildIndex(IndexRecord{
        rec.topic, keys, uniq_key, phys, rec.store_timestamp, rec.sys_flag}));
  }
  if (!to_queue) return Status::OK();
  const int64_t next = rec.queue_offset + 1;
  if (slot->arrival_epoch == arrival_epoch_ &&
      arrivals_[slot->arrival].tags_code == tags_code) {
    PendingArrival& a = arrivals_[slot->arrival];
    a.next_queue_offset = std::max(a.next_queue_offset, next);
    a.store_timestamp = rec.store_timestamp;
  } else {
    slot->arrival_epoch = arrival_epoch_;
    slot->arrival = arrivals_.size();
    arrivals_.push_back(PendingArrival{rec.topic, rec.queue_id, next, tags_code,
                                       rec.store_timestamp});
  }
  if (++pending_records_ >= kMaxPendingRecords) NotifyArrivals();
  return Status::OK();
}

void ReputService::NotifyArrivals() {
  pending_records_ = 0;
  if (arrivals_.empty()) return;
  ++arrival_epoch_;
  {
    MutexLock lock(&listener_mu_);
    if (listener_) {
      for (const PendingArrival& a : arrivals_) {
        listener_(a.topic, a.queue_id, a.next_queue_offset, a.tags_code,
                  a.store_timestamp);
      }
    }
  }
  arrivals_.clear();
}

void ReputService::SetMessageArrivingListener(
    MessageArrivingListener listener) {
  MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

bool ReputService::WaitForDispatch(int64_t timeout_ms) const {
  const int64_t deadline = clock_->MonotonicNs() + timeout_ms * 1000000;
  while (dispatch_behind_bytes() > 0) {
    if (clock_->MonotonicNs() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace thruster::store
