#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/checkpoint.h"
#include "store/commit_log.h"
#include "message/commit_log_format.h"
#include "store/consume_queue.h"
#include "store/message_store_config.h"

namespace thruster::store {

// Called for each valid record recovery re-dispatches (consume queue and index
// building).
using RecoveryDispatchFn = std::function<void(
    const message::DecodedRecord& rec, int64_t phys_offset, int32_t size)>;

struct RecoveryStats {
  int files_scanned = 0;
  int64_t records = 0;
  int64_t bytes_truncated =
      0;  // valid-looking bytes beyond the recovered end that were dropped
  int64_t process_offset = 0;  // the recovered end of the log
  double seconds = 0;
};

// Normal and abnormal recovery (store spec §10; RocketMQ's recoverNormally /
// recoverAbnormally of the CommitLog and recover of the consume queues), run
// once by MessageStore::Load() on the loading thread, after every file is
// loaded and before any service thread starts. The order is: the consume
// queues (RecoverConsumeQueues: their max phys offset says what is already
// dispatched), the CommitLog (RecoverCommitLog, re-dispatching records into the
// queues and the index), then the queues again (FixConsumeQueues: cut what lies
// beyond the recovered end, set the next queue offsets). Holds no state between
// calls. Not thread-safe (callers serialise). `log`, `checkpoint` and `clock`
// must outlive it.
class Recovery {
 public:
  Recovery(CommitLog* log, Checkpoint* checkpoint,
           const MessageStoreConfig& config,
           const Clock* clock = SystemClock::Default())
      : log_(log), checkpoint_(checkpoint), config_(config), clock_(clock) {}

  // Recovers each queue's own files; returns the highest phys offset any of
  // them points at (-1 when none does).
  Result<int64_t> RecoverConsumeQueues(
      const std::vector<std::shared_ptr<ConsumeQueue>>& queues) const;

  // Normal (§10.2, last_exit_ok) or abnormal (§10.3) recovery: validates
  // records (magic, size, CRC, stored phys offset) from the chosen start
  // segment, calls `dispatch` for every valid record at or after
  // `dispatch_from` (abnormal: all), truncates the torn or corrupt tail, zeroes
  // the 8 bytes at the new end, and logs one summary line.
  // Abnormal recovery scans from a segment old enough to index again every
  // record from `ts` on (IndexService::rebuild_from_timestamp()).
  void set_index_rebuild_from(int64_t ts) { index_rebuild_from_ = ts; }

  Result<RecoveryStats> RecoverCommitLog(bool last_exit_ok,
                                         int64_t dispatch_from,
                                         const RecoveryDispatchFn& dispatch);

  // After RecoverCommitLog: truncates every queue's units beyond
  // `process_offset` (the recovered end of the CommitLog), flushes it, moves
  // its min offset past `min_phys_offset` and hands its next queue offset to
  // the CommitLog.
  Status FixConsumeQueues(
      const std::vector<std::shared_ptr<ConsumeQueue>>& queues,
      int64_t process_offset, int64_t min_phys_offset) const;

 private:
  CommitLog* log_;
  Checkpoint* checkpoint_;
  const MessageStoreConfig& config_;
  int64_t index_rebuild_from_ = INT64_MAX;
  const Clock* clock_;
};

}  // namespace thruster::store
