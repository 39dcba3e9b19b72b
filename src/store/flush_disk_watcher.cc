#include "store/flush_disk_watcher.h"

#include "store/group_commit_service.h"

namespace thruster::store {

void FlushDiskWatcher::Run() {
  while (!stopped()) {
    WaitForRunning(10);
    group_commit_->ExpireOverdue(clock_->MonotonicNs());
  }
}

}  // namespace thruster::store
