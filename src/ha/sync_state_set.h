#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "common/clock.h"
#include "common/mutex.h"

// A controller-mode master's in-sync replica set (spec/ha.md §7.7; RocketMQ
// 5's AutoSwitchHAService / AutoSwitchHAConnection), fed by the HA
// connections and read by the SYNC_MASTER wait, the confirm offset and the
// controller that records the set in etcd.
//
// Two sets are kept: `local` (what this master wants: it grows when a slave
// catches up and shrinks when one falls behind or disconnects) and
// `confirmed` (what etcd records for this master's term; only its members may
// be elected). Until etcd takes a change, waits and the confirm offset use
// their union and admission the larger size, so no member is dropped from a
// wait before etcd says it can no longer be elected.
//
// Caught up: when the master sends a slave data it records its max offset and
// the time; a report reaching that offset marks the slave caught up at that
// time (now, when it reaches the current max). A member whose last catch-up is
// older than haMaxTimeSlaveNotCatchup, or that has no connection, leaves
// `local` at the next Shrink. A slave joins `local` when its report reaches
// the confirm offset and the start of the master's current epoch.
//
// Thread-safety: every method from any thread.
namespace thruster::ha {

struct SyncStateSetOptions {
  int64_t max_time_not_catchup_ms = 15000;  // haMaxTimeSlaveNotCatchup
  bool all_ack = false;                     // allAckInSyncStateSet
  int32_t in_sync_replicas = 1;             // inSyncReplicas
  int32_t min_in_sync_replicas = 1;         // minInSyncReplicas
};

class SyncStateSet {
 public:
  explicit SyncStateSet(SyncStateSetOptions options,
                        const Clock* clock = SystemClock::Default());

  // This replica became the master of an epoch starting at
  // `epoch_start_offset`: both sets are {self_id}, as the election wrote.
  void Reset(int64_t self_id, int64_t epoch_start_offset) TH_EXCLUDES(mu_);

  // The HA connections of slave `slave_id` (its controller id).
  void OnConnected(int64_t slave_id) TH_EXCLUDES(mu_);
  // Its last connection closed: it leaves `local` at once.
  void OnDisconnected(int64_t slave_id) TH_EXCLUDES(mu_);
  // The master is about to send it data while its max offset is
  // `master_max`.
  void OnTransfer(int64_t slave_id, int64_t master_max) TH_EXCLUDES(mu_);
  // It reported `ack`; the master's max offset is `master_max`.
  void OnAck(int64_t slave_id, int64_t ack, int64_t master_max)
      TH_EXCLUDES(mu_);
  // Removes from `local` the members not caught up within the limit or not
  // connected (an idle slave that acked `master_max` is caught up now).
  // True when `local` changed.
  bool Shrink(int64_t master_max) TH_EXCLUDES(mu_);
  // Shrink on the set's own timer (SyncStateSetChecker): a change is also
  // reported to set_on_local_change's callback, so the controller proposes it
  // at once.
  bool ShrinkOnTimer(int64_t master_max) TH_EXCLUDES(mu_);
  // When Shrink may next drop a member, in the clock's milliseconds: the
  // earliest time a member's last catch-up becomes older than
  // haMaxTimeSlaveNotCatchup (now for a member without a connection);
  // INT64_MAX when only the master is in `local`.
  int64_t NextShrinkMs() const TH_EXCLUDES(mu_);

  std::set<int64_t> local() const TH_EXCLUDES(mu_);
  std::set<int64_t> confirmed() const TH_EXCLUDES(mu_);
  // etcd records `members` for this master's term.
  void SetConfirmed(std::set<int64_t> members) TH_EXCLUDES(mu_);

  // The offset every member acknowledged (the master's max with a set of one
  // or without allAckInSyncStateSet); unchanged while a member has no
  // connection.
  int64_t ConfirmOffset(int64_t master_max) TH_EXCLUDES(mu_);
  // Admission of a waiting put: false while the set is smaller than
  // minInSyncReplicas.
  bool EnoughReplicas() const TH_EXCLUDES(mu_);
  // Whether a put ending at `end` needs to wait at all (inSyncReplicas > 1,
  // or allAckInSyncStateSet with another member).
  bool NeedsAcks() const TH_EXCLUDES(mu_);
  // Whether enough copies hold [.., end): every member with allAck, else
  // inSyncReplicas counting the master.
  bool Covered(int64_t end) const TH_EXCLUDES(mu_);
  // Bumped on every change of either set.
  uint64_t version() const TH_EXCLUDES(mu_);
  // Called (outside the lock, on the connection's thread) when a slave joins
  // or leaves `local` through a connection event, so the change is proposed
  // at once rather than at the controller's next round.
  void set_on_local_change(std::function<void()> fn) TH_EXCLUDES(mu_);

 private:
  struct Slave {
    int connections = 0;
    int64_t ack = -1;
    int64_t last_transfer_max = 0;
    int64_t last_transfer_ms = 0;
    int64_t caught_up_ms = 0;
  };
  std::set<int64_t> EffectiveLocked() const TH_REQUIRES(mu_);
  int64_t ConfirmOffsetLocked(int64_t master_max) TH_REQUIRES(mu_);

  const SyncStateSetOptions options_;
  const Clock* clock_;
  mutable Mutex mu_;
  int64_t self_ TH_GUARDED_BY(mu_) = -1;
  int64_t epoch_start_ TH_GUARDED_BY(mu_) = 0;
  std::set<int64_t> local_ TH_GUARDED_BY(mu_);
  std::set<int64_t> confirmed_ TH_GUARDED_BY(mu_);
  std::map<int64_t, Slave> slaves_ TH_GUARDED_BY(mu_);
  int64_t confirm_offset_ TH_GUARDED_BY(mu_) = -1;
  uint64_t version_ TH_GUARDED_BY(mu_) = 0;
  std::function<void()> on_local_change_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::ha
