#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "store/consume_queue.h"
#include "store/consume_queue_store.h"

namespace thruster::store {

// The dispatch thread's copy of the consume-queue table: (topic, queue id) →
// the ConsumeQueue, found or created in the ConsumeQueueStore on first use and
// then looked up without the store's lock, its map of topic strings or a
// shared_ptr copy per record (records of one topic come in runs; the last
// topic is compared first). Each entry also carries a little state for its
// user (ReputService coalesces arrival notifications with it).
//
// A queue removed from the store (ConsumeQueueStore::generation() moved) is
// dropped from the cache at the next Find() or DropIfStale(), which the
// dispatch loop calls on every pass, idle ones included, so a deleted queue's
// files are not held mapped by the cache.
//
// Thread-safety: none; one thread at a time (ReputService holds its pass lock).
// `queues` must outlive it.
class DispatchQueueCache {
 public:
  struct Slot {
    std::shared_ptr<ConsumeQueue> queue;
    // The user's: which pending arrival belongs to this queue, valid while
    // `arrival_epoch` equals the user's current epoch (never 0).
    uint64_t arrival_epoch = 0;
    size_t arrival = 0;
  };

  explicit DispatchQueueCache(ConsumeQueueStore* queues) : queues_(queues) {}
  DispatchQueueCache(const DispatchQueueCache&) = delete;
  DispatchQueueCache& operator=(const DispatchQueueCache&) = delete;

  // The slot of (topic, queue_id); its queue is set. Valid until the next
  // Find() or DropIfStale(). Queue ids outside [0, kMaxCachedQueueId) are not
  // cached: each call asks the store and returns a fresh slot. An error comes
  // from creating the queue.
  Result<Slot*> Find(std::string_view topic, int32_t queue_id);
  // Empties the cache when the store's table changed since it was filled.
  void DropIfStale();

  // Queue ids up to here get a slot each in a vector per topic.
  static constexpr int32_t kMaxCachedQueueId = 4096;

 private:
  struct TopicHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };
  using TopicSlots = std::vector<Slot>;

  TopicSlots* FindTopic(std::string_view topic);

  ConsumeQueueStore* queues_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, TopicSlots, TopicHash, std::equal_to<>>
      topics_;
  // The last topic found: its key in topics_ and its slots (node-based map:
  // both stay put until the entry is erased).
  const std::string* last_topic_ = nullptr;
  TopicSlots* last_slots_ = nullptr;
  Slot uncached_;  // what Find() returns for an id it does not cache
};

}  // namespace thruster::store
