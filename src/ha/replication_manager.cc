#include "ha/replication_manager.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>

#include "common/logging.h"

namespace thruster::ha {

ReplicationManager::ReplicationManager(store::MessageStore* store,
                                       HaServiceOptions options,
                                       const Clock* clock)
    : store_(store),
      controller_id_(options.controller_id),
      epochs_(
          options.controller_mode
              ? std::make_unique<EpochFile>(
                    store->file_system(), store->config().store_path_root_dir +
                                              "/epochFileCheckpoint")
              : nullptr),
      service_(std::make_unique<HaService>(store, options, clock)),
      client_(std::make_unique<HaClient>(store, clock)) {
  if (epochs_ != nullptr) {
    service_->set_epoch_file(epochs_.get());
    client_->set_auto_switch(epochs_.get(), options.controller_id);
  }
}

ReplicationManager::~ReplicationManager() { Shutdown(); }

Status ReplicationManager::Start(std::string master_ha_address) {
  if (epochs_ != nullptr) {
    TH_RETURN_IF_ERROR(epochs_->Load());
    // Records a restarted slave's master never confirmed stay invisible.
    TH_RETURN_IF_ERROR(store_->KeepConfirmOffset());
    // Controller mode: nothing is written until an election says so.
    store_->FenceWrites(true);
  }
  TH_RETURN_IF_ERROR(service_->Start());
  started_ = true;
  store_->SetReplicaWaiter(service_.get());
  if (epochs_ != nullptr) {
    TH_LOG(ha, kInfo,
           "replication: controller mode, fenced until elected; last epoch "
           "{}, HA port {}",
           epochs_->last_epoch(), service_->port());
    return Status::OK();
  }
  if (store_->broker_role() == store::BrokerRole::kSlave) {
    {
      MutexLock lock(&mu_);
      // RocketMQ takes a configured haMasterAddress of 6 or more characters.
      fixed_master_ = master_ha_address.size() >= 6;
    }
    client_->set_master_address(std::move(master_ha_address));
    client_->Start();
  }
  TH_LOG(ha, kInfo, "replication: {} at epoch 0, HA port {}",
         store::BrokerRoleName(store_->broker_role()), service_->port());
  return Status::OK();
}

void ReplicationManager::Shutdown() {
  if (!started_) return;
  started_ = false;
  client_->Shutdown();
  store_->SetReplicaWaiter(nullptr);
  service_->Shutdown();
}

Status ReplicationManager::BecomeMaster(int64_t epoch, store::BrokerRole role) {
  if (role == store::BrokerRole::kSlave)
    return Status::InvalidArgument("BecomeMaster needs a master role");
  MutexLock lock(&mu_);
  if (epoch <= epoch_)
    return Status::InvalidArgument("epoch " + std::to_string(epoch) +
                                   " is not newer than " +
                                   std::to_string(epoch_));
  if (epochs_ != nullptr) return BecomeControllerMaster(epoch, role);
  epoch_ = epoch;
  client_->set_master_address("");
  store_->set_broker_role(role);
  TH_LOG(ha, kInfo, "replication: {} at epoch {}", store::BrokerRoleName(role),
         epoch);
  return Status::OK();
}

Status ReplicationManager::BecomeSlave(int64_t epoch,
                                       std::string master_ha_address) {
  MutexLock lock(&mu_);
  if (epoch <= epoch_)
    return Status::InvalidArgument("epoch " + std::to_string(epoch) +
                                   " is not newer than " +
                                   std::to_string(epoch_));
  if (epochs_ != nullptr) store_->FenceWrites(true);
  epoch_ = epoch;
  store_->set_broker_role(store::BrokerRole::kSlave);
  client_->set_master_address(std::move(master_ha_address));
  client_->Start();
  TH_LOG(ha, kInfo, "replication: SLAVE at epoch {}", epoch);
  return Status::OK();
}

void ReplicationManager::OnMasterHaAddress(std::string address) {
  if (store_->broker_role() != store::BrokerRole::kSlave || address.empty())
    return;
  MutexLock lock(&mu_);
  if (fixed_master_) return;
  client_->set_master_address(std::move(address));
}

Status ReplicationManager::BecomeControllerMaster(int64_t epoch,
                                                  store::BrokerRole role) {
  if (epoch > INT32_MAX)
    return Status::InvalidArgument("epoch " + std::to_string(epoch) +
                                   " does not fit the epoch file");
  const auto e = static_cast<int32_t>(epoch);
  if (e < epochs_->last_epoch()) {
    return Status::InvalidArgument("epoch " + std::to_string(epoch) +
                                   " is older than the epoch file's " +
                                   std::to_string(epochs_->last_epoch()));
  }
  store_->FenceWrites(true);
  // Stop following: no replicated byte may land after the cut.
  client_->set_master_address("");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (client_->connected()) {
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Busy("the HA client did not let go of its master");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // The old master's confirm offset no longer bounds dispatch: what
  // survives the cut is this master's log. Lifted before the cut, which
  // dispatches every record before it, so each queue's next offset counts
  // the records the old master had not confirmed.
  store_->commit_log().set_replica_confirm_offset(-1);
  TH_ASSIGN_OR_RETURN(int64_t cut, store_->TruncateTo(INT64_MAX));
  TH_RETURN_IF_ERROR(epochs_->TruncateSuffixByOffset(cut));
  TH_RETURN_IF_ERROR(epochs_->TruncateSuffixByEpoch(e));
  TH_RETURN_IF_ERROR(epochs_->Append(e, cut));
  // A new master's in-sync set is itself (§7.4 step 4).
  service_->sync_state_set()->Reset(
      controller_id_.load(std::memory_order_acquire), cut);
  service_->OnSyncStateSetChanged();
  if (!store_->WaitForDispatch(10000))
    return Status::Timeout("dispatch did not catch up with the CommitLog");
  epoch_ = epoch;
  store_->set_broker_role(role);
  store_->FenceWrites(false);
  TH_LOG(ha, kInfo, "replication: {} at epoch {} from offset {}",
         store::BrokerRoleName(role), epoch, cut);
  return Status::OK();
}

void ReplicationManager::Fence() {
  store_->FenceWrites(true);
  TH_LOG(ha, kWarn, "replication: writes fenced at epoch {}", epoch());
}

int32_t ReplicationManager::last_epoch() const {
  return epochs_ != nullptr ? epochs_->last_epoch() : 0;
}

int64_t ReplicationManager::confirm_offset() const {
  if (store_->broker_role() != store::BrokerRole::kSlave)
    return store_->GetMaxPhyOffset();
  return std::max<int64_t>(0, client_->confirm_offset());
}

void ReplicationManager::set_controller_id(int64_t id) {
  controller_id_.store(id, std::memory_order_release);
  client_->set_controller_id(id);
}

std::set<int64_t> ReplicationManager::LocalSyncStateSet() {
  SyncStateSet* set = service_->sync_state_set();
  if (set == nullptr) return {};
  if (set->Shrink(store_->GetMaxPhyOffset())) service_->OnSyncStateSetChanged();
  return set->local();
}

void ReplicationManager::OnSyncStateSetRecorded(std::set<int64_t> members) {
  SyncStateSet* set = service_->sync_state_set();
  if (set == nullptr) return;
  set->SetConfirmed(std::move(members));
  service_->OnSyncStateSetChanged();
}

int64_t ReplicationManager::epoch() const {
  MutexLock lock(&mu_);
  return epoch_;
}

}  // namespace thruster::ha
