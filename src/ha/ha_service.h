#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "ha/ha_socket.h"
#include "ha/sync_state_set.h"
#include "ha/sync_state_set_checker.h"
#include "store/message_store.h"
#include "store/replica_waiter.h"

// The master side of RocketMQ's classic HA stream (spec/ha.md §2.2, §4.1;
// RocketMQ's HAService, HAConnection, GroupTransferService): listens on the HA
// port, and for every slave that connects runs a reader (its offset reports)
// and a writer (CommitLog bytes read where they lie, GetData, up to
// haTransferBatchSize per frame, never across a segment end, heartbeats when
// idle). It is also the store's ReplicaWaiter: a SYNC_MASTER put waits in one
// list that the `ha-group-xfer` thread completes on each ack, many waiters per
// wake-up, or at slaveTimeout.
//
// Threads: `ha-accept`, `ha-group-xfer`, and `ha-read`/`ha-write` per slave.
// Appends never wait on any of them. Lifecycle: construct → Start() →
// Shutdown() (idempotent; also run by the destructor). `store` and `clock` must
// outlive it.
namespace thruster::ha {

struct HaServiceOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 10912;  // 0: ephemeral (tests)
  // enableControllerMode: both sides speak the auto-switch stream (§7.8) and
  // keep the epoch file; otherwise the classic stream (§2).
  bool controller_mode = false;
  // This broker's controller id, sent in the slave handshake.
  int64_t controller_id = 0;
};

class EpochFile;

// One connected slave, as `clusterList` shows it.
struct SlaveInfo {
  std::string address;      // the slave's peer address
  int64_t ack_offset = -1;  // its last report; -1 before the first
  // Controller mode: the controller id from its handshake (-1 before it).
  int64_t slave_id = -1;
  // Filled by HaService::RuntimeInfo only.
  bool in_sync = false;
};

// The master side of GET_BROKER_HA_STATUS (RocketMQ's HARuntimeInfo).
struct HaRuntimeInfo {
  std::vector<SlaveInfo> slaves;  // the open connections, in_sync filled
  int64_t in_sync_slave_nums = 0;
};

class HaService final : public store::ReplicaWaiter {
 public:
  HaService(store::MessageStore* store, HaServiceOptions options,
            const Clock* clock = SystemClock::Default());
  ~HaService() override;
  HaService(const HaService&) = delete;
  HaService& operator=(const HaService&) = delete;

  Status Start();
  void Shutdown();

  uint16_t port() const { return port_; }
  // Controller mode: the epoch file whose entries the master handshake carries
  // and transfer frames follow. Before Start(); must outlive the service.
  void set_epoch_file(const EpochFile* epochs) { epochs_ = epochs; }
  // The largest offset any slave acknowledged (RocketMQ's push2SlaveMaxOffset).
  int64_t push_to_slave_max_offset() const {
    return push_to_slave_max_offset_.load(std::memory_order_acquire);
  }
  int connection_count() const TH_EXCLUDES(conns_mu_);
  std::vector<SlaveInfo> Slaves() const TH_EXCLUDES(conns_mu_);
  // Which slaves count as in sync with a master at `max_offset`. Classic
  // (4.x): a slave that reported and is less than `max_gap_not_in_sync`
  // (haMaxGapNotInSync) behind. Controller mode (RocketMQ 5's
  // AutoSwitchHAService): a slave is in sync when it is in the local in-sync
  // set, and inSyncSlaveNums is that set's size less the master (0 while
  // this broker is a slave).
  HaRuntimeInfo RuntimeInfo(int64_t max_offset,
                            int64_t max_gap_not_in_sync) const
      TH_EXCLUDES(conns_mu_);
  // Wakes every writer (they otherwise look for new bytes every 100 ms).
  void NotifyTransferSome() TH_EXCLUDES(transfer_mu_);

  // store::ReplicaWaiter. Classic (4.x rules, §4.1): SLAVE_NOT_AVAILABLE at
  // once when no slave is connected or the best is more than
  // haSlaveFallbehindMax behind `end`; else waits for an ack ≥ `end` until
  // slaveTimeout (FLUSH_SLAVE_TIMEOUT). Controller mode (§4.2, §7.7): no wait
  // unless inSyncReplicas > 1 or allAckInSyncStateSet (then every member of
  // the in-sync set), FLUSH_SLAVE_TIMEOUT after slaveTimeout.
  void AwaitReplica(int64_t end, store::PutResult result,
                    std::function<void(store::PutResult)> done) override;
  // Controller mode: IN_SYNC_REPLICAS_NOT_ENOUGH while the in-sync set is
  // smaller than minInSyncReplicas.
  bool RefusePut(store::PutResult* refusal) const override;

  // Controller mode (null outside it): the in-sync set the connections feed.
  SyncStateSet* sync_state_set() { return sync_state_set_.get(); }
  // After a change of the in-sync set from outside the connections (Reset,
  // Shrink, SetConfirmed): recomputes the store's replica confirm offset and
  // wakes the waiting puts.
  void OnSyncStateSetChanged() TH_EXCLUDES(wait_mu_, transfer_mu_);
  // How many shrink checks the in-sync set's timer ran (0 outside controller
  // mode).
  int64_t SyncStateSetChecksForTesting() const {
    return sync_state_set_checker_ != nullptr
               ? sync_state_set_checker_->checks()
               : 0;
  }

 private:
  class Connection;
  struct WaitRequest {
    int64_t next_offset;
    int64_t deadline_ns;
    store::PutResult result;
    std::function<void(store::PutResult)> done;
  };

  void AcceptLoop();
  void GroupTransferLoop();
  // A report from a slave: raises push_to_slave_max_offset and wakes waiters.
  void OnAck(int64_t offset) TH_EXCLUDES(wait_mu_, transfer_mu_);
  // Whether the acks cover [.., end) by the rules of the mode.
  bool Covered(int64_t end) const;
  // Controller mode: the store dispatches no further than what every member
  // of the in-sync set holds (allAckInSyncStateSet).
  void UpdateReplicaConfirmOffset();
  // The shrink check of the in-sync set while this broker is a master; returns
  // when it is next due (SyncStateSetChecker).
  int64_t CheckSyncStateSet() TH_EXCLUDES(wait_mu_, transfer_mu_);
  // Writers: read the epoch, look for bytes, then WaitTransfer(epoch) sleeps
  // up to 100 ms unless NotifyTransferSome() ran since (no lost wake-up).
  uint64_t TransferEpoch() TH_EXCLUDES(transfer_mu_);
  void WaitTransfer(uint64_t seen) TH_EXCLUDES(transfer_mu_);
  // Joins and drops connections whose threads ended.
  void ReapClosed() TH_EXCLUDES(conns_mu_);

  store::MessageStore* store_;
  HaServiceOptions options_;
  const Clock* clock_;
  Socket listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  bool started_ = false;
  std::atomic<int64_t> push_to_slave_max_offset_{0};
  const EpochFile* epochs_ = nullptr;
  std::unique_ptr<SyncStateSet> sync_state_set_;

  mutable Mutex conns_mu_;
  std::vector<std::unique_ptr<Connection>> conns_ TH_GUARDED_BY(conns_mu_);

  // Writers sleep here between looks at the CommitLog.
  Mutex transfer_mu_;
  CondVar transfer_cv_;
  uint64_t transfer_epoch_ TH_GUARDED_BY(transfer_mu_) = 0;

  Mutex wait_mu_;
  CondVar wait_cv_;
  std::deque<WaitRequest> waits_ TH_GUARDED_BY(wait_mu_);
  // Set by every ack that raised the max, and by a request put in an empty
  // list.
  bool changed_ TH_GUARDED_BY(wait_mu_) = false;

  std::thread accept_thread_;
  std::thread group_thread_;
  // Controller mode: the in-sync set's shrink check (ha-isr-check).
  std::unique_ptr<SyncStateSetChecker> sync_state_set_checker_;
};

}  // namespace thruster::ha
