#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "store/io/file_system.h"
#include "store/mapped_file.h"

// A directory of equal-size segments named by their 20-digit base offset (store
// spec §7.2): the CommitLog, one consume queue. Tracks flushed/committed
// "where" offsets across segments. Lifecycle: construct → Load() → use →
// (Shutdown by owner). Thread-safe: the segment list is guarded by a mutex;
// Flush and Commit each from one thread at a time.
namespace thruster::store {

class AllocateService;
class TransientStorePool;

class MappedFileQueue {
 public:
  // `fs` (and `allocator`, `pool` if given) must outlive this object. With an
  // allocator, new segments come from it (pre-created ahead of need); otherwise
  // they are created inline.
  MappedFileQueue(io::FileSystem* fs, std::string dir, int64_t file_size,
                  AllocateService* allocator = nullptr,
                  TransientStorePool* pool = nullptr);

  // Loads the existing segments (spec §1): sorted by name; a zero-length last
  // file is deleted; any other size mismatch, a non-numeric name, or a gap
  // between consecutive base offsets is Corruption naming the file. A missing
  // directory is created and counts as empty.
  Status Load();

  // Makes the segments this queue creates or loads from now on sparse, with
  // blocks reserved ahead of the appender in steps of `step` bytes (see
  // MappedFile::ReserveTo); 0 (the default) allocates every segment whole.
  // Set before Load(). Not for a queue with an allocator.
  void set_reserve_step(int32_t step) { reserve_step_ = step; }
  int32_t reserve_step() const { return reserve_step_; }

  // Moves the directory sync that makes a new segment's name durable from the
  // thread that creates the segment to the next Flush(), which runs it before
  // the flush that makes the segment's data durable: a power loss still cannot
  // drop a segment whose data was synced. The queue's first segment also syncs
  // the `parent_levels` directories above dir(), whose entries Load() may have
  // just created. For queues created on a hot thread in numbers (the consume
  // queues, on the dispatch thread), where each directory sync can take ~10 ms.
  // Set before Load().
  void set_defer_dir_sync(int parent_levels) {
    defer_dir_sync_ = true;
    defer_parent_levels_ = parent_levels;
  }
  // Advises the segment being appended to as randomly accessed, so a fault in
  // it reads no pages around the one it needs, and puts the one before back to
  // normal access when a new segment takes over. For sparse segments filled a
  // few bytes at a time (the consume queues): the first store into a hole
  // faults, and the kernel's read-around (read_ahead_kb, 8 MiB on our VMs)
  // zero-filled a whole new 6 MB consume-queue file in the page cache, about a
  // millisecond of the dispatch thread's time and 6 MB of memory per new queue.
  // Set before Load().
  void set_random_access_while_appending(bool v) {
    random_access_while_appending_ = v;
  }
  // Directory syncs deferred and not yet run (for tests).
  size_t pending_dir_syncs() const;

  const std::string& dir() const { return dir_; }
  int64_t file_size() const { return file_size_; }
  bool empty() const;
  size_t size() const;

  std::shared_ptr<MappedFile> GetFirstMappedFile() const;
  std::shared_ptr<MappedFile> GetLastMappedFile() const;
  // The last segment, creating one (at `start_offset` rounded down to the file
  // size when the queue is empty, else after the last) when there is none or
  // the last is full.
  Result<std::shared_ptr<MappedFile>> GetLastMappedFile(int64_t start_offset);
  // The segment holding `offset`; nullptr when outside [first base, last base +
  // size) unless return_first_on_not_found.
  std::shared_ptr<MappedFile> FindMappedFileByOffset(
      int64_t offset, bool return_first_on_not_found = false) const;
  std::vector<std::shared_ptr<MappedFile>> Snapshot() const;
  // Changes whenever the segment list does (a segment added, truncated away,
  // deleted, or the list loaded or destroyed): a caller that keeps a segment
  // it got from here knows it is still the list's while this stays the same.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  int64_t GetMinOffset()
      const;  // first base (skipping a first segment being destroyed)
  int64_t GetMaxOffset() const;         // last base + last read pos
  int64_t GetMaxWrotePosition() const;  // last base + last write pos

  int64_t flushed_where() const {
    return flushed_where_.load(std::memory_order_acquire);
  }
  int64_t committed_where() const {
    return committed_where_.load(std::memory_order_acquire);
  }
  void set_flushed_where(int64_t v) {
    flushed_where_.store(v, std::memory_order_release);
  }
  void set_committed_where(int64_t v) {
    committed_where_.store(v, std::memory_order_release);
  }
  int64_t store_timestamp() const {
    return store_timestamp_.load(std::memory_order_acquire);
  }

  // Flushes the segment holding flushed_where (one segment per call). Returns
  // true when nothing moved.
  Result<bool> Flush(int least_pages) TH_EXCLUDES(flush_mu_);
  // Starts the disk write of the whole pages readable beyond the last call once
  // there are at least `least_bytes` of them, and waits for the oldest started
  // ranges while more than `max_in_flight_bytes` are started but not known
  // written. Keeps the dirty page cache of a fast appender small (see
  // io::MappedRegion::Writeback); durability stays with Flush(). With
  // `drop_below` >= 0, written ranges that end at or below that offset are
  // dropped from the page cache (readers then fault them in from the disk);
  // negative: never drop. Drops end on a kDropAlign boundary (or a segment's
  // end); the rest of a range goes with the next one.
  // From the flush thread only.
  Status Writeback(int64_t least_bytes, int64_t max_in_flight_bytes,
                   int64_t drop_below = -1) TH_EXCLUDES(flush_mu_);
  // The page cache of a file keeps folios of up to 2 MiB, and dropping a range
  // leaves every folio its edges cut through: drops of arbitrary 4 MiB ranges
  // left about 40% of the pages cached.
  static constexpr int32_t kDropAlign = 2 << 20;
  // Unmaps each range Writeback starts from the mapping first (see
  // io::MappedRegion::Unmap): for a queue whose appender stores through the
  // mapping, whose writable pages would otherwise each cost a TLB shootdown
  // when the kernel write-protects them for the write. Set before use.
  void set_unmap_before_writeback(bool on) { unmap_before_writeback_ = on; }
  // Hands the drops Writeback would make to DropDeferred instead, keeping at
  // most `max_bytes` of them waiting (Writeback drops the oldest beyond that
  // itself). For the CommitLog, whose `allocate` thread faults in pages ahead
  // of the writer: a frame freed just before it is faulted in again is reused
  // while the host still backs it, where one left free for a second or two has
  // been reported free and taken back (first touch then costs ~10x; see
  // store/README.md). Set before use.
  void set_defer_drops(int64_t max_bytes) {
    max_deferred_drop_bytes_ = max_bytes;
  }
  // Drops at least `bytes` of the deferred ranges (to the next kDropAlign
  // boundary), oldest first, or all of them when fewer wait; returns the bytes
  // dropped. From any thread.
  int64_t DropDeferred(int64_t bytes) TH_EXCLUDES(drop_mu_);
  // Bytes of deferred drops waiting (tests, runtime info).
  int64_t deferred_drop_bytes() const TH_EXCLUDES(drop_mu_);
  // Commits the segment holding committed_where. Returns true when nothing
  // moved; IOError when the write failed.
  Result<bool> Commit(int least_pages) TH_EXCLUDES(flush_mu_);

  // Cuts the queue back to `offset`: the segment containing it keeps positions
  // offset % size, later ones are destroyed; the flushed and committed "where"
  // offsets move back to `offset` when beyond it. Bytes after the cut are not
  // cleared here. Safe beside a flushing or committing thread (they are held
  // off meanwhile), not beside an appender.
  Status TruncateDirtyFiles(int64_t offset) TH_EXCLUDES(flush_mu_);
  // Removes segments from the front (retention). Never the last one.
  Status DeleteFirstSegments(size_t count);
  // Deletes segments, oldest first except the newest, while `expired(file)` is
  // true, at most `max_count`; returns how many went.
  Result<int> DeleteExpired(
      const std::function<bool(const MappedFile&)>& expired, int max_count);
  // Destroys every segment and forgets them.
  Status DestroyAll();

 private:
  Result<std::shared_ptr<MappedFile>> CreateSegment(int64_t base_offset,
                                                    bool first);
  // Runs the deferred directory syncs, oldest first; the ones a failure left
  // stay pending.
  Status SyncPendingDirs() TH_REQUIRES(flush_mu_);
  Status WritebackLocked(int64_t least_bytes, int64_t max_in_flight_bytes,
                         int64_t drop_below) TH_REQUIRES(flush_mu_);
  // [begin, end) of one segment: a writeback started or done, a drop deferred.
  struct FileRange {
    std::shared_ptr<MappedFile> file;
    int32_t begin = 0;
    int32_t end = 0;
  };
  // Drops [begin, end) of `file` now, or defers it (set_defer_drops).
  void DropOrDefer(std::shared_ptr<MappedFile> file, int32_t begin, int32_t end)
      TH_EXCLUDES(drop_mu_);
  // Moves at least `bytes` of the deferred drops (to the next kDropAlign
  // boundary), oldest first, into `out`; returns how many bytes moved.
  int64_t TakeDeferred(int64_t bytes, std::vector<FileRange>* out)
      TH_REQUIRES(drop_mu_);

  io::FileSystem* fs_;
  std::string dir_;
  int64_t file_size_;
  AllocateService* allocator_;
  TransientStorePool* pool_;
  int32_t reserve_step_ = 0;  // set before use, then read-only
  bool defer_dir_sync_ = false;  // set before use, then read-only
  int defer_parent_levels_ = 0;  // set before use, then read-only
  bool random_access_while_appending_ = false;  // set before use, read-only
  mutable Mutex mu_;
  std::vector<std::shared_ptr<MappedFile>> files_ TH_GUARDED_BY(mu_);
  std::vector<std::string> pending_dir_syncs_ TH_GUARDED_BY(mu_);
  std::atomic<uint64_t> version_{0};  // written under mu_
  void BumpVersion() TH_REQUIRES(mu_) {
    version_.fetch_add(1, std::memory_order_release);
  }
  std::atomic<int64_t> flushed_where_{0};
  std::atomic<int64_t> committed_where_{0};
  std::atomic<int64_t> store_timestamp_{0};

  // Held by Flush, Commit and Writeback, so a truncation never interleaves with
  // them (a flush that read its position before the cut would store it after).
  Mutex flush_mu_;
  // Writeback state (flush thread, under flush_mu_): where the next range
  // starts (-1: start at flushed_where), and the ranges started but not waited
  // for.
  int64_t writeback_where_ TH_GUARDED_BY(flush_mu_) = -1;
  std::deque<FileRange> writeback_in_flight_ TH_GUARDED_BY(flush_mu_);
  std::deque<FileRange> written_back_
      TH_GUARDED_BY(flush_mu_);  // not yet dropped, oldest first
  int64_t dropped_where_ TH_GUARDED_BY(flush_mu_) =
      0;  // everything below has been dropped
  int64_t writeback_in_flight_bytes_ TH_GUARDED_BY(flush_mu_) = 0;

  int64_t max_deferred_drop_bytes_ = -1;  // < 0: drop at once; read-only
  bool unmap_before_writeback_ = false;   // set before use, then read-only
  mutable Mutex drop_mu_;
  std::deque<FileRange> deferred_drops_
      TH_GUARDED_BY(drop_mu_);  // oldest first
  int64_t deferred_drop_bytes_ TH_GUARDED_BY(drop_mu_) = 0;
};

}  // namespace thruster::store
