#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "store/consume_queue.h"
#include "store/io/file_system.h"
#include "store/message_store_config.h"

namespace thruster::store {

// The table of every ConsumeQueue under `consumequeue/<topic>/<queueId>/`
// (RocketMQ's consumeQueueTable / ConsumeQueueStore). Shares the queues with
// whoever holds one: DeleteTopic() and RemoveQueue() take a queue out of the
// table and delete its files at once, but the object (and the mappings of its
// files) lives on until the last holder lets go, so the `flush-cq` or `clean`
// thread (or a reader) that took it just before never touches freed memory.
//
// Lifecycle: construct → Load() → Find…/All() → destroy. Thread-safe: the
// `dispatch` thread creates queues, the `flush-cq` and `clean` threads and
// readers take snapshots. State: the table, under mu_. `fs` must outlive it.
class ConsumeQueueStore {
 public:
  ConsumeQueueStore(io::FileSystem* fs, const MessageStoreConfig& config)
      : fs_(fs), config_(config) {}

  // Loads every queue directory on disk (a non-numeric queue directory is
  // skipped, spec §1).
  Status Load();

  std::shared_ptr<ConsumeQueue> FindConsumeQueue(std::string_view topic,
                                                 int32_t queue_id) const;
  Result<std::shared_ptr<ConsumeQueue>> FindOrCreateConsumeQueue(
      std::string_view topic, int32_t queue_id);
  // Every queue, in topic then queue id order.
  std::vector<std::shared_ptr<ConsumeQueue>> All() const;
  // Every (topic, queueId) that has a consume queue.
  std::vector<std::pair<std::string, int32_t>> ListQueues() const;
  // Removes and destroys the queues of `topic`; NotFound when it has none.
  Status DeleteTopic(std::string_view topic);
  // Removes and destroys one queue (its directory stays, empty); the topic's
  // entry goes with its last queue. NotFound when there is no such queue.
  Status RemoveQueue(std::string_view topic, int32_t queue_id);
  // Destroys every queue (no CommitLog: nothing they point at exists).
  Status DestroyAll();
  // Flushes every queue until nothing is pending at `least_pages`.
  Status FlushAll(int least_pages);
  // Moves whenever a queue leaves the table (DeleteTopic, RemoveQueue,
  // DestroyAll): a copy of what Find…() returned is stale once it moved
  // (DispatchQueueCache checks it).
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

 private:
  io::FileSystem* fs_;
  const MessageStoreConfig& config_;
  mutable Mutex mu_;
  std::map<std::string, std::map<int32_t, std::shared_ptr<ConsumeQueue>>,
           std::less<>>
      queues_ TH_GUARDED_BY(mu_);
  // Stored under mu_ after the table changed; read without it.
  std::atomic<uint64_t> generation_{0};
};

}  // namespace thruster::store
