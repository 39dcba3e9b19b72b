#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/service_thread.h"
#include "message/commit_log_format.h"
#include "store/commit_log.h"
#include "store/consume_queue_store.h"
#include "store/delay_level_table.h"
#include "store/dispatch_queue_cache.h"
#include "store/index_service.h"
#include "store/message_store_config.h"

namespace thruster::store {

// Called on the `dispatch` thread once messages are visible in their consume
// queue (long polling wakes held pulls from here). Within a dispatch pass
// (at most 1024 records at a time), once for each run of one queue's messages
// with one tags code (other queues' messages may come between), with the next
// queue offset after the newest of them. Must not block.
using MessageArrivingListener = std::function<void(
    std::string_view topic, int32_t queue_id, int64_t next_queue_offset,
    int64_t tags_code, int64_t store_timestamp)>;

// The `dispatch` thread (reput, store spec §9.1; RocketMQ's ReputMessageService
// and its CommitLogDispatchers): follows the CommitLog up to its confirm offset
// and turns records into consume-queue units and index entries, strictly in log
// order, then tells the message-arriving listener.
//
// Lifecycle: construct → Dispatch() during recovery (on the loading thread) →
// set_reput_from_offset() → Start() → Stop() (drains what the CommitLog holds,
// up to 5 s). State: the reput offset and the newest dispatched store time
// (atomics written by this thread: `flush-cq`, the CommitLog's drop floor and
// dispatch_behind_bytes() read them), the listener (under listener_mu_).
// `log`, `queues`, `index` and `clock` must outlive it.
class ReputService final : public ServiceThread {
 public:
  ReputService(CommitLog* log, ConsumeQueueStore* queues, IndexService* index,
               const MessageStoreConfig& config, const Clock* clock)
      : ServiceThread("dispatch"),
        log_(log),
        index_(index),
        config_(config),
        clock_(clock),
        delay_levels_(
            DelayLevelTable::ParseOrDefault(config.message_delay_level)),
        queue_cache_(queues) {}
  ~ReputService() override { Stop(); }

  // Runs both dispatchers (consume queue, index) for one record, then tells
  // the listener. Both are idempotent: a record dispatched twice changes
  // nothing. For recovery, before Start().
  Status Dispatch(const message::DecodedRecord& rec, int64_t phys, int32_t size)
      TH_EXCLUDES(pass_mu_);
  // Runs until caught up with the confirm offset. Returns true when it moved.
  bool DoReput() TH_EXCLUDES(pass_mu_);

  // Store truncation (MessageStore::TruncateTo), holding every dispatch pass
  // off: finds the end of the last complete record reachable from the
  // dispatch position, takes cut = min(`offset`, that end), dispatches every
  // record before the cut up to the confirm offset (so the queues know where
  // each queue ends), runs `truncate(cut)`, and resumes dispatch from the cut
  // or from where the confirm offset held it, whichever is lower. Returns the
  // cut, or the error of the dispatch or of `truncate`.
  Result<int64_t> CutBack(int64_t offset,
                          const std::function<Status(int64_t cut)>& truncate)
      TH_EXCLUDES(pass_mu_);
  // The end of the last complete record at or after the dispatch position (a
  // blank end-of-segment record counts, ending at the next segment's start).
  int64_t LastCompleteRecordEnd() const TH_EXCLUDES(pass_mu_);

  void SetMessageArrivingListener(MessageArrivingListener listener);

  // Where dispatch reads next: every record before it is in its queue.
  int64_t reput_from_offset() const {
    return reput_from_offset_.load(std::memory_order_acquire);
  }
  // Before Start() only.
  void set_reput_from_offset(int64_t offset) {
    reput_from_offset_.store(offset, std::memory_order_release);
  }
  // The reput offset itself, for the CommitLog's drop floor (see
  // CommitLog::SetDropFloor); lives as long as this service.
  const std::atomic<int64_t>* reput_from_offset_floor() const {
    return &reput_from_offset_;
  }
  // Store time of the newest record in a consume queue.
  int64_t logics_msg_timestamp() const {
    return logics_msg_timestamp_.load(std::memory_order_acquire);
  }
  // Confirmed bytes not yet dispatched; 0 while dispatch waits at a record
  // the confirm offset falls inside (nothing more can be dispatched before
  // replication confirms the rest).
  int64_t dispatch_behind_bytes() const;
  // Where dispatch may read up to (CommitLog::GetConfirmOffset).
  int64_t confirm_offset() const { return log_->GetConfirmOffset(); }
  // The end of the last complete record that ends at or before `offset`,
  // looking from the start of the segment holding `offset` (that start when
  // no record there ends by `offset`): a confirm offset may fall inside a
  // record (HA frames cut records), dispatch resumes only at a record start.
  int64_t RecordBoundaryAtOrBefore(int64_t offset) const;
  // Polls until dispatch caught up with the confirm offset (true) or
  // `timeout_ms` passed on the clock (false).
  bool WaitForDispatch(int64_t timeout_ms) const;

 protected:
  void Run() override;

 private:
  bool DoReputIgnoringStop() TH_EXCLUDES(pass_mu_);
  // Dispatch() within a pass: the arrival joins the pending ones (see
  // arrivals_), told by NotifyArrivals().
  Status DispatchLocked(const message::DecodedRecord& rec, int64_t phys,
                        int32_t size) TH_REQUIRES(pass_mu_);
  // Tells the listener every pending arrival, oldest first, and forgets them.
  void NotifyArrivals() TH_REQUIRES(pass_mu_);
  // One dispatch pass up to `limit`.
  bool DoReputTo(int64_t limit) TH_REQUIRES(pass_mu_);
  int64_t LastCompleteRecordEndLocked() const TH_REQUIRES(pass_mu_);
  bool stopped() const { return !draining_ && ServiceThread::stopped(); }

  CommitLog* log_;
  IndexService* index_;
  const MessageStoreConfig& config_;
  const Clock* clock_;
  // For the tagsCode (delivery time) of SCHEDULE_TOPIC_XXXX units.
  const DelayLevelTable delay_levels_;
  // Held by every dispatch pass and by CutBack.
  mutable Mutex pass_mu_;
  std::atomic<int64_t> reput_from_offset_{0};
  std::atomic<int64_t> logics_msg_timestamp_{0};
  // The record the last pass stopped at because the confirm offset falls
  // inside it: its start and end (dispatch_behind_bytes reads them).
  std::atomic<int64_t> held_record_start_{-1};
  std::atomic<int64_t> held_record_end_{-1};
  // The consume queues by (topic, queue id), for DispatchLocked.
  DispatchQueueCache queue_cache_ TH_GUARDED_BY(pass_mu_);
  // Arrivals dispatched but not yet told to the listener, oldest first: one
  // per run of records of one queue with one tags code (a later record of the
  // same queue and tags code moves its next queue offset on; a long poll
  // woken by the earlier offset is woken by the later one too). Told at the
  // end of every stretch of the CommitLog a pass reads, and every
  // kMaxPendingRecords records: the topics are views into those bytes.
  struct PendingArrival {
    std::string_view topic;
    int32_t queue_id = 0;
    int64_t next_queue_offset = 0;
    int64_t tags_code = 0;
    int64_t store_timestamp = 0;
  };
  static constexpr int kMaxPendingRecords = 1024;
  std::vector<PendingArrival> arrivals_ TH_GUARDED_BY(pass_mu_);
  int pending_records_ TH_GUARDED_BY(pass_mu_) = 0;
  // Tags DispatchQueueCache slots with the batch their `arrival` belongs to.
  uint64_t arrival_epoch_ TH_GUARDED_BY(pass_mu_) = 1;
  mutable Mutex listener_mu_;
  MessageArrivingListener listener_ TH_GUARDED_BY(listener_mu_);
  bool draining_ = false;          // confined to this thread
  bool dispatch_failed_ = false;   // a Dispatch failed; confined to this thread
  int64_t last_error_log_ns_ = 0;  // confined to this thread
};

}  // namespace thruster::store
