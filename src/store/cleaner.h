#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"
#include "common/service_thread.h"
#include "store/commit_log.h"
#include "store/consume_queue_store.h"
#include "store/flush_consume_queue_service.h"
#include "store/index_service.h"
#include "store/io/file_system.h"
#include "store/message_store_config.h"

namespace thruster::store {

// The `clean` thread (store spec §11): retention. Each pass runs RocketMQ's
// CleanCommitLogService (delete CommitLog segments older than fileReservedTime
// at deleteWhen, or at once when the disk is too full; refuse writes above
// diskSpaceWarningLevelRatio) and then, when segments went, its
// CleanConsumeQueueService (delete consume-queue and index files wholly below
// the new CommitLog minimum). Segments are never unmapped under a reader, and
// with `flush_cq` given (the store's) never deleted before every record in them
// is dispatched and its consume-queue entry durable (FlushDispatched()): a
// segment deleted earlier leaves its queue with a hole that neither the
// dispatcher nor recovery after a power loss can fill.
//
// Started and stopped by MessageStore; the first pass runs 60 s after Start(),
// then one every cleanResourceInterval ms; CleanOnce() runs one pass now
// (tests). State: disk_full (an atomic set by this thread, read by every put).
// `fs`, `log`, `queues`, `index`, `clock` and `flush_cq` (may be null) must
// outlive it.
class Cleaner final : public ServiceThread {
 public:
  Cleaner(io::FileSystem* fs, CommitLog* log, ConsumeQueueStore* queues,
          IndexService* index, const MessageStoreConfig& config,
          const Clock* clock, FlushConsumeQueueService* flush_cq = nullptr)
      : ServiceThread("clean"),
        fs_(fs),
        log_(log),
        queues_(queues),
        index_(index),
        config_(config),
        clock_(clock),
        flush_cq_(flush_cq) {}
  ~Cleaner() override { Stop(); }

  // One retention pass. Call from one thread at a time (the `clean` thread,
  // or a test while it waits out its first minute).
  void CleanOnce();
  // True while disk usage is above diskSpaceWarningLevelRatio.
  bool disk_full() const { return disk_full_.load(std::memory_order_acquire); }

 protected:
  void Run() override;

 private:
  // Deletes expired CommitLog segments; true when the queues and the index
  // should follow the CommitLog's min offset.
  bool CleanCommitLog();
  // Deletes consume-queue and index files wholly below `min_phys_offset`.
  void CleanConsumeQueue(int64_t min_phys_offset);

  io::FileSystem* fs_;
  CommitLog* log_;
  ConsumeQueueStore* queues_;
  IndexService* index_;
  const MessageStoreConfig& config_;
  const Clock* clock_;
  FlushConsumeQueueService* flush_cq_;
  std::atomic<bool> disk_full_{false};
};

}  // namespace thruster::store
