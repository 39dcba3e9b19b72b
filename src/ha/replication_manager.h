#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "ha/epoch_file.h"
#include "ha/ha_client.h"
#include "ha/ha_service.h"
#include "store/message_store.h"

// A broker's replication role and the HA parts that serve it: the HA listener
// (HaService, the SYNC_MASTER wait) runs in every role, as RocketMQ's does; the
// HaClient follows a master only while the role is SLAVE.
//
// Roles change only through BecomeMaster/BecomeSlave with an epoch greater
// than the last one acted on (spec/ha.md §7.10's fencing rule): the static
// 4.x mode starts once at epoch 0 and never changes; a controller (etcd
// elections, later) drives the changes with its terms.
//
// Controller mode (HaServiceOptions::controller_mode, enableControllerMode):
// the store keeps the epoch file (`epochFileCheckpoint`, §7.9), both HA sides
// speak the auto-switch stream (§7.8), and writes start fenced: nothing is
// accepted until BecomeMaster. BecomeMaster cuts the unparseable tail and
// records (epoch, max offset) before it lets writes in; BecomeSlave fences at
// once, and the HA client truncates to the consistent point with the new
// master before it takes any byte from it.
//
// Thread-safety: every method from any thread. `store` and `clock` must
// outlive it.
namespace thruster::ha {

class ReplicationManager {
 public:
  ReplicationManager(store::MessageStore* store, HaServiceOptions options,
                     const Clock* clock = SystemClock::Default());
  ~ReplicationManager();
  ReplicationManager(const ReplicationManager&) = delete;
  ReplicationManager& operator=(const ReplicationManager&) = delete;

  // Starts the HA listener and takes the store's configured role at epoch 0;
  // a SLAVE follows `master_ha_address` (haMasterAddress, may be empty until
  // the name server names the master).
  Status Start(std::string master_ha_address);
  void Shutdown();

  // ASYNC_MASTER or SYNC_MASTER from `epoch` on: stops following, accepts
  // writes. InvalidArgument when `epoch` is not newer or `role` is SLAVE.
  // Controller mode (§7.6): also InvalidArgument when `epoch` is below the
  // epoch file's last; stops the HA client (Busy if it does not stop within
  // 5 s), truncates the unparseable tail, drops epoch entries starting at or
  // after the cut and those of epoch >= `epoch`, appends (epoch, max offset),
  // waits for dispatch (Timeout after 10 s), and only then lifts the fence.
  // On an error the broker stays fenced.
  Status BecomeMaster(int64_t epoch, store::BrokerRole role) TH_EXCLUDES(mu_);
  // SLAVE of `master_ha_address` from `epoch` on: refuses writes, follows.
  // Controller mode: fenced before anything else.
  Status BecomeSlave(int64_t epoch, std::string master_ha_address)
      TH_EXCLUDES(mu_);
  // Controller mode: refuse every write from now on (a lost lease) until the
  // next BecomeMaster. Returns once no put is in the middle of its append.
  void Fence();
  bool fenced() const { return store_->writes_fenced(); }
  // What an election ranks candidates by: the epoch file's last epoch (0 when
  // empty or outside controller mode), the CommitLog max offset, the confirm
  // offset (a master's max offset; a slave's last confirm offset from its
  // master, 0 before the first frame).
  int32_t last_epoch() const;
  int64_t max_offset() const { return store_->GetMaxPhyOffset(); }
  int64_t confirm_offset() const;
  bool controller_mode() const { return epochs_ != nullptr; }
  // Null outside controller mode.
  EpochFile* epoch_file() { return epochs_.get(); }
  // The master's HA address as a name server answered it; followed when this
  // broker is a slave without a fixed haMasterAddress.
  void OnMasterHaAddress(std::string address) TH_EXCLUDES(mu_);

  // Controller mode: this replica's controller id (etcd's replica id), sent
  // in the slave handshake and the master's own member of the in-sync set.
  void set_controller_id(int64_t id);
  // Controller mode, as the master (§7.7): the in-sync set it wants now
  // (after dropping the members that fell behind or disconnected), and the
  // set the controller recorded for its term.
  std::set<int64_t> LocalSyncStateSet();
  void OnSyncStateSetRecorded(std::set<int64_t> members);

  int64_t epoch() const TH_EXCLUDES(mu_);
  store::BrokerRole role() const { return store_->broker_role(); }
  uint16_t ha_port() const { return service_->port(); }
  HaService& service() { return *service_; }
  HaClient& client() { return *client_; }

 private:
  Status BecomeControllerMaster(int64_t epoch, store::BrokerRole role)
      TH_REQUIRES(mu_);

  store::MessageStore* store_;
  std::atomic<int64_t> controller_id_{0};
  // Controller mode only; loaded in Start().
  std::unique_ptr<EpochFile> epochs_;
  std::unique_ptr<HaService> service_;
  std::unique_ptr<HaClient> client_;
  mutable Mutex mu_;
  int64_t epoch_ TH_GUARDED_BY(mu_) = 0;
  // haMasterAddress was configured: name-server answers are ignored.
  bool fixed_master_ TH_GUARDED_BY(mu_) = false;
  bool started_ = false;
};

}  // namespace thruster::ha
