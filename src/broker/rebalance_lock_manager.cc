#include "broker/rebalance_lock_manager.h"

namespace thruster::broker {

std::vector<MessageQueue> RebalanceLockManager::TryLockBatch(
    std::string_view group, const std::vector<MessageQueue>& mqs,
    std::string_view client_id, int64_t now_ms) {
  std::vector<MessageQueue> granted;
  MutexLock lock(&mu_);
  auto it = table_.find(group);
  if (it == table_.end())
    it = table_.emplace(std::string(group), std::map<MessageQueue, LockEntry>{})
             .first;
  for (const MessageQueue& mq : mqs) {
    LockEntry& e = it->second[mq];
    const bool free =
        e.client_id.empty() || now_ms - e.last_update_ms > lock_max_live_ms_;
    if (free || e.client_id == client_id) {
      e.client_id = std::string(client_id);
      e.last_update_ms = now_ms;
      granted.push_back(mq);
    }
  }
  return granted;
}

void RebalanceLockManager::UnlockBatch(std::string_view group,
                                       const std::vector<MessageQueue>& mqs,
                                       std::string_view client_id) {
  MutexLock lock(&mu_);
  auto it = table_.find(group);
  if (it == table_.end()) return;
  for (const MessageQueue& mq : mqs) {
    auto e = it->second.find(mq);
    if (e != it->second.end() && e->second.client_id == client_id)
      it->second.erase(e);
  }
  if (it->second.empty()) table_.erase(it);
}

bool RebalanceLockManager::HasLocks(std::string_view group,
                                    int64_t now_ms) const {
  MutexLock lock(&mu_);
  auto it = table_.find(group);
  if (it == table_.end()) return false;
  for (const auto& [mq, e] : it->second) {
    if (now_ms - e.last_update_ms <= lock_max_live_ms_) return true;
  }
  return false;
}

}  // namespace thruster::broker
