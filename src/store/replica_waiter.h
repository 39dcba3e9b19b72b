#pragma once

#include <cstdint>
#include <functional>

#include "store/commit_log.h"

// What a SYNC_MASTER's put waits on after its record is in the CommitLog (and,
// under SYNC_FLUSH, on disk): the replication layer (src/ha) implements it and
// the MessageStore calls it, so the store needs no knowledge of the network
// (ha spec §4.1, RocketMQ's CommitLog.submitReplicaRequest).
namespace thruster::store {

class ReplicaWaiter {
 public:
  virtual ~ReplicaWaiter() = default;
  // Completes `done` exactly once, on any thread: with `result` unchanged
  // once a slave acknowledged [.., end), or with its status turned into
  // kSlaveNotAvailable (at once) / kFlushSlaveTimeout (after slaveTimeout).
  // Must not block the caller.
  virtual void AwaitReplica(int64_t end, PutResult result,
                            std::function<void(PutResult)> done) = 0;
  // Before a SYNC_MASTER put that will wait is appended: true (with
  // `refusal` filled) when it must not be stored at all (controller mode: the
  // in-sync set is smaller than minInSyncReplicas, ha spec §7.7).
  virtual bool RefusePut(PutResult* refusal) const {
    (void)refusal;
    return false;
  }
};

}  // namespace thruster::store
