#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "store/message_store.h"

// The lowest CommitLog phys offset that live readers still have to read: over
// every queue of the store, the phys offset of the first message each reader
// has not consumed yet (a queue read to its end counts for nothing; an offset
// below the queue's min reads from the min). The CacheKeepPolicy keeps the
// pages from there to the writer in the page cache (commitLogCacheKeepMb=-1)
// and recycles the older ones first.
namespace thruster::store {

// Appends to `next` the queue offsets from which the live readers of
// topic/queue still have to read (the committed offsets of the online consumer
// groups, for the broker).
using QueueReadersFn = std::function<void(
    std::string_view topic, int32_t queue_id, std::vector<int64_t>* next)>;

// nullopt when no reader has anything left to read. Thread-safe as the store's
// queue lookups are; `readers` is called once per queue.
std::optional<int64_t> LowestPhysOffsetToRead(const MessageStore& store,
                                              const QueueReadersFn& readers);

}  // namespace thruster::store
