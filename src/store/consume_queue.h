#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/consume_queue_format.h"
#include "store/io/file_system.h"
#include "store/mapped_file.h"
#include "store/mapped_file_queue.h"
#include "store/offsets.h"

namespace thruster::store {

// Which neighbour GetOffsetInQueueByTime returns (spec §12.4).
enum class BoundaryType {
  kLower,  // the first message stored at or after the time (the default)
  kUpper,  // the last message stored at or before the time
};

// Store timestamp of the CommitLog record at [phys_offset, phys_offset + size),
// or -1 when it cannot be read (spec §12.4 `pickupStoreTimestamp`). Supplied by
// the owner of the CommitLog.
using StoreTimestampLookup =
    std::function<int64_t(int64_t phys_offset, int32_t size)>;

// The consume queue of one (topic, queue id): a MappedFileQueue of fixed-size
// files under <consumequeue dir>/<topic>/<queue id>/ holding one 20-byte entry
// per message, queue offset q at queue-stream byte q * 20 (spec §4; format in
// consume_queue_format.h).
//
// Lifecycle: construct → Load() → Recover() → (the store truncates with
// TruncateDirtyLogicFiles() and calls CorrectMinOffset()) →
// PutMessagePositionInfo()/reads/Flush()/DeleteExpiredFile() → destroy.
//
// Thread-safety: PutMessagePositionInfo() is confined to the `dispatch` thread
// (or to recovery before that thread starts). Load(), Recover(),
// TruncateDirtyLogicFiles() and Destroy() run while nothing else touches this
// queue. Readers (GetIndexBuffer, GetEntry, offsets, GetOffsetInQueueByTime)
// are thread-safe; so are Flush() (one flushing thread at a time) and
// DeleteExpiredFile()/CorrectMinOffset() (the `clean` thread). A reader only
// ever sees whole entries: an entry is published by the release-store of its
// file's write pos after its 20 bytes are copied.
//
// Ownership: `fs` must outlive this object. A SelectResult keeps its file
// mapped after the file is deleted.
class ConsumeQueue {
 public:
  // The files are sparse, as RocketMQ's are (RandomAccessFile.setLength): a
  // queue costs disk for the entries it holds, not mappedFileSizeConsumeQueue
  // bytes from its first message on. Blocks are reserved (fallocate) ahead of
  // the appender in steps of this many bytes, so a full disk is an IOError
  // from PutMessagePositionInfo(), never a SIGBUS on a store into the mapping.
  static constexpr int32_t kReserveStep = 64 << 10;

  // `cq_root` is the store's consume-queue directory (<store
  // root>/consumequeue). `file_size` is mappedFileSizeConsumeQueue, rounded up
  // to a whole number of entries.
  ConsumeQueue(io::FileSystem* fs, const std::string& cq_root,
               std::string topic, int32_t queue_id,
               int64_t file_size = cq_format::kDefaultFileSize);
  ConsumeQueue(const ConsumeQueue&) = delete;
  ConsumeQueue& operator=(const ConsumeQueue&) = delete;

  // <cq_root>/<topic>/<queue id>
  static std::string QueueDir(const std::string& cq_root,
                              std::string_view topic, int32_t queue_id);

  const std::string& topic() const { return topic_; }
  int32_t queue_id() const { return queue_id_; }
  int64_t file_size() const { return files_.file_size(); }
  const std::string& dir() const { return files_.dir(); }

  // Maps the existing files (spec §1 rules; Corruption when a file has the
  // wrong size or the names leave a gap). Every file starts out full; Recover()
  // finds the real end.
  Status Load();

  // Finds the end of valid data (spec §4.6): scans from the third-last file and
  // stops at the first entry with phys offset < 0 or size <= 0 -- or, as
  // hardening, at an entry whose phys offset is below the end of the entry
  // before it (entries of one queue only ever move forward in the commit log).
  // Cuts the files back to that point, zeroes and syncs the 20 bytes found
  // there if they were not zero (spec §10.5), and sets max_phys_offset(). The
  // caller then runs TruncateDirtyLogicFiles() against the recovered CommitLog
  // end.
  Status Recover();

  // Appends the entry of queue offset `queue_offset` (spec §4.3). Idempotent:
  // an entry whose end (phys_offset + size) is at or below max_phys_offset(),
  // or whose queue offset is already written, is skipped with OK. A queue's
  // first entry at queue offset q > 0 puts pre-blank filler in front of it in
  // its file, and sets the min offset to q. A queue offset beyond the current
  // end (a hole; only a dispatch bug can cause it) is logged as an error and
  // filled with pre-blank entries, so every entry stays at its own queue
  // offset; a hole longer than one file is refused with InvalidArgument. An
  // IOError comes from creating a file or reserving its blocks (ENOSPC: the
  // disk is full); nothing is written then, and the same call succeeds once
  // the cause is gone. On OK the entry is readable; it is
  // durable once Flush() passes it. Retrying, marking the store's logic-queue
  // error and advancing the checkpoint's logicsMsgTimestamp (spec §4.3 steps
  // 6-7) are the caller's business.
  Status PutMessagePositionInfo(PhysOffset phys_offset, int32_t size,
                                int64_t tags_code, QueueOffset queue_offset);

  // Zero-copy view of the entries from `queue_offset` to the end of the file
  // holding it (whole entries, a multiple of 20 bytes, decode with
  // cq_format::DecodeEntry). nullopt when `queue_offset` is below the min
  // offset, at or beyond the max offset, or its file is gone. The caller reads
  // on into the next file with a new call at the offset after the last entry it
  // got.
  std::optional<SelectResult> GetIndexBuffer(QueueOffset queue_offset) const;
  // The single entry at `queue_offset` (same rules as GetIndexBuffer()).
  std::optional<cq_format::Entry> GetEntry(QueueOffset queue_offset) const;

  // Spec §4.5. min = min logic offset / 20; max = one past the last entry (0
  // for an empty queue).
  int64_t GetMinOffsetInQueue() const {
    return min_logic_offset() / static_cast<int64_t>(cq_format::kEntrySize);
  }
  int64_t GetMaxOffsetInQueue() const;
  // The min offset in queue-stream bytes.
  int64_t min_logic_offset() const {
    return min_logic_offset_.load(std::memory_order_acquire);
  }
  void set_min_logic_offset(int64_t v) {
    min_logic_offset_.store(v, std::memory_order_release);
  }
  // Moves the min offset to the first entry pointing at or beyond
  // `commit_log_min_offset`, or to the end of the queue when no entry does
  // (spec §4.5 `correctMinOffset`). Pre-blank filler never counts.
  void CorrectMinOffset(PhysOffset commit_log_min_offset);

  // End (phys offset + size) of the newest entry written or recovered; -1 when
  // there is none. Dispatch and recovery compare it with the CommitLog
  // (cqMaxPhy, spec §10.1 step 6).
  int64_t max_phys_offset() const {
    return max_phys_offset_.load(std::memory_order_acquire);
  }
  // The newest valid entry, read from the file (spec §4.5 `getLastOffset` is
  // its phys offset + size).
  std::optional<cq_format::Entry> GetLastEntry() const;

  // Drops every entry pointing at or past `phys_offset` (spec §4.7), deleting
  // files that hold only such entries, then zeroes and syncs the 20 bytes at
  // the new end if they were not zero (spec §10.5), so a second crash cannot
  // bring the cut entries back. max_phys_offset() becomes the end of the last
  // kept entry. An error is an I/O failure; the queue must then not be written.
  Status TruncateDirtyLogicFiles(PhysOffset phys_offset);

  // Flushes the file holding the flushed position when at least `least_pages` 4
  // KiB pages are pending (0: any byte); one file per call, so a caller wanting
  // everything durable loops while it returns false. Returns true when nothing
  // moved. An error means the bytes may be lost: the store turns read-only.
  Result<bool> Flush(int least_pages);
  // Flushes file after file until nothing is pending at `least_pages` (at most
  // 1000 files a call).
  Status FlushAll(int least_pages);
  int64_t flushed_where() const { return files_.flushed_where(); }

  // The queue offset of the message stored nearest `timestamp` (spec §12.4):
  // binary search over the store times that `store_time` reads from the
  // CommitLog; entries pointing below `commit_log_min_offset` count as older
  // than any time. The result lies in [min offset, max offset]; max offset
  // means "after the last message" for kLower; a store time that cannot be read
  // gives the min offset.
  int64_t GetOffsetInQueueByTime(int64_t timestamp, BoundaryType boundary,
                                 int64_t commit_log_min_offset,
                                 const StoreTimestampLookup& store_time) const;

  // Retention (spec §11.3): deletes files, oldest first and never the newest,
  // whose last entry points below `commit_log_min_offset`, then runs
  // CorrectMinOffset(). Returns how many files went.
  Result<int> DeleteExpiredFile(PhysOffset commit_log_min_offset);

  // Deletes every file of the queue (admin topic deletion, or an empty
  // CommitLog at start-up).
  Status Destroy();

  MappedFileQueue* mapped_file_queue_for_testing() { return &files_; }

 private:
  // Appends one entry at the end of the queue, rolling to a new file when the
  // last one is full. `last`: the newest file when the caller holds it, else
  // nullptr (it is looked up).
  Status AppendEntry(const cq_format::Entry& e, MappedFile* last);
  // Writes pre-blank filler from the start of `file` up to file pos `fill_to`
  // (an empty file), reserving blocks for the entry after it as well. IOError:
  // nothing written.
  Status FillPreBlank(MappedFile& file, int32_t fill_to);
  // Zeroes the units from `end` (the queue's new end) up to the first zero one
  // and syncs them (spec §10.5 clears the one at the end; a cut in a running
  // store leaves more).
  Status ZeroEntryAt(int64_t end);
  // End of the newest real (non-filler) entry below queue-stream byte `end`; -1
  // when there is none.
  int64_t LastPhysEndBefore(int64_t end) const;

  std::string topic_;
  int32_t queue_id_;
  MappedFileQueue files_;
  // Written by the dispatch thread (and recovery), read by any; each stands
  // alone (no other data is published through them).
  std::atomic<int64_t> max_phys_offset_{-1};
  std::atomic<int64_t> min_logic_offset_{0};
};

}  // namespace thruster::store
