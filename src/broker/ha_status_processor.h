#pragma once

#include <cstdint>
#include <functional>

#include "broker/request_processor.h"
#include "ha/replication_manager.h"
#include "store/message_store.h"

// GET_BROKER_HA_STATUS (907, RocketMQ 5.x; what `mqadmin haStatus` asks): the
// broker's replication state as RocketMQ's HARuntimeInfo JSON —
//   master                    whether this broker is a master
//   masterCommitLogMaxOffset  its CommitLog max offset
//   inSyncSlaveNums           slaves less than haMaxGapNotInSync behind it;
//                             in controller mode, the in-sync set's members
//                             less the master (HaService::RuntimeInfo)
//   haConnectionInfo          per connected slave: addr, slaveAckOffset, diff
//                             (max offset - ack), inSync
//   haClientRuntimeInfo       on a slave: masterAddr, maxOffset (its own),
//                             isActivated (connected to the master)
// Members of RocketMQ's classes that Thruster does not measure (transfer
// speeds, timestamps, transferFromWhere) are left out, not zero-filled.
//
// Thread-safe. `store` must outlive it; `replication` returns the broker's
// ReplicationManager, or null before it is started (then SYSTEM_ERROR).
namespace thruster::broker {

class HaStatusProcessor final : public RequestProcessor {
 public:
  HaStatusProcessor(store::MessageStore& store,
                    std::function<ha::ReplicationManager*()> replication,
                    int64_t max_gap_not_in_sync)
      : store_(store),
        replication_(std::move(replication)),
        max_gap_not_in_sync_(max_gap_not_in_sync) {}

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  store::MessageStore& store_;
  std::function<ha::ReplicationManager*()> replication_;
  int64_t max_gap_not_in_sync_;
};

}  // namespace thruster::broker
