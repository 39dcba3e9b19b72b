#pragma once

#include <atomic>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "store/checkpoint.h"
#include "store/consume_queue_store.h"
#include "store/index_service.h"
#include "store/message_store_config.h"
#include "store/reput_service.h"

namespace thruster::store {

// The `flush-cq` thread (store spec §8.4; RocketMQ's FlushConsumeQueueService):
// every flushIntervalConsumeQueue ms flushes the consume queues and the rolled
// index files, then writes the checkpoint with timestamps that name only
// durable data (the logics time only after a thorough pass, which flushes
// everything).
//
// Started and stopped by MessageStore; FlushAllAndCheckpoint() is the final
// flush at shutdown, after this thread and `dispatch` stopped. State: the last
// thorough flush time, confined to this thread; passes are serialised by
// flush_mu_ (the `clean` thread flushes through FlushDispatched()). `queues`,
// `index`,
// `checkpoint`, `reput` and `clock` must outlive it.
class FlushConsumeQueueService final : public ServiceThread {
 public:
  FlushConsumeQueueService(ConsumeQueueStore* queues, IndexService* index,
                           Checkpoint* checkpoint, const ReputService* reput,
                           const MessageStoreConfig& config, const Clock* clock)
      : ServiceThread("flush-cq"),
        queues_(queues),
        index_(index),
        checkpoint_(checkpoint),
        reput_(reput),
        config_(config),
        clock_(clock) {}
  ~FlushConsumeQueueService() override { Stop(); }

  // One pass: at least flushConsumeQueueLeastPages, everything when `thorough`.
  // Errors are logged; the next pass retries.
  void FlushOnce(bool thorough);
  // Flushes every queue and index file completely and writes the checkpoint.
  Status FlushAllAndCheckpoint();
  // Makes the consume-queue entry of every record dispatched so far durable
  // and returns the phys offset below which that holds. Retention calls it
  // before deleting CommitLog segments: once a segment is gone, recovery can no
  // longer rebuild a queue entry that pointed into it and was lost, and a
  // record the dispatcher never reached would leave a hole in its queue.
  Result<int64_t> FlushDispatched();
  // Controller mode (MessageStore::KeepConfirmOffset): from now on each
  // checkpoint also writes the CommitLog's confirm offset (store spec §6.1
  // confirmPhyOffset). Off, the field keeps the value it was loaded with.
  void set_keep_confirm_offset(bool keep) {
    keep_confirm_offset_.store(keep, std::memory_order_release);
  }

 protected:
  void Run() override;

 private:
  ConsumeQueueStore* queues_;
  IndexService* index_;
  Checkpoint* checkpoint_;
  const ReputService* reput_;
  const MessageStoreConfig& config_;
  const Clock* clock_;
  Mutex flush_mu_;  // one flush pass at a time
  std::atomic<bool> keep_confirm_offset_{false};
};

}  // namespace thruster::store
