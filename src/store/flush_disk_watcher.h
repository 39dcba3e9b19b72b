#pragma once

#include "common/clock.h"
#include "common/service_thread.h"

namespace thruster::store {

class GroupCommitService;

// The `flush-watcher` thread (SYNC_FLUSH; RocketMQ's FlushDiskWatcher): every
// 10 ms, completes with FLUSH_DISK_TIMEOUT the sync puts whose flush hangs past
// syncFlushTimeout on `clock`. Started and stopped by CommitLog beside the
// `group-commit` thread; no state of its own. `clock` and `group_commit` must
// outlive it.
class FlushDiskWatcher final : public ServiceThread {
 public:
  FlushDiskWatcher(const Clock* clock, GroupCommitService* group_commit)
      : ServiceThread("flush-watcher"),
        clock_(clock),
        group_commit_(group_commit) {}
  ~FlushDiskWatcher() override { Stop(); }

 protected:
  void Run() override;

 private:
  const Clock* clock_;
  GroupCommitService* group_commit_;
};

}  // namespace thruster::store
