#include "ha/replication_manager.h"

#include "common/logging.h"

namespace thruster::ha {

ReplicationManager::ReplicationManager(store::MessageStore* store,
                                       HaServiceOptions options,
                                       const Clock* clock)
    : store_(store),
      service_(std::make_unique<HaService>(store, std::move(options), clock)),
      client_(std::make_unique<HaClient>(store, clock)) {}

ReplicationManager::~ReplicationManager() { Shutdown(); }

Status ReplicationManager::Start(std::string master_ha_address) {
  TH_RETURN_IF_ERROR(service_->Start());
  started_ = true;
  store_->SetReplicaWaiter(service_.get());
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

Status ReplicationManager::BecomeMaster(int64_t epoch,
                                        store::BrokerRole role) {
  if (role == store::BrokerRole::kSlave)
    return Status::InvalidArgument("BecomeMaster needs a master role");
  MutexLock lock(&mu_);
  if (epoch <= epoch_)
    return Status::InvalidArgument("epoch " + std::to_string(epoch) +
                                   " is not newer than " +
                                   std::to_string(epoch_));
  epoch_ = epoch;
  client_->set_master_address("");
  store_->set_broker_role(role);
  TH_LOG(ha, kInfo, "replication: {} at epoch {}",
         store::BrokerRoleName(role), epoch);
  return Status::OK();
}

Status ReplicationManager::BecomeSlave(int64_t epoch,
                                       std::string master_ha_address) {
  MutexLock lock(&mu_);
  if (epoch <= epoch_)
    return Status::InvalidArgument("epoch " + std::to_string(epoch) +
                                   " is not newer than " +
                                   std::to_string(epoch_));
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

int64_t ReplicationManager::epoch() const {
  MutexLock lock(&mu_);
  return epoch_;
}

}  // namespace thruster::ha
