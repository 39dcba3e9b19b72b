#include "store/consume_queue.h"

#include <algorithm>
#include <array>
#include <limits>

#include "common/logging.h"

namespace thruster::store {

using cq_format::Entry;

namespace {

constexpr auto kUnit = static_cast<int64_t>(cq_format::kEntrySize);
constexpr auto kUnit32 = static_cast<int32_t>(cq_format::kEntrySize);

// Decodes the entry at file pos `pos` of `f` (pos + 20 <= file size; the caller
// checks).
Entry EntryAt(const MappedFile& f, int64_t pos) {
  return cq_format::DecodeEntry(f.mapping().subspan(static_cast<size_t>(pos),
                                                    cq_format::kEntrySize))
      .value();
}

// An entry that names a live message: real data, not filler, not below the
// CommitLog's min offset.
bool IsLive(const Entry& e, int64_t commit_log_min_offset) {
  return cq_format::IsValid(e) && !cq_format::IsPreBlank(e) &&
         e.phys_offset >= commit_log_min_offset;
}

}  // namespace

ConsumeQueue::ConsumeQueue(io::FileSystem* fs, const std::string& cq_root,
                           std::string topic, int32_t queue_id,
                           int64_t file_size)
    : topic_(std::move(topic)),
      queue_id_(queue_id),
      files_(fs, QueueDir(cq_root, topic_, queue_id),
             cq_format::RoundFileSize(file_size)) {
  files_.set_reserve_step(kReserveStep);
  // A new queue's directory syncs (its file in the queue id's directory, that
  // directory in the topic's, the topic's in the root) run on the flush-cq
  // thread, not on dispatch: ~10 ms each under load.
  files_.set_defer_dir_sync(2);
  files_.set_random_access_while_appending(true);
}

std::string ConsumeQueue::QueueDir(const std::string& cq_root,
                                   std::string_view topic, int32_t queue_id) {
  return io::JoinPath(io::JoinPath(cq_root, std::string(topic)),
                      std::to_string(queue_id));
}

Status ConsumeQueue::Load() {
  TH_RETURN_IF_ERROR(files_.Load());
  auto first = files_.GetFirstMappedFile();
  min_logic_offset_.store(first ? first->base_offset() : 0,
                          std::memory_order_release);
  TH_LOG(store, kDebug, "consume queue {}: loaded {} files", dir(),
         files_.size());
  return Status::OK();
}

Status ConsumeQueue::Recover() {
  auto files = files_.Snapshot();
  if (files.empty()) {
    max_phys_offset_.store(-1, std::memory_order_release);
    return Status::OK();
  }
  const int64_t size = file_size();
  size_t index = files.size() >= 3 ? files.size() - 3 : 0;
  int64_t max_phys = -1;
  int64_t process_offset = files[index]->base_offset();
  for (; index < files.size(); ++index) {
    const MappedFile& f = *files[index];
    int64_t pos = 0;
    for (; pos + kUnit <= size; pos += kUnit) {
      Entry e = EntryAt(f, pos);
      if (!cq_format::IsValid(e)) break;
      if (!cq_format::IsPreBlank(e)) {
        if (e.phys_offset < max_phys) {
          TH_LOG(store, kWarn,
                 "consume queue {}: entry at {} points back to {} (previous "
                 "end {}); ending there",
                 f.path(), pos, e.phys_offset, max_phys);
          break;
        }
        max_phys = e.phys_offset + e.size;
      }
    }
    process_offset = f.base_offset() + pos;
    if (pos < size) break;
  }
  files_.set_flushed_where(process_offset);
  files_.set_committed_where(process_offset);
  TH_RETURN_IF_ERROR(files_.TruncateDirtyFiles(process_offset));
  TH_RETURN_IF_ERROR(ZeroEntryAt(process_offset));
  if (max_phys < 0) max_phys = LastPhysEndBefore(process_offset);
  max_phys_offset_.store(max_phys, std::memory_order_release);
  if (min_logic_offset() > process_offset) set_min_logic_offset(process_offset);
  TH_LOG(
      store, kDebug,
      "consume queue {}: recovered to queue-stream byte {}, max phys offset {}",
      dir(), process_offset, max_phys);
  return Status::OK();
}

Status ConsumeQueue::AppendEntry(const Entry& e, MappedFile* last) {
  std::shared_ptr<MappedFile> next;
  MappedFile* file = last;
  if (file == nullptr || file->IsFull()) {
    TH_ASSIGN_OR_RETURN(next,
                        files_.GetLastMappedFile(files_.GetMaxWrotePosition()));
    file = next.get();
  }
  TH_RETURN_IF_ERROR(file->ReserveTo(file->write_pos() + kUnit32));
  std::array<std::byte, cq_format::kEntrySize> buf;
  cq_format::EncodeEntry(e, buf);
  TH_CHECK(file->AppendBytes(buf),
           "consume queue {}: entry does not fit in {} at {}", dir(),
           file->path(), file->write_pos());
  return Status::OK();
}

Status ConsumeQueue::FillPreBlank(MappedFile& file, int32_t fill_to) {
  TH_CHECK(file.write_pos() == 0 && fill_to % kUnit32 == 0 &&
               fill_to + kUnit32 <= file.file_size(),
           "pre-blank fill of {} to {} from write pos {}", file.path(), fill_to,
           file.write_pos());
  TH_RETURN_IF_ERROR(file.ReserveTo(fill_to + kUnit32));
  std::span<std::byte> out = file.WritableSpan();
  for (int32_t pos = 0; pos < fill_to; pos += kUnit32) {
    cq_format::EncodeEntry(cq_format::kPreBlankEntry,
                           out.subspan(static_cast<size_t>(pos)));
  }
  file.AdvanceWritePos(fill_to);
  return Status::OK();
}

Status ConsumeQueue::PutMessagePositionInfo(PhysOffset phys, int32_t size,
                                            int64_t tags_code,
                                            QueueOffset queue) {
  const int64_t phys_offset = phys.value;
  const int64_t queue_offset = queue.value;
  // A record's queue offset comes from the CommitLog (not covered by its CRC):
  // one whose file position or phys end would overflow is refused.
  if (phys_offset < 0 || size <= 0 || queue_offset < 0 ||
      queue_offset > std::numeric_limits<int64_t>::max() / kUnit ||
      phys_offset > std::numeric_limits<int64_t>::max() - size) {
    return Status::InvalidArgument(fmt::format(
        "consume queue {}: bad entry phys offset {} size {} queue offset {}",
        dir(), phys_offset, size, queue_offset));
  }
  if (phys_offset + size <= max_phys_offset())
    return Status::OK();  // already present (re-dispatch)
  const int64_t expected = queue_offset * kUnit;
  auto last = files_.GetLastMappedFile();
  const bool no_entries =
      last == nullptr || (last->write_pos() == 0 && files_.size() == 1);
  if (no_entries) {
    // The queue's first entry: its file must be the one holding `expected`,
    // with filler in front of it.
    if (last != nullptr && (expected < last->base_offset() ||
                            expected >= last->base_offset() + file_size())) {
      TH_RETURN_IF_ERROR(files_.DestroyAll());
    }
    TH_ASSIGN_OR_RETURN(auto file, files_.GetLastMappedFile(expected));
    const auto fill_to = static_cast<int32_t>(expected - file->base_offset());
    if (fill_to > 0) {
      TH_RETURN_IF_ERROR(FillPreBlank(*file, fill_to));
      TH_LOG(store, kInfo,
             "consume queue {}: first entry at queue offset {}, pre-blank "
             "filler in {}",
             dir(), queue_offset, file->path());
    }
    set_min_logic_offset(expected);
    files_.set_flushed_where(file->base_offset());
    files_.set_committed_where(file->base_offset());
    last = nullptr;  // the files may have changed above
  }
  // Only this thread adds files or writes entries, and the newest file is
  // never deleted under it: `last` is still the newest.
  const int64_t end = last != nullptr ? last->base_offset() + last->write_pos()
                                      : files_.GetMaxWrotePosition();
  if (expected < end) {
    TH_LOG(store, kWarn,
           "consume queue {}: queue offset {} already written (end {}), phys "
           "offset {} skipped",
           dir(), queue_offset, end / kUnit, phys_offset);
    return Status::OK();
  }
  if (expected > end) {
    if (expected - end > file_size()) {
      return Status::InvalidArgument(fmt::format(
          "consume queue {}: queue offset {} is far beyond the end {}", dir(),
          queue_offset, end / kUnit));
    }
    TH_LOG(store, kError,
           "consume queue {}: queue offset {} leaves a hole after {}; filling "
           "it with pre-blank",
           dir(), queue_offset, end / kUnit);
    for (int64_t at = end; at < expected; at += kUnit)
      TH_RETURN_IF_ERROR(AppendEntry(cq_format::kPreBlankEntry, nullptr));
    last = nullptr;
  }
  TH_RETURN_IF_ERROR(
      AppendEntry(Entry{phys_offset, size, tags_code}, last.get()));
  max_phys_offset_.store(phys_offset + size, std::memory_order_release);
  return Status::OK();
}

std::optional<SelectResult> ConsumeQueue::GetIndexBuffer(
    QueueOffset queue) const {
  const int64_t queue_offset = queue.value;
  const int64_t offset = queue_offset * kUnit;
  if (queue_offset < 0 || offset < min_logic_offset()) return std::nullopt;
  auto file = files_.FindMappedFileByOffset(offset);
  if (file == nullptr) return std::nullopt;
  auto r = file->Select(static_cast<int32_t>(offset - file->base_offset()));
  if (!r || r->bytes.size() < cq_format::kEntrySize) return std::nullopt;
  r->bytes = r->bytes.first(r->bytes.size() / cq_format::kEntrySize *
                            cq_format::kEntrySize);
  return r;
}

std::optional<Entry> ConsumeQueue::GetEntry(QueueOffset queue_offset) const {
  auto r = GetIndexBuffer(queue_offset);
  if (!r) return std::nullopt;
  return cq_format::DecodeEntry(r->bytes).value();
}

int64_t ConsumeQueue::GetMaxOffsetInQueue() const {
  return files_.GetMaxOffset() / kUnit;
}

std::optional<Entry> ConsumeQueue::GetLastEntry() const {
  const int64_t end = files_.GetMaxOffset();
  if (end < kUnit) return std::nullopt;
  auto file = files_.FindMappedFileByOffset(end - kUnit);
  if (file == nullptr) return std::nullopt;
  Entry e = EntryAt(*file, end - kUnit - file->base_offset());
  if (!cq_format::IsValid(e)) return std::nullopt;
  return e;
}

int64_t ConsumeQueue::LastPhysEndBefore(int64_t end) const {
  // Filler sits only in front of a queue's first entry or in a (bug) hole, so
  // this walks a short way.
  for (int64_t at = end - kUnit; at >= 0; at -= kUnit) {
    auto file = files_.FindMappedFileByOffset(at);
    if (file == nullptr) return -1;
    Entry e = EntryAt(*file, at - file->base_offset());
    if (!cq_format::IsValid(e)) return -1;
    if (!cq_format::IsPreBlank(e)) return e.phys_offset + e.size;
  }
  return -1;
}

void ConsumeQueue::CorrectMinOffset(PhysOffset min_phys) {
  const int64_t commit_log_min_offset = min_phys.value;
  const int64_t max_byte = files_.GetMaxOffset();
  const int64_t old_min = min_logic_offset();
  if (old_min >= max_byte) return;
  auto last = GetLastEntry();
  if (!last || !IsLive(*last, commit_log_min_offset)) {
    set_min_logic_offset(max_byte);
    TH_LOG(store, kInfo,
           "consume queue {}: no live message (commit log min offset {}); min "
           "offset now {}",
           dir(), commit_log_min_offset, max_byte / kUnit);
    return;
  }
  for (const auto& f : files_.Snapshot()) {
    const int64_t base = f->base_offset();
    const int64_t read_end = f->read_pos() / kUnit * kUnit;
    if (base + read_end <= old_min) continue;
    int64_t low = std::max<int64_t>(0, old_min - base) / kUnit * kUnit;
    int64_t high = read_end - kUnit;
    if (low > high || !IsLive(EntryAt(*f, high), commit_log_min_offset))
      continue;
    // First live entry in [low, high]; entries move forward in the commit log,
    // so liveness is monotonic.
    while (low < high) {
      int64_t mid = low + (high - low) / kUnit / 2 * kUnit;
      if (IsLive(EntryAt(*f, mid), commit_log_min_offset)) {
        high = mid;
      } else {
        low = mid + kUnit;
      }
    }
    if (base + low != old_min) {
      set_min_logic_offset(base + low);
      TH_LOG(store, kInfo,
             "consume queue {}: min offset {} -> {} (commit log min offset {})",
             dir(), old_min / kUnit, (base + low) / kUnit,
             commit_log_min_offset);
    }
    return;
  }
}

Status ConsumeQueue::ZeroEntryAt(int64_t end) {
  auto file = files_.FindMappedFileByOffset(end);
  if (file == nullptr) return Status::OK();
  const auto pos = static_cast<int32_t>(end - file->base_offset());
  if (pos + kUnit32 > file->file_size() || file->write_pos() != pos)
    return Status::OK();
  // Every stale unit from the end on (a cut in a running store leaves many;
  // the next appends would otherwise make the ones after them visible).
  int32_t stop = pos;
  while (stop + kUnit32 <= file->file_size()) {
    auto stale = file->mapping().subspan(static_cast<size_t>(stop),
                                         cq_format::kEntrySize);
    if (std::all_of(stale.begin(), stale.end(),
                    [](std::byte b) { return b == std::byte{0}; }))
      break;
    stop += kUnit32;
  }
  if (stop == pos) return Status::OK();
  auto bytes = file->mutable_mapping().subspan(
      static_cast<size_t>(pos), static_cast<size_t>(stop - pos));
  std::fill(bytes.begin(), bytes.end(), std::byte{0});
  TH_RETURN_IF_ERROR(file->SyncRange(pos, stop));
  TH_LOG(store, kInfo,
         "consume queue {}: cleared {} stale entries from {} of {}", dir(),
         (stop - pos) / kUnit32, pos, file->path());
  return Status::OK();
}

Status ConsumeQueue::TruncateDirtyLogicFiles(PhysOffset end) {
  const int64_t phys_offset = end.value;
  auto files = files_.Snapshot();
  if (files.empty()) {
    max_phys_offset_.store(-1, std::memory_order_release);
    return Status::OK();
  }
  const int64_t size = file_size();
  auto kept = [phys_offset](const Entry& e) {
    return cq_format::IsValid(e) &&
           (cq_format::IsPreBlank(e) || e.phys_offset < phys_offset);
  };
  // The newest file whose first entry survives holds the new end; every later
  // file goes.
  int64_t new_end = files.front()->base_offset();
  for (size_t i = files.size(); i-- > 0;) {
    const MappedFile& f = *files[i];
    if (f.read_pos() < kUnit32 || !kept(EntryAt(f, 0))) continue;
    int64_t pos = kUnit;
    while (pos + kUnit <= size && pos < f.read_pos() && kept(EntryAt(f, pos)))
      pos += kUnit;
    new_end = f.base_offset() + pos;
    break;
  }
  const int64_t old_end = files_.GetMaxOffset();
  TH_RETURN_IF_ERROR(files_.TruncateDirtyFiles(new_end));
  if (files_.flushed_where() > new_end) files_.set_flushed_where(new_end);
  if (files_.committed_where() > new_end) files_.set_committed_where(new_end);
  if (min_logic_offset() > new_end) set_min_logic_offset(new_end);
  TH_RETURN_IF_ERROR(ZeroEntryAt(new_end));
  const int64_t max_phys = LastPhysEndBefore(new_end);
  max_phys_offset_.store(max_phys, std::memory_order_release);
  if (old_end != new_end) {
    TH_LOG(
        store, kInfo,
        "consume queue {}: truncated to phys offset {}: queue offset {} -> {}",
        dir(), phys_offset, old_end / kUnit, new_end / kUnit);
  }
  return Status::OK();
}

Result<bool> ConsumeQueue::Flush(int least_pages) {
  return files_.Flush(least_pages);
}

Status ConsumeQueue::FlushAll(int least_pages) {
  for (int i = 0; i < 1000; ++i) {
    TH_ASSIGN_OR_RETURN(bool unchanged, Flush(least_pages));
    if (unchanged) return Status::OK();
  }
  return Status::OK();
}

int64_t ConsumeQueue::GetOffsetInQueueByTime(
    int64_t timestamp, BoundaryType boundary, int64_t commit_log_min_offset,
    const StoreTimestampLookup& store_time) const {
  constexpr int64_t kTooOld = std::numeric_limits<int64_t>::min();
  constexpr int64_t kReadFailed = -1;
  const int64_t min_q = GetMinOffsetInQueue();
  const int64_t max_q = GetMaxOffsetInQueue();
  auto clamp = [&](int64_t q) {
    return std::clamp(q, min_q, std::max(min_q, max_q));
  };
  const int64_t min_logic = min_logic_offset();

  struct Range {
    std::shared_ptr<MappedFile> file;
    int64_t low;   // file pos of the first searchable entry
    int64_t high;  // file pos of the last one
  };
  std::vector<Range> ranges;
  for (auto& f : files_.Snapshot()) {
    int64_t low =
        std::max<int64_t>(0, min_logic - f->base_offset()) / kUnit * kUnit;
    int64_t high = f->read_pos() / kUnit * kUnit - kUnit;
    if (low <= high) ranges.push_back(Range{std::move(f), low, high});
  }
  if (ranges.empty()) return clamp(0);

  auto time_at = [&](const Range& r, int64_t pos) {
    Entry e = EntryAt(*r.file, pos);
    if (!IsLive(e, commit_log_min_offset)) return kTooOld;
    int64_t t = store_time(e.phys_offset, e.size);
    return t < 0 ? kReadFailed : t;
  };

  // Pick the file (spec §12.4 step 1); files are full except the newest, so the
  // first and last searchable entries bound each file's times.
  const Range* chosen = &ranges.back();
  if (boundary == BoundaryType::kLower) {
    for (size_t i = 0; i + 1 < ranges.size(); ++i) {
      int64_t stop = time_at(ranges[i], ranges[i].high);
      if (stop == kReadFailed) return clamp(0);
      if (stop >= timestamp) {
        chosen = &ranges[i];
        break;
      }
    }
  } else {
    chosen = &ranges.front();
    for (size_t i = ranges.size(); i-- > 0;) {
      int64_t start = time_at(ranges[i], ranges[i].low);
      if (start == kReadFailed) return clamp(0);
      if (start <= timestamp) {
        chosen = &ranges[i];
        break;
      }
    }
  }

  // Binary search over [low, high + 20): the first entry at/after (kLower) or
  // after (kUpper) `timestamp`.
  const Range& r = *chosen;
  int64_t low = r.low;
  int64_t high = r.high + kUnit;
  while (low < high) {
    int64_t mid = low + (high - low) / kUnit / 2 * kUnit;
    int64_t t = time_at(r, mid);
    if (t == kReadFailed) return clamp(0);
    bool before =
        boundary == BoundaryType::kLower ? t < timestamp : t <= timestamp;
    if (before) {
      low = mid + kUnit;
    } else {
      high = mid;
    }
  }
  const int64_t base = r.file->base_offset();
  if (boundary == BoundaryType::kLower) return clamp((base + low) / kUnit);
  if (low == r.low) return clamp(0);  // nothing at or before `timestamp`
  return clamp((base + low - kUnit) / kUnit);
}

Result<int> ConsumeQueue::DeleteExpiredFile(PhysOffset min_phys) {
  const int64_t commit_log_min_offset = min_phys.value;
  auto expired = [commit_log_min_offset](const MappedFile& f) {
    if (!f.available()) return true;
    Entry last = EntryAt(f, f.file_size() - kUnit);
    return last.phys_offset < commit_log_min_offset;
  };
  TH_ASSIGN_OR_RETURN(
      int deleted,
      files_.DeleteExpired(expired, std::numeric_limits<int>::max()));
  if (deleted > 0) {
    TH_LOG(store, kInfo,
           "consume queue {}: deleted {} files below commit log offset {}",
           dir(), deleted, commit_log_min_offset);
  }
  CorrectMinOffset(min_phys);
  return deleted;
}

Status ConsumeQueue::Destroy() {
  TH_RETURN_IF_ERROR(files_.DestroyAll());
  max_phys_offset_.store(-1, std::memory_order_release);
  set_min_logic_offset(0);
  return Status::OK();
}

}  // namespace thruster::store
