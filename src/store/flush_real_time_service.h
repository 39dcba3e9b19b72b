#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/service_thread.h"
#include "store/checkpoint.h"
#include "store/message_store_config.h"

namespace thruster::store {

class CommitLog;

// The `flush` thread (ASYNC_FLUSH, store spec §8.1; RocketMQ's
// FlushRealTimeService): every flushIntervalCommitLog ms it flushes at least
// flushCommitLogLeastPages, or everything once per thorough interval, then
// publishes the flushed store time into the checkpoint. Between flushes it
// polls every kWritebackPollMs and starts the disk write of new whole pages
// (commitLogWritebackKb, see MessageStoreConfig).
//
// Started and stopped by CommitLog (Start/Shutdown); woken by the `commit`
// thread after it moved bytes. State: the last flush and thorough-flush times,
// confined to this thread. `log`, `config`, `clock` and `checkpoint` must
// outlive it.
class FlushRealTimeService final : public ServiceThread {
 public:
  FlushRealTimeService(CommitLog* log, const MessageStoreConfig& config,
                       const Clock* clock, Checkpoint* checkpoint)
      : ServiceThread("flush"),
        log_(log),
        config_(config),
        clock_(clock),
        checkpoint_(checkpoint) {}
  ~FlushRealTimeService() override { Stop(); }

 protected:
  void Run() override;

 private:
  static constexpr int64_t kWritebackPollMs = 5;
  static constexpr int64_t kWritebackStepsInFlight = 8;

  void StartWriteback(int64_t step_bytes);
  // Returns true when nothing was left to flush.
  bool FlushOnce(int least);

  CommitLog* log_;
  const MessageStoreConfig& config_;
  const Clock* clock_;
  Checkpoint* checkpoint_;
};

}  // namespace thruster::store
