#include "store/recovery.h"

#include <algorithm>
#include <cstring>

#include "common/logging.h"

namespace thruster::store {

using message::CheckRecord;
using message::RecordCheck;
using message::RecordStatus;

namespace {

// Validates the record at `pos` of a segment: §2.9 plus the hardening of §10.5
// (stored phys offset must equal the position).
RecordCheck CheckAt(const MappedFile& f, int32_t pos, bool check_crc) {
  auto bytes = f.mapping().subspan(static_cast<size_t>(pos));
  RecordCheck c = CheckRecord(bytes, check_crc);
  if (c.status == RecordStatus::kOk &&
      c.record.phys_offset != f.base_offset() + pos) {
    c.status = RecordStatus::kCorrupt;
    c.error = "stored phys offset differs from the record's position";
  }
  return c;
}

}  // namespace

Result<int64_t> Recovery::RecoverConsumeQueues(
    const std::vector<std::shared_ptr<ConsumeQueue>>& queues) const {
  int64_t cq_max_phy = -1;
  for (const auto& cq : queues) {
    TH_RETURN_IF_ERROR(cq->Recover());
    cq_max_phy = std::max(cq_max_phy, cq->max_phys_offset());
  }
  return cq_max_phy;
}

Result<RecoveryStats> Recovery::RecoverCommitLog(
    bool last_exit_ok, int64_t dispatch_from,
    const RecoveryDispatchFn& dispatch) {
  const int64_t t0 = clock_->MonotonicNs();
  MappedFileQueue& queue = log_->queue();
  RecoveryStats stats;
  auto files = queue.Snapshot();
  const bool crc = config_.check_crc_on_recover;
  if (files.empty()) {
    queue.set_flushed_where(0);
    queue.set_committed_where(0);
    TH_LOG(store, kInfo, "recovery: empty commitlog");
    return stats;
  }
  // Start segment: walking back from the newest, the first whose first record
  // is valid and old enough.
  size_t start = 0;
  CheckpointData cp = checkpoint_->Get();
  int64_t min_ts = MinTimestamp(cp);
  // The newest index file is only durable once rolled or at a clean stop, and
  // abnormal loading drops index files newer than the checkpoint: start early
  // enough to index those records again (RocketMQ's messageIndexSafe rule,
  // always on), so every recovered record is reachable by key. A dropped file
  // can begin before the checkpoint's time (a clean stop checkpoints the newest
  // file, and the next run goes on filling it): start from its beginning.
  if (config_.message_index_enable) {
    min_ts = std::min(min_ts, cp.index_msg_timestamp);
    min_ts = std::min(min_ts, index_rebuild_from_);
  }
  for (size_t i = files.size(); i-- > 0;) {
    RecordCheck c = CheckAt(*files[i], 0, crc);
    if (c.status != RecordStatus::kOk || c.record.store_timestamp == 0)
      continue;
    bool ok = last_exit_ok
                  ? c.record.phys_offset <= std::max(dispatch_from, int64_t{0})
                  : c.record.store_timestamp <= min_ts;
    if (ok) {
      start = i;
      break;
    }
  }
  int64_t process_offset = files[start]->base_offset();
  std::string stop_reason = "end of data";
  for (size_t i = start; i < files.size(); ++i) {
    const MappedFile& f = *files[i];
    ++stats.files_scanned;
    int32_t pos = 0;
    bool next_file = false;
    while (pos < f.file_size()) {
      RecordCheck c = CheckAt(f, pos, crc);
      if (c.status == RecordStatus::kOk) {
        int64_t phys = f.base_offset() + pos;
        if (!last_exit_ok || phys >= dispatch_from)
          dispatch(c.record, phys, c.size);
        ++stats.records;
        pos += c.size;
        process_offset = f.base_offset() + pos;
        continue;
      }
      if (c.status == RecordStatus::kBlank) {
        next_file = i + 1 < files.size();
        if (next_file) process_offset = files[i + 1]->base_offset();
        break;
      }
      bool all_zero =
          c.size <= 0 && f.mapping()[static_cast<size_t>(pos)] == std::byte{0};
      if (!all_zero || c.status != RecordStatus::kTorn) {
        stop_reason = fmt::format("{} at {} (file pos {}): {}", f.path(),
                                  f.base_offset() + pos, pos, c.error);
      }
      break;
    }
    if (!next_file) break;
  }
  // What lies beyond the recovered end and looked like data: from the cut (and
  // from the start of every later segment) up to the first all-zero page.
  for (auto& f : files) {
    int64_t end = f->base_offset() + f->file_size();
    if (end <= process_offset) continue;
    int64_t from = std::max<int64_t>(0, process_offset - f->base_offset());
    auto m = f->mapping();
    int64_t p = from;
    while (p < f->file_size()) {
      int64_t page_end = std::min<int64_t>((p / kOsPageSize + 1) * kOsPageSize,
                                           f->file_size());
      bool zero = true;
      for (int64_t q = p; q < page_end && zero; ++q)
        zero = m[static_cast<size_t>(q)] == std::byte{0};
      if (zero) break;
      p = page_end;
    }
    stats.bytes_truncated += p - from;
  }
  stats.process_offset = process_offset;
  queue.set_flushed_where(process_offset);
  queue.set_committed_where(process_offset);
  TH_RETURN_IF_ERROR(queue.TruncateDirtyFiles(process_offset));
  // Zero what lies behind the new end of the last segment, so the appends
  // that follow never sit in front of stale bytes: those would make the
  // segment fail `store verify`, and a stale record that survived whole could
  // come back after a second crash (with a queue offset that is handed out
  // again). After a crash every page up to the segment's end is checked (an
  // unsynced page may have reached the disk after an older one that did not);
  // after a clean stop the tail ends at the first zero page.
  if (auto last = queue.GetLastMappedFile(); last != nullptr) {
    auto m = last->mutable_mapping();
    const int64_t size = last->file_size();
    int64_t dirty_begin = -1;
    int64_t dirty_end = -1;
    for (int64_t p = last->write_pos(); p < size;) {
      int64_t page_end =
          std::min<int64_t>((p / kOsPageSize + 1) * kOsPageSize, size);
      bool zero = true;
      for (int64_t q = p; q < page_end && zero; ++q)
        zero = m[static_cast<size_t>(q)] == std::byte{0};
      if (!zero) {
        std::memset(m.data() + p, 0, static_cast<size_t>(page_end - p));
        if (dirty_begin < 0) dirty_begin = p;
        dirty_end = page_end;
      } else if (last_exit_ok) {
        break;
      }
      p = page_end;
    }
    if (dirty_begin >= 0) {
      TH_RETURN_IF_ERROR(last->SyncRange(static_cast<int32_t>(dirty_begin),
                                         static_cast<int32_t>(dirty_end)));
    }
  }
  stats.seconds = static_cast<double>(clock_->MonotonicNs() - t0) / 1e9;
  TH_LOG(store, kInfo,
         "recovery ({}): scanned {} files, {} records, recovered end {}, "
         "dropped {} bytes ({}), {:.3f} s",
         last_exit_ok ? "normal" : "abnormal", stats.files_scanned,
         stats.records, process_offset, stats.bytes_truncated, stop_reason,
         stats.seconds);
  return stats;
}

Status Recovery::FixConsumeQueues(
    const std::vector<std::shared_ptr<ConsumeQueue>>& queues,
    int64_t process_offset, int64_t min_phys_offset) const {
  for (const auto& cq : queues) {
    if (cq->max_phys_offset() > process_offset)
      TH_RETURN_IF_ERROR(
          cq->TruncateDirtyLogicFiles(PhysOffset{process_offset}));
    TH_RETURN_IF_ERROR(cq->FlushAll(0));
    cq->CorrectMinOffset(PhysOffset{std::max<int64_t>(min_phys_offset, 0)});
    log_->SetQueueOffset(cq->topic(), cq->queue_id(),
                         QueueOffset{cq->GetMaxOffsetInQueue()});
  }
  return Status::OK();
}

}  // namespace thruster::store
