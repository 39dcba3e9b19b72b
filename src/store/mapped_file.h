#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "store/io/file_system.h"

// One fixed-size segment file mapped MAP_SHARED (store spec §7.1). Its name is
// its base offset.
//
// clang-format off
// Positions are file positions (bytes from the file start): flush pos <= commit pos <= write pos.
//   write pos:   bytes appended (into the mapping, or into the transient pool buffer when one is attached)
//   commit pos:  bytes in the file (== write pos without a pool buffer)
//   flush pos:   bytes known durable
// clang-format on
// Readers see [0, read pos): commit pos while a pool buffer is attached, else
// write pos (the 4.x rule).
//
// Lifecycle: Create/Open → append/flush/read → Destroy (unlinks the file) →
// last reference dropped (unmaps). Ownership: shared_ptr. A reader's
// SelectResult holds the file, so the mapping outlives every reader even after
// Destroy() (spec §7.6's forced unmap under readers is deliberately not
// reproduced). Thread-safety: one appender at a time (the owner serialises
// appends, e.g. the CommitLog put lock); Flush and Commit from one service
// thread each; Select and the position getters from any thread.
namespace thruster::store {

class TransientStorePool;
class MappedFile;

inline constexpr int kOsPageSize = 4096;

// A readable slice of a segment plus the reference that keeps it mapped.
struct SelectResult {
  std::shared_ptr<MappedFile> file;
  int64_t start_offset =
      0;  // stream offset (phys offset for the CommitLog) of bytes[0]
  std::span<const std::byte> bytes;
};

class MappedFile : public std::enable_shared_from_this<MappedFile> {
 public:
  // Creates (or opens, if present) `path` at `file_size` bytes; positions start
  // at 0. With a pool, a buffer is borrowed from it if one is free (else
  // appends go straight to the mapping). With `reserve_step` > 0 the file is
  // sparse (io::FileSystem::MapSparse) and its appender calls ReserveTo()
  // before it stores bytes; 0: every block is allocated here.
  static Result<std::shared_ptr<MappedFile>> Create(
      io::FileSystem* fs, const std::string& path, int64_t file_size,
      TransientStorePool* pool = nullptr, int32_t reserve_step = 0);
  // Opens an existing full-size file; every position starts at file_size
  // (recovery moves them back). `reserve_step` as for Create().
  static Result<std::shared_ptr<MappedFile>> OpenExisting(
      io::FileSystem* fs, const std::string& path, int64_t file_size,
      int32_t reserve_step = 0);
  ~MappedFile();

  const std::string& path() const { return path_; }
  std::string file_name() const;
  int64_t base_offset() const { return base_offset_; }
  int32_t file_size() const { return file_size_; }

  int32_t write_pos() const {
    return write_pos_.load(std::memory_order_acquire);
  }
  int32_t commit_pos() const {
    return commit_pos_.load(std::memory_order_acquire);
  }
  int32_t flush_pos() const {
    return flush_pos_.load(std::memory_order_acquire);
  }
  int32_t read_pos() const;
  bool IsFull() const { return write_pos() == file_size_; }
  bool has_pool_buffer() const {
    return pool_buffer_.load(std::memory_order_acquire) != nullptr;
  }

  // --- appender side (callers serialise) ---
  // The writable remainder [write pos, file size) of the buffer appends go to.
  std::span<std::byte> WritableSpan();
  // The same from file pos `pos` (>= write pos): where an append reserved
  // ahead of write pos copies its bytes before it is published in order.
  std::span<std::byte> WritableSpanAt(int32_t pos);
  // Publishes `n` more bytes written into WritableSpan().
  void AdvanceWritePos(int32_t n);
  // Copies `data` at write pos and publishes it; false (nothing written) when
  // it does not fit.
  bool AppendBytes(std::span<const std::byte> data);
  // Writes `data` at file pos `pos` (must be >= write pos and fit) and sets
  // write pos to its end.
  bool AppendBytesAt(int32_t pos, std::span<const std::byte> data);
  // For a sparse file: makes sure disk blocks back file positions up to `end`
  // before the appender stores bytes there (a store into a page without blocks
  // on a full disk would be a SIGBUS). Blocks are allocated from the appender's
  // page on, in whole `reserve_step`s ending on a multiple of the step (or at
  // the file's end), so one call serves the next step's appends. IOError
  // (ENOSPC on a full disk) changes nothing: the caller must not store the
  // bytes, and a later call tries again. OK at once for a file allocated
  // whole. Appender only.
  Status ReserveTo(int32_t end);
  int32_t reserved_end() const {
    return reserved_end_.load(std::memory_order_relaxed);
  }
  // Writes `data` at write pos with a positional file write (no page faults on
  // the mapping) and publishes it. For segments without a pool buffer; IOError
  // leaves write pos where it was.
  Status AppendThroughFile(std::span<const std::byte> data);
  // Recovery/truncation: write = commit = flush = `pos`.
  void SetPositions(int32_t pos);
  int64_t store_timestamp() const {
    return store_timestamp_.load(std::memory_order_acquire);
  }
  void set_store_timestamp(int64_t ts) {
    store_timestamp_.store(ts, std::memory_order_release);
  }

  // Flush (§7.1): syncs [flush pos, read pos) when at least `least_pages` 4 KiB
  // pages are pending (0: any byte), or the file is full. Returns the new flush
  // pos; an error means the bytes may be lost, and the caller turns the store
  // read-only.
  Result<int32_t> Flush(int least_pages);
  // Commit (§7.1): writes [commit pos, write pos) of the pool buffer into the
  // file when at least `least_pages` pages are pending (0: any byte). Returns
  // commit pos; an error means the bytes did not reach the file. When the file
  // is fully committed the buffer goes back to the pool.
  Result<int32_t> Commit(int least_pages);
  // Syncs file positions [begin, end) of the mapping regardless of the
  // watermarks (recovery's zeroing).
  Status SyncRange(int32_t begin, int32_t end);
  // Starts (or, with `wait`, completes) the disk write of file positions
  // [begin, end); see io::MappedRegion::Writeback. Moves no watermark.
  Status Writeback(int32_t begin, int32_t end, bool wait);
  // Drops the clean cached pages of file positions [begin, end) (see
  // io::MappedRegion::DropCache).
  void DropCache(int32_t begin, int32_t end);
  // Unmaps the whole pages of file positions [begin, end), which stay cached
  // (see io::MappedRegion::Unmap).
  void Unmap(int32_t begin, int32_t end);

  // --- reader side (thread-safe) ---
  // [pos, pos + size) if it lies below read pos and the file is not destroyed.
  std::optional<SelectResult> Select(int32_t pos, int32_t size);
  // [pos, read pos).
  std::optional<SelectResult> Select(int32_t pos);
  // The whole mapping (caller holds a reference). Reads beyond read pos see
  // unpublished bytes.
  std::span<const std::byte> mapping() const {
    return {data_, static_cast<size_t>(file_size_)};
  }
  std::span<std::byte> mutable_mapping() {
    return {data_, static_cast<size_t>(file_size_)};
  }

  // Warm-up (§7.5): fault every page in before the segment is handed out. With
  // sync_flush, zeros are written through the file and synced instead (RocketMQ
  // msyncs every flushLeastPagesWhenWarmMapedFile pages for the same end: later
  // syncs then overwrite written blocks and commit no metadata). With `lock`,
  // mlock and MADV_WILLNEED (failures only logged).
  void Warm(bool sync_flush, bool lock);
  // Faults the pages of [touched end, `end`) in writable (async flush's
  // warm-up, done in steps a little ahead of the writer so that never more than
  // a few hundred MiB of zero pages sit dirty in the page cache). Idempotent;
  // from one thread at a time (`allocate`).
  void PreTouch(int32_t end);
  int32_t touched_end() const {
    return touched_end_.load(std::memory_order_acquire);
  }
  void Munlock();
  void Advise(io::Advice advice);

  // Marks the file unavailable (Select fails from now on) and unlinks it. The
  // mapping stays valid for readers that already hold it and goes away with the
  // last reference.
  Status Destroy();
  bool available() const { return available_.load(std::memory_order_acquire); }
  Result<int64_t> LastModifiedMs() const;

 private:
  MappedFile(io::FileSystem* fs, std::string path, int64_t base_offset,
             int32_t file_size, std::unique_ptr<io::MappedRegion> region);
  bool IsAbleToFlushOrCommit(int32_t done, int32_t target,
                             int least_pages) const;

  io::FileSystem* fs_;
  std::string path_;
  int64_t base_offset_;
  int32_t file_size_;
  std::unique_ptr<io::MappedRegion> region_;
  std::byte* data_;
  TransientStorePool* pool_ = nullptr;
  std::atomic<std::byte*> pool_buffer_{nullptr};
  std::atomic<int32_t> write_pos_{0};
  std::atomic<int32_t> commit_pos_{0};
  std::atomic<int32_t> flush_pos_{0};
  std::atomic<int64_t> store_timestamp_{0};
  std::atomic<bool> available_{true};
  std::atomic<int32_t> touched_end_{0};
  std::atomic<int32_t> touch_requested_end_{0};
  // Sparse files only (0 for a file allocated whole): the step of ReserveTo()
  // and the end of the blocks it has reserved so far (the appender's; atomic
  // only because recovery and the `dispatch` thread take turns as appender).
  int32_t reserve_step_ = 0;
  std::atomic<int32_t> reserved_end_{0};

 public:
  // The appender asks for pre-touching up to `end` once per step; true when
  // this call raised the target.
  bool RaiseTouchRequest(int32_t end) {
    int32_t cur = touch_requested_end_.load(std::memory_order_relaxed);
    if (end <= cur) return false;
    return touch_requested_end_.compare_exchange_strong(
        cur, end, std::memory_order_relaxed);
  }
  int32_t touch_requested_end() const {
    return touch_requested_end_.load(std::memory_order_relaxed);
  }
};

// Formats a base offset as the 20-digit zero-padded segment name (spec §1).
std::string OffsetToFileName(int64_t offset);
// Parses a segment name; InvalidArgument when it is not all digits.
Result<int64_t> FileNameToOffset(std::string_view name);

}  // namespace thruster::store
