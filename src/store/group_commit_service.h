#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/service_thread.h"
#include "store/checkpoint.h"
#include "store/commit_log.h"

namespace thruster::store {

// The `group-commit` thread (SYNC_FLUSH, store spec §8.3; RocketMQ's
// GroupCommitService): requests arriving while one group is being synced form
// the next group; one sync covers the whole group, then every request whose end
// offset is durable completes.
//
// Started and stopped by CommitLog. Called by appending threads: Add() (one
// completion per put, AsyncPutMessage) and RequestFlush() + WaitFlushed()
// (blocking puts share one "flushed" signal); by the `flush-watcher` thread:
// ExpireOverdue(). State: the pending requests and their deadlines (under mu_),
// the blocking waiters' signal (under wait_mu_), the group being synced and
// debug statistics (confined to this thread). `log`, `clock` and `checkpoint`
// must outlive it.
class GroupCommitService final : public ServiceThread {
 public:
  GroupCommitService(CommitLog* log, const Clock* clock, Checkpoint* checkpoint)
      : ServiceThread("group-commit"),
        log_(log),
        clock_(clock),
        checkpoint_(checkpoint) {}
  ~GroupCommitService() override { Stop(); }

  // False once the service is stopping: the request was not taken.
  bool Add(CommitLog::FlushRequest req);

  // A blocking put asks for everything up to `next_offset` to be synced; false
  // once the service is stopping.
  bool RequestFlush(int64_t next_offset);

  // Waits until flushed_where reaches `next_offset` (true), or until
  // `deadline_ns` on the store's monotonic clock, a read-only store or a stop
  // (false).
  bool WaitFlushed(int64_t next_offset, int64_t deadline_ns);

  // Completes with FLUSH_DISK_TIMEOUT every request whose deadline passed while
  // a sync hangs (RocketMQ's FlushDiskWatcher). Deadlines grow with arrival
  // (one timeout for all), so the front expires first.
  void ExpireOverdue(int64_t now_ns);

 protected:
  void OnStop() override;
  void Run() override;

 private:
  // A waiter re-reads the clock at least this often, so a deadline on a manual
  // clock is seen once the clock moved past it.
  static constexpr int64_t kWaitSliceNs = 10 * 1000000;

  // Wakes every blocking waiter to look at flushed_where again.
  void NotifyWaiters(bool stopped);
  void DoCommit();

  CommitLog* log_;
  const Clock* clock_;
  Checkpoint* checkpoint_;
  Mutex mu_;
  std::vector<CommitLog::FlushRequest> writes_ TH_GUARDED_BY(mu_);
  std::deque<std::pair<int64_t, std::shared_ptr<CommitLog::PendingFlush>>>
      watched_ TH_GUARDED_BY(mu_);
  bool accepting_ TH_GUARDED_BY(mu_) = true;
  std::vector<CommitLog::FlushRequest> reads_;  // confined to this thread
  // Blocking puts: the highest end offset asked for, and the signal they wait
  // on.
  std::atomic<int64_t> requested_{0};
  Mutex wait_mu_;
  CondVar wait_cv_;
  bool wait_stopped_ TH_GUARDED_BY(wait_mu_) = false;
  int64_t blocking_served_ TH_GUARDED_BY(wait_mu_) = 0;  // debug statistics
  int64_t groups_ = 0, requests_ = 0,
          sync_ns_ = 0;  // confined to this thread (debug statistics)
};

}  // namespace thruster::store
