#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/service_thread.h"
#include "store/message_store_config.h"

namespace thruster::store {

class CommitLog;

// The `commit` thread (transient store pool only, store spec §8.2; RocketMQ's
// CommitRealTimeService): every commitIntervalCommitLog ms, or when an append
// wakes it, moves written bytes from the pool buffers into the files, then
// wakes the thread that syncs them (`flush` or `group-commit`).
//
// Started and stopped by CommitLog; woken by appends. State: the time of the
// last commit that moved bytes, confined to this thread. `log`, `config`,
// `clock` and `flush` must outlive it.
class CommitRealTimeService final : public ServiceThread {
 public:
  CommitRealTimeService(CommitLog* log, const MessageStoreConfig& config,
                        const Clock* clock, ServiceThread* flush)
      : ServiceThread("commit"),
        log_(log),
        config_(config),
        clock_(clock),
        flush_(flush) {}
  ~CommitRealTimeService() override { Stop(); }

 protected:
  void Run() override;

 private:
  CommitLog* log_;
  const MessageStoreConfig& config_;
  const Clock* clock_;
  ServiceThread* flush_;
};

}  // namespace thruster::store
