#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "message/commit_log_format.h"
#include "message/message.h"
#include "store/allocate_service.h"
#include "store/cache_keep_policy.h"
#include "store/checkpoint.h"
#include "store/io/file_system.h"
#include "store/mapped_file_queue.h"
#include "store/message_store_config.h"
#include "store/offsets.h"
#include "store/store_stats.h"
#include "store/transient_store_pool.h"

// The CommitLog (store spec §2, §3, §8): every message of every topic,
// appended to one stream of fixed-size segments under `commitlog/`. Owns the
// segment queue, the allocate thread, the transient store pool and the threads
// that make the bytes durable: `flush` (FlushRealTimeService) or `group-commit`
// (GroupCommitService, with its FlushDiskWatcher), and `commit`
// (CommitRealTimeService, pool only). Recovery of its segments is Recovery's.
//
// Lifecycle: construct → Load() → (Recovery) → Start() → Put…/Get… →
// Shutdown() → destroy. Thread-safety: Put* and Get* from any thread. Appends
// encode outside the put lock; under it only the offsets are assigned and the
// bytes copied into the active segment.
namespace thruster::store {

enum class PutStatus {
  kPutOk,
  kFlushDiskTimeout,
  kCreateMappedFileFailed,
  kMessageIllegal,
  kPropertiesSizeExceeded,
  kServiceNotAvailable,
  kOsPageCacheBusy,
  kUnknownError,
  // Stored on the master, but the slave did not confirm it within slaveTimeout
  // (SYNC_MASTER, ha spec §4.1).
  kFlushSlaveTimeout,
  // Stored on the master; no slave connected, or the best one is more than
  // haSlaveFallbehindMax behind (SYNC_MASTER, ha spec §4.1).
  kSlaveNotAvailable,
  // Not stored: a controller-mode SYNC_MASTER's in-sync set is smaller than
  // minInSyncReplicas (ha spec §7.7; RocketMQ answers SYSTEM_ERROR).
  kInSyncReplicasNotEnough,
};
std::string_view PutStatusName(PutStatus s);

struct PutResult {
  PutStatus status = PutStatus::kUnknownError;
  int64_t phys_offset = 0;   // first record
  int32_t wrote_bytes = 0;   // all records
  int64_t queue_offset = 0;  // first record's queue offset
  int32_t msg_num = 0;
  int64_t store_timestamp = 0;
  std::vector<int64_t>
      batch_phys_offsets;  // every record's phys offset, for batches only
  std::string error;       // why, when not kPutOk
  bool ok() const { return status == PutStatus::kPutOk; }
};

class CommitRealTimeService;
class FlushDiskWatcher;
class FlushRealTimeService;
class GroupCommitService;

class CommitLog {
 public:
  // `fs`, `checkpoint` and `clock` must outlive this object.
  CommitLog(io::FileSystem* fs, const MessageStoreConfig& config,
            Checkpoint* checkpoint,
            const Clock* clock = SystemClock::Default());
  ~CommitLog();
  CommitLog(const CommitLog&) = delete;
  CommitLog& operator=(const CommitLog&) = delete;

  // Loads the segments (spec §1 rules); Corruption names a short, misnamed or
  // missing segment.
  Status Load();

  // Starts the allocate, flush (or group-commit) and commit threads.
  Status Start();
  // Final flush (and commit), then stops every thread. Idempotent.
  void Shutdown();

  // Appends one message. Under SYNC_FLUSH (and a WAIT property absent or
  // "true") returns only once the record is durable or syncFlushTimeout passed
  // (kFlushDiskTimeout). Under ASYNC_FLUSH returns once the bytes are in the
  // mapping (readable by this process, durable when flush pos passes them).
  PutResult PutMessage(const message::MessageToStore& msg);
  // Same, completing `done` on the caller's thread (async flush, errors) or on
  // the group-commit thread (sync flush). Never blocks on a disk flush.
  void AsyncPutMessage(const message::MessageToStore& msg,
                       std::function<void(PutResult)> done);
  // A producer batch (§2.8): `msg.body` is the concatenation of compact
  // entries; every entry becomes a record with the batch's topic, queue, hosts
  // and times, with consecutive queue offsets.
  PutResult PutMessages(const message::MessageToStore& msg);
  void AsyncPutMessages(const message::MessageToStore& msg,
                        std::function<void(PutResult)> done);

  // A slave's copy of its master's bytes (ha spec §3.1): `data` goes at
  // `offset`, which must be the log's max offset (a segment start when the log
  // is empty); segments are created at the master's offsets, nothing is parsed
  // or rewritten. InvalidArgument on an offset mismatch, IOError from the file.
  Status AppendData(int64_t offset, std::span<const std::byte> data)
      TH_EXCLUDES(put_mu_);
  // Controller-mode truncation (ha spec §7.6, §7.9; RocketMQ's resetOffset):
  // cuts the log back to `offset`, a record boundary at or below the max
  // offset. Later segments are destroyed; the bytes from `offset` to the old
  // write position of its segment are zeroed and synced, so the appends that
  // follow start exactly at `offset` and no stale record survives behind them;
  // the flushed and committed offsets move back. Forgets every queue offset
  // (the caller sets them again from the consume queues). Appends are held off
  // during the call; callers keep them fenced until the queue offsets are set.
  Status TruncateTo(int64_t offset) TH_EXCLUDES(put_mu_);
  // Fenced (controller mode, ha spec §7.10): every put fails with
  // SERVICE_NOT_AVAILABLE; replicated bytes (AppendData) still go in. When
  // this returns, no put is in the middle of its append.
  void set_puts_fenced(bool fenced) TH_EXCLUDES(put_mu_);
  bool puts_fenced() const {
    return puts_fenced_.load(std::memory_order_acquire);
  }
  // Bytes from `offset` to the readable end of its segment (zero-copy, holds
  // the segment).
  std::optional<SelectResult> GetData(PhysOffset offset) const;
  // Exactly [offset, offset + size) if readable.
  std::optional<SelectResult> GetMessage(PhysOffset offset, int32_t size) const;
  int64_t GetMinOffset() const { return queue_.GetMinOffset(); }
  int64_t GetMaxOffset() const { return queue_.GetMaxOffset(); }
  int64_t flushed_where() const { return queue_.flushed_where(); }
  int64_t committed_where() const { return queue_.committed_where(); }
  // Free buffers of the transient store pool; INT32_MAX without the pool
  // (RocketMQ's remainTransientStoreBufferNumbs).
  int remain_transient_store_buffers() const;
  // Where dispatch may read up to: the flushed offset under SYNC_FLUSH on a
  // master, else the max offset (a slave's bytes are flushed by nobody's
  // request); in either role also no further than the replica confirm offset
  // when one is set. The role is the current one (set_broker_role), not the
  // configured one: a controller may turn a SYNC_FLUSH master into a slave.
  int64_t GetConfirmOffset() const;
  void set_broker_role(BrokerRole role) {
    role_.store(role, std::memory_order_release);
  }
  // Controller mode (ha spec §7.7): on a master with allAckInSyncStateSet,
  // the offset every member of the in-sync set acknowledged; on a slave, the
  // confirm offset its master last sent. Dispatch goes no further.
  // -1 (the default): no such limit.
  void set_replica_confirm_offset(int64_t offset) {
    replica_confirm_offset_.store(offset, std::memory_order_release);
  }
  int64_t replica_confirm_offset() const {
    return replica_confirm_offset_.load(std::memory_order_acquire);
  }
  int64_t RollNextFile(int64_t offset) const {
    return offset + file_size() - offset % file_size();
  }
  int64_t file_size() const { return config_.mapped_file_size_commit_log; }
  MappedFileQueue& queue() { return queue_; }
  AllocateService& allocator() { return *allocator_; }
  // commitLogCacheKeepMb never drops pages at or beyond `*floor` (the
  // dispatch position: records not yet read into the queues). `floor` must
  // outlive the CommitLog's threads.
  void SetDropFloor(const std::atomic<int64_t>* floor) {
    drop_floor_.store(floor, std::memory_order_release);
  }
  // The floor set above; null when none was.
  const std::atomic<int64_t>* drop_floor() const {
    return drop_floor_.load(std::memory_order_acquire);
  }
  // Which written-back pages the flush thread drops (commitLogCacheKeepMb).
  CacheKeepPolicy& cache_keep() { return cache_keep_; }
  const MessageStoreConfig& config() const { return config_; }

  // Queue offsets (§4.4): the next queue offset of each "topic-queueId". Set
  // after recovery from the consume queues; advanced by every append.
  void SetQueueOffset(std::string_view topic, int32_t queue_id,
                      QueueOffset next);
  QueueOffset GetQueueOffset(std::string_view topic, int32_t queue_id) const;
  void RemoveQueueOffsets(std::string_view topic);
  // Forgets one queue's next offset (its consume queue was destroyed).
  void RemoveQueueOffset(std::string_view topic, int32_t queue_id);

  // False after a failed flush, commit or segment creation: every later put
  // fails with that error.
  bool writeable() const { return writeable_.load(std::memory_order_acquire); }
  // How long the current append has held the put lock, 0 when none holds it
  // (RocketMQ's lockTimeMills, reported as pageCacheLockTimeMills).
  int64_t lock_time_ms() const;
  // Append and flush figures for the metrics endpoint (off until enabled).
  StoreStats& stats() { return stats_; }
  Status error() const;
  // Turns the log read-only with `s` (a failed flush, commit or writeback);
  // the first error wins. Called by the flush services and appenders.
  void MarkNotWriteable(const Status& s);
  // One commit pass of the pool buffers; true when nothing moved (or the store
  // is read-only). Called by the `commit` and `group-commit` threads and at
  // shutdown.
  bool CommitOnce(int least_pages);
  // Blocks until everything appended so far is durable (tests, tools,
  // shutdown). IOError when a sync failed.
  Status FlushAll();
  // The next batch append (mapped segments only) stops after copying `bytes`
  // bytes, as a process killed in the middle of the copy leaves the segment,
  // and fails. Tests of the all-or-none guarantee only.
  void StopNextBatchCopyForTesting(int64_t bytes) TH_EXCLUDES(put_mu_) {
    MutexLock lock(&put_mu_);
    stop_batch_copy_after_ = bytes;
  }

  // Completion of a waiting sync-flush put (registered by AsyncPutMessage under
  // SYNC_FLUSH). Completes exactly once: by the group commit (flushed or not)
  // or by the watcher at the deadline.
  struct PendingFlush {
    std::atomic<bool> completed{false};
    const CommitLog* log = nullptr;
    PutResult result;
    std::function<void(PutResult)> done;
    // Answers `done` with `result`, or with FLUSH_DISK_TIMEOUT (or
    // SERVICE_NOT_AVAILABLE on a read-only store) when not flushed; false when
    // it had been completed before.
    bool Complete(bool flushed);
  };
  struct FlushRequest {
    int64_t next_offset;
    int64_t deadline_ns;
    std::shared_ptr<PendingFlush> pending;
  };

 private:
  // Encodes outside the lock into a thread-local buffer, then appends under the
  // put lock.
  PutResult Append(const message::MessageToStore& msg, bool batch);
  // Copies a batch of several records into `dest` so that a crash mid-copy
  // leaves none of them: see commit_log.cc. False when a test stopped it.
  bool CopyBatch(std::span<std::byte> dest, std::string_view records)
      TH_REQUIRES(put_mu_);
  void HandleDiskFlush(PutResult result, const message::MessageToStore& msg,
                       std::function<void(PutResult)> done);
  // PutMessage(s) under SYNC_FLUSH: asks the group commit for a sync up to the
  // record's end and waits on the shared "flushed" signal (one wake-up call per
  // group for every waiting thread, no per-put completion objects).
  PutResult WaitForGroupCommit(PutResult result,
                               const message::MessageToStore& msg);
  // A sync put whose flush was not confirmed: FLUSH_DISK_TIMEOUT, or
  // SERVICE_NOT_AVAILABLE with the store's error once it is read-only.
  void SetNotFlushed(PutResult& result) const;
  // A sync put refused because the group commit is stopping.
  static void SetShuttingDown(PutResult& result);
  bool WaitsForFlush(const message::MessageToStore& msg) const;
  // The segment to append to: append_file_ while the queue has not changed
  // and it is not full, else the queue's last (created when needed).
  Result<MappedFile*> LastFileForAppend() TH_REQUIRES(put_mu_);

  MessageStoreConfig config_;
  std::atomic<BrokerRole> role_{config_.broker_role};
  std::atomic<int64_t> replica_confirm_offset_{-1};
  Checkpoint* checkpoint_;
  const Clock* clock_;
  std::unique_ptr<TransientStorePool> pool_;
  std::unique_ptr<AllocateService> allocator_;
  std::atomic<const std::atomic<int64_t>*> drop_floor_{nullptr};
  CacheKeepPolicy cache_keep_;
  MappedFileQueue queue_;

  mutable Mutex put_mu_;
  // The store time taken by the append holding put_mu_, 0 outside the lock; a
  // figure for lock_time_ms() only (relaxed: it publishes nothing else).
  std::atomic<int64_t> begin_time_in_lock_{0};
  StoreStats stats_;
  int64_t last_store_timestamp_ TH_GUARDED_BY(put_mu_) = 0;
  // The segment appends go to, kept between appends with the queue's version
  // it was taken at: an append reuses it while that version holds and it has
  // room, with no lock of the queue's and no reference count touched (a
  // cache line the dispatch and flush threads share).
  std::shared_ptr<MappedFile> append_file_ TH_GUARDED_BY(put_mu_);
  uint64_t append_file_version_ TH_GUARDED_BY(put_mu_) = 0;
  std::unordered_map<std::string, int64_t> queue_offsets_
      TH_GUARDED_BY(put_mu_);
  // StopNextBatchCopyForTesting; -1 when off.
  int64_t stop_batch_copy_after_ TH_GUARDED_BY(put_mu_) = -1;

  // Appends go through positional writes (writeWithoutMmap, or SYNC_FLUSH
  // without the pool).
  const bool positional_writes_;
  // Async flush with pre-touch: the allocate thread faults pages in a little
  // ahead of the writer.
  const bool touch_ahead_;
  // With touch_ahead_, the written-back pages commitLogCacheKeepMb lets go
  // wait (at most this many bytes) until the allocate thread reuses their
  // frames: two bursts of pre-touching.
  static constexpr int64_t kMaxDeferredDropBytes =
      int64_t{2} * AllocateService::kTouchAhead;
  std::atomic<bool> writeable_{true};
  // Written under put_mu_ (set_puts_fenced), read by appends under it.
  std::atomic<bool> puts_fenced_{false};
  mutable Mutex error_mu_;
  Status error_ TH_GUARDED_BY(error_mu_);

  std::unique_ptr<FlushRealTimeService> flush_service_;
  std::unique_ptr<CommitRealTimeService> commit_service_;
  std::unique_ptr<GroupCommitService> group_commit_service_;
  std::unique_ptr<FlushDiskWatcher> flush_watcher_;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace thruster::store
