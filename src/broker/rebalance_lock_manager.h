#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/mutex.h"

// Queue locks for orderly consumers (spec/remoting.md §3.4.17, §6.11): per
// consumer group, each message queue is held by at most one clientId; a lock
// not renewed for `lock_max_live_ms` (60 s) is free again.
//
// Lifecycle: construct → use from any thread. Thread-safe (one mutex).
namespace thruster::broker {

struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  friend bool operator<(const MessageQueue& a, const MessageQueue& b) {
    return std::tie(a.topic, a.broker_name, a.queue_id) <
           std::tie(b.topic, b.broker_name, b.queue_id);
  }
  friend bool operator==(const MessageQueue&, const MessageQueue&) = default;
};

class RebalanceLockManager {
 public:
  explicit RebalanceLockManager(int64_t lock_max_live_ms = 60000)
      : lock_max_live_ms_(lock_max_live_ms) {}

  // Grants each queue that is free, expired or already held by `client_id`
  // (refreshing its time) and returns the granted subset.
  std::vector<MessageQueue> TryLockBatch(std::string_view group,
                                         const std::vector<MessageQueue>& mqs,
                                         std::string_view client_id,
                                         int64_t now_ms);
  // Releases the listed queues held by `client_id`.
  void UnlockBatch(std::string_view group, const std::vector<MessageQueue>& mqs,
                   std::string_view client_id);
  // True when `group` holds any unexpired lock.
  bool HasLocks(std::string_view group, int64_t now_ms) const;

 private:
  struct LockEntry {
    std::string client_id;
    int64_t last_update_ms = 0;
  };
  const int64_t lock_max_live_ms_;
  mutable Mutex mu_;
  std::map<std::string, std::map<MessageQueue, LockEntry>, std::less<>> table_
      TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker
